import FrameHandoff
import VulkanRender

/// Feeds frames from the slot ring to a renderer (a FrameSink: HeadlessRenderer for `bench`,
/// WindowRenderer for `view`) in its upload mode, and decides when each read lease ends, so that a slot is never
/// rewritten while the GPU may still read it (handoff invariant 1):
/// - copy: the renderer copies the slot's bytes into its own staging memory during the submit, so the lease is
///   released before `submit` returns.
/// - zero-copy: the ring's payload is the renderer's host-visible memory and the GPU reads the slot in place, so the
///   lease is kept until the renderer hands the frame's tag back from collectFinishedRingReads (its fence was seen
///   signalled), and released there: by `releaseFinished`, `reserveFrameSlot`, or `close` once the GPU is idle.
/// Either way the handle is validated before anything is bound or read (invariant 2): a stale one is counted by the
/// ring and `submit` returns nil.
///
/// One render thread owns a feed (not thread-safe, like the renderers). Use the feed's calls, not the renderer's, for
/// anything that submits a ring frame or collects completions: the feed matches them to leases.
public final class RenderFeed<Renderer: FrameSink> {
    public let ring: SlotRing
    public let renderer: Renderer
    /// Zero-copy: the leases of submitted frames whose GPU reads may not be over, in submission order.
    private var held: [ReadLease] = []
    private var releaseFailure: String?

    /// The upload mode in use (.copy or .zeroCopy).
    public var uploadMode: UploadMode { renderer.uploadMode }

    /// Ring slots held for frames the GPU may still read (always empty in copy mode).
    public var heldHandles: [FrameHandle] { held.map(\.handle) }

    /// - ring: for zero-copy, a ring built on `renderer.lentRingPayload(...)` with the same shape.
    public init(ring: SlotRing, renderer: Renderer) throws(FramepipeError) {
        if renderer.uploadMode == .zeroCopy {
            guard let memory = renderer.zeroCopyRing, memory.slotCount == ring.slotCount,
                memory.slotStride == ring.slotStride, memory.slotByteCount == ring.slotByteCount
            else {
                throw FramepipeError(
                    .failure, "zero-copy upload: the slot ring must be built on the renderer's ring payload "
                        + "(lentRingPayload) with the same slot count and size")
            }
            let needed = renderer.requiredRingSlotCount
            guard ring.slotCount >= needed else {
                throw FramepipeError(
                    .usage, "zero-copy upload with \(renderer.framesInFlight) frames in flight needs at least "
                        + "\(needed) ring slots, not \(ring.slotCount): use more slots or --upload copy")
            }
        }
        self.ring = ring
        self.renderer = renderer
        held.reserveCapacity(renderer.framesInFlight + 1)
    }

    /// Hands the frame of `lease` to `draw`, which submits it from the FrameSource it is given (the slot's bytes,
    /// or the ring slot itself in zero-copy mode). Returns nil, without touching the slot, when the handle is stale
    /// (counted by the ring). After a throw a zero-copy lease stays held until `close`: the GPU may have the frame.
    public func submit<Result>(
        _ lease: ReadLease, draw: (FrameSource) throws(RenderError) -> Result
    ) throws(FramepipeError) -> Result? {
        guard ring.validate(lease.handle) else { return nil }
        if renderer.uploadMode == .zeroCopy {
            held.append(lease)
            do { return try draw(.ringSlot(lease.handle.slot)) } catch { throw FramepipeError(error) }
        }
        let result: Swift.Result<Result, RenderError>
        do {
            result = try ring.withReadableBytes(lease) { bytes in
                do throws(RenderError) {
                    return .success(try draw(.bytes(bytes)))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            throw FramepipeError(.failure, "frame \(lease.handle) went stale while being read: \(error)")
        }
        // The bytes were copied into the renderer's staging memory (or not at all): the slot can go back now.
        try release(lease)
        switch result {
        case .success(let value): return value
        case .failure(let error): throw FramepipeError(error)
        }
    }

    /// Gives back the ring slot of every frame whose GPU reads are over (never waits, no allocation).
    public func releaseFinished() throws(FramepipeError) {
        do {
            try renderer.collectFinishedRingReads { tag in
                // Submission order on both sides: the match is normally the first element.
                guard let i = held.firstIndex(where: { $0.handle.generation == tag }) else { return }
                let lease = held.remove(at: i)
                do { try ring.release(lease) } catch { releaseFailure = "releasing \(lease.handle) failed: \(error)" }
            }
        } catch {
            throw FramepipeError(error)
        }
        // Only this feed releases the leases it was given: a stale one here is a caller bug (released twice).
        if let failure = releaseFailure { throw FramepipeError(.failure, failure) }
    }

    /// Waits until the renderer can take the next frame without waiting for the GPU, then releases what finished.
    /// Call it before acquiring the next frame: a zero-copy reader then holds at most one slot per frame in flight
    /// (requiredRingSlotCount's assumption).
    public func reserveFrameSlot() throws(FramepipeError) {
        do { try renderer.waitForFreeFrameSlot() } catch { throw FramepipeError(error) }
        try releaseFinished()
    }

    /// Waits for the GPU to finish everything submitted and gives back every lease still held. Idempotent.
    public func close() {
        try? renderer.waitIdle()
        try? releaseFinished()
        // The GPU is idle: nothing reads a ring slot any more, whatever the renderer said.
        for lease in held { try? ring.release(lease) }
        held.removeAll()
    }

    private func release(_ lease: ReadLease) throws(FramepipeError) {
        do {
            try ring.release(lease)
        } catch {
            throw FramepipeError(.failure, "releasing \(lease.handle) failed: \(error)")
        }
    }
}

extension RenderFeed where Renderer == HeadlessRenderer {
    /// Submits the frame of `lease` (tagged with its generation); nil when its handle is stale. `readBack`: the
    /// CompletedFrame will carry the pixels (pipelined).
    public func submit(_ lease: ReadLease, readBack: Bool = false) throws(FramepipeError) -> SubmittedFrame? {
        let tag = lease.handle.generation
        return try submit(lease) { source throws(RenderError) in
            try renderer.submitFrame(from: source, tag: tag, readBack: readBack)
        }
    }

    /// Frames completed since the last call, in submission order; their leases are released (zero-copy). Never waits.
    public func collectCompleted() throws(FramepipeError) -> [CompletedFrame] {
        let frames: [CompletedFrame]
        do { frames = try renderer.collectCompleted() } catch { throw FramepipeError(error) }
        try releaseFinished()
        return frames
    }

    /// Blocks until the oldest frame on the GPU completes or `deadline` (monotonic ns) passes; false at once when no
    /// frame is on the GPU (HeadlessRenderer.waitForNextCompletion). The frame comes from the next collectCompleted.
    public func waitForNextCompletion(untilNanos deadline: UInt64) throws(FramepipeError) -> Bool {
        do { return try renderer.waitForNextCompletion(untilNanos: deadline) } catch { throw FramepipeError(error) }
    }

    /// Waits for every submitted frame and returns the rest, releasing every lease still held.
    public func finish() throws(FramepipeError) -> [CompletedFrame] {
        let frames: [CompletedFrame]
        do { frames = try renderer.finish() } catch { throw FramepipeError(error) }
        try releaseFinished()
        return frames
    }
}

extension RenderFeed where Renderer == WindowRenderer {
    /// Draws and presents the frame of `lease` (tagged with its generation) with `hud` on top; nil when its handle is
    /// stale, else whether it was presented (WindowRenderer.drawFrame).
    public func draw(_ lease: ReadLease, hud: HudOverlay?) throws(FramepipeError) -> Bool? {
        let tag = lease.handle.generation
        return try submit(lease) { source throws(RenderError) in
            try renderer.drawFrame(from: source, tag: tag, hud: hud)
        }
    }
}

extension FrameSink {
    /// Slots a ring needs so that the writer always finds a free one. Copy: 3 (the reader holds one slot only for
    /// the length of a memcpy; `latest` keeps one ready; the writer fills one). Zero-copy: framesInFlight + 2: the
    /// reader holds one slot per frame in flight (RenderFeed.reserveFrameSlot before acquiring, so it never holds one
    /// more while it waits for the GPU), `latest` keeps one ready and the writer fills one. `fifo` uses the same
    /// count: there the writer waits for a free slot by design. More may be needed when the compute side writes
    /// several frames at once; SlotRing accepts at most 8.
    public var requiredRingSlotCount: Int { uploadMode == .zeroCopy ? max(3, framesInFlight + 2) : 3 }

    /// The ring payload to lend SlotRing (via ComputeSide.build / SlotRing(payload:)) for this renderer: its zero-copy
    /// memory, or nil in copy mode (the ring allocates its own). The renderer owns that memory: keep it alive until
    /// the compute side writing into the ring has stopped.
    public func lentRingPayload(slotCount: Int, slotByteCount: Int) throws(FramepipeError) -> LentPayload? {
        guard uploadMode == .zeroCopy else { return nil }
        do {
            let memory = try makeRingPayload(slotCount: slotCount, slotByteCount: slotByteCount)
            // The ring holds `memory`, the owner of its slots, so they outlive every pointer it hands out.
            return LentPayload(base: memory.base, byteCount: memory.byteCount, owner: memory)
        } catch {
            throw FramepipeError(error)
        }
    }
}
