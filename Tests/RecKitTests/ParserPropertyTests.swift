import Foundation
import Testing
@testable import RecKit

/// Property tests of the byte-level parsers every importer stands on.
@Suite struct ParserPropertyTests {
    static func withBuffer<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let a = Array(s.utf8)
        return try a.withUnsafeBufferPointer(body)
    }

    @Test func fieldSplitterMatchesStringSplit() {
        var g = SeededGenerator(seed: 11)
        let alphabet = Array("ab,:|\t é1")
        for _ in 0..<2000 {
            let s = String((0..<g.nextIndex(30)).map { _ in alphabet[g.nextIndex(alphabet.count)] })
            for d in [",", "::", "\t", "|"] {
                var sp = FieldSplitter(delimiter: d)
                let got = ParserPropertyTests.withBuffer(s) { b -> [String] in
                    sp.split(b)
                    return sp.ranges.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) }
                }
                #expect(got == s.components(separatedBy: d), "\(s) by \(d)")
            }
        }
    }

    @Test func doubleParserAcceptsExactlyDecimalNumbers() {
        var g = SeededGenerator(seed: 5)
        let alphabet = Array("0123456789.-+eE x")
        for _ in 0..<20_000 {
            let s = String((0..<(1 + g.nextIndex(8))).map { _ in alphabet[g.nextIndex(alphabet.count)] })
            let ours = ParserPropertyTests.withBuffer(s) { ByteParse.double($0, 0..<$0.count) }
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            // Swift's Double(String) also takes hexadecimal ("0x1p3"); rating files never mean that.
            let reference = trimmed.lowercased().contains("x") ? nil : Double(trimmed).flatMap { $0.isFinite ? $0 : nil }
            #expect(ours == reference, "'\(s)'")
        }
        for (s, v) in [("4", 4.0), (" 3.5 ", 3.5), ("-2", -2.0), ("1e3", 1000.0), ("0.5", 0.5)] {
            #expect(ParserPropertyTests.withBuffer(s) { ByteParse.double($0, 0..<$0.count) } == v)
        }
        for s in ["", "nan", "inf", "0x10", "4 stars", "--1", "1..2"] {
            #expect(ParserPropertyTests.withBuffer(s) { ByteParse.double($0, 0..<$0.count) } == nil, "'\(s)'")
        }
    }

    /// The fast path for plain decimals must agree with strtod to the last bit.
    @Test func shortDecimalsRoundLikeStrtod() {
        var g = SeededGenerator(seed: 6)
        for _ in 0..<50_000 {
            let n = 1 + g.nextIndex(17)
            var digits = (0..<n).map { _ in Character(String(g.nextIndex(10))) }
            digits.insert(".", at: g.nextIndex(n + 1))
            let s = (g.nextIndex(4) == 0 ? "-" : "") + String(digits)
            let ours = ParserPropertyTests.withBuffer(s) { ByteParse.double($0, 0..<$0.count) }
            #expect(ours?.bitPattern == Double(s)?.bitPattern, "'\(s)'")
        }
    }

    @Test func intParserRejectsOverflowAndJunk() {
        for s in ["12a", "", "-", "9999999999999999999", "1.0"] {
            #expect(ParserPropertyTests.withBuffer(s) { ByteParse.int($0, 0..<$0.count) } == nil, "'\(s)'")
        }
        #expect(ParserPropertyTests.withBuffer(" -42 ") { ByteParse.int($0, 0..<$0.count) } == -42)
    }

    /// A reference CSV writer: quote when needed, double quotes.
    static func csvLine(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",")
    }

    @Test func csvRoundTripsRandomRecords() throws {
        var g = SeededGenerator(seed: 21)
        let alphabet = Array("ab ,\"\né€😀")
        for _ in 0..<1500 {
            let nRecords = 1 + g.nextIndex(4)
            let records: [[String]] = (0..<nRecords).map { _ in
                (0..<(1 + g.nextIndex(5))).map { _ in String((0..<g.nextIndex(8)).map { _ in alphabet[g.nextIndex(alphabet.count)] }) }
            }
            let text = records.map(ParserPropertyTests.csvLine).joined(separator: "\n")
            var parser = CSVRecordParser()
            var parsed: [[String]] = []
            for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let done = try ParserPropertyTests.withBuffer(String(line)) { try parser.feed($0, lineNumber: k + 1) }
                if done {
                    parsed.append(parser.withBytes { b in parser.fields.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) } })
                }
            }
            try parser.finish()
            #expect(parsed == records, "\(text.debugDescription)")
        }
    }

    @Test func csvReportsUnterminatedQuoteAndJunk() throws {
        var p = CSVRecordParser()
        #expect(try !ParserPropertyTests.withBuffer("1,\"open") { try p.feed($0, lineNumber: 3) })
        #expect(throws: CSVRecordParser.Failure.unterminatedQuote(startLine: 3)) { try p.finish() }
        var q = CSVRecordParser()
        #expect(throws: CSVRecordParser.Failure.self) { _ = try ParserPropertyTests.withBuffer("\"a\"b,c") { try q.feed($0, lineNumber: 1) } }
    }
}
