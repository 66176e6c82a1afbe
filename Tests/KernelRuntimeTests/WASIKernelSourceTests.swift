import EngineTestSupport
import Foundation
import Synchronization
import XCTest

@testable import KernelRuntime

/// Kernels written against real libraries, built from source here (scripts/build-test-kernels.sh) and run on
/// both engines: what docs/kernel-abi.md ("WASI subset") promises a kernel author.
final class WASIKernelSourceTests: XCTestCase {
    /// Tests/KernelSources built into a temporary directory, once.
    static let built: Result<URL, any Error> = Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kernel-sources-\(UUID().uuidString)")
        try runBuildTool(repositoryRoot.appendingPathComponent("scripts/build-test-kernels.sh").path, [directory.path])
        return directory
    }

    func testCKernelWithMallocPrintfQsortSinfAndFopen() throws {
        let kernel = try Self.built.get().appendingPathComponent("libc.wasm").path
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("libc-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        try Data("DATA from the host".utf8).write(to: data.appendingPathComponent("input.txt"))
        var outputs: [[UInt8]] = []
        try TestEngines.forEach { engine in
            let lines = Mutex<[String]>([])
            var host = KernelHost(log: { line in lines.withLock { $0.append(line) } }, input: { _ in 0 })
            host.wasi = WASIOptions(dataDirectory: data.path)
            let instance = try instantiate(kernel, on: engine.make(), width: 64, height: 8, host: host)
            try instance.run(frame: 2, time: 2.0 / 60, units: 0..<8)
            let bytes = try instance.outputBytes()
            let log = lines.withLock { $0 }
            XCTAssertTrue(log.contains("kernel libc: libc kernel ready: sorted 64 values, sinf(1)=0.841471"), "\(engine): \(log)")
            XCTAssertTrue(log.contains("kernel libc: read: DATA from the host"), "\(engine): \(log)")
            XCTAssertTrue(log.contains("kernel libc: escape: refused"), "\(engine): \(log)")
            let reds = (0..<64).map { bytes[$0 * 4] }
            XCTAssertEqual(reds, reds.sorted(), "\(engine): qsort's order along row 0")
            XCTAssertGreaterThan(Int(reds[63]) - Int(reds[0]), 200, "\(engine): sinf spans -1...1")
            XCTAssertTrue((0..<(64 * 8)).allSatisfy { bytes[$0 * 4 + 1] == 2 && bytes[$0 * 4 + 3] == 255 }, "\(engine): frame 2")
            outputs.append(bytes)
        }
        if outputs.count == 2 { XCTAssertEqual(outputs[0], outputs[1], "the same bytes on both engines") }
    }
}
