// Unsafe pointer invariant: writePNG's tEXt keys and values are strdup'd C strings, freed by its `defer` after the one
// libpng call that reads them (libpng copies them in png_set_text); the pointer arrays are lent for that call only.
import CFramepipe
import Foundation

/// Report files are written whole or not at all: to a temporary file beside the target
/// (`.NAME.tmp-PID`), then renamed (a target that is not a regular file, such as `/dev/null`, is
/// written through instead). A temporary of the same file left by a killed process (its PID no
/// longer alive) is deleted on the next write.
public enum OutputFiles {
    public static func createDirectory(_ path: String) throws(FramepipeError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FramepipeError(.failure, "cannot create output directory \(path): \(error.localizedDescription)")
        }
    }

    static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        removeStaleTemporaries(of: url)
        return url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    }

    /// Deletes `.NAME.tmp-PID` beside `url` for every PID that is not alive.
    static func removeStaleTemporaries(of url: URL) {
        let folder = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent).tmp-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = pid_t(entry.dropFirst(prefix.count)), !ReportFolder.isAlive(pid) else { continue }
            unlink((folder as NSString).appendingPathComponent(entry))
        }
    }

    /// Whether `path` exists and is not a regular file (`/dev/null`, a FIFO, `/dev/stdout`): such a
    /// target is written through, never replaced — a rename over `/dev/null` by root would put a
    /// regular file in the device's place.
    static func isSpecialFile(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        return status.st_mode & S_IFMT != S_IFREG && status.st_mode & S_IFMT != S_IFDIR
    }

    static func moveIntoPlace(_ temporary: String, _ path: String) throws(FramepipeError) {
        if isSpecialFile(path) {
            defer { unlink(temporary) }
            guard let data = FileManager.default.contents(atPath: temporary), let target = FileHandle(forWritingAtPath: path)
            else { throw FramepipeError(.failure, "cannot write \(path): \(String(cString: strerror(errno)))") }
            do {
                try target.write(contentsOf: data)
                try target.close()
            } catch {
                throw FramepipeError(.failure, "cannot write \(path): \(error.localizedDescription)")
            }
            return
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FramepipeError(.failure, "cannot write \(path): \(reason)")
        }
    }

    public static func write(_ data: Data, to path: String) throws(FramepipeError) {
        let temporary = temporaryPath(for: path)
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            unlink(temporary)
            throw FramepipeError(.failure, "cannot write \(path): \(error.localizedDescription)")
        }
        try moveIntoPlace(temporary, path)
    }

    /// Writes 8-bit RGBA pixels (rows top first) as a PNG.
    /// `text`: tEXt chunks (keyword, value), written in this order before the image data (Latin-1 keywords of 1–79
    /// characters, as PNG requires).
    public static func writePNG(
        _ pixels: [UInt8], width: Int, height: Int, to path: String, text: [(String, String)] = []
    ) throws(FramepipeError) {
        guard width > 0, height > 0, pixels.count == width * height * 4 else {
            throw FramepipeError(.failure, "internal: \(pixels.count) bytes is not a \(width)x\(height) RGBA image")
        }
        let temporary = temporaryPath(for: path)
        var message = [CChar](repeating: 0, count: 256)
        let keys = text.map { strdup($0.0) }
        let values = text.map { strdup($0.1) }
        defer { for p in keys + values { free(p) } }
        let status = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { keyPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                fp_png_write_rgba8_text(
                    temporary, pixels, UInt32(width), UInt32(height), width * 4, keyPointers.baseAddress,
                    valuePointers.baseAddress, text.count, &message, message.count)
            }
        }
        guard status == 0 else {
            unlink(temporary)
            throw FramepipeError(.failure, "cannot write \(path): \(cText(message))")
        }
        try moveIntoPlace(temporary, path)
    }

    /// Reads any PNG as 8-bit RGBA.
    public static func readPNG(_ path: String) throws(FramepipeError) -> (pixels: [UInt8], width: Int, height: Int) {
        var width: UInt32 = 0
        var height: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        var pixels: [UInt8] = []
        let sizeStatus = fp_png_read_rgba8(path, nil, 0, &width, &height, &message, message.count)
        guard sizeStatus == ERANGE else {
            throw FramepipeError(.failure, "\(path): \(cText(message))")
        }
        pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 4)
        guard fp_png_read_rgba8(path, &pixels, pixels.count, &width, &height, &message, message.count) == 0 else {
            throw FramepipeError(.failure, "\(path): \(cText(message))")
        }
        return (pixels, Int(width), Int(height))
    }

    /// A NUL-terminated C message buffer as a Swift string.
    static func cText(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
