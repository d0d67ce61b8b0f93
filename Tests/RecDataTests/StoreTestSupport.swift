import Foundation
@testable import RecData

/// A fresh database file in its own temporary folder.
func makeTemporaryStore() throws -> (RatingStore, URL) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recdata-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return (try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path), dir)
}

/// A small synthetic world imported under `name`.
@discardableResult
func importSynthetic(_ store: RatingStore, name: String = "synth", seed: UInt64 = 1, users: Int = 40, items: Int = 80) throws -> ImportReport {
    var c = SyntheticWorld.Configuration()
    c.seed = seed; c.users = users; c.items = items; c.ratingsPerUser = 10...30
    var o = ImportOptions(datasetName: name)
    o.showProgress = false
    return try store.importDataset(try SyntheticWorld(c), options: o)
}
