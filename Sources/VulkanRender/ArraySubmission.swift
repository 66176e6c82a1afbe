// Convenience for callers that hold a frame as an array (capture, tests): keeps pointer handling here.
// Unsafe pointer invariant: the array's storage is lent to submitFrame(pixels:tag:) only for that call, which checks
// its length and copies it into staging before returning; no pointer to it is kept.
extension HeadlessRenderer {
    /// Submits one frame (content.byteCount(width:height:) bytes) held in an array; see `submitFrame(pixels:tag:)`.
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
