import FrameHandoff
import XCTest

@testable import Framepipe

/// A slot ring that cannot be built exits by cause: 64 only for what the user chose (with what to
/// change), 1 for a run-time resource failure or a bug. The errors come from real `SlotRing` inits.
final class SlotRingSetupErrorTests: XCTestCase {
    private func setupError(slotCount: Int, slotByteCount: Int, payload: LentPayload? = nil) -> SlotRing.SetupError? {
        do {
            _ = try SlotRing(slotCount: slotCount, slotByteCount: slotByteCount, payload: payload)
            return nil
        } catch {
            return error
        }
    }

    private func classify(_ error: SlotRing.SetupError?, slotCount: Int, slotByteCount: Int) throws -> FramepipeError {
        let error = try XCTUnwrap(error, "the ring was built")
        return FramepipeError(slotRing: error, slotCount: slotCount, slotByteCount: slotByteCount, width: 16384, height: 16384)
    }

    func testFramesLargerThanTheMachineAreAUsageErrorNamingSize() throws {
        // More than any machine's memory: the allocation is refused (or overflows) whatever else runs.
        let slotBytes = Int.max / 17
        let error = try classify(setupError(slotCount: 8, slotByteCount: slotBytes), slotCount: 8, slotByteCount: slotBytes)
        XCTAssertEqual(error.exitCode, .usage)
        XCTAssertTrue(error.message.contains("use a smaller --size"), error.message)
        XCTAssertFalse(error.message.contains("\n"))
    }

    func testTheLargestSizeIsWordedWithoutOverflow() {
        let error = FramepipeError(slotRing: .outOfMemory(Int.max), slotCount: 8, slotByteCount: Int.max / 16, width: 1, height: 1)
        XCTAssertEqual(error.exitCode, .usage)
        XCTAssertTrue(error.message.contains("use a smaller --size"), error.message)
    }

    func testASlotCountOutsideTheRangeIsAUsageErrorNamingSlots() throws {
        let error = try classify(setupError(slotCount: 9, slotByteCount: 64), slotCount: 9, slotByteCount: 64)
        XCTAssertEqual(error.exitCode, .usage)
        XCTAssertTrue(error.message.contains("--slots"), error.message)
    }

    func testAnAllocationTheMachineCouldHoldIsARunTimeFailure() {
        let error = FramepipeError(slotRing: .outOfMemory(1 << 20), slotCount: 3, slotByteCount: 1 << 18, width: 256, height: 256)
        XCTAssertEqual(error.exitCode, .failure)
        XCTAssertTrue(error.message.contains("out of memory"), error.message)
    }

    func testALentPayloadThatDoesNotFitIsARunTimeFailure() throws {
        final class Buffer: @unchecked Sendable {
            let base = UnsafeMutableRawPointer.allocate(byteCount: 2 * SlotRing.pageSize, alignment: SlotRing.pageSize)
            deinit { base.deallocate() }
        }
        let buffer = Buffer()
        let misaligned = LentPayload(base: buffer.base + 8, byteCount: SlotRing.pageSize, owner: buffer)
        let error = try classify(setupError(slotCount: 3, slotByteCount: 64, payload: misaligned), slotCount: 3, slotByteCount: 64)
        XCTAssertEqual(error.exitCode, .failure)
    }
}
