import ArgumentParser
import Foundation
import RecCLI
import RecData

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a ratings dataset (RecBole atomic files, MovieLens, Amazon Reviews 2023, or any CSV/TSV).",
        discussion: """
        The format is detected from PATH unless --format is given: a folder with NAME.inter (RecBole), \
        u.data (ml-100k), ratings.dat (ml-1m), ratings.csv + movies.csv (ml-latest), a .jsonl[.gz] file \
        (Amazon Reviews 2023; the meta_*.jsonl[.gz] beside it is found automatically or given with --meta), \
        or a .csv/.tsv file mapped with --user-col/--item-col/--rating-col/--time-col.

        The import is one transaction: on failure (or if killed) the database is left as it was.
        """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "Dataset folder or file.") var path: String
    @Option(help: "Format: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")) (default: detected).")
    var format: String?
    @Option(help: "Dataset name in the store (default: derived from PATH).") var name: String?
    @Option(help: "Item metadata file (Amazon meta JSONL, or an item CSV for --format csv).") var meta: String?
    @Flag(help: "Replace an existing dataset of the same name.") var replace = false
    @Flag(name: .customLong("allow-empty"), help: "Store the dataset even when no rating is imported (otherwise an error: empty or header-only file, or every row skipped).")
    var allowEmpty = false
    @Option(name: .customLong("on-error"), help: "fail: abort and leave the DB as it was; skip: import valid rows, report counts.")
    var onError: OnErrorPolicy = .fail
    @Option(help: "Repeated (user, item) ratings: last (latest timestamp wins), mean, or error.")
    var duplicates: DuplicatePolicy = .error
    @Option(help: "Rating scale MIN:MAX; ratings outside it are malformed rows (default: the format's own, else observed).")
    var scale: String?
    @Option(name: .customLong("like-threshold"), help: "Ratings ≥ this are positives (default: scale-aware, 4 on 1–5).")
    var likeThreshold: Double?
    @Option(name: .customLong("item-template"), help: "Template composing item texts, e.g. '{title}[ ({year})].[ Genres: {genres}.]'.")
    var itemTemplate: String?
    @Option(name: .customLong("user-col"), help: "CSV: user id column (name, or 1-based index with --no-header).") var userCol: String?
    @Option(name: .customLong("item-col"), help: "CSV: item id column.") var itemCol: String?
    @Option(name: .customLong("rating-col"), help: "CSV: rating column (omit for implicit feedback).") var ratingCol: String?
    @Option(name: .customLong("time-col"), help: "CSV: timestamp column.") var timeCol: String?
    @Option(name: .customLong("time-format"), help: "CSV: unix (seconds), unix-ms, or iso8601.")
    var timeFormat: DelimitedMapping.TimestampFormat = .unixSeconds
    @Option(help: "CSV: field delimiter (default ',' or tab for .tsv); 'tab' for a tab.") var delimiter: String?
    @Flag(name: .customLong("no-header"), help: "CSV: the file has no header row.") var noHeader = false
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        do {
            let detected: DatasetFormat
            if let format {
                guard let f = DatasetFormat(rawValue: format) else {
                    throw ValidationError("unknown format '\(format)'; expected one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                detected = f
            } else {
                guard let f = DatasetFormat.detect(path: path) else {
                    throw ValidationError("cannot tell the format of \(path); pass --format (\(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                detected = f
            }
            var mapping: DelimitedMapping?
            if detected == .csv {
                guard let userCol, let itemCol else {
                    throw ValidationError("--format csv needs --user-col and --item-col (and usually --rating-col, --time-col)")
                }
                var m = DelimitedMapping(user: userCol, item: itemCol, rating: ratingCol, timestamp: timeCol)
                m.hasHeader = !noHeader
                if let delimiter { m.delimiter = delimiter == "tab" || delimiter == "\\t" ? 0x09 : UInt8(ascii: delimiter.unicodeScalars.first ?? ",") }
                else if path.hasSuffix(".tsv") { m.delimiter = 0x09 }
                m.timestampFormat = timeFormat
                mapping = m
            }
            let importer = try DatasetFormat.importer(format: detected, path: path, metaPath: meta, mapping: mapping)
            var options = ImportOptions(datasetName: name ?? Import.defaultName(path))
            options.replace = replace
            options.allowEmpty = allowEmpty
            options.onError = onError
            options.duplicates = duplicates
            if let scale {
                guard let s = RatingScale(parsing: scale) else { throw ValidationError("--scale expects MIN:MAX with MIN < MAX, e.g. 1:5 (got '\(scale)')") }
                options.scale = s
            }
            options.likeThreshold = likeThreshold
            if let itemTemplate { options.itemTemplate = itemTemplate }
            options.showProgress = !quiet
            let store = try store.open()
            let report = try store.importDataset(importer, options: options)
            print(report)
        } catch {
            throw commandFailure(error)
        }
    }

    /// "…/ml-100k/" → "ml-100k"; "Books.jsonl.gz" → "Books".
    static func defaultName(_ path: String) -> String {
        var base = (path as NSString).standardizingPath
        base = (base as NSString).lastPathComponent
        for ext in [".gz", ".jsonl", ".json", ".csv", ".tsv", ".inter", ".dat"] where base.hasSuffix(ext) {
            base = String(base.dropLast(ext.count))
        }
        return base.isEmpty ? "dataset" : base
    }
}
