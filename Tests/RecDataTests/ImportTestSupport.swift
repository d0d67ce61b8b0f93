import Foundation
import GRDB
import RecKit
@testable import RecData

/// A fresh folder under the system temp dir; tests remove it with `defer { dir.remove() }`.
struct TempDir {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rr-import-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, bytes: Array(text.utf8)) }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: file(name)))) }

    func store() throws -> RatingStore { try RatingStore(path: file("store.sqlite")) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

func importOptions(_ name: String, onError: OnErrorPolicy = .fail, duplicates: DuplicatePolicy = .error,
                   replace: Bool = false, scale: RatingScale? = nil) -> ImportOptions {
    var o = ImportOptions(datasetName: name)
    o.onError = onError
    o.duplicates = duplicates
    o.replace = replace
    o.scale = scale
    o.showProgress = false
    return o
}

/// Row counts of the whole database, to prove a failed import changed nothing.
struct StoreCounts: Equatable, CustomStringConvertible {
    var datasets: [String]
    var users: Int, items: Int, ratings: Int
    var description: String { "\(datasets) users \(users) items \(items) ratings \(ratings)" }
}

func counts(_ store: RatingStore) throws -> StoreCounts {
    try store.pool.read { db in
        StoreCounts(datasets: try String.fetchAll(db, sql: "SELECT name FROM dataset ORDER BY name"),
                    users: try Int.fetchOne(db, sql: "SELECT count(*) FROM user")!,
                    items: try Int.fetchOne(db, sql: "SELECT count(*) FROM item")!,
                    ratings: try Int.fetchOne(db, sql: "SELECT count(*) FROM rating")!)
    }
}

/// Ratings of a dataset keyed by "user/item" external ids, for readable assertions.
func ratingsByPair(_ store: RatingStore, _ name: String) throws -> [String: (value: Double, timestamp: Int64)] {
    try store.pool.read { db in
        var out: [String: (Double, Int64)] = [:]
        let rows = try Row.fetchAll(db, sql: """
            SELECT u.external_id AS u, i.external_id AS i, r.value AS v, r.timestamp AS t FROM rating r
            JOIN dataset d ON d.id = r.dataset_id JOIN user u ON u.id = r.user_id JOIN item i ON i.id = r.item_id
            WHERE d.name = ?
            """, arguments: [name])
        for row in rows { out["\(row["u"] as String)/\(row["i"] as String)"] = (row["v"], row["t"]) }
        return out
    }
}

// MARK: - Gzip writer

/// Writes gzip with stored (uncompressed) deflate blocks: valid for any reader, needs neither zlib
/// nor a `gzip` binary, and makes truncation points predictable.
enum Gzip {
    static func stored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var i = 0
        repeat {
            let n = min(65_535, data.count - i)
            let final: UInt8 = i + n == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        let crc = crc32(data)
        for v in [crc, UInt32(truncatingIfNeeded: data.count)] {
            out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
        }
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for k in 0..<256 {
            var c = UInt32(k)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[k] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

// MARK: - One ratings table in every format

/// A line of a ratings fixture: a well-formed row, or raw bytes for malformed input.
enum FixtureLine {
    case row(user: String, item: String, rating: String, ts: Int64)
    case raw([UInt8])
}

/// The importable formats, each able to write the same ratings in its own layout so the generic
/// tests (bad rows, policies, replace) run on every importer.
enum Fixture: String, CaseIterable, CustomStringConvertible, Sendable {
    case recbole, ml100k, ml1m, mlLatest, amazon, amazonGz, csv, tsv
    var description: String { rawValue }

    /// Formats without a native scale get 1–5 declared, so out-of-scale applies everywhere.
    var declaredScale: RatingScale? {
        switch self {
        case .recbole, .csv, .tsv: return RatingScale(min: 1, max: 5)
        default: return nil
        }
    }

    /// The 1-based line number of the first data row.
    var firstLine: Int {
        switch self {
        case .ml100k, .ml1m, .amazon, .amazonGz: return 1
        default: return 2
        }
    }

    var ratingsName: String {
        switch self {
        case .recbole: return "d.inter"
        case .ml100k: return "u.data"
        case .ml1m: return "ratings.dat"
        case .mlLatest: return "ratings.csv"
        case .amazon: return "Books.jsonl"
        case .amazonGz: return "Books.jsonl.gz"
        case .csv: return "ratings.csv"
        case .tsv: return "ratings.tsv"
        }
    }

    var header: String? {
        switch self {
        case .recbole: return "user_id:token\titem_id:token\trating:float\ttimestamp:float"
        case .mlLatest: return "userId,movieId,rating,timestamp"
        case .csv: return "user,item,rating,timestamp"
        case .tsv: return "user_id\titem_id\tscore\ttime"
        default: return nil
        }
    }

    func render(_ l: FixtureLine) -> [UInt8] {
        guard case let .row(u, i, r, t) = l else { if case .raw(let b) = l { return b }; return [] }
        switch self {
        case .recbole, .ml100k, .tsv: return Array("\(u)\t\(i)\t\(r)\t\(t)".utf8)
        case .ml1m: return Array("\(u)::\(i)::\(r)::\(t)".utf8)
        case .mlLatest, .csv: return Array("\(u),\(i),\(r),\(t)".utf8)
        case .amazon, .amazonGz:
            let rating = Double(r) != nil ? r : "\"\(r)\""
            return Array(#"{"rating": \#(rating), "title": "Nice", "text": "Works, \"really\".", "images": [], "asin": "A\#(i)", "parent_asin": "\#(i)", "user_id": "\#(u)", "timestamp": \#(t * 1000), "helpful_vote": 0, "verified_purchase": true}"#.utf8)
        }
    }

    /// Writes the ratings into `dir/<name>/` and returns the path to import and the ratings file.
    func write(_ lines: [FixtureLine], in dir: TempDir, name: String) throws -> (path: String, ratingsFile: String) {
        var bytes: [UInt8] = []
        if let header { bytes += Array(header.utf8) + [0x0A] }
        for l in lines { bytes += render(l) + [0x0A] }
        if self == .amazonGz { bytes = Gzip.stored(bytes) }
        let ratings = try dir.write("\(name)/\(ratingsName)", bytes: bytes)
        switch self {
        case .mlLatest: try dir.write("\(name)/movies.csv", "movieId,title,genres\n")
        default: break
        }
        let path: String
        switch self {
        case .recbole, .ml100k, .ml1m, .mlLatest: path = dir.file(name)
        default: path = ratings
        }
        return (path, ratings)
    }

    func importer(_ path: String) throws -> any DatasetImporter {
        switch self {
        case .recbole: return try DatasetFormat.importer(format: .recbole, path: path)
        case .ml100k: return try DatasetFormat.importer(format: .ml100k, path: path)
        case .ml1m: return try DatasetFormat.importer(format: .ml1m, path: path)
        case .mlLatest: return try DatasetFormat.importer(format: .mlLatest, path: path)
        case .amazon, .amazonGz: return try DatasetFormat.importer(format: .amazon, path: path)
        case .csv:
            return try DatasetFormat.importer(format: .csv, path: path, metaPath: nil,
                                              mapping: DelimitedMapping(user: "user", item: "item", rating: "rating", timestamp: "timestamp"))
        case .tsv: return try DatasetFormat.importer(format: .csv, path: path)  // mapping guessed from the header
        }
    }

    /// Writes and imports in one go.
    @discardableResult
    func importRows(_ lines: [FixtureLine], into store: RatingStore, dir: TempDir, name: String,
                    onError: OnErrorPolicy = .fail, duplicates: DuplicatePolicy = .error, replace: Bool = false,
                    folder: String? = nil) throws -> ImportReport {
        let (path, _) = try write(lines, in: dir, name: folder ?? name)
        return try store.importDataset(importer(path), options: importOptions(name, onError: onError, duplicates: duplicates,
                                                                                replace: replace, scale: declaredScale))
    }
}

/// Four valid ratings by two users on three items.
let validRows: [FixtureLine] = [
    .row(user: "1", item: "10", rating: "4", ts: 881_250_949),
    .row(user: "1", item: "20", rating: "3", ts: 881_250_950),
    .row(user: "2", item: "10", rating: "5", ts: 881_250_951),
    .row(user: "2", item: "30", rating: "1", ts: 881_250_952),
]
