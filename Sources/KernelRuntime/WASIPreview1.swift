import CSystemShim
import Foundation

// The WASI preview1 subset kernels may import (module `wasi_snapshot_preview1`), written once for every
// engine: adapters link each import a module asks for to `WASISystem.call` and hand over the caller's
// memory. The rules — what each function does here and why — are the table in docs/kernel-abi.md
// ("WASI subset"); this file follows it.
//
// Invariants of the unsafe code here:
// 1. Every guest address is checked against the memory buffer handed to `call` before it is read or
//    written (`GuestMemory`); the buffer is the instance's whole linear memory for the duration of one
//    host call, during which the guest cannot run, so it cannot grow or move.
// 2. A `WASISystem` belongs to one instance and is used only by the thread running that instance (the
//    engines call imports on the calling thread); its descriptors are its own and closed in deinit.

/// What the host answers for each preview1 function: its type and how it is treated.
public enum WASI {
    public static let module = "wasi_snapshot_preview1"

    public enum Treatment: Sendable, Equatable {
        /// Implemented here, capability-restricted.
        case provided
        /// Linked, but answers ENOSYS (52) without doing anything.
        case notSupported
        /// The module is refused at load, naming the function.
        case refused(why: String)
    }

    static let i32 = WasmValueType.i32
    static let i64 = WasmValueType.i64

    /// Every preview1 function, with its type (the witx of wasi_snapshot_preview1) and treatment.
    public static let functions: [String: (type: WasmFunctionType, treatment: Treatment)] = {
        func f(_ parameters: [WasmValueType], _ results: [WasmValueType] = [i32]) -> WasmFunctionType {
            WasmFunctionType(parameters, results)
        }
        let network = Treatment.refused(why: "kernels have no network")
        return [
            "args_get": (f([i32, i32]), .provided),
            "args_sizes_get": (f([i32, i32]), .provided),
            "environ_get": (f([i32, i32]), .provided),
            "environ_sizes_get": (f([i32, i32]), .provided),
            "clock_res_get": (f([i32, i32]), .provided),
            "clock_time_get": (f([i32, i64, i32]), .provided),
            "fd_advise": (f([i32, i64, i64, i32]), .notSupported),
            "fd_allocate": (f([i32, i64, i64]), .notSupported),
            "fd_close": (f([i32]), .provided),
            "fd_datasync": (f([i32]), .notSupported),
            "fd_fdstat_get": (f([i32, i32]), .provided),
            "fd_fdstat_set_flags": (f([i32, i32]), .notSupported),
            "fd_fdstat_set_rights": (f([i32, i64, i64]), .notSupported),
            "fd_filestat_get": (f([i32, i32]), .provided),
            "fd_filestat_set_size": (f([i32, i64]), .notSupported),
            "fd_filestat_set_times": (f([i32, i64, i64, i32]), .notSupported),
            "fd_pread": (f([i32, i32, i32, i64, i32]), .notSupported),
            "fd_prestat_get": (f([i32, i32]), .provided),
            "fd_prestat_dir_name": (f([i32, i32, i32]), .provided),
            "fd_pwrite": (f([i32, i32, i32, i64, i32]), .notSupported),
            "fd_read": (f([i32, i32, i32, i32]), .provided),
            "fd_readdir": (f([i32, i32, i32, i64, i32]), .provided),
            "fd_renumber": (f([i32, i32]), .notSupported),
            "fd_seek": (f([i32, i64, i32, i32]), .provided),
            "fd_sync": (f([i32]), .notSupported),
            "fd_tell": (f([i32, i32]), .provided),
            "fd_write": (f([i32, i32, i32, i32]), .provided),
            "path_create_directory": (f([i32, i32, i32]), .notSupported),
            "path_filestat_get": (f([i32, i32, i32, i32, i32]), .provided),
            "path_filestat_set_times": (f([i32, i32, i32, i32, i64, i64, i32]), .notSupported),
            "path_link": (f([i32, i32, i32, i32, i32, i32, i32]), .notSupported),
            "path_open": (f([i32, i32, i32, i32, i32, i64, i64, i32, i32]), .provided),
            "path_readlink": (f([i32, i32, i32, i32, i32, i32]), .notSupported),
            "path_remove_directory": (f([i32, i32, i32]), .notSupported),
            "path_rename": (f([i32, i32, i32, i32, i32, i32]), .notSupported),
            "path_symlink": (f([i32, i32, i32, i32, i32]), .notSupported),
            "path_unlink_file": (f([i32, i32, i32]), .notSupported),
            "poll_oneoff": (f([i32, i32, i32, i32]), .notSupported),
            "proc_exit": (f([i32], []), .provided),
            "proc_raise": (f([i32]), .notSupported),
            "sched_yield": (f([]), .provided),
            "random_get": (f([i32, i32]), .provided),
            "sock_accept": (f([i32, i32, i32]), network),
            "sock_recv": (f([i32, i32, i32, i32, i32, i32]), network),
            "sock_send": (f([i32, i32, i32, i32, i32]), network),
            "sock_shutdown": (f([i32, i32]), network),
        ]
    }()

    /// The load-time check of one `wasi_snapshot_preview1` import: nil when the host links it, else why not.
    static func refusal(name: String, type: WasmFunctionType?) -> String? {
        guard let entry = functions[name] else {
            return "imports `\(module).\(name)`, which is not a WASI preview1 function"
        }
        if case .refused(let why) = entry.treatment { return "imports `\(module).\(name)`, refused: \(why)" }
        if let type, type != entry.type {
            return "imports `\(module).\(name)` as \(type), but preview1 defines it as \(entry.type)"
        }
        return nil
    }

    /// preview1 errno values the host answers.
    enum Errno: Int32, Error {
        case success = 0, access = 2, badf = 8, exist = 20, fault = 21, inval = 28, io = 29, isdir = 31, loop = 32,
            mfile = 33, nametoolong = 37, noent = 44, nosys = 52, notdir = 54, perm = 63, spipe = 70,
            notcapable = 76

        init(hostErrno: Int32) {
            switch hostErrno {
            case ENOENT: self = .noent
            case EXDEV: self = .notcapable  // openat2 RESOLVE_BENEATH: the path would leave the directory
            case ELOOP: self = .loop
            case ENOTDIR: self = .notdir
            case EISDIR: self = .isdir
            case EACCES: self = .access
            case EPERM: self = .perm
            case EMFILE, ENFILE: self = .mfile
            case ENAMETOOLONG: self = .nametoolong
            case EEXIST: self = .exist
            case EINVAL: self = .inval
            default: self = .io
            }
        }
    }
}

/// How a WASI call ended: a result for the guest, or `proc_exit`, which ends the call as a fault.
enum WASIOutcome: Equatable {
    case result(Int32)
    case none
    case exit(Int32)
}

/// The instance's linear memory during one host call, every access bounds-checked (invariant 1).
struct GuestMemory {
    let bytes: UnsafeMutableRawBufferPointer

    func range(_ address: UInt32, _ count: UInt32) -> Range<Int>? {
        let start = Int(address)
        let length = Int(count)
        guard start <= bytes.count, length <= bytes.count - start else { return nil }
        return start..<(start + length)
    }
    func store32(_ value: UInt32, at address: UInt32) -> Bool {
        guard let range = range(address, 4) else { return false }
        bytes.storeBytes(of: value.littleEndian, toByteOffset: range.lowerBound, as: UInt32.self)
        return true
    }
    func store64(_ value: UInt64, at address: UInt32) -> Bool {
        guard let range = range(address, 8) else { return false }
        bytes.storeBytes(of: value.littleEndian, toByteOffset: range.lowerBound, as: UInt64.self)
        return true
    }
    func load32(at address: UInt32) -> UInt32? {
        guard let range = range(address, 4) else { return nil }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt32.self))
    }
    func write(_ data: some Collection<UInt8>, at address: UInt32) -> Bool {
        guard let range = range(address, UInt32(clamping: data.count)) else { return false }
        var offset = range.lowerBound
        for byte in data {
            bytes[offset] = byte
            offset += 1
        }
        return true
    }
    func string(at address: UInt32, count: UInt32) -> String? {
        guard let range = range(address, count) else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard !raw.contains(0) else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
    /// The (address, length) pairs of an iovec array, each checked.
    func iovecs(at address: UInt32, count: UInt32) -> [Range<Int>]? {
        guard count <= 1024, range(address, count * 8) != nil else { return nil }
        var result: [Range<Int>] = []
        for index in 0..<count {
            guard let base = load32(at: address + index * 8), let length = load32(at: address + index * 8 + 4),
                let span = range(base, length)
            else { return nil }
            result.append(span)
        }
        return result
    }
}

/// The options a run gives every kernel instance's WASI functions.
public struct WASIOptions: Sendable, Equatable {
    /// The read-only directory preopened as fd 3 (`--data`), or nil: then no file can be opened.
    public var dataDirectory: String?
    /// Seeds `random_get` (`--seed`).
    public var seed: UInt64

    public static let defaultSeed: UInt64 = 1
    public init(dataDirectory: String? = nil, seed: UInt64 = WASIOptions.defaultSeed) {
        self.dataDirectory = dataDirectory
        self.seed = seed
    }
}

/// One instance's WASI state: descriptors, the stdout/stderr line buffers, the clock and the random stream.
/// Used by one thread (invariant 2).
final class WASISystem: @unchecked Sendable {
    static let dataDirectoryDescriptor: Int32 = 3
    /// Open files of one instance at most (beyond the preopen).
    static let maxOpenFiles = 64
    /// O_PATH (Linux, every architecture Swift runs on): Glibc's module hides it behind _GNU_SOURCE.
    static let pathOnlyFlag: Int32 = 0o10_000_000

    private enum Entry {
        case file(hostDescriptor: Int32)
        case directory(hostDescriptor: Int32)

        var hostDescriptor: Int32 {
            switch self {
            case .file(let descriptor), .directory(let descriptor): descriptor
            }
        }
    }

    private let options: WASIOptions
    /// Receives each complete stdout/stderr line (the kernel log, rate-limited by the caller).
    private let emitLine: (_ line: String, _ frame: Int32) -> Void
    private var frame: Int32 = -1
    private var descriptors: [Int32: Entry] = [:]
    private var pendingLines: [Int32: [UInt8]] = [1: [], 2: []]
    private var kernelTimeNanos: UInt64 = 0
    private var randomKey: UInt64 = 0
    private var randomCounter: UInt64 = 0
    /// The code of a `proc_exit` the last call made, taken by the ABI layer once the call has failed.
    private(set) var exitCode: Int32?

    init(options: WASIOptions, emitLine: @escaping (_ line: String, _ frame: Int32) -> Void) throws(KernelError) {
        self.options = options
        self.emitLine = emitLine
        if let directory = options.dataDirectory {
            let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw KernelError(
                    .invalidModule, "--data \(directory): cannot open the directory: \(String(cString: strerror(errno)))")
            }
            descriptors[Self.dataDirectoryDescriptor] = .directory(hostDescriptor: descriptor)
        }
        beginCall(frame: -1, time: 0, firstUnit: 0)
    }

    deinit {
        flush()
        for entry in descriptors.values { close(entry.hostDescriptor) }
    }

    /// The next call computes `frame` at kernel `time` from `firstUnit` (set-up: frame -1): the clock reads
    /// `time` and the random stream restarts from (seed, frame, firstUnit), so a tile's bytes do not depend on
    /// which worker runs it or what ran before.
    func beginCall(frame: Int32, time: Double, firstUnit: Int32) {
        self.frame = frame
        kernelTimeNanos = time.isFinite && time > 0 ? UInt64(min(time * 1e9, 1.8e19)) : 0
        randomKey = Self.mix(options.seed ^ Self.mix(UInt64(UInt32(bitPattern: frame)) << 32 | UInt64(UInt32(bitPattern: firstUnit))))
        randomCounter = 0
        exitCode = nil
    }

    /// Ends the instance's output: a line still without its newline is logged as it is.
    func flush() {
        for fd in [Int32(1), 2] where pendingLines[fd]?.isEmpty == false {
            emitLine(String(decoding: pendingLines[fd] ?? [], as: UTF8.self), frame)
            pendingLines[fd] = []
        }
    }

    func takeExit() -> Int32? {
        defer { exitCode = nil }
        return exitCode
    }

    /// SplitMix64's finaliser: a fast, well-mixed, deterministic bijection (not cryptographic; kernels are
    /// told so in docs/kernel-abi.md).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Runs preview1 function `name` (linked only when `WASI.refusal` passed it) with `arguments`
    /// (i32 zero-extended, i64 as bits) on `memory`.
    func call(_ name: String, _ arguments: [UInt64], memory: UnsafeMutableRawBufferPointer) -> WASIOutcome {
        let memory = GuestMemory(bytes: memory)
        func a(_ index: Int) -> UInt32 { index < arguments.count ? UInt32(truncatingIfNeeded: arguments[index]) : 0 }
        func wide(_ index: Int) -> UInt64 { index < arguments.count ? arguments[index] : 0 }
        func answer(_ errno: WASI.Errno) -> WASIOutcome { .result(errno.rawValue) }
        switch name {
        case "proc_exit":
            exitCode = Int32(bitPattern: a(0))
            return .exit(Int32(bitPattern: a(0)))
        case "args_sizes_get", "environ_sizes_get":
            return answer(memory.store32(0, at: a(0)) && memory.store32(0, at: a(1)) ? .success : .fault)
        case "args_get", "environ_get":
            return answer(.success)
        case "sched_yield":
            return answer(.success)
        case "clock_res_get":
            guard a(0) <= 3 else { return answer(.inval) }
            return answer(memory.store64(1, at: a(1)) ? .success : .fault)
        case "clock_time_get":
            guard a(0) <= 3 else { return answer(.inval) }
            return answer(memory.store64(kernelTimeNanos, at: a(2)) ? .success : .fault)
        case "random_get":
            return answer(randomBytes(into: a(0), count: a(1), memory))
        case "fd_write":
            return answer(write(fd: Int32(bitPattern: a(0)), iovecs: a(1), count: a(2), written: a(3), memory))
        case "fd_read":
            return answer(read(fd: Int32(bitPattern: a(0)), iovecs: a(1), count: a(2), readCount: a(3), memory))
        case "fd_seek":
            return answer(seek(fd: Int32(bitPattern: a(0)), offset: Int64(bitPattern: wide(1)), whence: a(2), result: a(3), memory))
        case "fd_tell":
            return answer(seek(fd: Int32(bitPattern: a(0)), offset: 0, whence: 1, result: a(1), memory))
        case "fd_close":
            return answer(closeDescriptor(Int32(bitPattern: a(0))))
        case "fd_fdstat_get":
            return answer(fdstat(fd: Int32(bitPattern: a(0)), at: a(1), memory))
        case "fd_filestat_get":
            return answer(filestat(fd: Int32(bitPattern: a(0)), at: a(1), memory))
        case "fd_prestat_get":
            guard Int32(bitPattern: a(0)) == Self.dataDirectoryDescriptor, options.dataDirectory != nil else {
                return answer(.badf)
            }
            // prestat: tag 0 (a directory), then the length of its name, ".".
            return answer(memory.store32(0, at: a(1)) && memory.store32(1, at: a(1) &+ 4) ? .success : .fault)
        case "fd_prestat_dir_name":
            guard Int32(bitPattern: a(0)) == Self.dataDirectoryDescriptor, options.dataDirectory != nil else {
                return answer(.badf)
            }
            guard a(2) >= 1 else { return answer(.nametoolong) }
            return answer(memory.write([UInt8(ascii: ".")], at: a(1)) ? .success : .fault)
        case "path_open":
            return answer(
                openPath(
                    directory: Int32(bitPattern: a(0)), lookupFlags: a(1), path: a(2), pathLength: a(3), openFlags: a(4),
                    rights: wide(5), descriptorFlags: a(7), result: a(8), memory))
        case "path_filestat_get":
            return answer(
                pathFilestat(directory: Int32(bitPattern: a(0)), lookupFlags: a(1), path: a(2), pathLength: a(3), at: a(4), memory))
        case "fd_readdir":
            return answer(readDirectory(fd: Int32(bitPattern: a(0)), buffer: a(1), length: a(2), cookie: wide(3), used: a(4), memory))
        default:
            if WASI.functions[name]?.type.results.isEmpty == true { return .none }
            return answer(.nosys)
        }
    }

    // MARK: - Functions

    private func randomBytes(into address: UInt32, count: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        guard let range = memory.range(address, count) else { return .fault }
        var offset = range.lowerBound
        while offset < range.upperBound {
            var word = Self.mix(randomKey &+ randomCounter)
            randomCounter &+= 1
            for _ in 0..<8 where offset < range.upperBound {
                memory.bytes[offset] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                offset += 1
            }
        }
        return .success
    }

    /// stdout and stderr are the kernel log: one log line per newline, a line cut at `KernelABI.maxLogBytes`.
    private func write(fd: Int32, iovecs: UInt32, count: UInt32, written: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        guard fd == 1 || fd == 2 else { return descriptors[fd] == nil ? .badf : .notcapable }
        guard let spans = memory.iovecs(at: iovecs, count: count) else { return .fault }
        var total = 0
        var line = pendingLines[fd] ?? []
        for span in spans {
            for byte in memory.bytes[span] {
                if byte == UInt8(ascii: "\n") {
                    emitLine(String(decoding: line, as: UTF8.self), frame)
                    line.removeAll(keepingCapacity: true)
                } else if line.count < KernelABI.maxLogBytes {
                    line.append(byte)
                } else {
                    emitLine(String(decoding: line, as: UTF8.self), frame)
                    line = [byte]
                }
            }
            total += span.count
        }
        pendingLines[fd] = line
        return memory.store32(UInt32(clamping: total), at: written) ? .success : .fault
    }

    private func read(fd: Int32, iovecs: UInt32, count: UInt32, readCount: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        if fd == 0 { return memory.store32(0, at: readCount) ? .success : .fault }  // stdin is empty
        guard let entry = descriptors[fd] else { return fd == 1 || fd == 2 ? .notcapable : .badf }
        guard case .file(let host) = entry else { return .isdir }
        guard let spans = memory.iovecs(at: iovecs, count: count) else { return .fault }
        var total = 0
        for span in spans where !span.isEmpty {
            let got = Foundation.read(host, memory.bytes.baseAddress.map { $0 + span.lowerBound }, span.count)
            if got < 0 { return total > 0 ? .success : WASI.Errno(hostErrno: errno) }
            total += got
            if got < span.count { break }
        }
        return memory.store32(UInt32(clamping: total), at: readCount) ? .success : .fault
    }

    private func seek(fd: Int32, offset: Int64, whence: UInt32, result: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        guard let entry = descriptors[fd] else { return fd <= 2 && fd >= 0 ? .spipe : .badf }
        guard case .file(let host) = entry else { return .isdir }
        let origin: Int32
        switch whence {
        case 0: origin = SEEK_SET
        case 1: origin = SEEK_CUR
        case 2: origin = SEEK_END
        default: return .inval
        }
        let position = lseek(host, off_t(offset), origin)
        guard position >= 0 else { return WASI.Errno(hostErrno: errno) }
        return memory.store64(UInt64(position), at: result) ? .success : .fault
    }

    private func closeDescriptor(_ fd: Int32) -> WASI.Errno {
        if (0...2).contains(fd) { return .success }
        guard fd != Self.dataDirectoryDescriptor else { return .success }  // the preopen stays: nothing to gain
        guard let entry = descriptors.removeValue(forKey: fd) else { return .badf }
        close(entry.hostDescriptor)
        return .success
    }

    // Rights bits of preview1 (witx `rights`).
    private static let readFileRights: UInt64 = 1 << 1 | 1 << 2 | 1 << 5 | 1 << 7 | 1 << 21  // read, seek, tell, advise, filestat_get
    private static let readDirectoryRights: UInt64 = 1 << 13 | 1 << 14 | 1 << 18 | 1 << 21  // path_open, readdir, path_filestat_get, filestat_get
    private static let writeRights: UInt64 = 1 << 6 | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 19 | 1 << 22 | 1 << 24 | 1 << 25 | 1 << 26

    private func fdstat(fd: Int32, at address: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        let fileType: UInt8
        let rights: UInt64
        switch fd {
        case 0: (fileType, rights) = (2, 1 << 1)
        case 1, 2: (fileType, rights) = (2, 1 << 6)
        default:
            switch descriptors[fd] {
            case .file?: (fileType, rights) = (4, Self.readFileRights)
            case .directory?: (fileType, rights) = (3, Self.readDirectoryRights | Self.readFileRights)
            case nil: return .badf
            }
        }
        // fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16.
        guard memory.range(address, 24) != nil else { return .fault }
        _ = memory.write([UInt8](repeating: 0, count: 8), at: address)
        _ = memory.write([fileType], at: address)
        _ = memory.store64(rights, at: address + 8)
        _ = memory.store64(fd >= 3 ? Self.readDirectoryRights | Self.readFileRights : 0, at: address + 16)
        return .success
    }

    /// filestat: dev u64, ino u64, filetype u8 (+7), nlink u64, size u64, atim, mtim, ctim — times are 0, so a
    /// run does not depend on when the files were touched.
    private func storeFilestat(_ status: stat, at address: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        guard memory.range(address, 64) != nil else { return .fault }
        _ = memory.write([UInt8](repeating: 0, count: 64), at: address)
        let kind = status.st_mode & S_IFMT
        let fileType: UInt8 = kind == S_IFDIR ? 3 : kind == S_IFREG ? 4 : kind == S_IFLNK ? 7 : 0
        _ = memory.store64(UInt64(status.st_dev), at: address)
        _ = memory.store64(UInt64(status.st_ino), at: address + 8)
        _ = memory.write([fileType], at: address + 16)
        _ = memory.store64(UInt64(status.st_nlink), at: address + 24)
        _ = memory.store64(UInt64(max(0, status.st_size)), at: address + 32)
        return .success
    }

    private func filestat(fd: Int32, at address: UInt32, _ memory: GuestMemory) -> WASI.Errno {
        guard let entry = descriptors[fd] else {
            guard (0...2).contains(fd) else { return .badf }
            var status = stat()
            status.st_mode = S_IFCHR
            return storeFilestat(status, at: address, memory)
        }
        var status = stat()
        guard fstat(entry.hostDescriptor, &status) == 0 else { return WASI.Errno(hostErrno: errno) }
        return storeFilestat(status, at: address, memory)
    }

    private func directoryDescriptor(_ fd: Int32) -> Result<Int32, WASI.Errno> {
        switch descriptors[fd] {
        case .directory(let host)?: return .success(host)
        case .file?: return .failure(.notdir)
        case nil: return .failure(.badf)
        }
    }

    /// Opens `path` under directory `fd`, read-only, never outside it (`fp_open_beneath`).
    private func openBeneath(directory fd: Int32, path: UInt32, length: UInt32, flags: Int32, _ memory: GuestMemory)
        -> Result<Int32, WASI.Errno>
    {
        let host: Int32
        switch directoryDescriptor(fd) {
        case .success(let descriptor): host = descriptor
        case .failure(let errno): return .failure(errno)
        }
        guard length <= 4096 else { return .failure(.nametoolong) }
        guard let text = memory.string(at: path, count: length) else { return .failure(.inval) }
        guard !text.hasPrefix("/") else { return .failure(.notcapable) }
        let opened = fp_open_beneath(host, text.isEmpty ? "." : text, flags)
        return opened >= 0 ? .success(opened) : .failure(WASI.Errno(hostErrno: -opened))
    }

    private func openPath(
        directory: Int32, lookupFlags: UInt32, path: UInt32, pathLength: UInt32, openFlags: UInt32, rights: UInt64,
        descriptorFlags: UInt32, result: UInt32, _ memory: GuestMemory
    ) -> WASI.Errno {
        // No writes: creat (1), excl (4), trunc (8), append (fdflags 1) or a write right are refused.
        guard openFlags & (1 | 4 | 8) == 0, descriptorFlags & 1 == 0, rights & Self.writeRights == 0 else {
            return .notcapable
        }
        guard descriptors.count <= Self.maxOpenFiles else { return .mfile }
        var flags = O_RDONLY | O_NOCTTY
        if openFlags & 2 != 0 { flags |= O_DIRECTORY }
        if lookupFlags & 1 == 0 { flags |= O_NOFOLLOW }
        let opened: Int32
        switch openBeneath(directory: directory, path: path, length: pathLength, flags: flags, memory) {
        case .success(let descriptor): opened = descriptor
        case .failure(let errno): return errno
        }
        var status = stat()
        guard fstat(opened, &status) == 0 else {
            close(opened)
            return .io
        }
        let fd = (Int32(4)...).first { descriptors[$0] == nil } ?? 4
        descriptors[fd] = status.st_mode & S_IFMT == S_IFDIR ? .directory(hostDescriptor: opened) : .file(hostDescriptor: opened)
        guard memory.store32(UInt32(bitPattern: fd), at: result) else {
            _ = closeDescriptor(fd)
            return .fault
        }
        return .success
    }

    private func pathFilestat(
        directory: Int32, lookupFlags: UInt32, path: UInt32, pathLength: UInt32, at address: UInt32, _ memory: GuestMemory
    ) -> WASI.Errno {
        let flags = Self.pathOnlyFlag | (lookupFlags & 1 == 0 ? O_NOFOLLOW : 0)
        switch openBeneath(directory: directory, path: path, length: pathLength, flags: flags, memory) {
        case .failure(let errno): return errno
        case .success(let opened):
            defer { close(opened) }
            var status = stat()
            guard fstat(opened, &status) == 0 else { return WASI.Errno(hostErrno: errno) }
            return storeFilestat(status, at: address, memory)
        }
    }

    /// Entries sorted by name (a run does not depend on the file system's order), "." and ".." first; the
    /// cookie is the index of the next entry.
    private func readDirectory(fd: Int32, buffer: UInt32, length: UInt32, cookie: UInt64, used: UInt32, _ memory: GuestMemory)
        -> WASI.Errno
    {
        let host: Int32
        switch directoryDescriptor(fd) {
        case .success(let descriptor): host = descriptor
        case .failure(let errno): return errno
        }
        guard memory.range(buffer, length) != nil else { return .fault }
        let copy = dup(host)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return WASI.Errno(hostErrno: errno)
        }
        var entries: [(name: [UInt8], inode: UInt64, type: UInt8)] = []
        rewinddir(stream)
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            let type: UInt8
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): type = 3
            case Int32(DT_REG): type = 4
            case Int32(DT_LNK): type = 7
            default: type = 0
            }
            entries.append((name, UInt64(entry.pointee.d_ino), type))
            if entries.count > 100_000 { break }
        }
        closedir(stream)
        entries.sort { lhs, rhs in
            let rank = { (name: [UInt8]) in name == [46] ? 0 : name == [46, 46] ? 1 : 2 }
            if rank(lhs.name) != rank(rhs.name) { return rank(lhs.name) < rank(rhs.name) }
            return lhs.name.lexicographicallyPrecedes(rhs.name)
        }
        // dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8 (+3), then the name; the last may be cut.
        var written: UInt32 = 0
        var index = Int(min(cookie, UInt64(entries.count)))
        while index < entries.count, written < length {
            let entry = entries[index]
            var record = [UInt8](repeating: 0, count: 24)
            withUnsafeBytes(of: UInt64(index + 1).littleEndian) { record.replaceSubrange(0..<8, with: $0) }
            withUnsafeBytes(of: entry.inode.littleEndian) { record.replaceSubrange(8..<16, with: $0) }
            withUnsafeBytes(of: UInt32(entry.name.count).littleEndian) { record.replaceSubrange(16..<20, with: $0) }
            record[20] = entry.type
            record += entry.name
            let fits = record.prefix(Int(length - written))
            _ = memory.write(fits, at: buffer + written)
            written += UInt32(fits.count)
            index += 1
        }
        return memory.store32(written, at: used) ? .success : .fault
    }
}
