// swift-tools-version:6.1
// Framepipe: sandboxed WebAssembly compute kernels → slot ring → Vulkan, measured end to end.
// Layering is one way, left to right (see docs/architecture.md):
//   KernelRuntime → FrameHandoff ← VulkanRender, FrameTiming; Framepipe wires them; framepipe is the CLI.
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The WasmKit release the engine is built from; also reported by it (CSystemShim's fp_wasmkit_version).
let wasmKitVersion: Version = "0.4.2"

let package = Package(
    name: "Framepipe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "framepipe", targets: ["framepipe"]),
        .library(name: "Framepipe", targets: ["Framepipe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftwasm/WasmKit.git", exact: wasmKitVersion),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // System libraries (Debian packages named in `providers`; scripts/setup.sh installs them).
        .systemLibrary(
            name: "CVulkan", pkgConfig: "vulkan",
            providers: [.apt(["libvulkan-dev"])]),
        .systemLibrary(
            name: "CGLFW", pkgConfig: "glfw3",
            providers: [.apt(["libglfw3-dev"])]),
        // What Swift cannot import or should not do itself. CSystemShim: futex, pthread affinity
        // (no dependencies, so the handoff may use it); CFramepipe: PNG through libpng.
        .target(name: "CSystemShim", cSettings: [.define("FP_WASMKIT_VERSION", to: "\"\(wasmKitVersion)\"")]),
        // wasmtime's C API, declared by hand (the PyPI wheel ships no headers) and dlopen()ed at run
        // time, so Framepipe builds and runs without the library.
        .target(name: "CWasmtime", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "CFramepipe",
            linkerSettings: [.linkedLibrary("png16")]),
        // The viewer's overlay: Dear ImGui 1.86 from Debian's libimgui-dev (libimgui.a holds its GLFW and Vulkan
        // backends, built against the system stb), behind the C API in include/fp_overlay.h.
        .target(
            name: "COverlay",
            cxxSettings: [.unsafeFlags(["-isystem", "/usr/include/imgui", "-Wall", "-Wextra"])],
            linkerSettings: [
                .linkedLibrary("imgui"), .linkedLibrary("stb"), .linkedLibrary("stdc++"), .linkedLibrary("glfw"),
                .linkedLibrary("vulkan"),
            ]),

        // Stages.
        .target(
            name: "FrameHandoff",
            dependencies: ["CSystemShim", .product(name: "Atomics", package: "swift-atomics")],
            swiftSettings: strictSwift),
        .target(
            name: "KernelRuntime",
            dependencies: [
                "FrameHandoff", "CSystemShim", "CWasmtime",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
            ],
            swiftSettings: strictSwift),
        .target(
            name: "VulkanRender", dependencies: ["CVulkan", "CGLFW", "COverlay", "FrameTiming"], swiftSettings: strictSwift),
        .target(
            name: "FrameTiming", dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strictSwift),
        .target(
            name: "Framepipe",
            dependencies: ["FrameHandoff", "KernelRuntime", "VulkanRender", "FrameTiming", "CFramepipe", "CSystemShim"],
            swiftSettings: strictSwift, plugins: ["VersionStamp"]),
        // Writes the checkout's git commit into the Framepipe target before every build (FramepipeVersion).
        .plugin(name: "VersionStamp", capability: .buildTool()),
        .executableTarget(
            name: "framepipe",
            dependencies: [
                "Framepipe", "KernelRuntime", "FrameHandoff", "VulkanRender", "CSystemShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift),

        // Benchmarks (run with -c release; they print figures, they do not pass or fail on speed).
        .executableTarget(name: "handoff-bench", dependencies: ["FrameHandoff"], swiftSettings: strictSwift),
        .executableTarget(name: "upload-bench", dependencies: ["VulkanRender", "FrameHandoff"], swiftSettings: strictSwift),
        // The gallery kernels' C sources (assets/kernels) compiled natively: kernel-bench's baseline.
        // -ffp-contract=off: wasm has no fused multiply-add, so neither may the native build, or the
        // float results (and the byte-for-byte check against wasm) would differ. -O2 in debug builds too.
        .target(
            name: "NativeKernels",
            cSettings: [
                .headerSearchPath("../../assets/kernels/include"),
                .unsafeFlags(["-O2", "-ffp-contract=off", "-Wall", "-Wextra"]),
            ]),
        .executableTarget(
            name: "kernel-bench", dependencies: ["KernelRuntime", "FrameHandoff", "NativeKernels"], swiftSettings: strictSwift),

        // Tests. EngineTestSupport: the engines every test that runs a kernel runs on (WasmKit, wasmtime), child processes
        // and a private Xvfb display.
        .target(
            name: "EngineTestSupport", dependencies: ["KernelRuntime"], path: "Tests/EngineTestSupport",
            swiftSettings: strictSwift),
        .testTarget(name: "FrameHandoffTests", dependencies: ["FrameHandoff"], swiftSettings: strictSwift),
        .testTarget(
            name: "KernelRuntimeTests", dependencies: ["KernelRuntime", "FrameHandoff", "EngineTestSupport"],
            resources: [.copy("BadModules")],
            swiftSettings: strictSwift),
        .testTarget(
            name: "VulkanRenderTests", dependencies: ["VulkanRender", "FrameHandoff", "EngineTestSupport"],
            swiftSettings: strictSwift),
        .testTarget(name: "FrameTimingTests", dependencies: ["FrameTiming"], swiftSettings: strictSwift),
        .testTarget(
            name: "FramepipeTests",
            dependencies: ["Framepipe", "KernelRuntime", "VulkanRender", "FrameTiming", "FrameHandoff", "EngineTestSupport"],
            swiftSettings: strictSwift),
    ],
    cxxLanguageStandard: .cxx17
)
