import Foundation
import RecKit

/// Amazon Reviews 2023 (McAuley Lab) JSON Lines, plain or gzip: a reviews file `<Category>.jsonl`
/// and an optional metadata file `meta_<Category>.jsonl`.
///
/// Reviews: `user_id`, `parent_asin` (falling back to `asin`), `rating` (1–5) and `timestamp` in
/// milliseconds (stored as seconds). Metadata: `title`; `features` and `description` joined into the
/// description; `main_category` then `categories` as categories; `price` when it is a number;
/// `store` and the flattened `details` as attributes. The 2018 release's names (`reviewerID`,
/// `overall`, `unixReviewTime`, `feature`, `category`, `main_cat`, `brand`) are read as fallbacks.
///
/// Metadata is read first so rated items get their text; items reviewed but absent from the
/// metadata are created bare. Each line is decoded on its own, so memory stays constant.
public struct AmazonReviewsImporter: DatasetImporter {
    /// The reviews file `<Category>.jsonl[.gz]`.
    public let reviewsFile: String
    /// The metadata file `meta_<Category>.jsonl[.gz]`, when there is one.
    public let metaFile: String?
    public var format: String { DatasetFormat.amazon.rawValue }
    public var inputFiles: [String] { [metaFile, reviewsFile].compactMap { $0 } }
    public var nativeScale: RatingScale? { RatingScale(min: 1, max: 5) }

    /// `path` is the reviews file (or a folder holding one reviews file and maybe its meta file);
    /// `metaPath` the metadata file, found beside the reviews as `meta_<Category>.jsonl[.gz]` when nil.
    public init(path: String, metaPath: String? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImportSupport.missing(path, expected: "an Amazon Reviews 2023 <Category>.jsonl[.gz] file")
        }
        var reviews = path
        if isDir.boolValue {
            guard let f = Self.reviewsFile(inFolder: path) else {
                throw ImportSupport.missing(ImportSupport.join(path, "<Category>.jsonl"),
                                            expected: "a folder with one Amazon reviews file <Category>.jsonl[.gz]")
            }
            reviews = f
        }
        if let metaPath {
            guard ImportSupport.exists(metaPath) else {
                throw ImportSupport.missing(metaPath, expected: "an Amazon metadata file meta_<Category>.jsonl[.gz]")
            }
        }
        reviewsFile = reviews
        metaFile = metaPath ?? Self.metaFile(besides: reviews)
    }

    /// The one non-`meta_` JSON Lines file of a folder, if exactly one exists.
    static func reviewsFile(inFolder dir: String) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        let candidates = names.filter { DatasetFormat.isJSONLines($0.lowercased()) && !$0.hasPrefix("meta_") }
        return candidates.count == 1 ? ImportSupport.join(dir, candidates[0]) : nil
    }

    /// `meta_<Category>.jsonl[.gz]` (or `.json.gz`) beside `<Category>.jsonl[.gz]`.
    static func metaFile(besides reviews: String) -> String? {
        let dir = (reviews as NSString).deletingLastPathComponent
        var stem = (reviews as NSString).lastPathComponent
        for ext in [".gz", ".jsonl", ".json", ".ndjson"] where stem.hasSuffix(ext) { stem.removeLast(ext.count) }
        for ext in [".jsonl", ".jsonl.gz", ".json.gz", ".json", ".ndjson", ".ndjson.gz"] {
            let p = ImportSupport.join(dir, "meta_" + stem + ext)
            if p != reviews && ImportSupport.exists(p) { return p }
        }
        return nil
    }

    public func run(into w: DatasetWriter) throws {
        if let metaFile { try readMeta(metaFile, w) }
        try readReviews(reviewsFile, w)
    }

    // MARK: Line decoding

    /// Checks a line is UTF-8 (JSON text must be) before decoding, so bad bytes are reported as an
    /// encoding problem rather than as broken JSON. Pure-ASCII lines skip the full validation.
    private static func validUTF8(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var high: UInt8 = 0
        for c in line { high |= c }
        return high < 0x80 || String(validating: line, as: UTF8.self) != nil
    }

    private static func checkLine(_ line: UnsafeBufferPointer<UInt8>, file: String, n: Int, _ w: DatasetWriter) throws -> Bool {
        guard validUTF8(line) else {
            try w.issue(ImportIssue(.badEncoding, file: file, line: n, field: "(line)", value: ByteParse.preview(line, 0..<line.count),
                                    expected: "UTF-8 JSON text"))
            return false
        }
        return true
    }

    private static func brokenJSON(_ line: UnsafeBufferPointer<UInt8>, file: String, n: Int) -> ImportIssue {
        ImportIssue(.brokenJSON, file: file, line: n, field: "(line)", value: ByteParse.preview(line, 0..<line.count),
                    expected: "one JSON object per line")
    }

    /// A JSON value where the format wants a scalar, kept loose so a wrong type becomes an issue
    /// naming the field instead of a failure of the whole line.
    enum Scalar: Equatable {
        case int(Int64), double(Double), string(String), null, other

        var number: Double? {
            switch self {
            case .int(let v): return Double(v)
            case .double(let v): return v
            case .string(let s): return Double(s.trimmingSpaces).flatMap { $0.isFinite ? $0 : nil }
            default: return nil
            }
        }

        /// An id as text; numeric ids are accepted in their integer form.
        var id: String? {
            switch self {
            case .string(let s): return s.trimmingSpaces
            case .int(let v): return String(v)
            default: return nil
            }
        }

        var shown: String {
            switch self {
            case .int(let v): return String(v)
            case .double(let v): return String(v)
            case .string(let s): return s
            case .null: return "null"
            case .other: return "(an object, array or boolean)"
            }
        }
    }

    /// The review fields of one line (2023 names, then the 2018 ones).
    struct Review {
        var rating, overall, userID, reviewerID, parentASIN, asin, timestamp, unixReviewTime: Scalar?

        static let keys = ["rating", "overall", "user_id", "reviewerID", "parent_asin", "asin", "timestamp", "unixReviewTime"]

        init?(line: UnsafeBufferPointer<UInt8>) {
            guard let v = JSONLineScanner.topLevel(line, keys: Review.keys) else { return nil }
            (rating, overall, userID, reviewerID) = (v[0], v[1], v[2], v[3])
            (parentASIN, asin, timestamp, unixReviewTime) = (v[4], v[5], v[6], v[7])
        }
    }

    // MARK: Reviews

    private func readReviews(_ file: String, _ w: DatasetWriter) throws {
        try ImportSupport.forEachLine(file, w) { line, n, off in
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            guard try Self.checkLine(line, file: file, n: n, w) else { return }
            guard let r = Review(line: line) else { return try w.issue(Self.brokenJSON(line, file: file, n: n)) }
            let userField = r.userID == nil && r.reviewerID != nil ? "reviewerID" : "user_id"
            guard let user = (r.userID ?? r.reviewerID)?.id, !user.isEmpty else {
                return try w.issue(ImportIssue(.missingID, file: file, line: n, field: userField, value: (r.userID ?? r.reviewerID)?.shown ?? "",
                                               expected: "a non-empty user id string"))
            }
            var item = r.parentASIN?.id ?? ""
            if item.isEmpty { item = r.asin?.id ?? "" }
            guard !item.isEmpty else {
                return try w.issue(ImportIssue(.missingID, file: file, line: n, field: "parent_asin", value: r.parentASIN?.shown ?? "",
                                               expected: "a non-empty parent_asin or asin"))
            }
            let ratingField = r.rating == nil && r.overall != nil ? "overall" : "rating"
            guard let value = (r.rating ?? r.overall)?.number else {
                return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: ratingField, value: (r.rating ?? r.overall)?.shown ?? "",
                                               expected: "a numeric rating"))
            }
            var ts: Int64 = 0
            if let t = r.timestamp, t.number != nil || t.id != nil {
                // Integer milliseconds divide exactly; a Double would round past 2^53.
                let whole: Int64? = if case .int(let v) = t { v / 1000 } else { nil }
                guard let s = whole ?? t.number.flatMap({ ImportSupport.seconds($0 / 1000) }) else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: "timestamp", value: t.shown,
                                                   expected: "a Unix timestamp in milliseconds"))
                }
                ts = s
            } else if let t = r.unixReviewTime, t.number != nil || t.id != nil {
                guard let sec = t.number, let s = ImportSupport.seconds(sec) else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: "unixReviewTime", value: t.shown,
                                                   expected: "a Unix timestamp in seconds"))
                }
                ts = s
            }
            try w.addRating(user: try w.userID(user), item: try w.itemID(item), value: value, timestamp: ts,
                            file: file, line: n, field: ratingField)
            w.progressed(bytesInFile: off)
        }
    }

    // MARK: Metadata

    private func readMeta(_ file: String, _ w: DatasetWriter) throws {
        try ImportSupport.forEachLine(file, w) { line, n, off in
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            guard try Self.checkLine(line, file: file, n: n, w) else { return }
            // Metadata values are heterogeneous (details mixes strings, numbers and objects), which
            // JSONSerialization represents directly.
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(buffer: line))) as? [String: Any] else {
                return try w.issue(Self.brokenJSON(line, file: file, n: n))
            }
            let id = Self.string(obj["parent_asin"]) ?? Self.string(obj["asin"]) ?? ""
            guard !id.isEmpty else {
                return try w.issue(ImportIssue(.missingID, file: file, line: n, field: "parent_asin", value: Self.flatten(obj["parent_asin"] ?? "") ?? "",
                                               expected: "a non-empty parent_asin"))
            }
            try w.putItem(Self.itemFields(id: id, obj))
            w.progressed(bytesInFile: off)
        }
    }

    static func itemFields(id: String, _ obj: [String: Any]) -> ItemFields {
        var f = ItemFields(externalID: id)
        f.title = string(obj["title"]) ?? ""
        f.description = sentences(strings(obj["features"] ?? obj["feature"]) + strings(obj["description"]))
        var cats: [String] = []
        for c in (strings(obj["main_category"] ?? obj["main_cat"]) + strings(obj["categories"] ?? obj["category"])) where !cats.contains(c) {
            cats.append(c)
        }
        f.categories = cats
        f.price = price(obj["price"])
        if let store = string(obj["store"]) ?? string(obj["brand"]), !store.isEmpty { f.attributes["store"] = store }
        if let details = obj["details"] as? [String: Any] {
            for (k, v) in details where !k.isEmpty && f.attributes[k] == nil {
                if let s = flatten(v), !s.isEmpty { f.attributes[k] = s }
            }
        }
        return f
    }

    /// Joins feature bullets and description paragraphs into prose: a piece that does not end a
    /// sentence gets a full stop, so "Soft cotton" "Machine wash" reads as two sentences.
    static func sentences(_ parts: [String]) -> String {
        var out = ""
        for p in parts {
            let t = p.trimmingSpaces
            if t.isEmpty { continue }
            if !out.isEmpty {
                if let last = out.last, !".!?;:".contains(last) { out += "." }
                out += " "
            }
            out += t
        }
        return out
    }

    static func string(_ v: Any?) -> String? {
        if let s = v as? String { return s.trimmingSpaces }
        if let n = v as? NSNumber { return n.stringValue }
        return nil
    }

    /// Strings of a list (or a lone string), dropping empty and non-text entries.
    static func strings(_ v: Any?) -> [String] {
        if let s = v as? String { return s.trimmingSpaces.isEmpty ? [] : [s.trimmingSpaces] }
        guard let a = v as? [Any] else { return [] }
        return a.compactMap { ($0 as? String)?.trimmingSpaces }.filter { !$0.isEmpty }
    }

    /// A number, or a numeric string such as "$9.99"; "—", "None" and null mean no price.
    static func price(_ v: Any?) -> Double? {
        if v == nil || v is NSNull { return nil }
        if let n = v as? NSNumber { let d = n.doubleValue; return d.isFinite && d >= 0 ? d : nil }
        guard var s = (v as? String)?.trimmingSpaces else { return nil }
        if s.hasPrefix("$") { s.removeFirst() }
        s = s.replacingOccurrences(of: ",", with: "")
        guard let d = Double(s), d.isFinite, d >= 0 else { return nil }
        return d
    }

    /// A details value as one string: lists joined by ", ", nested objects as "key: value" pairs.
    static func flatten(_ v: Any) -> String? {
        if v is NSNull { return nil }
        if let s = string(v) { return s }
        if let a = v as? [Any] { return a.compactMap(flatten).filter { !$0.isEmpty }.joined(separator: ", ") }
        if let d = v as? [String: Any] {
            return d.keys.sorted().compactMap { k in flatten(d[k]!).map { "\(k): \($0)" } }.joined(separator: "; ")
        }
        return nil
    }
}

/// A validating scanner for one JSON Lines record that extracts a few top-level scalar members
/// without building the rest: Foundation's `JSONDecoder` reads ~12k review lines/s here, far too
/// slow for files of tens of millions of reviews, while this reads them at the speed of the bytes.
///
/// It checks the whole line is one well-formed JSON object (strings, escapes and surrogate pairs,
/// numbers within Double's range, literals, nesting up to 256 levels so a line of "[[[[..." cannot
/// exhaust the stack) and rejects what Foundation's parser rejects, except that it is stricter
/// about trailing commas, which Foundation tolerates. It returns the wanted members as `Scalar`s:
/// strings unescaped, numbers as Int64 when integral, objects, arrays and booleans as `.other`.
/// The line must already be valid UTF-8.
enum JSONLineScanner {
    typealias Scalar = AmazonReviewsImporter.Scalar

    /// The values of `keys` (nil where absent), or nil when the line is not one JSON object.
    static func topLevel(_ b: UnsafeBufferPointer<UInt8>, keys: [String]) -> [Scalar?]? {
        let wanted = keys.map { Array($0.utf8) }
        var out = [Scalar?](repeating: nil, count: keys.count)
        var i = 0
        let n = b.count
        func ws() { while i < n && (b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D) { i += 1 } }
        ws()
        guard i < n, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        ws()
        if i < n && b[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                ws()
                guard i < n, b[i] == 0x22, let key = string(b, &i) else { return nil }
                ws()
                guard i < n, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                ws()
                let slot = key.escaped ? nil : wanted.firstIndex { $0.elementsEqual(UnsafeBufferPointer(rebasing: b[key.range])) }
                let start = i
                guard let kind = value(b, &i, depth: 0) else { return nil }
                if let slot { out[slot] = scalar(b, start..<i, kind) }
                ws()
                guard i < n else { return nil }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "}") else { return nil }
                i += 1
                break
            }
        }
        ws()
        return i == n ? out : nil
    }

    enum Kind { case string(escaped: Bool), number, null, other }

    /// Scans a string starting at its opening quote; returns the content range.
    static func string(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> (range: Range<Int>, escaped: Bool)? {
        let n = b.count
        i += 1
        let start = i
        var escaped = false
        while i < n {
            let c = b[i]
            if c == 0x22 { i += 1; return (start..<(i - 1), escaped) }
            if c < 0x20 { return nil }
            if c == 0x5C {
                escaped = true
                guard i + 1 < n else { return nil }
                switch b[i + 1] {
                case 0x22, 0x5C, 0x2F, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): i += 2
                case UInt8(ascii: "u"):
                    guard let v = u16(b, i + 2) else { return nil }
                    i += 6
                    // Surrogates must pair up, as Foundation requires: a high half then a low one.
                    if (0xDC00..<0xE000).contains(v) { return nil }
                    if (0xD800..<0xDC00).contains(v) {
                        guard i + 1 < n, b[i] == 0x5C, b[i + 1] == UInt8(ascii: "u"), let lo = u16(b, i + 2),
                              (0xDC00..<0xE000).contains(lo) else { return nil }
                        i += 6
                    }
                default: return nil
                }
                continue
            }
            i += 1
        }
        return nil
    }

    /// Four hex digits at `at`, or nil.
    static func u16(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32? {
        guard at + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for k in at..<(at + 4) {
            guard let h = hex(b[k]) else { return nil }
            v = v << 4 | h
        }
        return v
    }

    static func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    static func value(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, depth: Int) -> Kind? {
        let n = b.count
        guard i < n, depth < 256 else { return nil }
        func ws() { while i < n && (b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D) { i += 1 } }
        func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard i + w.count <= n, UnsafeBufferPointer(rebasing: b[i..<(i + w.count)]).elementsEqual(w) else { return false }
            i += w.count
            return true
        }
        switch b[i] {
        case 0x22:
            guard let s = string(b, &i) else { return nil }
            return .string(escaped: s.escaped)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let object = b[i] == UInt8(ascii: "{")
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1
            ws()
            if i < n && b[i] == close { i += 1; return .other }
            while true {
                ws()
                if object {
                    guard i < n, b[i] == 0x22, string(b, &i) != nil else { return nil }
                    ws()
                    guard i < n, b[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    ws()
                }
                guard value(b, &i, depth: depth + 1) != nil else { return nil }
                ws()
                guard i < n else { return nil }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == close else { return nil }
                i += 1
                return .other
            }
        case UInt8(ascii: "t"): return literal("true") ? .other : nil
        case UInt8(ascii: "f"): return literal("false") ? .other : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default:
            // JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
            let start = i
            func digits() -> Int { let s = i; while i < n && b[i] &- 0x30 <= 9 { i += 1 }; return i - s }
            if b[i] == 0x2D { i += 1 }
            guard i < n, b[i] &- 0x30 <= 9 else { return nil }
            if b[i] == 0x30 { i += 1 } else { _ = digits() }
            if i < n && b[i] == 0x2E { i += 1; guard digits() > 0 else { return nil } }
            if i < n && (b[i] == 0x65 || b[i] == 0x45) {
                i += 1
                if i < n && (b[i] == 0x2B || b[i] == 0x2D) { i += 1 }
                guard digits() > 0 else { return nil }
                // Like Foundation, a number beyond Double's range ("1e400") is malformed.
                guard ByteParse.double(b, start..<i) != nil else { return nil }
            }
            return i > start ? .number : nil
        }
    }

    static func scalar(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ kind: Kind) -> Scalar {
        switch kind {
        case .null: return .null
        case .other: return .other
        case .number:
            if let v = ByteParse.int(b, r) { return .int(v) }
            // A number too large for a Double (1e999) is still a number; report it as text.
            return ByteParse.double(b, r).map(Scalar.double) ?? .string(String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self))
        case .string(let escaped):
            let content = (r.lowerBound + 1)..<(r.upperBound - 1)
            let raw = UnsafeBufferPointer(rebasing: b[content])
            return .string(escaped ? unescape(raw) : String(decoding: raw, as: UTF8.self))
        }
    }

    /// Decodes the escapes of a scanned (already validated) string body.
    static func unescape(_ s: UnsafeBufferPointer<UInt8>) -> String {
        var out = String.UnicodeScalarView()
        var bytes: [UInt8] = []
        func flush() {
            if !bytes.isEmpty { out.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars); bytes.removeAll() }
        }
        var i = 0
        while i < s.count {
            guard s[i] == 0x5C else { bytes.append(s[i]); i += 1; continue }
            flush()
            let e = s[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append("\u{08}")
            case UInt8(ascii: "f"): out.append("\u{0C}")
            case UInt8(ascii: "n"): out.append("\n")
            case UInt8(ascii: "r"): out.append("\r")
            case UInt8(ascii: "t"): out.append("\t")
            case UInt8(ascii: "u"):
                var v = u16(s, i) ?? 0xFFFD
                i += 4
                // A high surrogate followed by \uDC00-\uDFFF is one code point; lone halves become U+FFFD.
                if (0xD800..<0xDC00).contains(v), i + 5 < s.count, s[i] == 0x5C, s[i + 1] == UInt8(ascii: "u") {
                    let lo = u16(s, i + 2) ?? 0
                    if (0xDC00..<0xE000).contains(lo) { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00); i += 6 }
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default: out.append(Unicode.Scalar(e))
            }
        }
        flush()
        return String(out)
    }
}
