// Small helpers shared by the renderer: C-string constants, a scratch arena for create-info pointer chains,
// the monotonic clock, and memory-type selection.
//
// Unsafe pointer invariants:
// - `cString(_:)` reinterprets a StaticString's storage; StaticString literals are NUL-terminated and live in the
//   binary's read-only data for the whole process, so the pointer never dangles and nobody writes through it.
// - `ScratchArena` owns heap copies of trivial C structs/arrays that Vulkan create-info structs point at. The arena
//   is released (explicitly, via `defer { arena.release() }`) only after the vkCreate*/vkCmd* call that reads them
//   returned; Vulkan never keeps pointers into create-info memory past the call, so nothing dangles.

import CVulkan
import Glibc

/// NUL-terminated C string with static lifetime.
@inline(__always)
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// CLOCK_MONOTONIC in nanoseconds (the clock all frame timestamps use).
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    // CLOCK_MONOTONIC cannot fail on Linux; if it somehow did, ts stays zero rather than trapping.
    _ = clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Keeps trivially-copyable values alive at stable addresses while a Vulkan call reads them.
final class ScratchArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    func pointer<T>(_ value: T) -> UnsafePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        p.initialize(to: value)
        blocks.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    /// nil for an empty array, which is what Vulkan expects alongside a zero count.
    func pointer<T>(_ values: [T]) -> UnsafePointer<T>? {
        if values.isEmpty { return nil }
        let p = UnsafeMutablePointer<T>.allocate(capacity: values.count)
        _ = UnsafeMutableBufferPointer(start: p, count: values.count).initialize(from: values)
        blocks.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    /// A NUL-terminated copy of `s` that lives until the arena is released.
    func cString(_ s: String) -> UnsafePointer<CChar>? {
        pointer(Array(s.utf8CString))
    }

    /// Only C structs/scalars go in here (no references), so deallocating without deinitializing is correct.
    func release() {
        for b in blocks { b.deallocate() }
        blocks.removeAll()
    }

    deinit { release() }
}

/// Index of a memory type allowed by `typeBits` that has all `required` flags, preferring one that also has all
/// `preferred` flags. nil when none qualifies.
func findMemoryType(
    _ props: VkPhysicalDeviceMemoryProperties, typeBits: UInt32,
    required: VkMemoryPropertyFlags, preferred: VkMemoryPropertyFlags = 0
) -> UInt32? {
    let types = withUnsafeBytes(of: props.memoryTypes) { raw in
        Array(raw.bindMemory(to: VkMemoryType.self).prefix(Int(props.memoryTypeCount)))
    }
    for wanted in [required | preferred, required] {
        for (i, t) in types.enumerated()
        where typeBits & (1 << UInt32(i)) != 0 && t.propertyFlags & wanted == wanted {
            return UInt32(i)
        }
    }
    return nil
}

/// The C string stored in a fixed-size CChar tuple (e.g. VkPhysicalDeviceProperties.deviceName).
func stringFromCTuple<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Descriptor writes collected for one vkUpdateDescriptorSets; their image and buffer infos live in
/// `arena` until the caller releases it (after `apply`).
struct DescriptorWrites {
    let arena: ScratchArena
    private var writes: [VkWriteDescriptorSet] = []

    init(arena: ScratchArena) { self.arena = arena }

    mutating func add(
        _ set: VkDescriptorSet?, binding: UInt32, _ type: VkDescriptorType, image: VkDescriptorImageInfo? = nil,
        buffer: VkDescriptorBufferInfo? = nil
    ) {
        var w = VkWriteDescriptorSet()
        w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
        w.dstSet = set
        w.dstBinding = binding
        w.descriptorCount = 1
        w.descriptorType = type
        if let image { w.pImageInfo = arena.pointer(image) }
        if let buffer { w.pBufferInfo = arena.pointer(buffer) }
        writes.append(w)
    }

    func apply(_ device: VkDevice?) {
        vkUpdateDescriptorSets(device, UInt32(writes.count), arena.pointer(writes), 0, nil)
    }
}
