import Foundation
import Testing
import RecKit
@testable import RecData

@Suite("MovieLens importer")
struct ImportMovieLensTests {
    /// A few rows in the exact ml-100k layout (u.item is Latin-1; item 3's title has an é).
    static func write100k(_ dir: TempDir, genreFile: Bool = false) throws -> String {
        try dir.write("ml-100k/u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n196\t377\t5\t881250950\n")
        var item: [UInt8] = []
        item += Array("242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n".utf8)
        item += Array("302|L.A. Confidential (1997)|01-Jan-1997||http://us.imdb.com/M/title-exact?L%2EA%2E+Confidential+(1997)|0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0\n".utf8)
        item += Array("377|Mis".utf8) + [0xE9] + Array("rables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Miserables|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n".utf8)
        item += Array("267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n".utf8)
        try dir.write("ml-100k/u.item", bytes: item)
        try dir.write("ml-100k/u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n22|25|M|writer|40206\n")
        if genreFile {
            let names = ["unknown", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R"]
            try dir.write("ml-100k/u.genre", names.enumerated().map { "\($1)|\($0)\n" }.joined() + "\n")
        }
        return dir.file("ml-100k")
    }

    /// A u.item line: id|title|release|video release|URL|19 flags, with `flags` set (or `flagText`).
    static func itemLine(_ id: String, _ title: String, release: String = "", flags: Set<Int>, flagText: String = "1") -> String {
        ([id, title, release, "", ""] + (0..<19).map { flags.contains($0) ? flagText : "0" }).joined(separator: "|") + "\n"
    }

    @Test func ml100k() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let store = try dir.store()
        let path = try Self.write100k(dir)
        #expect(DatasetFormat.detect(path: path) == .ml100k)
        let report = try store.importDataset(try DatasetFormat.importer(format: .ml100k, path: path), options: importOptions("ml"))
        #expect(report.users == 3 && report.items == 4 && report.ratings == 4)
        let info = try store.dataset(named: "ml")
        #expect(info.format == "ml-100k" && info.scale == RatingScale(min: 1, max: 5))
        let items = Dictionary(uniqueKeysWithValues: try store.items(dataset: info).map { ($0.fields.externalID, $0) })
        let kolya = try #require(items["242"])
        #expect(kolya.fields.title == "Kolya" && kolya.fields.year == 1996 && kolya.fields.genres == ["Comedy"])
        #expect(kolya.text == "Kolya (1996). Genres: Comedy.")
        #expect(kolya.fields.attributes["imdb_url"]?.hasPrefix("http://us.imdb.com") == true)
        #expect(items["302"]?.fields.genres == ["Crime", "Film-Noir", "Mystery", "Thriller"])
        #expect(items["377"]?.fields.title == "Misérables, Les")
        #expect(items["267"]?.fields.title == "unknown" && items["267"]?.fields.genres == [] && items["267"]?.fields.year == nil)
        let users = try store.users(dataset: info)
        #expect(users.count == 3)
        let attrs = try store.pool.read { db in try String.fetchOne(db, sql: "SELECT attributes FROM user WHERE external_id = '186'") }
        #expect(attrs == #"{"age":"39","gender":"F","occupation":"executive","zip_code":"00000"}"#)
    }

    @Test func ml100kGenreFileAndReleaseYear() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try Self.write100k(dir, genreFile: true)
        // A title without "(YYYY)" takes its year from the release date.
        var item = try dir.read("ml-100k/u.item")
        item += Array(Self.itemLine("999", "No Year Movie", release: "05-Mar-1998", flags: [1]).utf8)
        try dir.write("ml-100k/u.item", bytes: item)
        let store = try dir.store()
        try store.importDataset(try MovieLensImporter(path: path), options: importOptions("ml"))
        let items = try store.items(dataset: try store.dataset(named: "ml"))
        #expect(items.first { $0.fields.externalID == "242" }?.fields.genres == ["E"])
        let noYear = try #require(items.first { $0.fields.externalID == "999" })
        #expect(noYear.fields.title == "No Year Movie" && noYear.fields.year == 1998 && noYear.fields.genres == ["A"])
    }

    @Test func ml100kBadItemRows() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let path = try Self.write100k(dir)
        var item = try dir.read("ml-100k/u.item")
        item += Array(Self.itemLine("500", "Bad Flags (1990)", flags: [1], flagText: "2").utf8)  // line 5
        item += Array("501|Too Few (1990)|01-Jan-1990\n".utf8)                              // line 6
        item += Array(Self.itemLine("x1", "Bad Id (1990)", flags: []).utf8)                  // line 7
        try dir.write("ml-100k/u.item", bytes: item)
        let store = try dir.store()
        let issue = #expect(throws: ImportIssue.self) {
            try store.importDataset(try MovieLensImporter(path: path), options: importOptions("ml"))
        }
        #expect(issue?.kind == .nonNumeric && issue?.line == 5 && issue?.field == "Action" && issue?.value == "2")
        #expect(issue?.file.hasSuffix("u.item") == true)
        let report = try store.importDataset(try MovieLensImporter(path: path), options: importOptions("ml", onError: .skip))
        #expect(report.skipped == ["non-numeric": 2, "wrong-column-count": 1])
        #expect(report.items == 4 && report.ratings == 4)
    }

    @Test func ml1m() throws {
        let dir = try TempDir(); defer { dir.remove() }
        try dir.write("ml-1m/ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
        var movies = Array("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n".utf8)
        movies += Array("3::Cr".utf8) + [0xE8] + Array("me (2000)::Comedy\n".utf8)
        try dir.write("ml-1m/movies.dat", bytes: movies)
        try dir.write("ml-1m/users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
        let store = try dir.store()
        let path = dir.file("ml-1m")
        #expect(DatasetFormat.detect(path: path) == .ml1m)
        let report = try store.importDataset(try DatasetFormat.importer(format: .ml1m, path: path), options: importOptions("m"))
        #expect(report.users == 2 && report.items == 3 && report.ratings == 3)
        let items = try store.items(dataset: try store.dataset(named: "m"))
        let peach = try #require(items.first { $0.fields.externalID == "661" })
        #expect(peach.fields.title == "James and the Giant Peach" && peach.fields.year == 1996)
        #expect(peach.fields.genres == ["Animation", "Children's", "Musical"])
        #expect(items.first { $0.fields.externalID == "3" }?.fields.title == "Crème")
        let attrs = try store.pool.read { db in try String.fetchOne(db, sql: "SELECT attributes FROM user WHERE external_id = '2'") }
        #expect(attrs == #"{"age":"56","age_group":"56+","gender":"M","occupation":"self-employed","zip_code":"70072"}"#)
    }

    @Test func mlLatest() throws {
        let dir = try TempDir(); defer { dir.remove() }
        try dir.write("ml-latest-small/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,0.5,964982224\n2,3,2.5,1445714835\n")
        try dir.write("ml-latest-small/movies.csv", """
            movieId,title,genres
            1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
            11,"American President, The (1995)",Comedy|Drama|Romance
            3,"Title with ""quotes"" (2001)",(no genres listed)
            4,Babylon 5,Sci-Fi

            """)
        let store = try dir.store()
        let path = dir.file("ml-latest-small")
        #expect(DatasetFormat.detect(path: path) == .mlLatest)
        #expect(DatasetFormat.detect(path: dir.file("ml-latest-small/ratings.csv")) == .mlLatest)
        let report = try store.importDataset(try DatasetFormat.importer(format: .mlLatest, path: path), options: importOptions("l"))
        #expect(report.items == 4 && report.ratings == 3)
        let info = try store.dataset(named: "l")
        #expect(info.scale == RatingScale(min: 0.5, max: 5) && info.scale.likeThreshold == 4)
        let items = Dictionary(uniqueKeysWithValues: try store.items(dataset: info).map { ($0.fields.externalID, $0.fields) })
        #expect(items["11"]?.title == "American President, The" && items["11"]?.year == 1995)
        #expect(items["3"]?.title == #"Title with "quotes""# && items["3"]?.genres == [])
        #expect(items["4"]?.title == "Babylon 5" && items["4"]?.year == nil)
        let r = try ratingsByPair(store, "l")
        #expect(r["1/11"]?.value == 0.5 && r["2/3"]?.value == 2.5)
    }

    @Test func mlLatestBadInput() throws {
        let dir = try TempDir(); defer { dir.remove() }
        try dir.write("ml/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,5.5,964982224\n1,3,4,x\n")
        var movies = Array("movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Bad ".utf8) + [0xFF, 0xFE] + Array(" (1999),Drama\n".utf8)
        movies += Array("3,\"Never closed (2000),Drama\n".utf8)
        try dir.write("ml/movies.csv", bytes: movies)
        let store = try dir.store()
        let issue = #expect(throws: ImportIssue.self) {
            try store.importDataset(try MovieLensImporter(path: dir.file("ml")), options: importOptions("l"))
        }
        #expect(issue?.kind == .badEncoding && issue?.line == 3 && issue?.field == "title" && issue?.value.contains("FF FE") == true)
        let report = try store.importDataset(try MovieLensImporter(path: dir.file("ml")), options: importOptions("l", onError: .skip))
        #expect(report.skipped == ["bad-encoding": 1, "broken-csv": 1, "out-of-scale": 1, "non-numeric": 1])
        #expect(report.ratings == 1)

        // A header without the expected columns is fatal and lists what the file has.
        try dir.write("ml/ratings.csv", "user,movie,stars,time\n1,1,4,5\n")
        let header = #expect(throws: ImportIssue.self) {
            try store.importDataset(try MovieLensImporter(path: dir.file("ml")), options: importOptions("h", onError: .skip))
        }
        #expect(header?.kind == .badHeader && header?.description.contains("user, movie, stars, time") == true)
    }

    @Test func missingFolderOrFileIsNamed() throws {
        let dir = try TempDir(); defer { dir.remove() }
        try dir.write("empty/readme.txt", "x")
        let e = #expect(throws: ImportIssue.self) { try MovieLensImporter(path: dir.file("empty")) }
        #expect(e?.kind == .unreadableFile && e?.value.contains("readme.txt") == true)
        #expect(throws: ImportIssue.self) { try MovieLensImporter(path: dir.file("nope"), variant: .ml1m) }
    }

    @Test func titleYearSplitting() {
        #expect(ImportSupport.splitTitleYear("Toy Story (1995)") == ("Toy Story", 1995))
        #expect(ImportSupport.splitTitleYear("Shanghai Triad (Yao a yao yao dao waipo qiao) (1995) ") == ("Shanghai Triad (Yao a yao yao dao waipo qiao)", 1995))
        #expect(ImportSupport.splitTitleYear("Babylon 5") == ("Babylon 5", nil))
        #expect(ImportSupport.splitTitleYear("(1995)") == ("(1995)", 1995))
        #expect(ImportSupport.splitTitleYear("Stranger Things (2016-)") == ("Stranger Things (2016-)", nil))
    }
}
