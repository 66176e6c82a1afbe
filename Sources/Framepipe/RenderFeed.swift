import FrameHandoff
import VulkanRender

/// Feeds frames from the slot ring to the headless renderer in its upload mode, and decides when each read lease
/// ends, so that a slot is never rewritten while the GPU may still read it (handoff invariant 1):
/// - copy: the renderer copies the slot's bytes into its own staging memory during `submit`, so the lease is
///   released before `submit` returns.
/// - zero-copy: the ring's payload is the renderer's host-visible memory and the GPU reads the slot in place, so the
///   lease is kept until that frame's CompletedFrame comes back (its fence has signalled) from `collectCompleted`,
///   `reserveFrameSlot` or `finish`, and released there.
/// Either way the handle is validated before anything is bound or read (invariant 2): a stale one is counted by the
/// ring and `submit` returns nil.
///
/// Use the feed's own collect/finish, not the renderer's: the feed matches completions to leases. One render thread
/// owns a feed (not thread-safe, like the renderer).
public final class RenderFeed {
    public let ring: SlotRing
    public let renderer: HeadlessRenderer
    /// Zero-copy: the leases of submitted frames not yet completed, in submission order.
    private var held: [ReadLease] = []

    /// The upload mode in use (.copy or .zeroCopy).
    public var uploadMode: UploadMode { renderer.uploadMode }

    /// Ring slots held for frames the GPU may still read (always empty in copy mode).
    public var heldHandles: [FrameHandle] { held.map(\.handle) }

    /// Slots a ring needs so that the writer always finds a free one. Copy: 3 (the reader holds one slot only for
    /// the length of a memcpy; `latest` keeps one ready; the writer fills one). Zero-copy: framesInFlight + 2: the
    /// reader holds one slot per frame in flight (call `reserveFrameSlot` before acquiring, so it never holds one
    /// more while it waits for the GPU), `latest` keeps one ready and the writer fills one. `fifo` uses the same
    /// count: there the writer waits for a free slot by design. More may be needed when the compute side writes
    /// several frames at once; SlotRing accepts at most 8.
    public static func requiredSlotCount(for mode: UploadMode, framesInFlight: Int) -> Int {
        mode == .zeroCopy ? max(3, framesInFlight + 2) : 3
    }

    /// The ring payload to lend SlotRing (via ComputeSide.build / SlotRing(payload:)) for this renderer: its zero-copy
    /// memory, or nil in copy mode (the ring allocates its own). The renderer owns that memory: keep it alive until
    /// the compute side writing into the ring has stopped.
    public static func ringPayload(
        for renderer: HeadlessRenderer, slotCount: Int, slotByteCount: Int
    ) throws(FramepipeError) -> LentPayload? {
        guard renderer.uploadMode == .zeroCopy else { return nil }
        do {
            let memory = try renderer.makeRingPayload(slotCount: slotCount, slotByteCount: slotByteCount)
            // The ring holds `memory`, the owner of its slots, so they outlive every pointer it hands out.
            return LentPayload(base: memory.base, byteCount: memory.byteCount, owner: memory)
        } catch {
            throw FramepipeError(error)
        }
    }

    /// - ring: for zero-copy, a ring built on `ringPayload(for: renderer, ...)` with the same shape.
    public init(ring: SlotRing, renderer: HeadlessRenderer) throws(FramepipeError) {
        if renderer.uploadMode == .zeroCopy {
            guard let memory = renderer.zeroCopyRing, memory.slotCount == ring.slotCount,
                memory.slotStride == ring.slotStride, memory.slotByteCount == ring.slotByteCount
            else {
                throw FramepipeError(
                    .failure, "zero-copy upload: the slot ring must be built on the renderer's ring payload "
                        + "(RenderFeed.ringPayload) with the same slot count and size")
            }
            let needed = Self.requiredSlotCount(for: .zeroCopy, framesInFlight: renderer.framesInFlight)
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

    /// Submits the frame of `lease` (tagged with its generation). Returns nil, without touching the slot, when the
    /// handle is stale (counted by the ring). `readBack`: the CompletedFrame will carry the pixels (pipelined).
    public func submit(_ lease: ReadLease, readBack: Bool = false) throws(FramepipeError) -> SubmittedFrame? {
        guard ring.validate(lease.handle) else { return nil }
        let tag = lease.handle.generation
        if renderer.uploadMode == .zeroCopy {
            let submitted: SubmittedFrame
            do {
                submitted = try renderer.submitFrame(ringSlot: lease.handle.slot, tag: tag, readBack: readBack)
            } catch {
                // Not submitted: nothing on the GPU reads the slot.
                try? ring.release(lease)
                throw FramepipeError(error)
            }
            held.append(lease)
            return submitted
        }
        let result: Result<SubmittedFrame, RenderError>
        do {
            result = try ring.withReadableBytes(lease) { bytes in
                do throws(RenderError) {
                    return .success(try renderer.submitFrame(pixels: bytes, tag: tag, readBack: readBack))
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
        case .success(let submitted): return submitted
        case .failure(let error): throw FramepipeError(error)
        }
    }

    /// Frames completed since the last call, in submission order; their leases are released (zero-copy). Never waits.
    public func collectCompleted() throws(FramepipeError) -> [CompletedFrame] {
        let frames: [CompletedFrame]
        do { frames = try renderer.collectCompleted() } catch { throw FramepipeError(error) }
        return try releasing(frames)
    }

    /// Waits until the renderer can take the next frame without waiting for the GPU, then collects like
    /// `collectCompleted`. Call it before acquiring the next frame: a zero-copy reader then holds at most one slot per
    /// frame in flight (requiredSlotCount's assumption).
    public func reserveFrameSlot() throws(FramepipeError) -> [CompletedFrame] {
        do { try renderer.waitForFreeFrameSlot() } catch { throw FramepipeError(error) }
        return try collectCompleted()
    }

    /// Waits for every submitted frame and returns the rest, releasing every lease still held.
    public func finish() throws(FramepipeError) -> [CompletedFrame] {
        let frames: [CompletedFrame]
        do { frames = try renderer.finish() } catch { throw FramepipeError(error) }
        return try releasing(frames)
    }

    private func releasing(_ frames: [CompletedFrame]) throws(FramepipeError) -> [CompletedFrame] {
        for frame in frames {
            // Submission order on both sides: the match is normally the first element.
            if let i = held.firstIndex(where: { $0.handle.generation == frame.tag }) {
                let lease = held.remove(at: i)
                try release(lease)
            }
        }
        return frames
    }

    private func release(_ lease: ReadLease) throws(FramepipeError) {
        do {
            try ring.release(lease)
        } catch {
            // Only this feed releases the leases it was given: a stale one here is a caller bug (released twice).
            throw FramepipeError(.failure, "releasing \(lease.handle) failed: \(error)")
        }
    }
}
