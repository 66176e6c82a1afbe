import CWasmtime
import Foundation

// Linear memories for wasmtime, made by the host (wasmtime's "host memory creator"), so that a
// refused `memory.grow` is seen: with wasmtime's own store limiter it just returns −1 and tells
// nobody, and the ABI rule "a refused growth fails the frame" (docs/kernel-abi.md) would be lost.
//
// Invariants (this file is the only one that maps or touches this memory directly):
// 1. A memory is one mapping of `reservedBytes + guardBytes`, made PROT_NONE, of which the first
//    `byteCount` bytes are read-write. `reservedBytes` is at least what wasmtime asked for
//    (`reserved_size_in_bytes`: its compiled code elides bounds checks on that promise) and at least
//    the growth limit, so a memory never moves; `guardBytes` is at least wasmtime's guard.
// 2. `byteCount` only grows, within `reservedBytes`, to at most `min(limit, maximum)`; growth past
//    the limit is refused (an error to wasmtime, so memory.grow returns −1) and recorded in the
//    owner's `GrowthRecord`, which the instance reads after every call.
// 3. Each memory is created on the thread that instantiates its kernel, whose owner is set there
//    (`fp_wasmtime_set_memory_owner`) for exactly the span of `wasmtime_linker_instantiate`, and it
//    retains that owner. Growth happens only during calls, on the one thread using the instance.
// 4. wasmtime calls the finalizer once, when its store is deleted: the mapping is released there.

/// One host-made linear memory (invariant 1).
final class HostLinearMemory {
    let base: UnsafeMutableRawPointer
    let mappedBytes: Int
    let reservedBytes: Int
    let maximumBytes: Int
    private(set) var byteCount: Int
    let owner: GrowthRecord
    /// `wasmtime_error_new`, for the refusals growth reports to wasmtime.
    let makeError: @convention(c) (UnsafePointer<CChar>) -> OpaquePointer?

    private init(
        base: UnsafeMutableRawPointer, mappedBytes: Int, reservedBytes: Int, maximumBytes: Int, byteCount: Int,
        owner: GrowthRecord, makeError: @escaping @convention(c) (UnsafePointer<CChar>) -> OpaquePointer?
    ) {
        self.base = base
        self.mappedBytes = mappedBytes
        self.reservedBytes = reservedBytes
        self.maximumBytes = maximumBytes
        self.byteCount = byteCount
        self.owner = owner
        self.makeError = makeError
    }

    static let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func roundedUp(_ bytes: Int) -> Int { (bytes + pageBytes - 1) / pageBytes * pageBytes }

    /// Maps a memory of `minimum` bytes for `owner`; nil when the mapping fails.
    static func make(
        minimum: Int, maximum: Int, reserved: Int, guardBytes: Int, owner: GrowthRecord,
        makeError: @escaping @convention(c) (UnsafePointer<CChar>) -> OpaquePointer?
    ) -> HostLinearMemory? {
        let limit = min(maximum, owner.limitBytes)
        let reservedBytes = roundedUp(max(reserved, minimum, limit))
        let mappedBytes = reservedBytes + roundedUp(guardBytes)
        guard let base = mmap(nil, mappedBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            base != MAP_FAILED
        else { return nil }
        let memory = HostLinearMemory(
            base: base, mappedBytes: mappedBytes, reservedBytes: reservedBytes, maximumBytes: maximum, byteCount: 0,
            owner: owner, makeError: makeError)
        guard memory.grow(to: minimum) else { return nil }  // deinit unmaps
        return memory
    }

    /// Makes `[0, newSize)` read-write (invariant 2); false when `newSize` is not within the reservation.
    func grow(to newSize: Int) -> Bool {
        guard newSize >= byteCount, newSize <= reservedBytes else { return false }
        let from = Self.roundedUp(byteCount)
        let to = Self.roundedUp(newSize)
        if to > from, mprotect(base + from, to - from, PROT_READ | PROT_WRITE) != 0 { return false }
        byteCount = newSize
        return true
    }

    deinit { munmap(base, mappedBytes) }
}

/// The creator wasmtime calls for every linear memory of the engine it is configured on.
enum WasmtimeMemoryCreator {
    /// Installs the creator on `config`. `api` is retained by the engine that owns the config.
    static func install(on config: OpaquePointer, library: WasmtimeLibrary) {
        var creator = wasmtime_memory_creator_t()
        creator.env = Unmanaged.passRetained(library).toOpaque()
        creator.new_memory = { env, _, minimum, maximum, reserved, guardSize, memoryOut in
            guard let env, let memoryOut else { return nil }
            let library = Unmanaged<WasmtimeLibrary>.fromOpaque(env).takeUnretainedValue()
            guard let ownerPointer = fp_wasmtime_memory_owner() else {
                return library.api.wasmtime_error_new("framepipe: a linear memory was created outside instantiation")
            }
            let owner = Unmanaged<GrowthRecord>.fromOpaque(ownerPointer).takeUnretainedValue()
            guard Int(minimum) <= owner.limitBytes else {
                owner.recordRefusal(Int(minimum))
                return library.api.wasmtime_error_new("initial memory exceeds the limit")
            }
            guard
                let memory = HostLinearMemory.make(
                    minimum: Int(minimum), maximum: maximum, reserved: Int(reserved), guardBytes: Int(guardSize),
                    owner: owner, makeError: library.api.wasmtime_error_new)
            else {
                return library.api.wasmtime_error_new("cannot map the kernel's linear memory")
            }
            memoryOut.pointee.env = Unmanaged.passRetained(memory).toOpaque()
            memoryOut.pointee.get_memory = { env, byteSize, maximumByteSize in
                guard let env else { return nil }
                let memory = Unmanaged<HostLinearMemory>.fromOpaque(env).takeUnretainedValue()
                byteSize?.pointee = memory.byteCount
                maximumByteSize?.pointee = memory.maximumBytes
                return memory.base.assumingMemoryBound(to: UInt8.self)
            }
            memoryOut.pointee.grow_memory = { env, newSize in
                guard let env else { return nil }
                let memory = Unmanaged<HostLinearMemory>.fromOpaque(env).takeUnretainedValue()
                if newSize > memory.owner.limitBytes {
                    memory.owner.recordRefusal(newSize)
                    return memory.makeError("memory growth over --max-memory refused")
                }
                return memory.grow(to: newSize) ? nil : memory.makeError("cannot map more linear memory")
            }
            memoryOut.pointee.finalizer = { env in
                guard let env else { return }
                Unmanaged<HostLinearMemory>.fromOpaque(env).release()
            }
            return nil
        }
        creator.finalizer = { env in
            guard let env else { return }
            Unmanaged<WasmtimeLibrary>.fromOpaque(env).release()
        }
        withUnsafeMutablePointer(to: &creator) { library.api.wasmtime_config_host_memory_creator_set(config, $0) }
    }
}
