import Foundation
import GRDB
import RecKit

/// A source of one dataset: parses its files and hands rows to a `DatasetWriter`.
public protocol DatasetImporter {
    /// Short format name stored with the dataset ("recbole", "ml-100k", "amazon-2023", "csv"...).
    var format: String { get }
    /// Files read, for progress and provenance.
    var inputFiles: [String] { get }
    /// The format's own rating scale, when it has one (MovieLens: 1–5).
    var nativeScale: RatingScale? { get }
    /// Streams the files into the writer. Throws `ImportIssue` (under `--on-error fail`),
    /// `ByteStreamError`, or database errors; any throw rolls the whole import back.
    func run(into writer: DatasetWriter) throws
}

extension RatingStore {
    /// Imports a dataset in one transaction: all of it, or nothing.
    ///
    /// With `replace`, an existing dataset of the same name is deleted in the same transaction, so a
    /// failed re-import leaves the old data in place. Killing the process mid-way leaves the
    /// database as it was (SQLite rolls back the uncommitted transaction on the next open).
    @discardableResult
    public func importDataset(_ importer: any DatasetImporter, options: ImportOptions) throws -> ImportReport {
        guard !options.datasetName.isEmpty else { throw StoreError.invalidArgument("dataset name must not be empty") }
        _ = try ItemTextTemplate(options.itemTemplate)
        if let s = options.scale, let t = options.likeThreshold, !s.contains(t) {
            throw StoreError.invalidArgument("like threshold \(t) is outside the rating scale \(s)")
        }
        var totalBytes = 0
        for f in importer.inputFiles {
            var st = stat()
            if stat(f, &st) != 0 {
                throw ImportIssue(.unreadableFile, file: f, line: 0, field: "(file)", value: String(cString: strerror(errno)), expected: "a readable file")
            }
            totalBytes += Int(st.st_size)
        }
        let started = Date()
        var report: ImportReport!
        try pool.writeWithoutTransaction { db in
            // Bulk-load setting for this one transaction: ratings arrive in key order, so the
            // B-trees grow at their right edge and a moderate cache holds the working set (the
            // user and item tables' id indexes take random inserts). Foreign keys stay on:
            // `--replace` relies on their cascades to remove the old dataset and what hangs off it.
            try db.execute(sql: "PRAGMA cache_size = -131072")
            defer { try? db.execute(sql: "PRAGMA cache_size = -2000") }
            try db.inTransaction(.immediate) {
                if let old = try Int64.fetchOne(db, sql: "SELECT id FROM dataset WHERE name = ?", arguments: [options.datasetName]) {
                    guard options.replace else { throw StoreError.datasetExists(options.datasetName) }
                    try db.execute(sql: "DELETE FROM dataset WHERE id = ?", arguments: [old])
                }
                let declared = options.scale ?? importer.nativeScale
                let provisional = declared ?? RatingScale(min: 1, max: 5)
                try db.execute(sql: """
                    INSERT INTO dataset(name, format, source, scale_min, scale_max, like_threshold, item_text_template, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [options.datasetName, importer.format, importer.inputFiles.joined(separator: "\n"),
                                     provisional.min, provisional.max, provisional.likeThreshold,
                                     options.itemTemplate, RatingStore.timestampNow()])
                let datasetID = db.lastInsertedRowID
                let writer = try DatasetWriter(db: db, datasetID: datasetID, options: options, format: importer.format,
                                               scale: declared, totalBytes: totalBytes)
                try importer.run(into: writer)
                try writer.flushRatings()
                writer.progress.finish()
                var r = writer.report
                let scale = writer.finalScale()
                if !scale.contains(scale.likeThreshold) {
                    throw StoreError.invalidArgument("like threshold \(scale.likeThreshold) is outside the rating scale \(scale)")
                }
                r.scale = scale
                r.ratings = try Int.fetchOne(db, sql: "SELECT count(*) FROM rating WHERE dataset_id = ?", arguments: [datasetID]) ?? 0
                // Thrown inside the transaction, so the store stays as it was. An empty dataset is
                // almost always a wrong file or column mapping, not something to build on.
                if r.ratings == 0 && !options.allowEmpty {
                    let skipped = r.skipped.values.reduce(0, +)
                    let found = skipped > 0
                        ? "no rating rows: all \(skipped) were skipped (" + r.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
                        : "no rating rows (an empty or header-only file)"
                    throw ImportIssue(.noRatings, file: importer.inputFiles.last ?? options.datasetName, line: 0, field: "(ratings)", value: found,
                                      expected: "at least one rating; nothing was stored (--allow-empty stores an empty dataset)")
                }
                r.duplicatesMerged = r.ratingRowsAccepted - r.ratings
                r.seconds = Date().timeIntervalSince(started)
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
                try db.execute(sql: """
                    UPDATE dataset SET scale_min = ?, scale_max = ?, like_threshold = ?, import_report = ? WHERE id = ?
                    """, arguments: [scale.min, scale.max, scale.likeThreshold,
                                     String(decoding: try enc.encode(r), as: UTF8.self), datasetID])
                report = r
                return .commit
            }
        }
        return report
    }
}
