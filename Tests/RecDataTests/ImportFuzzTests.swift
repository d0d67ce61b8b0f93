import Foundation
import Testing
import RecKit
@testable import RecData

/// Property tests of the byte-level parsers and mutation fuzzing of the importers, all from fixed
/// seeds so a failure reproduces.
@Suite("Import parsers: property tests and fuzzing")
struct ImportFuzzTests {
    // MARK: CSVRecordParser

    /// The reference writer: quote a field when it holds the delimiter, a quote, a newline, or
    /// starts with a space (harmless, and exercises quoted spaces).
    static func csvLine(_ fields: [String], delimiter: Character) -> String {
        fields.map { f in
            f.contains(delimiter) || f.contains("\"") || f.contains("\n") || f.hasPrefix(" ")
                ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: String(delimiter))
    }

    @Test(arguments: [",", ";", "\t"])
    func csvRoundTrip(_ delimiter: Character) throws {
        var g = SeededGenerator(seed: 0xC5F)
        let pool = ["a", "b", "Z", "7", " ", ",", ";", "\t", "\"", "\"\"", "\n", "\n\n", "é", "😀", "日本", "'", "x y"]
        var records: [[String]] = []
        for _ in 0..<400 {
            let n = 1 + g.nextIndex(6)
            records.append((0..<n).map { _ in (0..<g.nextIndex(7)).map { _ in pool[g.nextIndex(pool.count)] }.joined() })
        }
        let text = records.map { Self.csvLine($0, delimiter: delimiter) }.joined(separator: "\n") + "\n"
        var lines = Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        lines.removeLast()  // after the final newline
        var parser = CSVRecordParser(delimiter: delimiter.asciiValue!)
        var parsed: [[String]] = []
        for (k, line) in lines.enumerated() {
            let done = try line.withUnsafeBufferPointer { try parser.feed($0, lineNumber: k + 1) }
            if done {
                parsed.append(parser.withBytes { b in parser.fields.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) } })
            }
        }
        try parser.finish()
        #expect(parsed.count == records.count)
        for (a, b) in zip(parsed, records) where a != b {
            Issue.record("round trip: \(b) came back as \(a)")
            break
        }
    }

    @Test func csvParserSurvivesJunk() {
        var g = SeededGenerator(seed: 99)
        let alphabet: [UInt8] = Array("ab,\"\n \t;".utf8) + [0xFF, 0xC3]
        var parser = CSVRecordParser()
        for k in 0..<3000 {
            let line = (0..<g.nextIndex(12)).map { _ in alphabet[g.nextIndex(alphabet.count)] }.filter { $0 != 0x0A }
            do {
                if try line.withUnsafeBufferPointer({ try parser.feed($0, lineNumber: k + 1) }) {
                    // Every field range lies inside the record's bytes.
                    #expect(parser.fields.allSatisfy { $0.upperBound <= parser.bytes.count && $0.lowerBound <= $0.upperBound })
                }
            } catch {
                #expect(error is CSVRecordParser.Failure)
                parser = CSVRecordParser()
            }
        }
    }

    // MARK: FieldSplitter

    @Test(arguments: [",", "::", "\t", "ab"])
    func fieldSplitterMatchesFoundation(_ delimiter: String) {
        var g = SeededGenerator(seed: 1234)
        let alphabet = ["a", "b", ":", ",", "\t", "é", " "]
        var splitter = FieldSplitter(delimiter: delimiter)
        for _ in 0..<2000 {
            let s = (0..<g.nextIndex(14)).map { _ in alphabet[g.nextIndex(alphabet.count)] }.joined()
            let bytes = Array(s.utf8)
            let got = bytes.withUnsafeBufferPointer { b in
                splitter.split(b)
                return splitter.ranges.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) }
            }
            let want = s.components(separatedBy: delimiter)
            if got != want { Issue.record("split \(s.debugDescription) by \(delimiter.debugDescription): \(got) vs \(want)"); return }
            if delimiter.count == 1 {
                #expect(got == s.split(separator: Character(delimiter), omittingEmptySubsequences: false).map(String.init))
            }
        }
    }

    // MARK: ByteParse.double

    static func byteDouble(_ s: [UInt8]) -> Double? {
        s.withUnsafeBufferPointer { ByteParse.double($0, 0..<$0.count) }
    }

    /// ByteParse.double accepts exactly the finite decimal numbers Swift's `Double(String)` accepts
    /// (after trimming spaces and tabs, which ByteParse allows around a field).
    @Test func doubleMatchesSwiftOnNumericStrings() {
        var g = SeededGenerator(seed: 2024)
        let alphabet = Array("0123456789012345678901234567890123456789..--++eE")
        var accepted = 0
        for _ in 0..<20_000 {
            var s = String((0..<(1 + g.nextIndex(24))).map { _ in alphabet[g.nextIndex(alphabet.count)] })
            if g.nextIndex(10) == 0 { s = " " + s + "\t" }
            let trimmed = s.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            let want = Double(trimmed).flatMap { $0.isFinite ? $0 : nil }
            let got = Self.byteDouble(Array(s.utf8))
            if got != want {
                Issue.record("ByteParse.double(\(s.debugDescription)) = \(String(describing: got)), Double() = \(String(describing: want))")
                return
            }
            if got != nil { accepted += 1 }
        }
        #expect(accepted > 1000)  // the generator really produces numbers
        #expect(Self.byteDouble(Array("4.5".utf8)) == 4.5)
        #expect(Self.byteDouble(Array("-1e-3".utf8)) == -0.001)
        for junk in ["inf", "nan", "0x1p3", "1e400", "", " ", "1,5", "½", "1.0f"] {
            #expect(Self.byteDouble(Array(junk.utf8)) == nil, "\(junk)")
        }
    }

    @Test func doubleNeverCrashesOnRandomBytes() {
        var g = SeededGenerator(seed: 77)
        for _ in 0..<20_000 {
            let bytes = (0..<g.nextIndex(70)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            if let v = Self.byteDouble(bytes) {
                // Anything accepted is a finite number Swift reads the same way.
                let s = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
                #expect(v.isFinite && Double(s) == v, "\(bytes)")
            }
        }
    }

    // MARK: JSON line scanner

    /// A random JSON value written by hand (escapes, unicode, nesting) for the scanner to read.
    static func randomJSON(_ g: inout SeededGenerator, depth: Int = 0) -> String {
        switch g.nextIndex(depth > 2 ? 4 : 6) {
        case 0: return ["0", "-1", "4.5", "1588687728923", "1e3", "-0.25E-2", "12345678901234567890"][g.nextIndex(7)]
        case 1: return ["true", "false", "null"][g.nextIndex(3)]
        case 2, 3:
            let pieces = ["a", " ", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "é", "✓", "/", "\\/"]
            return "\"" + (0..<g.nextIndex(5)).map { _ in pieces[g.nextIndex(pieces.count)] }.joined() + "\""
        case 4: return "[" + (0..<g.nextIndex(4)).map { _ in randomJSON(&g, depth: depth + 1) }.joined(separator: ", ") + "]"
        default:
            return "{" + (0..<g.nextIndex(4)).map { k in "\"k\(k)\": " + randomJSON(&g, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }

    @Test func jsonScannerAgreesWithJSONSerialization() {
        var g = SeededGenerator(seed: 5150)
        let keys = ["a", "b", "c"]
        var checked = 0, invalid = 0
        for round in 0..<3000 {
            var line = "{" + keys.filter { _ in g.nextIndex(3) > 0 }.map { "\"\($0)\": " + Self.randomJSON(&g) }.joined(separator: ", ") + "}"
            if round % 2 == 1 {  // mutate: the scanner must reject exactly what Foundation rejects
                var b = Array(line.utf8)
                let pos = g.nextIndex(b.count)
                let junk = Array("{}[]\",:\\ 0e-tn".utf8)
                switch g.nextIndex(3) {
                case 0: b[pos] = junk[g.nextIndex(junk.count)]
                case 1: b.insert(junk[g.nextIndex(junk.count)], at: pos)
                default: b.remove(at: pos)
                }
                guard let s = String(validating: b, as: UTF8.self) else { continue }
                line = s
            }
            let bytes = Array(line.utf8)
            let scanned = bytes.withUnsafeBufferPointer { JSONLineScanner.topLevel($0, keys: keys) }
            let reference = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
            // Foundation tolerates trailing commas; the scanner follows RFC 8259 there.
            let trailingComma = line.replacingOccurrences(of: " ", with: "").contains(",}") || line.replacingOccurrences(of: " ", with: "").contains(",]")
            if (scanned == nil) != (reference == nil) && !(scanned == nil && trailingComma) {
                Issue.record("validity differs on \(line): scanner \(scanned != nil), Foundation \(reference != nil)")
                continue
            }
            guard let scanned, let reference else { invalid += 1; continue }
            for (k, key) in keys.enumerated() {
                let v = reference[key]
                switch scanned[k] {
                case nil: #expect(v == nil, "\(line) \(key)")
                case .string(let s)?: #expect(v as? String == s, "\(line) \(key)")
                case .int(let i)?: #expect((v as? NSNumber)?.int64Value == i, "\(line) \(key)")
                case .double(let d)?:
                    // Foundation rounds some long integers an ulp away from strtod's correctly rounded value.
                    let f = (v as? NSNumber)?.doubleValue ?? .nan
                    #expect(abs(f - d) <= abs(d) * 1e-15, "\(line) \(key)")
                case .null?: #expect(v is NSNull, "\(line) \(key)")
                case .other?: #expect(v is [Any] || v is [String: Any] || v is Bool || v is NSNumber, "\(line) \(key)")
                }
            }
            checked += 1
        }
        #expect(checked > 1000 && invalid > 300)
    }

    // MARK: Importers under random mutation

    /// A valid input of one format: files (relative paths) and how to build its importer.
    struct Corpus {
        var name: String
        var files: [(String, [UInt8])]
        var importer: (TempDir) throws -> any DatasetImporter
    }

    static func corpora() -> [Corpus] {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        var rows100k = "", rows1m = "", rowsCSV = "userId,movieId,rating,timestamp\n", reviews = ""
        for k in 0..<30 {
            rows100k += "\(k % 7 + 1)\t\(k % 5 + 1)\t\(k % 5 + 1)\t88125\(1000 + k)\n"
            rows1m += "\(k % 7 + 1)::\(k % 5 + 1)::\(k % 5 + 1)::97830\(1000 + k)\n"
            rowsCSV += "\(k % 7 + 1),\(k % 5 + 1),\(Double(k % 10 + 1) / 2),96498\(1000 + k)\n"
            reviews += #"{"rating": \#(k % 5 + 1).0, "title": "t\#(k)", "text": "ok, \"q\" ✓", "asin": "B\#(k % 5)", "parent_asin": "P\#(k % 5)", "user_id": "U\#(k % 7)", "timestamp": 15886877\#(10_000 + k)}"# + "\n"
        }
        let flags = Array(repeating: "0", count: 18).joined(separator: "|")
        let items100k = (1...5).map { "\($0)|Movie \($0) (199\($0))|01-Jan-199\($0)||http://x/\($0)|1|\(flags)\n" }.joined()
        let meta = (0..<5).map { #"{"main_category": "Books", "title": "Book \#($0)", "features": ["f"], "description": ["d"], "price": 9.5, "categories": ["A"], "details": {"k": {"n": [1, "two"]}}, "parent_asin": "P\#($0)", "store": "S"}"# + "\n" }.joined()
        let recboleInter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
            + rows100k.split(separator: "\n").map { String($0) + "\n" }.joined()
        let recboleItem = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
            + (1...5).map { "\($0)\tMovie \($0)\t199\($0)\tDrama Comedy\n" }.joined()
        return [
            Corpus(name: "recbole", files: [("d/d.inter", b(recboleInter)), ("d/d.item", b(recboleItem)),
                                            ("d/d.user", b("user_id:token\tage:token\n1\t20\n2\t30\n"))],
                   importer: { try RecBoleImporter(path: $0.file("d")) }),
            Corpus(name: "ml-100k", files: [("u.data", b(rows100k)), ("u.item", b(items100k)), ("u.user", b("1|20|M|writer|1\n2|30|F|other|2\n")),
                                             ("u.genre", b((0..<19).map { "g\($0)|\($0)\n" }.joined()))],
                   importer: { try MovieLensImporter(path: $0.path, variant: .ml100k) }),
            Corpus(name: "ml-1m", files: [("ratings.dat", b(rows1m)), ("movies.dat", b("1::A (1990)::Drama|Comedy\n2::B, The (1991)::War\n")),
                                           ("users.dat", b("1::F::1::10::48067\n2::M::56::99::x\n"))],
                   importer: { try MovieLensImporter(path: $0.path, variant: .ml1m) }),
            Corpus(name: "ml-latest", files: [("ratings.csv", b(rowsCSV)), ("movies.csv", b("movieId,title,genres\n1,\"A, B (1990)\",Drama|Comedy\n2,\"Q \"\"x\"\" (1991)\",(no genres listed)\n"))],
                   importer: { try MovieLensImporter(path: $0.path, variant: .mlLatest) }),
            Corpus(name: "amazon", files: [("Cat.jsonl", b(reviews)), ("meta_Cat.jsonl", b(meta))],
                   importer: { try AmazonReviewsImporter(path: $0.file("Cat.jsonl")) }),
            Corpus(name: "amazon-gz", files: [("Cat.jsonl.gz", Gzip.stored(b(reviews))), ("meta_Cat.jsonl.gz", Gzip.stored(b(meta)))],
                   importer: { try AmazonReviewsImporter(path: $0.file("Cat.jsonl.gz")) }),
            Corpus(name: "csv", files: [("r.csv", b(rowsCSV.replacingOccurrences(of: "timestamp", with: "when"))),
                                        ("items.csv", b("movieId,title,genres,year,price,extra\n1,\"A,\nB\",x|y,1990,1.5,e\n2,B,,,,\n"))],
                   importer: {
                       var m = DelimitedMapping(user: "userId", item: "movieId", rating: "rating", timestamp: "when")
                       m.items = DelimitedItemMapping(genres: "genres", year: "year", price: "price")
                       return try DelimitedImporter(path: $0.file("r.csv"), mapping: m, itemsPath: $0.file("items.csv"))
                   }),
        ]
    }

    static let interesting: [UInt8] = Array("0123456789,:|\t\"{}[]e.-+ \n".utf8) + [0x00, 0xFF, 0xC3, 0x80, 0x1F, 0x8B]

    static func mutate(_ input: [UInt8], _ g: inout SeededGenerator) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + g.nextIndex(4)) {
            let pos = b.isEmpty ? 0 : g.nextIndex(b.count)
            let byte = g.nextIndex(3) == 0 ? UInt8(truncatingIfNeeded: g.next()) : interesting[g.nextIndex(interesting.count)]
            switch g.nextIndex(5) {
            case 0 where !b.isEmpty: b[pos] = byte
            case 1: b.insert(byte, at: pos)
            case 2 where !b.isEmpty: b.remove(at: pos)
            case 3 where !b.isEmpty: b.removeLast(g.nextIndex(min(b.count, 40)) + 1)  // truncation
            default:
                let len = min(b.count - pos, 1 + g.nextIndex(30))
                b.insert(contentsOf: b[pos..<(pos + len)], at: pos)  // repeated chunk
            }
        }
        return b
    }

    @Test func mutatedInputsNeverCrash() throws {
        let dir = try TempDir(); defer { dir.remove() }
        let store = try dir.store()
        var g = SeededGenerator(seed: 0xF00D)
        var outcomes: [String: Int] = [:]
        for corpus in Self.corpora() {
            let sub = try TempDir()
            defer { sub.remove() }
            for (name, bytes) in corpus.files { try sub.write(name, bytes: bytes) }
            // The unmutated corpus imports cleanly.
            try store.importDataset(try corpus.importer(sub), options: importOptions(corpus.name))
            for iteration in 0..<50 {
                let target = g.nextIndex(corpus.files.count)
                for (k, (name, bytes)) in corpus.files.enumerated() {
                    try sub.write(name, bytes: k == target ? Self.mutate(bytes, &g) : bytes)
                }
                let policy: OnErrorPolicy = iteration % 2 == 0 ? .skip : .fail
                do {
                    try store.importDataset(try corpus.importer(sub), options: importOptions("fuzz", onError: policy, replace: true))
                    outcomes["ok", default: 0] += 1
                } catch let e as ImportIssue {
                    outcomes[e.kind.rawValue, default: 0] += 1
                } catch is ByteStreamError {
                    outcomes["stream", default: 0] += 1
                } catch {
                    Issue.record("\(corpus.name) iteration \(iteration): unexpected \(type(of: error)): \(error)")
                }
            }
        }
        #expect(outcomes["ok", default: 0] > 50)
        #expect(outcomes.count > 3)  // the mutations reached several error paths
        // Earlier datasets survived every failed import.
        #expect(try counts(store).datasets.count == Self.corpora().count + 1 || counts(store).datasets.count == Self.corpora().count)
    }

    /// A finite but huge timestamp such as "881250e49" parses as a Double yet fits no Int64: it
    /// must be a located issue, not a trap.
    @Test
    func recBoleHugeTimestamp() throws {
        let dir = try TempDir(); defer { dir.remove() }
        try dir.write("d/d.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t881250e49\n")
        let store = try dir.store()
        #expect(throws: ImportIssue.self) {
            try store.importDataset(try RecBoleImporter(path: dir.file("d")), options: importOptions("r"))
        }
    }
}
