import Foundation
import Testing
@testable import RecKit

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingEqualsOneShot() {
        var g = SeededGenerator(seed: 3)
        let bytes = (0..<10_007).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        for chunk in [1, 7, 63, 64, 65, 1000] {
            var s = SHA256()
            var i = 0
            while i < bytes.count { s.update(bytes[i..<min(i + chunk, bytes.count)]); i += chunk }
            #expect(s.finalize().hexString == SHA256.hex(bytes))
        }
    }
}

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameStream() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xa = (0..<100).map { _ in a.next() }, xb = (0..<100).map { _ in b.next() }, xc = (0..<100).map { _ in c.next() }
        #expect(xa == xb)
        #expect(xa != xc)
    }

    @Test func forksAreIndependentAndStable() {
        let g = SeededGenerator(seed: 1)
        var f1 = g.fork("split"), f2 = g.fork("split"), f3 = g.fork("init")
        #expect(f1.next() == f2.next())
        var f4 = g.fork("split")
        #expect(f4.next() != f3.next())
    }

    @Test func uniformAndGaussianMoments() {
        var g = SeededGenerator(seed: 9)
        let n = 200_000
        var s = 0.0, s2 = 0.0, gs = 0.0, gs2 = 0.0
        for _ in 0..<n {
            let u = g.nextUnit(); s += u; s2 += u * u
            let z = g.nextGaussian(); gs += z; gs2 += z * z
            #expect(u >= 0 && u < 1)
        }
        #expect(abs(s / Double(n) - 0.5) < 0.01)
        #expect(abs(gs / Double(n)) < 0.01)
        #expect(abs(gs2 / Double(n) - 1) < 0.02)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[g.nextIndex(7)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }
}

@Suite struct ByteReadingTests {
    func tempFile(_ bytes: [UInt8], name: String = "f.txt") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = dir.appendingPathComponent(name).path
        #expect(FileManager.default.createFile(atPath: p, contents: Data(bytes)))
        return p
    }

    func lines(_ path: String) throws -> [String] {
        var out: [String] = []
        try ByteLineReader(path: path).forEachLine { l, _, _ in out.append(String(decoding: l, as: UTF8.self)) }
        return out
    }

    @Test func splitsLinesWithCRLFAndNoFinalNewline() throws {
        #expect(try lines(tempFile(Array("a\r\nbb\n\nccc".utf8))) == ["a", "bb", "", "ccc"])
        #expect(try lines(tempFile([])) == [])
    }

    @Test func longLinesAcrossChunks() throws {
        let long = String(repeating: "x", count: 3_000_000)
        #expect(try lines(tempFile(Array((long + "\nend\n").utf8))) == [long, "end"])
    }

    @Test func gzipIsTransparentAndTruncationIsAnError() throws {
        let text = (0..<5000).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let plain = try tempFile(Array(text.utf8))
        try WheelFetcher.run("gzip", ["-k", plain])
        let gz = plain + ".gz"
        #expect(try lines(gz) == text.split(separator: "\n").map(String.init))
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        let cut = try tempFile(Array(data.prefix(data.count / 2)), name: "cut.gz")
        #expect(throws: ByteStreamError.self) { _ = try lines(cut) }
        var corrupt = Array(data)
        for k in 20..<60 { corrupt[k] ^= 0x5A }
        let bad = try tempFile(corrupt, name: "bad.gz")
        #expect(throws: ByteStreamError.self) { _ = try lines(bad) }
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: ByteStreamError.self) { _ = try ByteLineReader(path: "/nonexistent/x").forEachLine { _, _, _ in } }
    }
}

@Suite struct ProgressFormattingTests {
    @Test func humanNumbersAndDurations() {
        #expect(ProgressReporter.human(1_234_567) == "1.23M")
        #expect(ProgressReporter.human(12_345) == "12.3k")
        #expect(ProgressReporter.human(42) == "42")
        #expect(ProgressReporter.duration(5.25) == "5.2s" || ProgressReporter.duration(5.25) == "5.3s")
        #expect(ProgressReporter.duration(83) == "1m23s")
        #expect(ProgressReporter.duration(7300) == "2h01m")
    }
}

/// Which HTTP answers are worth another attempt.
@Suite struct RetryPolicyTests {
    @Test func throttlingAndServerErrorsAreRetriedButNotWhatAServerNeverWillDo() {
        let p = RetryPolicy(maxAttempts: 3)
        #expect(p.isRetryable(status: 429) && p.isRetryable(status: 500) && p.isRetryable(status: 503))
        // 501: "this server does not support embeddings" (llama-server without --embeddings), 505.
        #expect(!p.isRetryable(status: 501) && !p.isRetryable(status: 505))
        #expect(!p.isRetryable(status: 400) && !p.isRetryable(status: 404) && !p.isRetryable(status: 200))
    }
}
