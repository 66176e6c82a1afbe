// upload-bench: what it costs to get one RGBA8 frame from the slot ring to the GPU, per upload mode, next to a plain
// memcpy of the same bytes measured in the same run (this machine is noisy: read the ratios). Build with -c release.
//
//   swift build -c release --product upload-bench && .build/release/upload-bench [--rounds N] [--quick]
//
// For 512×512 and 1920×1080 RGBA8, rounds interleave the variants (memcpy, copy, zero-copy, and both uploads with
// the pipelined read-back) so drift hits all alike. Each round a "writer" fills a fresh ring slot (not timed), then:
// - memcpy:    the same bytes copied from one host buffer to another: the floor of any copy upload.
// - copy:      acquire → memcpy into the renderer's staging buffer + record + vkQueueSubmit (host upload), the GPU
//              copies staging → texture and draws; the ring slot is released right after submit.
// - zero-copy: acquire → validate → record + vkQueueSubmit with the ring slot itself as the copy source (the ring
//              lives in the renderer's host-visible memory); released when the fence has signalled.
// One frame at a time (submit, then wait), so GPU times do not overlap. Reported per variant: host upload ms
// (acquire → submit returned), GPU ms (the frame's timestamps), frame ms (acquire → completed frame in hand), medians
// with p90, and the host upload as a multiple of memcpy.
//
// Unsafe pointer use: the memcpy variant lends two preallocated arrays' storage to copyMemory (memmove) via
// withUnsafe(Mutable)Bytes for that call only; ring bytes are reached only through SlotRing's lease-checked closures.
import FrameHandoff
import Foundation
import VulkanRender

struct Options {
    var rounds: [Int] = [400, 100]  // per size: 512², 1080p
    init(_ arguments: [String]) throws {
        var rest = arguments.dropFirst()
        while let a = rest.popFirst() {
            switch a {
            case "--quick": rounds = [40, 10]
            case "--rounds":
                guard let v = rest.popFirst().flatMap({ Int($0) }), v > 0 else {
                    throw BenchError("--rounds needs a positive number")
                }
                rounds = [v, v]
            default: throw BenchError("unknown argument \(a): use [--rounds N] [--quick]")
            }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum Variant: String, CaseIterable {
    case memcpy = "memcpy"
    case copy = "copy"
    case zeroCopy = "zero-copy"
    case copyReadBack = "copy + readBack"
    case zeroCopyReadBack = "zero-copy + readBack"
}

struct Samples {
    var upload: [Double] = []
    var gpu: [Double] = []
    var frame: [Double] = []
}

func percentile(_ values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = Int((p * Double(sorted.count - 1)).rounded())
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func ms(_ nanos: UInt64) -> Double { Double(nanos) / 1e6 }

/// One ring + renderer pair for an upload mode.
final class Lane {
    let renderer: HeadlessRenderer
    let ring: SlotRing
    let memory: ZeroCopyRingMemory?

    init(width: Int, height: Int, upload: UploadMode) throws {
        renderer = try HeadlessRenderer(width: width, height: height, content: .rgba8, framesInFlight: 2, upload: upload)
        let bytes = width * height * 4
        if upload == .zeroCopy {
            let memory = try renderer.makeRingPayload(slotCount: 4, slotByteCount: bytes)
            self.memory = memory
            ring = try SlotRing(
                slotCount: 4, slotByteCount: bytes, policy: .fifo,
                payload: LentPayload(base: memory.base, byteCount: memory.byteCount, owner: memory))
        } else {
            memory = nil
            ring = try SlotRing(slotCount: 4, slotByteCount: bytes, policy: .fifo)
        }
    }

    /// The writer's part (not timed): fill a slot with `value`, publish it, and hand it to the reader.
    func produce(_ value: UInt8) throws -> ReadLease {
        guard let lease = ring.beginFrame() else { throw BenchError("no free ring slot") }
        ring.withWritableBytes(lease) { _ = $0.initializeMemory(as: UInt8.self, repeating: value) }
        ring.publish(lease)
        guard let read = ring.acquire() else { throw BenchError("published frame not acquirable") }
        return read
    }

    /// One frame through the renderer; returns (host upload, GPU, frame) in ms.
    func frame(_ value: UInt8, readBack: Bool) throws -> (Double, Double?, Double) {
        let lease = try produce(value)
        let acquired = monotonicNanos()
        let submitted: UInt64
        if memory != nil {
            guard ring.validate(lease.handle) else { throw BenchError("fresh lease is stale") }
            _ = try renderer.submitFrame(ringSlot: lease.handle.slot, tag: lease.handle.generation, readBack: readBack)
            submitted = monotonicNanos()
            let done = try renderer.finish()
            try ring.release(lease)  // fence signalled: the GPU is done with the slot
            return try result(done, acquired, submitted, value, readBack)
        }
        try ring.withReadableBytes(lease) { bytes in
            _ = try renderer.submitFrame(pixels: bytes, tag: lease.handle.generation, readBack: readBack)
        }
        submitted = monotonicNanos()
        try ring.release(lease)
        return try result(try renderer.finish(), acquired, submitted, value, readBack)
    }

    private func result(
        _ done: [CompletedFrame], _ acquired: UInt64, _ submitted: UInt64, _ value: UInt8, _ readBack: Bool
    ) throws -> (Double, Double?, Double) {
        let end = monotonicNanos()
        guard done.count == 1, let f = done.first else { throw BenchError("expected one completed frame") }
        if readBack {
            // Cheap sanity check that the read-back is the frame: first and last pixel carry the fill value.
            guard let p = f.pixels, p.first == value, p.last == value else { throw BenchError("read-back mismatch") }
        }
        return (ms(submitted - acquired), f.gpuNanos.map { $0 / 1e6 }, ms(end - acquired))
    }
}

func run() throws {
    let options = try Options(CommandLine.arguments)
    let sizes = [(512, 512), (1920, 1080)]
    var device = ""
    var lines: [String] = []
    for (sizeIndex, (w, h)) in sizes.enumerated() {
        let bytes = w * h * 4
        let copy = try Lane(width: w, height: h, upload: .copy)
        let zero = try Lane(width: w, height: h, upload: .zeroCopy)
        device = "\(copy.renderer.device.name) (\(copy.renderer.device.type))"
        var source = [UInt8](repeating: 0, count: bytes)
        var destination = [UInt8](repeating: 0, count: bytes)
        var samples: [Variant: Samples] = [:]
        let rounds = options.rounds[sizeIndex]
        let warmup = max(3, rounds / 10)
        for round in 0..<(warmup + rounds) {
            let value = UInt8(truncatingIfNeeded: round &+ 1)
            // Rotate the order so no variant always runs right after the same one.
            let order = Variant.allCases.indices.map { Variant.allCases[($0 + round) % Variant.allCases.count] }
            for variant in order {
                var sample: (Double, Double?, Double)
                switch variant {
                case .memcpy:
                    source.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: value) }
                    let start = monotonicNanos()
                    source.withUnsafeBytes { s in destination.withUnsafeMutableBytes { d in d.copyMemory(from: s) } }
                    let t = ms(monotonicNanos() - start)
                    sample = (t, nil, t)
                case .copy: sample = try copy.frame(value, readBack: false)
                case .zeroCopy: sample = try zero.frame(value, readBack: false)
                case .copyReadBack: sample = try copy.frame(value, readBack: true)
                case .zeroCopyReadBack: sample = try zero.frame(value, readBack: true)
                }
                guard round >= warmup else { continue }
                samples[variant, default: Samples()].upload.append(sample.0)
                if let g = sample.1 { samples[variant, default: Samples()].gpu.append(g) }
                samples[variant, default: Samples()].frame.append(sample.2)
            }
        }
        let memcpyMedian = percentile(samples[.memcpy]?.upload ?? [], 0.5) ?? .nan
        lines.append("")
        lines.append("\(w)x\(h) RGBA8 (\(String(format: "%.2f", Double(bytes) / 1_048_576)) MiB), \(rounds) rounds:")
        lines.append(
            "  variant                 upload p50   upload p90   ×memcpy   GPU p50    frame p50   frame p90   (ms)")
        for variant in Variant.allCases {
            let s = samples[variant] ?? Samples()
            func f(_ v: Double?) -> String { v.map { String(format: "%9.3f", $0) } ?? "        -" }
            let upload50 = percentile(s.upload, 0.5)
            let ratio = upload50.map { String(format: "%7.2f", $0 / memcpyMedian) } ?? "      -"
            let gpu = variant == .memcpy ? nil : percentile(s.gpu, 0.5)
            let frame = variant == .memcpy ? (nil, nil) : (percentile(s.frame, 0.5), percentile(s.frame, 0.9))
            lines.append(
                "  \(variant.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0))"
                    + "\(f(upload50))    \(f(percentile(s.upload, 0.9)))   \(ratio)  \(f(gpu))   \(f(frame.0))   \(f(frame.1))")
        }
    }
    print("upload-bench on \(device); medians of interleaved rounds, one frame at a time")
    for line in lines { print(line) }
    print("")
    print("upload = acquire → vkQueueSubmit returned (host side); GPU = the frame's timestamps; frame = acquire → the")
    print("completed frame in hand (fence seen, plus the read-back copy to a Swift array where asked).")
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("upload-bench: \(error)\n".utf8))
    exit(1)
}
