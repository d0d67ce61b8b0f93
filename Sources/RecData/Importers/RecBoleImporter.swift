import Foundation
import RecKit

/// RecBole atomic files: `NAME.inter` (ratings), optional `NAME.item` and `NAME.user`.
///
/// Each file is tab-separated with a typed header such as `user_id:token  item_id:token
/// rating:float  timestamp:float`; `token_seq` fields hold space-separated tokens. This covers
/// MovieLens-100K as shipped in the `recbole` wheel and every RecBole-converted dataset.
///
/// Item fields are recognised by name: `movie_title`/`title`/`name` → title, `release_year`/`year`
/// → year, `class`/`genre`/`genres` → genres, `categories`/`category` → categories, `price`,
/// `description`/`desc`; others are kept as attributes. An `.inter` file without a rating column
/// is implicit feedback: each interaction becomes a rating of 1 on a 0–1 scale.
public struct RecBoleImporter: DatasetImporter {
    public let interFile: String
    public let itemFile: String?
    public let userFile: String?
    public var format: String { "recbole" }
    public var inputFiles: [String] { [itemFile, userFile, interFile].compactMap { $0 } }
    /// Implicit feedback (no rating column) is stored as 1 on a 0–1 scale; explicit ratings take
    /// `--scale` or their observed range.
    public var nativeScale: RatingScale? { hasRatingColumn ? nil : RatingScale(min: 0, max: 1) }
    private let hasRatingColumn: Bool

    /// `path` is either a directory holding `NAME.inter` (and maybe `.item`, `.user`) or an `.inter` file.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImportIssue(.unreadableFile, file: path, line: 0, field: "(file)", value: "no such file or directory", expected: "a RecBole .inter file or a folder containing one")
        }
        var inter = path
        if isDir.boolValue {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            guard let f = entries.sorted().first(where: { $0.hasSuffix(".inter") }) else {
                throw ImportIssue(.unreadableFile, file: path, line: 0, field: "(file)", value: entries.sorted().prefix(8).joined(separator: ", "), expected: "a folder containing a NAME.inter file")
            }
            inter = (path as NSString).appendingPathComponent(f)
        }
        let stem = (inter as NSString).deletingPathExtension
        interFile = inter
        itemFile = FileManager.default.fileExists(atPath: stem + ".item") ? stem + ".item" : nil
        userFile = FileManager.default.fileExists(atPath: stem + ".user") ? stem + ".user" : nil
        var firstLine: [UInt8] = []
        try? ByteLineReader(path: inter).forEachLine { line, _, _ in
            firstLine = Array(line)
            throw CancellationError()
        }
        let header = String(decoding: firstLine, as: UTF8.self)
        hasRatingColumn = header.split(separator: "\t").contains { ["rating", "label", "score"].contains($0.split(separator: ":").first.map(String.init) ?? "") }
    }

    /// A parsed `name:type` header.
    struct Header {
        var names: [String]
        var types: [String]
        func index(_ candidates: [String]) -> Int? {
            for c in candidates { if let i = names.firstIndex(of: c) { return i } }
            return nil
        }

        /// Throws `.badHeader` when column `i` is not declared with `type`: ids are tokens and
        /// ratings and timestamps floats; `user_id:float` is a mislabelled file, not a choice.
        func require(_ i: Int, type: String, role: String, file: String) throws {
            guard types[i] == type else {
                throw ImportIssue(.badHeader, file: file, line: 1, field: "\(names[i]):\(types[i])", value: "\(names[i]):\(types[i])",
                                  expected: "\(names[i]):\(type) (the \(role) column is a \(type) field in RecBole's atomic files)")
            }
        }
    }

    static func parseHeader(_ line: UnsafeBufferPointer<UInt8>, file: String) throws -> Header {
        guard let text = String(validating: line, as: UTF8.self) else {
            throw ImportIssue(.badEncoding, file: file, line: 1, field: "(header)", value: ByteParse.preview(line, 0..<line.count), expected: "UTF-8 text")
        }
        var names: [String] = [], types: [String] = []
        for col in text.split(separator: "\t", omittingEmptySubsequences: false) {
            let parts = col.split(separator: ":", maxSplits: 1)
            let allowed: Set<String> = ["token", "token_seq", "float", "float_seq"]
            guard parts.count == 2, allowed.contains(String(parts[1])) else {
                throw ImportIssue(.badHeader, file: file, line: 1, field: String(col), value: String(col),
                                  expected: "a typed header column NAME:TYPE with TYPE one of token, token_seq, float, float_seq")
            }
            names.append(String(parts[0])); types.append(String(parts[1]))
        }
        return Header(names: names, types: types)
    }

    public func run(into w: DatasetWriter) throws {
        if let itemFile { try readItems(itemFile, w) }
        if let userFile { try readUsers(userFile, w) }
        try readInteractions(interFile, w)
    }

    private func readItems(_ file: String, _ w: DatasetWriter) throws {
        var header: Header?
        var splitter = FieldSplitter(delimiter: "\t")
        let reader = ByteLineReader(path: file)
        try reader.forEachLine { line, n, off in
            guard let h = header else { header = try RecBoleImporter.parseHeader(line, file: file); return }
            if line.isEmpty { return }
            guard splitter.split(line) == h.names.count else {
                return try w.issue(ImportIssue(.wrongColumnCount, file: file, line: n, field: "(row)", value: "\(splitter.ranges.count) columns",
                                               expected: "\(h.names.count) tab-separated columns (\(h.names.joined(separator: ", ")))"))
            }
            guard let idIdx = h.index(["item_id"]) else {
                throw ImportIssue(.badHeader, file: file, line: 1, field: "item_id", value: h.names.joined(separator: ", "), expected: "an item_id:token column")
            }
            try h.require(idIdx, type: "token", role: "item id", file: file)
            var values: [String] = []
            for (k, r) in splitter.ranges.enumerated() {
                guard let s = ByteParse.text(line, r, latin1: false) else {
                    return try w.issue(ImportIssue(.badEncoding, file: file, line: n, field: h.names[k], value: ByteParse.preview(line, r), expected: "UTF-8 text"))
                }
                values.append(s)
            }
            let id = values[idIdx]
            if id.isEmpty { return try w.issue(ImportIssue(.missingID, file: file, line: n, field: "item_id", value: "", expected: "a non-empty item id")) }
            var f = ItemFields(externalID: id)
            for (k, name) in h.names.enumerated() where k != idIdx {
                let v = values[k]
                switch name {
                case "movie_title", "title", "name": f.title = v
                case "release_year", "year":
                    // A descriptive field: real files hold junk here ("unkonwn" in ml-100k), which
                    // leaves the year empty rather than rejecting the item.
                    if !v.isEmpty {
                        if let y = Int(v) { f.year = y } else { w.leftEmpty(field: name) }
                    }
                case "class", "genre", "genres": f.genres = v.split(separator: " ").map(String.init)
                case "categories", "category": f.categories = v.split(separator: " ").map(String.init)
                case "description", "desc": f.description = v
                case "price":
                    if !v.isEmpty {
                        if let p = Double(v), p.isFinite { f.price = p } else { w.leftEmpty(field: name) }
                    }
                default: if !v.isEmpty { f.attributes[name] = v }
                }
            }
            try w.putItem(f)
            w.progressed(bytesInFile: off)
        }
        w.finishedFile(size: (try? ByteStream(path: file).fileSize) ?? 0)
    }

    private func readUsers(_ file: String, _ w: DatasetWriter) throws {
        var header: Header?
        var splitter = FieldSplitter(delimiter: "\t")
        try ByteLineReader(path: file).forEachLine { line, n, off in
            guard let h = header else { header = try RecBoleImporter.parseHeader(line, file: file); return }
            if line.isEmpty { return }
            guard splitter.split(line) == h.names.count else {
                return try w.issue(ImportIssue(.wrongColumnCount, file: file, line: n, field: "(row)", value: "\(splitter.ranges.count) columns",
                                               expected: "\(h.names.count) tab-separated columns (\(h.names.joined(separator: ", ")))"))
            }
            guard let idIdx = h.index(["user_id"]) else {
                throw ImportIssue(.badHeader, file: file, line: 1, field: "user_id", value: h.names.joined(separator: ", "), expected: "a user_id:token column")
            }
            try h.require(idIdx, type: "token", role: "user id", file: file)
            var attrs: [String: String] = [:]
            var id = ""
            for (k, r) in splitter.ranges.enumerated() {
                guard let s = ByteParse.text(line, r, latin1: false) else {
                    return try w.issue(ImportIssue(.badEncoding, file: file, line: n, field: h.names[k], value: ByteParse.preview(line, r), expected: "UTF-8 text"))
                }
                if k == idIdx { id = s } else if !s.isEmpty { attrs[h.names[k]] = s }
            }
            if id.isEmpty { return try w.issue(ImportIssue(.missingID, file: file, line: n, field: "user_id", value: "", expected: "a non-empty user id")) }
            try w.putUser(externalID: id, attributes: attrs)
            w.progressed(bytesInFile: off)
        }
        w.finishedFile(size: (try? ByteStream(path: file).fileSize) ?? 0)
    }

    private func readInteractions(_ file: String, _ w: DatasetWriter) throws {
        var header: Header?
        var cols = (user: 0, item: 0, rating: Optional<Int>.none, time: Optional<Int>.none)
        var splitter = FieldSplitter(delimiter: "\t")
        try ByteLineReader(path: file).forEachLine { line, n, off in
            guard let h = header else {
                let hh = try RecBoleImporter.parseHeader(line, file: file)
                guard let u = hh.index(["user_id"]), let i = hh.index(["item_id"]) else {
                    throw ImportIssue(.badHeader, file: file, line: 1, field: "(header)", value: hh.names.joined(separator: ", "), expected: "user_id:token and item_id:token columns")
                }
                cols = (u, i, hh.index(["rating", "label", "score"]), hh.index(["timestamp", "time"]))
                try hh.require(u, type: "token", role: "user id", file: file)
                try hh.require(i, type: "token", role: "item id", file: file)
                if let r = cols.rating { try hh.require(r, type: "float", role: "rating", file: file) }
                if let t = cols.time { try hh.require(t, type: "float", role: "timestamp", file: file) }
                header = hh
                return
            }
            if line.isEmpty { return }
            guard splitter.split(line) == h.names.count else {
                return try w.issue(ImportIssue(.wrongColumnCount, file: file, line: n, field: "(row)", value: "\(splitter.ranges.count) columns",
                                               expected: "\(h.names.count) tab-separated columns (\(h.names.joined(separator: ", ")))"))
            }
            let r = splitter.ranges
            guard let user = ByteParse.text(line, r[cols.user], latin1: false), let item = ByteParse.text(line, r[cols.item], latin1: false) else {
                let bad = ByteParse.text(line, r[cols.user], latin1: false) == nil ? cols.user : cols.item
                return try w.issue(ImportIssue(.badEncoding, file: file, line: n, field: h.names[bad], value: ByteParse.preview(line, r[bad]), expected: "UTF-8 text"))
            }
            if user.isEmpty { return try w.issue(ImportIssue(.missingID, file: file, line: n, field: "user_id", value: "", expected: "a non-empty user id")) }
            if item.isEmpty { return try w.issue(ImportIssue(.missingID, file: file, line: n, field: "item_id", value: "", expected: "a non-empty item id")) }
            var value = 1.0
            if let rc = cols.rating {
                guard let v = ByteParse.double(line, r[rc]) else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: h.names[rc], value: ByteParse.preview(line, r[rc]), expected: "a numeric rating"))
                }
                value = v
            }
            var ts: Int64 = 0
            if let tc = cols.time {
                guard let t = ByteParse.double(line, r[tc]), let seconds = ImportSupport.seconds(t) else {
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: h.names[tc], value: ByteParse.preview(line, r[tc]), expected: "a numeric timestamp (seconds)"))
                }
                ts = seconds
            }
            try w.addRating(user: try w.userID(user), item: try w.itemID(item), value: value, timestamp: ts,
                            file: file, line: n, field: cols.rating.map { h.names[$0] } ?? "rating")
            w.progressed(bytesInFile: off)
        }
        w.finishedFile(size: (try? ByteStream(path: file).fileSize) ?? 0)
    }
}
