import Foundation
import RecKit

/// The dataset formats `rec-data import` reads.
public enum DatasetFormat: String, CaseIterable, Sendable {
    /// RecBole atomic files (`NAME.inter`, optional `.item`, `.user`).
    case recbole
    /// MovieLens 100K: `u.data`, `u.item`, `u.user`, `u.genre`.
    case ml100k = "ml-100k"
    /// MovieLens 1M: `ratings.dat`, `movies.dat`, `users.dat`.
    case ml1m = "ml-1m"
    /// MovieLens "latest" CSV layout (ml-latest, ml-latest-small, ml-20m, ml-25m, ml-32m).
    case mlLatest = "ml-latest"
    /// Amazon Reviews 2023 JSON Lines (plain or gzip).
    case amazon = "amazon-2023"
    /// Any CSV/TSV ratings file with a column mapping.
    case csv

    /// Parses a format name, accepting the common aliases of the MovieLens CSV releases.
    public init?(name: String) {
        let n = name.lowercased()
        if let f = DatasetFormat(rawValue: n) { self = f; return }
        switch n {
        case "ml-latest-small", "ml-20m", "ml-25m", "ml-32m", "movielens": self = .mlLatest
        case "amazon", "amazon2023", "jsonl": self = .amazon
        case "tsv": self = .csv
        default: return nil
        }
    }

    /// Guesses the format of a file or folder from the names of its files; nil when nothing matches.
    ///
    /// Folders: `*.inter` → recbole, `u.data` → ml-100k, `ratings.dat` → ml-1m, `ratings.csv` with
    /// `movies.csv` → ml-latest, a `*.jsonl[.gz]` reviews file → amazon-2023. Files: by name first
    /// (a MovieLens ratings file names its release), then by extension (`.jsonl`, `.jsonl.gz`,
    /// `.json.gz` → amazon-2023; `.csv`, `.tsv` (optionally `.gz`) → csv).
    public static func detect(path: String) -> DatasetFormat? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return nil }
        if isDir.boolValue {
            let names = Set((try? fm.contentsOfDirectory(atPath: path)) ?? [])
            if names.contains(where: { $0.hasSuffix(".inter") }) { return .recbole }
            if names.contains("u.data") { return .ml100k }
            if names.contains("ratings.dat") { return .ml1m }
            if names.contains("ratings.csv") && names.contains("movies.csv") { return .mlLatest }
            if AmazonReviewsImporter.reviewsFile(inFolder: path) != nil { return .amazon }
            return nil
        }
        let name = (path as NSString).lastPathComponent.lowercased()
        let dir = (path as NSString).deletingLastPathComponent
        if name.hasSuffix(".inter") { return .recbole }
        if name == "u.data" { return .ml100k }
        if name == "ratings.dat" { return .ml1m }
        if name == "ratings.csv" && fm.fileExists(atPath: (dir as NSString).appendingPathComponent("movies.csv")) { return .mlLatest }
        if isJSONLines(name) { return .amazon }
        for ext in [".csv", ".tsv", ".tab", ".csv.gz", ".tsv.gz"] where name.hasSuffix(ext) { return .csv }
        return nil
    }

    static func isJSONLines(_ lowercasedName: String) -> Bool {
        [".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz"].contains { lowercasedName.hasSuffix($0) }
    }

    /// Builds the importer for a format.
    ///
    /// - Parameters:
    ///   - path: the dataset folder, or its main file (RecBole `.inter`, a MovieLens ratings file,
    ///     the Amazon reviews file, the CSV ratings file).
    ///   - metaPath: item metadata: the Amazon `meta_<Category>.jsonl[.gz]` file (found beside the
    ///     reviews file when omitted) or the CSV items file. Ignored by the other formats, whose
    ///     folders name their item files.
    ///   - mapping: CSV column mapping; when nil, the columns are guessed from the header
    ///     (`DelimitedMapping.inferred(fromHeaderOf:)`).
    public static func importer(format: DatasetFormat, path: String, metaPath: String? = nil,
                                mapping: DelimitedMapping? = nil) throws -> any DatasetImporter {
        switch format {
        case .recbole: return try RecBoleImporter(path: path)
        case .ml100k: return try MovieLensImporter(path: path, variant: .ml100k)
        case .ml1m: return try MovieLensImporter(path: path, variant: .ml1m)
        case .mlLatest: return try MovieLensImporter(path: path, variant: .mlLatest)
        case .amazon: return try AmazonReviewsImporter(path: path, metaPath: metaPath)
        case .csv:
            let m = try mapping ?? DelimitedMapping.inferred(fromHeaderOf: path)
            return try DelimitedImporter(path: path, mapping: m, itemsPath: metaPath)
        }
    }
}

// MARK: - Shared plumbing of the importers

/// Reading helpers shared by the importers: stream errors become located issues, CSV records are
/// reassembled across lines, and numbers convert without trapping on absurd values.
enum ImportSupport {
    static func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func join(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// Throws the "not found" issue every importer uses for a missing input.
    static func missing(_ path: String, expected: String) -> ImportIssue {
        let dir = (path as NSString).deletingLastPathComponent
        let listing = ((try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []).sorted()
        return ImportIssue(.unreadableFile, file: path, line: 0, field: "(file)",
                           value: listing.isEmpty ? "no such file" : "not found; folder has " + listing.prefix(12).joined(separator: ", "),
                           expected: expected)
    }

    /// Reads `file` line by line. A gzip stream that is truncated or corrupt becomes an
    /// `.unreadableFile` issue located at the line where data stops, thrown whatever the
    /// `--on-error` policy: a broken stream is not a malformed row, and skipping it would import
    /// part of the file as if it were all of it. The throw rolls the import back.
    static func forEachLine(_ file: String, _ w: DatasetWriter,
                            _ body: (UnsafeBufferPointer<UInt8>, Int, Int) throws -> Void) throws {
        var last = 0
        do {
            try ByteLineReader(path: file).forEachLine { line, n, off in
                last = n
                try body(line, n, off)
            }
        } catch let e as ByteStreamError {
            throw streamIssue(e, file: file, line: last + 1)
        }
        w.finishedFile(size: fileSize(file))
    }

    static func streamIssue(_ e: ByteStreamError, file: String, line: Int) -> ImportIssue {
        switch e {
        case let .truncatedGzip(_, off):
            return ImportIssue(.unreadableFile, file: file, line: line, field: "(file)",
                               value: "gzip data ends at compressed byte \(off) without its end marker",
                               expected: "a complete gzip stream (the file looks truncated; download it again)")
        case let .corruptGzip(_, off, reason):
            return ImportIssue(.unreadableFile, file: file, line: line, field: "(file)",
                               value: "corrupt gzip data near compressed byte \(off): \(reason)", expected: "a valid gzip stream")
        case let .cannotOpen(_, reason):
            return ImportIssue(.unreadableFile, file: file, line: 0, field: "(file)", value: reason, expected: "a readable file")
        }
    }

    /// A runaway quote would otherwise swallow the rest of the file into one record.
    static let maxRecordBytes = 4 << 20

    /// Streams the records of a delimited file. With `quoted`, RFC 4180 quoting applies (records may
    /// span lines; `line` is where the record starts); without, each line is one record split at the
    /// delimiter. A UTF-8 byte-order mark on the first line is dropped. Empty lines are skipped.
    static func forEachRecord(_ file: String, delimiter: UInt8, quoted: Bool, _ w: DatasetWriter,
                              _ body: (_ bytes: UnsafeBufferPointer<UInt8>, _ fields: [Range<Int>], _ line: Int, _ offset: Int) throws -> Void) throws {
        if !quoted {
            var splitter = FieldSplitter(delimiter: [delimiter])
            try forEachLine(file, w) { raw, n, off in
                let line = n == 1 ? dropBOM(raw) : raw
                if line.isEmpty { return }
                splitter.split(line)
                try body(line, splitter.ranges, n, off)
            }
            return
        }
        var parser = CSVRecordParser(delimiter: delimiter)
        try forEachLine(file, w) { raw, n, off in
            let line = n == 1 ? dropBOM(raw) : raw
            let complete: Bool
            do {
                complete = try parser.feed(line, lineNumber: n)
            } catch let f as CSVRecordParser.Failure {
                let start = parser.recordStartLine
                parser = CSVRecordParser(delimiter: delimiter)
                return try w.issue(ImportIssue(.brokenCSV, file: file, line: start, field: "(record)",
                                               value: ByteParse.preview(line, 0..<line.count), expected: "RFC 4180 CSV (\(f))"))
            }
            guard complete else {
                if parser.bytes.count > maxRecordBytes {
                    let start = parser.recordStartLine
                    parser = CSVRecordParser(delimiter: delimiter)
                    try w.issue(ImportIssue(.brokenCSV, file: file, line: start, field: "(record)",
                                            value: "a quoted field running past line \(n) (over \(maxRecordBytes >> 20) MiB)",
                                            expected: "a closing quote"))
                }
                return
            }
            let fields = parser.fields
            // A blank line is one empty field: no record.
            if fields.count == 1 && fields[0].isEmpty { return }
            try parser.withBytes { try body($0, fields, parser.recordStartLine, off) }
        }
        do { try parser.finish() } catch {
            let preview = parser.withBytes { ByteParse.preview($0, 0..<$0.count) }
            try w.issue(ImportIssue(.brokenCSV, file: file, line: parser.recordStartLine, field: "(record)",
                                    value: preview, expected: "a closing quote before the end of the file"))
        }
    }

    static func dropBOM(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
            return UnsafeBufferPointer(rebasing: line[3...])
        }
        return line
    }

    /// Header cells as text (UTF-8, else Latin-1), trimmed.
    static func headerNames(_ b: UnsafeBufferPointer<UInt8>, _ fields: [Range<Int>]) -> [String] {
        fields.map { ByteParse.text(b, $0, latin1: false) ?? ByteParse.text(b, $0, latin1: true) ?? "" }
    }

    /// Text that is UTF-8 when it validates and Latin-1 otherwise. The MovieLens 100K/1M files are
    /// Latin-1, but re-encoded copies circulate as UTF-8; valid UTF-8 is almost never accidental
    /// Latin-1, so trying it first reads both correctly.
    static func utf8OrLatin1(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        ByteParse.text(b, r, latin1: false) ?? ByteParse.text(b, r, latin1: true) ?? ""
    }

    static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var i = r.lowerBound, end = r.upperBound
        while i < end && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
        while end > i && (b[end - 1] == 0x20 || b[end - 1] == 0x09) { end -= 1 }
        return i..<end
    }

    /// Whole seconds from a number of seconds, or nil when it does not fit an Int64 (a bare
    /// `Int64(x)` would trap on a corrupt "1e300").
    static func seconds(_ x: Double) -> Int64? {
        guard x.isFinite, abs(x) < 9.0e18 else { return nil }
        return Int64(x.rounded(.towardZero))
    }

    /// Splits "Toy Story (1995)" into ("Toy Story", 1995); titles without a trailing year are kept.
    static func splitTitleYear(_ raw: String) -> (title: String, year: Int?) {
        let t = raw.trimmingSpaces
        let u = Array(t.utf8)
        let n = u.count
        guard n >= 6, u[n - 1] == UInt8(ascii: ")"), u[n - 6] == UInt8(ascii: "(") else { return (t, nil) }
        var y = 0
        for k in (n - 5)..<(n - 1) {
            let d = u[k] &- 0x30
            guard d <= 9 else { return (t, nil) }
            y = y * 10 + Int(d)
        }
        let head = String(decoding: u[0..<(n - 6)], as: UTF8.self).trimmingSpaces
        return (head.isEmpty ? t : head, y)
    }

    /// Seconds since 1970 from an ISO 8601 date or date-time: `YYYY-MM-DD`, optionally followed by
    /// `T` or a space, `HH:MM[:SS[.fff]]`, and `Z` or `±HH[:]MM`. Hand-written because
    /// `ISO8601DateFormatter` costs microseconds per call and rejects the common space form.
    static func iso8601(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        let r = trimmed(b, range)
        var i = r.lowerBound
        let end = r.upperBound
        func digits(_ count: Int) -> Int? {
            guard i + count <= end else { return nil }
            var v = 0
            for k in i..<(i + count) {
                let d = b[k] &- 0x30
                guard d <= 9 else { return nil }
                v = v * 10 + Int(d)
            }
            i += count
            return v
        }
        func eat(_ c: UInt8) -> Bool {
            if i < end && b[i] == c { i += 1; return true }
            return false
        }
        guard let year = digits(4), eat(0x2D), let month = digits(2), eat(0x2D), let day = digits(2),
              (1...12).contains(month), day >= 1 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        var secs = 0
        if i < end && (b[i] == UInt8(ascii: "T") || b[i] == 0x20) {
            i += 1
            guard let h = digits(2), eat(0x3A), let m = digits(2), h <= 23, m <= 59 else { return nil }
            secs = h * 3600 + m * 60
            if eat(0x3A) {
                guard let s = digits(2), s <= 60 else { return nil }
                secs += s
                if eat(0x2E) || eat(0x2C) {
                    let fracStart = i
                    while i < end && b[i] &- 0x30 <= 9 { i += 1 }
                    guard i > fracStart else { return nil }
                }
            }
            if eat(UInt8(ascii: "Z")) {
            } else if i < end && (b[i] == 0x2B || b[i] == 0x2D) {
                let sign = b[i] == 0x2D ? -1 : 1
                i += 1
                guard let oh = digits(2) else { return nil }
                _ = eat(0x3A)
                guard let om = digits(2), oh <= 23, om <= 59 else { return nil }
                secs -= sign * (oh * 3600 + om * 60)
            }
        }
        guard i == end else { return nil }
        return Int64(daysFromCivil(year, month, day)) * 86400 + Int64(secs)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
