import Foundation
import RecKit

/// Which columns of a CSV/TSV ratings file hold what, as given on the command line.
///
/// With a header, columns are named; without one, they are 1-based numbers ("1", "2", ...).
public struct DelimitedMapping: Sendable, Hashable {
    /// How the timestamp column is written.
    public enum TimestampFormat: String, Sendable, CaseIterable, Codable {
        /// Seconds since 1970 (decimals allowed, truncated).
        case unixSeconds = "unix"
        /// Milliseconds since 1970.
        case unixMillis = "unix-ms"
        /// `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]` (a space may replace the `T`); no zone means UTC.
        case iso8601
    }

    /// User id column (a header name, or a 1-based number without a header).
    public var user: String
    /// Item id column.
    public var item: String
    /// Rating column; nil means implicit feedback: every row is a rating of 1 on a 0–1 scale.
    public var rating: String?
    /// Timestamp column; nil stores 0 for every rating.
    public var timestamp: String?
    /// Field separator; nil means tab for `.tsv`/`.tab` files and comma otherwise.
    public var delimiter: UInt8?
    /// Whether the first record names the columns; without one, columns are numbered from 1.
    public var hasHeader: Bool
    /// RFC 4180 quoting (quoted fields may hold the delimiter, `""` and newlines); nil means on for
    /// comma-separated files and off otherwise, since TSV files use quote characters literally.
    public var quoted: Bool?
    /// How the timestamp column is written.
    public var timestampFormat: TimestampFormat
    /// The item metadata file's mapping; nil guesses its columns from its header.
    public var items: DelimitedItemMapping?

    /// A mapping by column names (or 1-based numbers with `hasHeader: false`).
    public init(user: String, item: String, rating: String? = nil, timestamp: String? = nil,
                delimiter: UInt8? = nil, hasHeader: Bool = true, quoted: Bool? = nil,
                timestampFormat: TimestampFormat = .unixSeconds, items: DelimitedItemMapping? = nil) {
        self.user = user
        self.item = item
        self.rating = rating
        self.timestamp = timestamp
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.quoted = quoted
        self.timestampFormat = timestampFormat
        self.items = items
    }

    /// The delimiter for a file: the declared one, else tab for `.tsv`/`.tab` and comma otherwise.
    public static func defaultDelimiter(forPath path: String) -> UInt8 {
        let n = path.lowercased()
        return [".tsv", ".tab", ".tsv.gz", ".tab.gz"].contains(where: n.hasSuffix) ? 0x09 : UInt8(ascii: ",")
    }

    static let userNames = ["user_id", "userid", "user", "uid", "reviewer_id", "reviewerid", "customer_id", "customerid"]
    static let itemNames = ["item_id", "itemid", "item", "iid", "movie_id", "movieid", "product_id", "productid",
                            "parent_asin", "asin", "book_id", "isbn", "track_id"]
    static let ratingNames = ["rating", "ratings", "score", "stars", "overall", "value"]
    static let timestampNames = ["timestamp", "time", "ts", "unixreviewtime", "datetime", "date", "created_at"]

    /// Guesses the mapping from a ratings file's header, for `--format csv` without column flags:
    /// user, item, rating and timestamp columns are recognised by common names (`user_id`,
    /// `userId`, `movieId`, `asin`, `score`, `time`...). A timestamp column named like a date is
    /// read as ISO 8601. Throws `.badHeader`, listing the columns, when user or item is not found.
    public static func inferred(fromHeaderOf path: String) throws -> DelimitedMapping {
        let delimiter = defaultDelimiter(forPath: path)
        let header = try readHeader(path, delimiter: delimiter, quoted: delimiter == UInt8(ascii: ","))
        func find(_ names: [String]) -> String? {
            for want in names {
                if let h = header.first(where: { norm($0) == want }) { return h }
            }
            return nil
        }
        guard let user = find(userNames), let item = find(itemNames) else {
            let missing = find(userNames) == nil ? "user" : "item"
            throw ImportIssue(.badHeader, file: path, line: 1, field: "(header)", value: header.joined(separator: ","),
                              expected: "a recognisable \(missing) id column (name the columns with the mapping flags); columns: \(header.joined(separator: ", "))")
        }
        let ts = find(timestampNames)
        let tf: TimestampFormat = ts.map { norm($0).contains("date") } == true ? .iso8601 : .unixSeconds
        return DelimitedMapping(user: user, item: item, rating: find(ratingNames), timestamp: ts, delimiter: delimiter, timestampFormat: tf)
    }

    static func norm(_ s: String) -> String {
        // RecBole-style "user_id:token" headers name the column before the colon.
        let base = s.split(separator: ":", maxSplits: 1).first.map(String.init) ?? s
        return base.lowercased().replacingOccurrences(of: " ", with: "_")
    }

    private struct StopReading: Error {}

    /// The first record of a file as trimmed header names.
    static func readHeader(_ path: String, delimiter: UInt8, quoted: Bool) throws -> [String] {
        guard ImportSupport.exists(path) else { throw ImportSupport.missing(path, expected: "a CSV or TSV ratings file") }
        var parser = CSVRecordParser(delimiter: delimiter)
        var splitter = FieldSplitter(delimiter: [delimiter])
        var names: [String]?
        do {
            try ByteLineReader(path: path).forEachLine { raw, n, _ in
                let line = n == 1 ? ImportSupport.dropBOM(raw) : raw
                if quoted {
                    guard try parser.feed(line, lineNumber: n) else { return }
                    names = parser.withBytes { ImportSupport.headerNames($0, parser.fields) }
                } else {
                    splitter.split(line)
                    names = ImportSupport.headerNames(line, splitter.ranges)
                }
                throw StopReading()
            }
        } catch is StopReading {
        } catch let e as ByteStreamError {
            throw ImportSupport.streamIssue(e, file: path, line: 1)
        } catch let f as CSVRecordParser.Failure {
            throw ImportIssue(.brokenCSV, file: path, line: 1, field: "(header)", value: "", expected: "an RFC 4180 header (\(f))")
        }
        guard let names else { throw ImportIssue(.badHeader, file: path, line: 1, field: "(header)", value: "", expected: "a header line") }
        return names
    }
}

/// Which columns of a CSV/TSV item metadata file hold what. Columns left nil are recognised by
/// common header names (`title`/`name`, `description`, `genres`, `categories`, `year`, `price`);
/// other columns become item attributes.
public struct DelimitedItemMapping: Sendable, Hashable {
    /// Item id column; nil means the ratings mapping's item column name, or a common id name.
    public var item: String?
    /// Columns for the item fields of the same names; nil guesses from the header.
    public var title: String?
    public var description: String?
    public var genres: String?
    /// Separator inside the genres column.
    public var genreSeparator: String
    public var categories: String?
    public var categorySeparator: String
    /// Year column: "1995" or a date starting with the year.
    public var year: String?
    /// Price column: a number, optionally after "$".
    public var price: String?
    /// Field separator; nil means tab for `.tsv`/`.tab` files and comma otherwise.
    public var delimiter: UInt8?
    /// Whether the first record names the columns.
    public var hasHeader: Bool
    /// RFC 4180 quoting; nil means on for comma-separated files.
    public var quoted: Bool?
    /// Keep unmapped columns (by header name) as attributes.
    public var keepOtherColumns: Bool

    /// An item mapping; every column left nil is guessed from the header.
    public init(item: String? = nil, title: String? = nil, description: String? = nil, genres: String? = nil,
                genreSeparator: String = "|", categories: String? = nil, categorySeparator: String = "|",
                year: String? = nil, price: String? = nil, delimiter: UInt8? = nil, hasHeader: Bool = true,
                quoted: Bool? = nil, keepOtherColumns: Bool = true) {
        self.item = item
        self.title = title
        self.description = description
        self.genres = genres
        self.genreSeparator = genreSeparator
        self.categories = categories
        self.categorySeparator = categorySeparator
        self.year = year
        self.price = price
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.quoted = quoted
        self.keepOtherColumns = keepOtherColumns
    }
}

/// A generic CSV or TSV ratings file (plain or gzip) read through a `DelimitedMapping`, with an
/// optional item metadata file. Quoted CSV follows RFC 4180; a column named in the mapping but
/// absent from the header is a `.badHeader` error listing the columns that exist. With no rating
/// column the data is implicit feedback on a 0–1 scale; otherwise the scale is the declared one or
/// the observed range.
public struct DelimitedImporter: DatasetImporter {
    /// The ratings file (plain or gzip).
    public let ratingsFile: String
    /// The optional item metadata file, read before the ratings.
    public let itemsFile: String?
    public let mapping: DelimitedMapping
    public var format: String { DatasetFormat.csv.rawValue }
    public var inputFiles: [String] { [itemsFile, ratingsFile].compactMap { $0 } }
    public var nativeScale: RatingScale? { mapping.rating == nil ? RatingScale(min: 0, max: 1) : nil }

    /// Reads `path` through `mapping`, and item metadata from `itemsPath` through `mapping.items`.
    /// Throws `.unreadableFile` when a file is missing; column problems surface when the import runs.
    public init(path: String, mapping: DelimitedMapping, itemsPath: String? = nil) throws {
        guard ImportSupport.exists(path) else { throw ImportSupport.missing(path, expected: "a CSV or TSV ratings file") }
        if let itemsPath, !ImportSupport.exists(itemsPath) {
            throw ImportSupport.missing(itemsPath, expected: "a CSV or TSV item metadata file")
        }
        ratingsFile = path
        itemsFile = itemsPath
        self.mapping = mapping
    }

    public func run(into w: DatasetWriter) throws {
        if let itemsFile { try readItems(itemsFile, mapping.items ?? DelimitedItemMapping(), w) }
        try readRatings(w)
    }

    // MARK: Columns

    /// The resolved layout of a file: column indices and the names used in messages.
    struct Layout {
        var names: [String]
        var hasHeader: Bool
        var count: Int { names.count }

        /// The index of a mapped column, or a `.badHeader` error naming what exists.
        func column(_ ref: String, role: String, file: String) throws -> Int {
            if hasHeader {
                if let k = names.firstIndex(of: ref) { return k }
                let lower = ref.lowercased()
                let matches = names.indices.filter { names[$0].lowercased() == lower }
                if matches.count == 1 { return matches[0] }
                throw ImportIssue(.badHeader, file: file, line: 1, field: role, value: ref,
                                  expected: "a column named '\(ref)' for the \(role); the header has: \(names.joined(separator: ", "))")
            }
            guard let k = Int(ref), (1...count).contains(k) else {
                throw ImportIssue(.badHeader, file: file, line: 1, field: role, value: ref,
                                  expected: "a column number 1–\(count) for the \(role) (the file has no header, so columns are numbered)")
            }
            return k - 1
        }

        /// A column by common names, for mapping fields left unset.
        func guess(_ candidates: [String], excluding used: Set<Int>) -> Int? {
            guard hasHeader else { return nil }
            for c in candidates {
                if let k = names.indices.first(where: { !used.contains($0) && DelimitedMapping.norm(names[$0]) == c }) { return k }
            }
            return nil
        }
    }

    static func layout(_ b: UnsafeBufferPointer<UInt8>, _ fields: [Range<Int>], hasHeader: Bool) -> Layout {
        hasHeader ? Layout(names: ImportSupport.headerNames(b, fields), hasHeader: true)
                  : Layout(names: (1...max(1, fields.count)).map { "column \($0)" }, hasHeader: false)
    }

    private static func columnCount(_ got: Int, _ layout: Layout, file: String, line: Int, _ w: DatasetWriter) throws -> Bool {
        if got == layout.count { return true }
        try w.issue(ImportIssue(.wrongColumnCount, file: file, line: line, field: "(row)", value: "\(got) columns",
                                expected: layout.hasHeader ? "\(layout.count) columns as in the header (\(layout.names.joined(separator: ", ")))"
                                                           : "\(layout.count) columns as in the first row"))
        return false
    }

    private static func text(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, field: String, file: String, line: Int,
                             _ w: DatasetWriter) throws -> String? {
        if let s = ByteParse.text(b, r, latin1: false) { return s }
        try w.issue(ImportIssue(.badEncoding, file: file, line: line, field: field, value: ByteParse.preview(b, r), expected: "UTF-8 text"))
        return nil
    }

    // MARK: Ratings

    private func readRatings(_ w: DatasetWriter) throws {
        let file = ratingsFile
        let m = mapping
        let delimiter = m.delimiter ?? DelimitedMapping.defaultDelimiter(forPath: file)
        let quoted = m.quoted ?? (delimiter == UInt8(ascii: ","))
        var layout: Layout?
        var cols = (user: 0, item: 0, rating: Int?.none, time: Int?.none)
        try ImportSupport.forEachRecord(file, delimiter: delimiter, quoted: quoted, w) { b, fields, n, off in
            if layout == nil {
                let l = Self.layout(b, fields, hasHeader: m.hasHeader)
                cols = (try l.column(m.user, role: "user id", file: file), try l.column(m.item, role: "item id", file: file),
                        try m.rating.map { try l.column($0, role: "rating", file: file) },
                        try m.timestamp.map { try l.column($0, role: "timestamp", file: file) })
                layout = l
                if m.hasHeader { return }
            }
            let l = layout!
            guard try Self.columnCount(fields.count, l, file: file, line: n, w) else { return }
            // Ids seen before are found from their bytes; only new ones are decoded and checked.
            let knownUser = w.knownUserID(b, ByteParse.trimmed(b, fields[cols.user]))
            let knownItem = w.knownItemID(b, ByteParse.trimmed(b, fields[cols.item]))
            var user = "", item = ""
            if knownUser == nil || knownItem == nil {
                guard let u = try Self.text(b, fields[cols.user], field: l.names[cols.user], file: file, line: n, w),
                      let i = try Self.text(b, fields[cols.item], field: l.names[cols.item], file: file, line: n, w) else { return }
                if u.isEmpty {
                    return try w.issue(ImportIssue(.missingID, file: file, line: n, field: l.names[cols.user], value: "", expected: "a non-empty user id"))
                }
                if i.isEmpty {
                    return try w.issue(ImportIssue(.missingID, file: file, line: n, field: l.names[cols.item], value: "", expected: "a non-empty item id"))
                }
                (user, item) = (u, i)
            }
            var value = 1.0
            if let rc = cols.rating {
                guard let v = ByteParse.double(b, fields[rc]) else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: l.names[rc], value: ByteParse.preview(b, fields[rc]),
                                                   expected: "a numeric rating"))
                }
                value = v
            }
            var ts: Int64 = 0
            if let tc = cols.time {
                let r = fields[tc]
                let parsed: Int64?
                switch m.timestampFormat {
                case .unixSeconds: parsed = ByteParse.double(b, r).flatMap(ImportSupport.seconds)
                case .unixMillis: parsed = ByteParse.double(b, r).flatMap { ImportSupport.seconds($0 / 1000) }
                case .iso8601: parsed = ImportSupport.iso8601(b, r)
                }
                guard let t = parsed else {
                    let what = ["unix": "a Unix timestamp in seconds", "unix-ms": "a Unix timestamp in milliseconds",
                                "iso8601": "an ISO 8601 date or date-time such as 2020-05-17T14:03:00Z"][m.timestampFormat.rawValue]!
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: l.names[tc], value: ByteParse.preview(b, r), expected: what))
                }
                ts = t
            }
            try w.addRating(user: try knownUser ?? w.userID(user), item: try knownItem ?? w.itemID(item), value: value, timestamp: ts,
                            file: file, line: n, field: cols.rating.map { l.names[$0] } ?? "rating")
            w.progressed(bytesInFile: off)
        }
        // A file with no record at all never reached the column check above: say so rather than
        // import nothing (the named columns cannot be in a header that is not there).
        if layout == nil && m.hasHeader {
            let named = [m.user, m.item] + [m.rating, m.timestamp].compactMap { $0 }
            throw ImportIssue(.badHeader, file: file, line: 1, field: "(header)", value: "",
                              expected: "a header line naming the columns \(named.map { "'\($0)'" }.joined(separator: ", ")) (the file is empty)")
        }
    }

    // MARK: Items

    private struct ItemColumns {
        var id = 0
        var title: Int?, description: Int?, genres: Int?, categories: Int?, year: Int?, price: Int?
        var others: [Int] = []
    }

    private func readItems(_ file: String, _ im: DelimitedItemMapping, _ w: DatasetWriter) throws {
        let delimiter = im.delimiter ?? DelimitedMapping.defaultDelimiter(forPath: file)
        let quoted = im.quoted ?? (delimiter == UInt8(ascii: ","))
        let ratingsItem = mapping.item
        var layout: Layout?
        var c = ItemColumns()
        try ImportSupport.forEachRecord(file, delimiter: delimiter, quoted: quoted, w) { b, fields, n, off in
            if layout == nil {
                let l = Self.layout(b, fields, hasHeader: im.hasHeader)
                c = try Self.itemColumns(l, im, ratingsItem: ratingsItem, file: file)
                layout = l
                if im.hasHeader { return }
            }
            let l = layout!
            guard try Self.columnCount(fields.count, l, file: file, line: n, w) else { return }
            var values: [String?] = Array(repeating: nil, count: l.count)
            for k in [c.id, c.title, c.description, c.genres, c.categories, c.year, c.price].compactMap({ $0 }) + c.others {
                guard let s = try Self.text(b, fields[k], field: l.names[k], file: file, line: n, w) else { return }
                values[k] = s
            }
            let id = values[c.id] ?? ""
            if id.isEmpty {
                return try w.issue(ImportIssue(.missingID, file: file, line: n, field: l.names[c.id], value: "", expected: "a non-empty item id"))
            }
            var f = ItemFields(externalID: id)
            func list(_ s: String?, _ sep: String) -> [String] {
                guard let s, !s.isEmpty else { return [] }
                return s.components(separatedBy: sep).map(\.trimmingSpaces).filter { !$0.isEmpty }
            }
            if let k = c.title { f.title = values[k] ?? "" }
            if let k = c.description { f.description = values[k] ?? "" }
            f.genres = list(c.genres.flatMap { values[$0] }, im.genreSeparator)
            f.categories = list(c.categories.flatMap { values[$0] }, im.categorySeparator)
            if let k = c.year, let s = values[k], !s.isEmpty {
                // "1995" or a date that starts with the year.
                let head = s.prefix(4)
                guard head.count == 4, head.allSatisfy(\.isASCII), let y = Int(head), s.count == 4 || !(s.dropFirst(4).first?.isNumber ?? false) else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: l.names[k], value: s, expected: "a year such as 1995"))
                }
                f.year = y
            }
            if let k = c.price, var s = values[k], !s.isEmpty {
                if s.hasPrefix("$") { s.removeFirst() }
                guard let p = Double(s), p.isFinite else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: l.names[k], value: values[k] ?? "", expected: "a price such as 9.99"))
                }
                f.price = p
            }
            for k in c.others { if let v = values[k], !v.isEmpty { f.attributes[l.names[k]] = v } }
            try w.putItem(f)
            w.progressed(bytesInFile: off)
        }
    }

    private static func itemColumns(_ l: Layout, _ im: DelimitedItemMapping, ratingsItem: String, file: String) throws -> ItemColumns {
        var c = ItemColumns()
        if let ref = im.item {
            c.id = try l.column(ref, role: "item id", file: file)
        } else if l.hasHeader, let k = l.names.firstIndex(of: ratingsItem) ?? l.guess(DelimitedMapping.itemNames + ["id"], excluding: []) {
            c.id = k
        } else if !l.hasHeader {
            c.id = 0
        } else {
            throw ImportIssue(.badHeader, file: file, line: 1, field: "item id", value: ratingsItem,
                              expected: "an item id column named '\(ratingsItem)' (or give the items mapping); the header has: \(l.names.joined(separator: ", "))")
        }
        var used: Set<Int> = [c.id]
        func pick(_ ref: String?, role: String, guesses: [String]) throws -> Int? {
            let k = try ref.map { try l.column($0, role: role, file: file) } ?? l.guess(guesses, excluding: used)
            if let k { used.insert(k) }
            return k
        }
        c.title = try pick(im.title, role: "title", guesses: ["title", "name", "movie_title", "product_title"])
        c.description = try pick(im.description, role: "description", guesses: ["description", "desc", "summary", "overview"])
        c.genres = try pick(im.genres, role: "genres", guesses: ["genres", "genre", "tags"])
        c.categories = try pick(im.categories, role: "categories", guesses: ["categories", "category"])
        c.year = try pick(im.year, role: "year", guesses: ["year", "release_year"])
        c.price = try pick(im.price, role: "price", guesses: ["price"])
        if im.keepOtherColumns && l.hasHeader {
            c.others = l.names.indices.filter { !used.contains($0) && !l.names[$0].isEmpty }
        }
        return c
    }
}
