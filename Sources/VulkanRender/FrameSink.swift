// FrameSink: what RenderFeed (Sources/Framepipe/RenderFeed.swift) needs of a renderer to hand it slot-ring frames and
// know when each ring slot may go back. HeadlessRenderer (bench, capture) and WindowRenderer (view) adopt it, so both
// commands validate handles, hold zero-copy leases until the fence and release them by one implementation.
//
// Unsafe pointer invariants: FrameSource.bytes lends the renderer the caller's frame bytes for the submit call only (it
// copies them into staging memory and keeps no pointer); FrameSource.ringSlot names a slot of the renderer's own
// zero-copy ring, which the caller holds under a validated read lease until collectFinishedRingReads returned the
// frame's tag (the renderers' headers state the rest).

/// Where a submitted frame's bytes are: the caller's memory (copied during the call: copy upload) or a slot of the
/// renderer's zero-copy ring (read in place by the GPU).
public enum FrameSource {
    case bytes(UnsafeRawBufferPointer)
    case ringSlot(Int)
}

public protocol FrameSink: AnyObject {
    /// `.copy` or `.zeroCopy`.
    var uploadMode: UploadMode { get }
    /// Frames that may be in flight at once; a zero-copy reader holds a ring slot per frame in flight.
    var framesInFlight: Int { get }
    /// The zero-copy ring payload, once makeRingPayload made it.
    var zeroCopyRing: ZeroCopyRingMemory? { get }
    /// Zero-copy only: the slot ring's payload in memory the GPU reads in place (once per renderer).
    func makeRingPayload(slotCount: Int, slotByteCount: Int) throws(RenderError) -> ZeroCopyRingMemory
    /// Waits, if need be, until the next frame can be submitted without waiting for the GPU.
    func waitForFreeFrameSlot() throws(RenderError)
    /// Hands `body` the tag of every ring frame (FrameSource.ringSlot) whose GPU reads are over since the last call;
    /// never waits. After waitIdle every ring frame submitted comes back.
    func collectFinishedRingReads(_ body: (UInt64) -> Void) throws(RenderError)
    /// Waits until the GPU is done with everything submitted.
    func waitIdle() throws(RenderError)
}

extension HeadlessRenderer: FrameSink {}
extension WindowRenderer: FrameSink {}
