import Foundation
import Synchronization
import XCTest

@testable import FrameHandoff

/// The tile queue with real threads: every tile of every job is taken exactly once, jobs are opened
/// one at a time in sequence, `inOrder` jobs never overlap, and `stop` wakes every waiter.
final class LockedCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [[Int]]
    init(_ counts: [[Int]]) { self.counts = counts }
    func increment(job: Int, tile: Int) { lock.withLock { counts[job][tile] += 1 } }
    var snapshot: [[Int]] { lock.withLock { counts } }
}

final class TileQueueTests: XCTestCase {
    struct Job: BitwiseCopyable {
        var number: Int
        var tiles: Int
    }

    /// Runs `workers` threads over `jobs` jobs; returns, per job, how many times each tile was taken.
    private func runPool(workers: Int, jobs: Int, tilesPerJob: @escaping @Sendable (Int) -> Int, inOrder: Bool = false)
        throws -> (taken: [[Int]], overlaps: Int)
    {
        let queue = try TileQueue<Job>(jobCapacity: 4)
        // An NSLock (pthread mutex), not `Mutex`: ThreadSanitizer cannot see `Mutex`'s futex on Linux.
        let taken = LockedCounts((0...jobs).map { [Int](repeating: 0, count: tilesPerJob($0)) })
        let running = Atomic<Int>(0)  // tiles being computed right now (inOrder check)
        let runningJob = Atomic<Int>(-1)
        let overlaps = Atomic<Int>(0)
        let done = DispatchGroup()
        for _ in 0..<workers {
            done.enter()
            Thread {
                defer { done.leave() }
                while true {
                    switch queue.take() {
                    case .stopped:
                        return
                    case .open(let after):
                        let number = Int(after)  // job 0 is the queue's empty job: numbers start at 1
                        if number >= jobs {
                            queue.stop()
                            return
                        }
                        queue.open(
                            Job(number: number + 1, tiles: tilesPerJob(number + 1)), tileCount: tilesPerJob(number + 1),
                            after: after, inOrder: inOrder)
                    case .tile(let ticket, let job):
                        XCTAssertEqual(Int(ticket.sequence), job.number)
                        XCTAssertEqual(ticket.tileCount, job.tiles)
                        if inOrder {
                            let other = runningJob.exchange(job.number, ordering: .acquiringAndReleasing)
                            if running.add(1, ordering: .acquiringAndReleasing).newValue > 1 || (other != -1 && other != job.number) {
                                overlaps.add(1, ordering: .relaxed)
                            }
                        }
                        taken.increment(job: job.number, tile: ticket.tile)
                        if ticket.tile % 3 == 0 { usleep(50) }  // uneven tiles
                        if inOrder {
                            running.subtract(1, ordering: .acquiringAndReleasing)
                            runningJob.store(-1, ordering: .releasing)
                        }
                        queue.finish(ticket)
                    }
                }
            }.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "workers did not finish")
        return (taken.snapshot, overlaps.load(ordering: .relaxed))
    }

    func testEveryTileOfEveryJobIsTakenExactlyOnce() throws {
        let (taken, _) = try runPool(workers: 4, jobs: 300, tilesPerJob: { 1 + $0 % 13 })
        for job in 1...300 {
            XCTAssertEqual(taken[job], [Int](repeating: 1, count: 1 + job % 13), "job \(job)")
        }
    }

    func testSingleTileJobsRunInOrderWithoutOverlap() throws {
        let (taken, overlaps) = try runPool(workers: 3, jobs: 200, tilesPerJob: { _ in 1 }, inOrder: true)
        XCTAssertEqual(overlaps, 0, "an inOrder job started before the previous one finished")
        XCTAssertTrue((1...200).allSatisfy { taken[$0] == [1] })
    }

    func testStopWakesWaitingWorkers() throws {
        let queue = try TileQueue<Job>(jobCapacity: 2)
        // The first taker must open; nobody opens, so the others wait until stop.
        guard case .open(let after) = queue.take() else { return XCTFail("the first take must be .open") }
        XCTAssertEqual(after, 0)
        let finished = DispatchGroup()
        for _ in 0..<3 {
            finished.enter()
            Thread {
                // A 60 s backstop: only `stop`'s wake-up can end this wait within the 5 s below.
                if case .stopped = queue.take(stopCheckNanos: 60_000_000_000) {} else { XCTFail("expected .stopped") }
                finished.leave()
            }.start()
        }
        // Stop only once all three sleep on the futex, so the test is about waking sleepers.
        let asleepBy = Date().addingTimeInterval(10)
        while queue.waitingWorkerCount < 3 && Date() < asleepBy { usleep(1000) }
        XCTAssertEqual(queue.waitingWorkerCount, 3, "the workers never went to sleep waiting for a job")
        queue.stop()
        XCTAssertEqual(finished.wait(timeout: .now() + 5), .success, "stop must wake every waiter at once")
    }

    func testFailedFlagIsPerJob() throws {
        let queue = try TileQueue<Job>(jobCapacity: 2)
        guard case .open(let after) = queue.take() else { return XCTFail() }
        queue.open(Job(number: 1, tiles: 2), tileCount: 2, after: after)
        guard case .tile(let first, _) = queue.take(), case .tile(let second, _) = queue.take() else { return XCTFail() }
        XCTAssertFalse(queue.jobFailed(first))
        queue.markFailed(second)
        XCTAssertTrue(queue.jobFailed(first))
        XCTAssertFalse(queue.finish(first))
        XCTAssertTrue(queue.finish(second), "the second finish is the job's last")
        guard case .open(let next) = queue.take() else { return XCTFail("all tiles taken: next take opens") }
        queue.open(Job(number: 2, tiles: 1), tileCount: 1, after: next)
        guard case .tile(let third, let job) = queue.take() else { return XCTFail() }
        XCTAssertEqual(job.number, 2)
        XCTAssertFalse(queue.jobFailed(third), "a new job starts unfailed")
    }
}
