import Foundation

/// lavapipe's WSI code complains on stderr when XDG_RUNTIME_DIR is unset: give the test process a
/// private, valid one, so real errors are not lost in that noise.
func prepareVulkanTestEnvironment() {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("framepipe-vk-tests-\(getpid())", isDirectory: true)
    try? FileManager.default.createDirectory(
        at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    setenv("XDG_RUNTIME_DIR", dir.path, 1)
}
