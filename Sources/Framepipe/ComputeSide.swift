import FrameHandoff
import KernelRuntime
import VulkanRender

/// The compute side `bench` and `view` both build, in two steps because the renderer comes between
/// them: `load` reads the kernel and probes one instance (its format and output size decide the
/// renderer's content and the slot size); `start` builds the slot ring, the worker pool and, with
/// `--watch`, the file watcher.
struct ComputeSide {
    let path: String
    let kernel: any CompiledKernel
    let probe: any KernelInstance

    static func load(
        path: String, width: Int, height: Int, limits: KernelLimits, host: KernelHost
    ) throws(FramepipeError) -> ComputeSide {
        do {
            let kernel = try Bench.engine.load(path: path)
            let probe = try kernel.instantiate(width: width, height: height, limits: limits, host: host)
            return ComputeSide(path: path, kernel: kernel, probe: probe)
        } catch {
            throw FramepipeError(error)
        }
    }

    /// What the renderer draws for this kernel.
    func content(colormap: Colormap) -> FrameContent {
        FrameContent(probe.format, units: probe.unitCount, colormap: colormap)
    }

    /// The ring, pool and watcher, built but not started. `payload`: the ring's slot memory when the renderer lends
    /// it (zero-copy upload: `RenderFeed.ringPayload(for:slotCount:slotByteCount:)` with `slotByteCount` =
    /// `probe.outputByteCount` and the same `slotCount`); nil = the ring allocates its own.
    func build(
        settings: ComputeSettings, host: KernelHost, slotCount: Int, policy: HandoffPolicy, watch: Bool,
        payload: LentPayload? = nil, log: @escaping @Sendable (String) -> Void
    ) throws(FramepipeError) -> ComputeRun {
        let ring: SlotRing
        do {
            ring = try SlotRing(
                slotCount: slotCount, slotByteCount: probe.outputByteCount, policy: policy, payload: payload)
        } catch {
            throw FramepipeError(.usage, "cannot build the slot ring: \(error)")
        }
        let pool: ComputePool
        do {
            pool = try ComputePool(kernel: kernel, settings: settings, ring: ring, host: host, diagnostics: log)
        } catch {
            throw FramepipeError(error)
        }
        let watcher = watch ? KernelFileWatcher(path: path, engine: Bench.engine, pool: pool, log: log) : nil
        return ComputeRun(ring: ring, pool: pool, watcher: watcher)
    }
}

/// A running compute side: start it once, stop it once (stopping again returns at once).
struct ComputeRun {
    let ring: SlotRing
    let pool: ComputePool
    let watcher: KernelFileWatcher?

    func start() {
        pool.start()
        watcher?.start()
    }

    /// Stops the watcher first (no reload may land on a stopping pool), then the pool.
    func stop() -> ComputeReport {
        watcher?.stop()
        return pool.stop()
    }
}
