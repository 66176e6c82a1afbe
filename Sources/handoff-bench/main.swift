// handoff-bench: nanoseconds per handoff operation, lock-free SlotRing against the Mutex baseline,
// measured in the same run (this machine is noisy: read the ratios). Build with -c release.
//
//   swift run -c release handoff-bench [--quick]
//
// Each figure is the median of 7 repetitions of a timed loop. Contended figures run a real writer
// thread against a real reader thread. Ends with a 10^6-handoff torn-frame check of the SlotRing.
import FrameHandoff
import Foundation

protocol Handoff: AnyObject, Sendable {
    func beginFrame() -> WriteLease?
    @discardableResult func publish(_ lease: consuming WriteLease) -> FrameHandle?
    func acquireLatest() -> ReadLease?
    func release(_ lease: ReadLease) throws(HandoffError)
}
extension SlotRing: Handoff {}
extension MutexHandoff: Handoff {}

let quick = CommandLine.arguments.contains("--quick")
let operations = quick ? 200_000 : 5_000_000
let contendedHandoffs = quick ? 100_000 : 1_000_000
let repetitions = 7

@inline(never)
func publishOnce(_ handoff: some Handoff) {
    guard let lease = handoff.beginFrame() else { return }
    handoff.publish(lease)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Median ns per iteration of `body` over `repetitions` runs of `count` iterations.
func measure(_ count: Int, _ body: (Int) -> Void) -> Double {
    median(
        (0..<repetitions).map { _ in
            let start = monotonicNanos()
            body(count)
            return Double(monotonicNanos() - start) / Double(count)
        })
}

struct Figures {
    var publish = 0.0
    var cleanAcquire = 0.0
    var dirtyAcquire = 0.0
    var contended = 0.0
    var readerHits = 0
}

func run(_ make: () -> any Handoff) -> Figures {
    var figures = Figures()
    let handoff = make()
    figures.publish = measure(operations) { n in for _ in 0..<n { publishOnce(handoff) } }
    // Drain what the publish loop left, so the acquire loops start clean.
    if let lease = handoff.acquireLatest() { try? handoff.release(lease) }
    var hits = 0
    figures.cleanAcquire = measure(operations) { n in
        for _ in 0..<n where handoff.acquireLatest() != nil { hits += 1 }
    }
    let cycle = measure(operations) { n in
        for _ in 0..<n {
            publishOnce(handoff)
            if let lease = handoff.acquireLatest() { try? handoff.release(lease) } else { hits += 1 }
        }
    }
    figures.dirtyAcquire = cycle - figures.publish
    precondition(hits == 0, "a clean acquire returned a frame, or a dirty one returned none")

    figures.contended = median(
        (0..<repetitions).map { _ in
            let handoff = make()
            let done = Done()
            let writer = Thread {
                for _ in 0..<contendedHandoffs { publishOnce(handoff) }
                done.set()
            }
            let start = monotonicNanos()
            writer.start()
            var acquired = 0
            while !done.isSet {
                if let lease = handoff.acquireLatest() {
                    try? handoff.release(lease)
                    acquired += 1
                }
            }
            let elapsed = monotonicNanos() - start
            figures.readerHits = acquired
            return Double(elapsed) / Double(contendedHandoffs)
        })
    return figures
}

final class Done: @unchecked Sendable {
    private let flag = NSLock()
    private var value = false
    func set() { flag.withLock { value = true } }
    var isSet: Bool { flag.withLock { value } }
}

/// 10^6 stamped handoffs through the lock-free ring, every 8-byte word of every acquired frame checked.
func tornFrameCheck() -> (handoffs: Int, acquired: Int, torn: Int, outOfOrder: Int) {
    guard let ring = try? SlotRing(slotCount: 3, slotByteCount: 512) else { return (0, 0, -1, -1) }
    let total = contendedHandoffs
    let writer = Thread {
        var published = 0
        while published < total {
            guard let lease = ring.beginFrame() else { continue }
            let stamp = lease.handle.generation &* 0x0101_0101_0101_0101
            ring.withWritableBytes(lease) { bytes in
                for offset in stride(from: 0, to: bytes.count, by: 8) {
                    bytes.storeBytes(of: stamp, toByteOffset: offset, as: UInt64.self)
                }
            }
            ring.publish(lease)
            published += 1
        }
    }
    writer.start()
    var acquired = 0
    var torn = 0
    var outOfOrder = 0
    var last: UInt64 = 0
    while last < UInt64(total) {
        guard let lease = ring.waitForFrame(timeoutNanos: 5_000_000_000) else { break }
        if lease.handle.generation <= last { outOfOrder += 1 }
        last = lease.handle.generation
        let stamp = last &* 0x0101_0101_0101_0101
        torn += (try? ring.withReadableBytes(lease) { bytes in
            stride(from: 0, to: bytes.count, by: 8).reduce(0) {
                $0 + (bytes.load(fromByteOffset: $1, as: UInt64.self) == stamp ? 0 : 1)
            }
        }) ?? 1
        try? ring.release(lease)
        acquired += 1
    }
    return (total, acquired, torn, outOfOrder)
}

print("handoff-bench: \(operations) ops per loop, \(contendedHandoffs) contended handoffs, median of \(repetitions)")
func makeOrExit<T>(_ make: () throws -> T) -> T {
    do { return try make() } catch {
        print("handoff-bench: error: \(error)")
        exit(1)
    }
}
let ring = run { makeOrExit { try SlotRing(slotCount: 3, slotByteCount: 4096) } }
let mutex = run { makeOrExit { try MutexHandoff(slotCount: 3, slotByteCount: 4096) } }

func row(_ name: String, _ lockFree: Double, _ baseline: Double, target: String) {
    let ratio = lockFree > 0 ? baseline / lockFree : 0
    print(
        name.padding(toLength: 34, withPad: " ", startingAt: 0)
            + String(format: "%9.1f ns %9.1f ns %7.2fx   %@", lockFree, baseline, ratio, target))
}
print("operation                          SlotRing     Mutex   speed-up   target")
row("uncontended publish", ring.publish, mutex.publish, target: "≤ 20 ns")
row("clean acquire (nothing new)", ring.cleanAcquire, mutex.cleanAcquire, target: "")
row("dirty acquire (acquire + release)", ring.dirtyAcquire, mutex.dirtyAcquire, target: "≤ 25 ns")
row("contended, per handoff (2 threads)", ring.contended, mutex.contended, target: "≥ 3x faster than mutex")
print("reader acquisitions in the last contended run: SlotRing \(ring.readerHits), Mutex \(mutex.readerHits)")

let check = tornFrameCheck()
print(
    "torn-frame check: \(check.handoffs) handoffs, \(check.acquired) acquired, \(check.torn) torn words, \(check.outOfOrder) out of order"
)
exit(check.torn == 0 && check.outOfOrder == 0 && check.acquired > 0 ? 0 : 1)
