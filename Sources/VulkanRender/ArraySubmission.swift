// Convenience for callers that hold a frame as an array (capture, tests): keeps pointer handling here.
extension HeadlessRenderer {
    /// Submits one RGBA8 frame held in an array; see `submitFrame(pixels:tag:)`.
    @discardableResult
    public func submitFrame(bytes: [UInt8], tag: UInt64) throws(RenderError) -> SubmittedFrame {
        let result: Result<SubmittedFrame, RenderError> = bytes.withUnsafeBytes { pixels in
            do throws(RenderError) {
                return .success(try submitFrame(pixels: pixels, tag: tag))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
