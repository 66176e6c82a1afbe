import FrameHandoff
import Foundation
import KernelRuntime
import VulkanRender

/// The compute side `bench` and `view` both build, in two steps because the renderer comes between
/// them: `load` reads the kernel and probes one instance (its format and output size decide the
/// renderer's content and the slot size); `start` builds the slot ring, the worker pool and, with
/// `--watch`, the file watcher.
struct ComputeSide {
    /// The file loaded: the kernel asked for, or its SIMD build (`--kernel-build`).
    let path: String
    /// The run's one engine (built here, from the request): compiles the kernel and every reload.
    let engine: any KernelEngine
    let kernel: any CompiledKernel
    let probe: any KernelInstance
    /// The host every instance of the run gets: the caller's, with the `--param` values to start from.
    let host: KernelHost

    /// `log` gets the note when `--engine auto` falls back to WasmKit. `parameters` (`--param`) must name parameters
    /// the kernel declares, with values in their ranges (exit 64 otherwise).
    static func load(
        path: String, width: Int, height: Int, limits: KernelLimits, host: KernelHost, engine request: EngineRequest,
        parameters: [ParameterAssignment] = [], log: (String) -> Void
    ) throws(FramepipeError) -> ComputeSide {
        let engine: any KernelEngine
        do throws(EngineUnavailable) {
            let resolved = try request.resolve()
            if let note = resolved.note { log(note) }
            engine = resolved.engine
        } catch {
            throw FramepipeError(.engineUnavailable, error.message)
        }
        let file: String
        do throws(EngineUnavailable) {
            file = try request.kernelFile(for: path, on: engine)
        } catch {
            throw FramepipeError(.usage, error.message)  // --kernel-build simd without a SIMD build
        }
        do {
            let kernel = try engine.load(path: file)
            var probe = try kernel.instantiate(width: width, height: height, limits: limits, host: host)
            var runHost = host
            if !parameters.isEmpty {
                switch ParameterAssignment.overrides(parameters, for: probe.parameters, kernel: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent) {
                case .failure(let error): throw FramepipeError(.usage, error.message)
                case .success(let overrides): runHost.parameterOverrides = overrides
                }
                // Again with the values: fp_init may read them.
                probe = try kernel.instantiate(width: width, height: height, limits: limits, host: runHost)
            }
            return ComputeSide(path: file, engine: engine, kernel: kernel, probe: probe, host: runHost)
        } catch let error as FramepipeError {
            throw error
        } catch let error as KernelError {
            throw FramepipeError(error)
        } catch {
            throw FramepipeError(.failure, "\(error)")
        }
    }

    /// SHA-256 of the loaded file, for reports (a baseline compares kernels by content).
    var kernelDigest: String {
        FileManager.default.contents(atPath: path).map { SHA256.hex([UInt8]($0)) } ?? ""
    }

    /// What the renderer draws for this kernel.
    func content(colormap: Colormap) -> FrameContent {
        FrameContent(probe.format, units: probe.unitCount, colormap: colormap)
    }

    /// The ring, pool and watcher, built but not started. `payload`: the ring's slot memory when the renderer lends
    /// it (zero-copy upload: `RenderFeed.ringPayload(for:slotCount:slotByteCount:)` with `slotByteCount` =
    /// `probe.outputByteCount` and the same `slotCount`); nil = the ring allocates its own.
    func build(
        settings: ComputeSettings, slotCount: Int, policy: HandoffPolicy, watch: Bool,
        payload: LentPayload? = nil, log: @escaping @Sendable (String) -> Void
    ) throws(FramepipeError) -> ComputeRun {
        let ring: SlotRing
        do {
            ring = try SlotRing(
                slotCount: slotCount, slotByteCount: probe.outputByteCount, policy: policy, payload: payload)
        } catch {
            throw FramepipeError(
                slotRing: error, slotCount: slotCount, slotByteCount: probe.outputByteCount, width: settings.width,
                height: settings.height)
        }
        let pool: ComputePool
        do {
            pool = try ComputePool(kernel: kernel, settings: settings, ring: ring, host: host, diagnostics: log)
        } catch {
            throw FramepipeError(error)
        }
        let watcher = watch ? KernelFileWatcher(path: path, engine: engine, pool: pool, log: log) : nil
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
