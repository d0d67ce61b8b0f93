import Foundation
import RecKit

/// The GroupLens MovieLens releases in their native layouts.
///
/// - `ml-100k`: `u.data` (tab-separated `user item rating timestamp`, no header), `u.item`
///   (`|`-separated, Latin-1: id, title, release date, video release date, IMDb URL, 19 genre
///   flags), optional `u.user` (`id|age|gender|occupation|zip`) and `u.genre` (genre names).
/// - `ml-1m`: `ratings.dat` (`UserID::MovieID::Rating::Timestamp`), `movies.dat`
///   (`MovieID::Title::Genres`, genres `|`-separated, Latin-1), optional `users.dat`
///   (`UserID::Gender::Age::Occupation::Zip-code`, age and occupation as codes).
/// - `ml-latest` (also ml-latest-small, ml-20m, ml-25m, ml-32m): `ratings.csv`
///   (`userId,movieId,rating,timestamp`) and `movies.csv` (`movieId,title,genres`, RFC 4180 quoting,
///   UTF-8). `tags.csv` and `links.csv` are not read: tags are free text by few users and would
///   need per-item buffering; links only map to other catalogues.
///
/// Titles lose their trailing "(YYYY)", which becomes the year (ml-100k falls back to the release
/// date). The "unknown" genre flag of ml-100k and "(no genres listed)" of ml-latest mean no genre.
/// User and item ids must be whole numbers, as in every MovieLens release; anything else is a
/// malformed row. Native scales: 1–5 (100k, 1m) and 0.5–5 (latest).
public struct MovieLensImporter: DatasetImporter {
    /// Which MovieLens layout a folder holds.
    public enum Variant: String, Sendable, CaseIterable {
        case ml100k = "ml-100k"
        case ml1m = "ml-1m"
        case mlLatest = "ml-latest"

        /// The ratings file that identifies the layout.
        public var ratingsFileName: String {
            switch self {
            case .ml100k: return "u.data"
            case .ml1m: return "ratings.dat"
            case .mlLatest: return "ratings.csv"
            }
        }
    }

    /// The 19 genres of `u.item`'s flag columns, in order, when `u.genre` is absent.
    public static let ml100kGenres = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
        "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
        "War", "Western",
    ]

    /// ml-1m `users.dat` occupation codes (from the release's README).
    static let ml1mOccupations = [
        "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
        "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer",
        "programmer", "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer",
        "tradesman/craftsman", "unemployed", "writer",
    ]

    /// ml-1m `users.dat` age codes.
    static let ml1mAgeGroups: [Int: String] = [1: "under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+"]

    public let variant: Variant
    public let ratingsFile: String
    public let itemsFile: String?
    public let usersFile: String?
    /// ml-100k only: `u.genre`, the names of the genre flag columns.
    public let genreFile: String?

    public var format: String { variant.rawValue }
    public var inputFiles: [String] { [genreFile, itemsFile, usersFile, ratingsFile].compactMap { $0 } }
    public var nativeScale: RatingScale? {
        variant == .mlLatest ? RatingScale(min: 0.5, max: 5) : RatingScale(min: 1, max: 5)
    }

    /// `path` is the release folder or its ratings file. Without `variant`, the layout is
    /// recognised by the ratings file present.
    public init(path: String, variant: Variant? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImportSupport.missing(path, expected: "a MovieLens folder (u.data, ratings.dat or ratings.csv)")
        }
        let folder = isDir.boolValue ? path : (path as NSString).deletingLastPathComponent
        func file(_ name: String) -> String? {
            let p = ImportSupport.join(folder, name)
            return ImportSupport.exists(p) ? p : nil
        }
        let v: Variant
        if let variant {
            v = variant
        } else if let found = Variant.allCases.first(where: { file($0.ratingsFileName) != nil }) {
            v = found
        } else {
            throw ImportSupport.missing(ImportSupport.join(folder, "u.data"), expected: "a MovieLens folder (u.data, ratings.dat or ratings.csv)")
        }
        // A ratings file given explicitly wins over the conventional name.
        let ratings = isDir.boolValue ? ImportSupport.join(folder, v.ratingsFileName) : path
        guard ImportSupport.exists(ratings) else {
            throw ImportSupport.missing(ratings, expected: "the \(v.rawValue) ratings file \(v.ratingsFileName)")
        }
        self.variant = v
        ratingsFile = ratings
        switch v {
        case .ml100k:
            itemsFile = file("u.item"); usersFile = file("u.user"); genreFile = file("u.genre")
        case .ml1m:
            itemsFile = file("movies.dat"); usersFile = file("users.dat"); genreFile = nil
        case .mlLatest:
            itemsFile = file("movies.csv"); usersFile = nil; genreFile = nil
        }
    }

    public func run(into w: DatasetWriter) throws {
        switch variant {
        case .ml100k:
            let genres = try genreFile.map { try readGenreNames($0, w) } ?? MovieLensImporter.ml100kGenres
            if let itemsFile { try read100kItems(itemsFile, genres: genres, w) }
            if let usersFile { try readUsers(usersFile, delimiter: "|", w) }
            try readRatings(ratingsFile, delimiter: "\t", header: false, w)
        case .ml1m:
            if let itemsFile { try read1mItems(itemsFile, w) }
            if let usersFile { try readUsers(usersFile, delimiter: "::", w) }
            try readRatings(ratingsFile, delimiter: "::", header: false, w)
        case .mlLatest:
            if let itemsFile { try readLatestItems(itemsFile, w) }
            try readRatings(ratingsFile, delimiter: ",", header: true, w)
        }
    }

    // MARK: Field helpers

    /// A MovieLens id: a whole number, stored in canonical form ("007" and "7" are the same movie).
    private static func id(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, field: String, file: String, line: Int,
                           _ w: DatasetWriter) throws -> String? {
        let t = ImportSupport.trimmed(b, r)
        if t.isEmpty {
            try w.issue(ImportIssue(.missingID, file: file, line: line, field: field, value: "", expected: "a non-empty \(field)"))
            return nil
        }
        guard let v = ByteParse.int(b, t) else {
            try w.issue(ImportIssue(.nonNumeric, file: file, line: line, field: field, value: ByteParse.preview(b, r),
                                    expected: "a whole-number \(field) (MovieLens ids are integers)"))
            return nil
        }
        return String(v)
    }

    private static func columnCount(_ got: Int, _ want: Int, names: String, sep: String, file: String, line: Int,
                                    _ w: DatasetWriter) throws -> Bool {
        if got == want { return true }
        try w.issue(ImportIssue(.wrongColumnCount, file: file, line: line, field: "(row)", value: "\(got) columns",
                                expected: "\(want) '\(sep)'-separated columns (\(names))"))
        return false
    }

    // MARK: Ratings

    private func readRatings(_ file: String, delimiter: String, header: Bool, _ w: DatasetWriter) throws {
        // Field names as the release documents them, so messages match the README or header.
        var names = variant == .ml1m ? ["UserID", "MovieID", "Rating", "Timestamp"] : ["user id", "item id", "rating", "timestamp"]
        var cols = [0, 1, 2, 3]
        var columnCount = 4
        var expectHeader = header
        var splitter = FieldSplitter(delimiter: delimiter)
        try ImportSupport.forEachLine(file, w) { raw, n, off in
            let line = n == 1 ? ImportSupport.dropBOM(raw) : raw
            if line.isEmpty { return }
            let count = splitter.split(line)
            let r = splitter.ranges
            if expectHeader {
                expectHeader = false
                let h = ImportSupport.headerNames(line, r)
                var found: [Int] = []
                for want in ["userId", "movieId", "rating", "timestamp"] {
                    guard let k = h.firstIndex(where: { $0.caseInsensitiveCompare(want) == .orderedSame }) else {
                        throw ImportIssue(.badHeader, file: file, line: n, field: want, value: h.joined(separator: ","),
                                          expected: "a header with columns userId, movieId, rating, timestamp (found: \(h.joined(separator: ", ")))")
                    }
                    found.append(k)
                }
                cols = found
                names = found.map { h[$0] }
                columnCount = h.count
                return
            }
            guard try Self.columnCount(count, columnCount, names: names.joined(separator: ", "), sep: delimiter, file: file, line: n, w) else { return }
            guard let user = try Self.id(line, r[cols[0]], field: names[0], file: file, line: n, w),
                  let item = try Self.id(line, r[cols[1]], field: names[1], file: file, line: n, w) else { return }
            guard let value = ByteParse.double(line, r[cols[2]]) else {
                return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: names[2], value: ByteParse.preview(line, r[cols[2]]),
                                               expected: "a numeric rating"))
            }
            guard let t = ByteParse.double(line, r[cols[3]]), let ts = ImportSupport.seconds(t) else {
                return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: names[3], value: ByteParse.preview(line, r[cols[3]]),
                                               expected: "a Unix timestamp in seconds"))
            }
            try w.addRating(user: try w.userID(user), item: try w.itemID(item), value: value, timestamp: ts,
                            file: file, line: n, field: names[2])
            w.progressed(bytesInFile: off)
        }
    }

    // MARK: Users

    private func readUsers(_ file: String, delimiter: String, _ w: DatasetWriter) throws {
        let is1m = variant == .ml1m
        let names = is1m ? ["UserID", "Gender", "Age", "Occupation", "Zip-code"] : ["user id", "age", "gender", "occupation", "zip code"]
        var splitter = FieldSplitter(delimiter: delimiter)
        try ImportSupport.forEachLine(file, w) { line, n, off in
            if line.isEmpty { return }
            guard try Self.columnCount(splitter.split(line), 5, names: names.joined(separator: ", "), sep: delimiter, file: file, line: n, w) else { return }
            let r = splitter.ranges
            guard let id = try Self.id(line, r[0], field: names[0], file: file, line: n, w) else { return }
            let v = (1..<5).map { ImportSupport.utf8OrLatin1(line, r[$0]) }
            var attrs: [String: String] = [:]
            if is1m {
                attrs["gender"] = v[0]
                attrs["age"] = v[1]
                if let code = Int(v[1]), let group = Self.ml1mAgeGroups[code] { attrs["age_group"] = group }
                if let code = Int(v[2]), Self.ml1mOccupations.indices.contains(code) {
                    attrs["occupation"] = Self.ml1mOccupations[code]
                } else {
                    attrs["occupation"] = v[2]
                }
                attrs["zip_code"] = v[3]
            } else {
                attrs["age"] = v[0]; attrs["gender"] = v[1]; attrs["occupation"] = v[2]; attrs["zip_code"] = v[3]
            }
            try w.putUser(externalID: id, attributes: attrs.filter { !$0.value.isEmpty })
            w.progressed(bytesInFile: off)
        }
    }

    // MARK: Items

    /// `u.genre`: `name|index` lines naming the flag columns of `u.item`.
    private func readGenreNames(_ file: String, _ w: DatasetWriter) throws -> [String] {
        var byIndex: [Int: String] = [:]
        var splitter = FieldSplitter(delimiter: "|")
        try ImportSupport.forEachLine(file, w) { line, n, _ in
            if line.isEmpty { return }
            guard try Self.columnCount(splitter.split(line), 2, names: "genre, index", sep: "|", file: file, line: n, w) else { return }
            let r = splitter.ranges
            guard let k = ByteParse.int(line, r[1]), (0..<1000).contains(k) else {
                return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: "index", value: ByteParse.preview(line, r[1]),
                                               expected: "a genre index 0, 1, 2..."))
            }
            byIndex[Int(k)] = ImportSupport.utf8OrLatin1(line, r[0])
        }
        guard !byIndex.isEmpty, byIndex.keys.sorted() == Array(0..<byIndex.count) else {
            throw ImportIssue(.badHeader, file: file, line: 0, field: "index", value: byIndex.keys.sorted().map(String.init).joined(separator: ","),
                              expected: "genre indices 0, 1, 2... without gaps")
        }
        return (0..<byIndex.count).map { byIndex[$0]! }
    }

    private func read100kItems(_ file: String, genres: [String], _ w: DatasetWriter) throws {
        let want = 5 + genres.count
        var splitter = FieldSplitter(delimiter: "|")
        try ImportSupport.forEachLine(file, w) { line, n, off in
            if line.isEmpty { return }
            guard try Self.columnCount(splitter.split(line), want, names: "movie id, title, release date, video release date, IMDb URL, \(genres.count) genre flags",
                                       sep: "|", file: file, line: n, w) else { return }
            let r = splitter.ranges
            guard let id = try Self.id(line, r[0], field: "movie id", file: file, line: n, w) else { return }
            var f = ItemFields(externalID: id)
            (f.title, f.year) = ImportSupport.splitTitleYear(ImportSupport.utf8OrLatin1(line, r[1]))
            let release = ImportSupport.utf8OrLatin1(line, r[2])
            if !release.isEmpty {
                f.attributes["release_date"] = release
                // "01-Jan-1995": the year is the last four characters.
                if f.year == nil, release.count >= 4, let y = Int(release.suffix(4)) { f.year = y }
            }
            let video = ImportSupport.utf8OrLatin1(line, r[3])
            if !video.isEmpty { f.attributes["video_release_date"] = video }
            let url = ImportSupport.utf8OrLatin1(line, r[4])
            if !url.isEmpty { f.attributes["imdb_url"] = url }
            for (k, name) in genres.enumerated() {
                switch ByteParse.int(line, r[5 + k]) {
                case 0: break
                case 1: if name != "unknown" { f.genres.append(name) }
                default:
                    return try w.issue(ImportIssue(.nonNumeric, file: file, line: n, field: name, value: ByteParse.preview(line, r[5 + k]),
                                                   expected: "a genre flag 0 or 1"))
                }
            }
            try w.putItem(f)
            w.progressed(bytesInFile: off)
        }
    }

    private func read1mItems(_ file: String, _ w: DatasetWriter) throws {
        var splitter = FieldSplitter(delimiter: "::")
        try ImportSupport.forEachLine(file, w) { line, n, off in
            if line.isEmpty { return }
            guard try Self.columnCount(splitter.split(line), 3, names: "MovieID, Title, Genres", sep: "::", file: file, line: n, w) else { return }
            let r = splitter.ranges
            guard let id = try Self.id(line, r[0], field: "MovieID", file: file, line: n, w) else { return }
            var f = ItemFields(externalID: id)
            (f.title, f.year) = ImportSupport.splitTitleYear(ImportSupport.utf8OrLatin1(line, r[1]))
            f.genres = Self.genreList(ImportSupport.utf8OrLatin1(line, r[2]))
            try w.putItem(f)
            w.progressed(bytesInFile: off)
        }
    }

    private func readLatestItems(_ file: String, _ w: DatasetWriter) throws {
        var cols: (id: Int, title: Int, genres: Int)?
        var names: [String] = []
        try ImportSupport.forEachRecord(file, delimiter: UInt8(ascii: ","), quoted: true, w) { b, fields, n, off in
            guard let c = cols else {
                names = ImportSupport.headerNames(b, fields)
                func col(_ want: String) throws -> Int {
                    guard let k = names.firstIndex(where: { $0.caseInsensitiveCompare(want) == .orderedSame }) else {
                        throw ImportIssue(.badHeader, file: file, line: n, field: want, value: names.joined(separator: ","),
                                          expected: "a header with columns movieId, title, genres (found: \(names.joined(separator: ", ")))")
                    }
                    return k
                }
                cols = (try col("movieId"), try col("title"), try col("genres"))
                return
            }
            guard try Self.columnCount(fields.count, names.count, names: names.joined(separator: ", "), sep: ",", file: file, line: n, w) else { return }
            guard let id = try Self.id(b, fields[c.id], field: names[c.id], file: file, line: n, w) else { return }
            var f = ItemFields(externalID: id)
            for (k, name) in [(c.title, names[c.title]), (c.genres, names[c.genres])] {
                guard let text = ByteParse.text(b, fields[k], latin1: false) else {
                    return try w.issue(ImportIssue(.badEncoding, file: file, line: n, field: name, value: ByteParse.preview(b, fields[k]),
                                                   expected: "UTF-8 text"))
                }
                if k == c.title { (f.title, f.year) = ImportSupport.splitTitleYear(text) } else { f.genres = Self.genreList(text) }
            }
            try w.putItem(f)
            w.progressed(bytesInFile: off)
        }
    }

    static func genreList(_ s: String) -> [String] {
        if s == "(no genres listed)" { return [] }
        return s.split(separator: "|").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
    }
}
