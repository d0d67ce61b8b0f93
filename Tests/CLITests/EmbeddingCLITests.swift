import Foundation
import Testing

@Suite(.serialized) struct EmbeddingCLITests {
    @Test func encodeWritesOneVectorPerLine() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("in.txt").path
        try "\"line one\\nwith a newline\"\nplain text line\n\"\"\n".write(toFile: input, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.path("rec-data"))
        p.arguments = ["encode", "--batch-size", "2"]
        p.standardInput = FileHandle(forReadingAtPath: input)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let rows = String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [Double]
        }
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0.count == 384 })
        for r in rows { #expect(abs(r.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4) }  // normalised
        #expect(rows[0] != rows[1])
    }

    @Test func embedFillsTheCacheAndResumes() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        try CLI.run("rec-data", ["synth", "--db", db, "--seed", "2", "--users", "5", "--items", "30"])
        let first = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-2"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("embedded 30 item texts") && first.stdout.contains("30 distinct texts newly encoded"), "\(first.stdout)")
        let again = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-2"])
        #expect(again.stdout.contains("0 distinct texts newly encoded"), "\(again.stdout)")
        let missing = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "nope"])
        #expect(missing.status != 0 && missing.stderr.contains("available: synth-2"))
    }

    @Test func versionNamesTheBLASKernel() throws {
        let v = try CLI.run("rec-data", ["--version"])
        #expect(v.stdout.contains("OpenBLAS core"))
    }
}
