import Foundation
import GRDB
import Testing

/// End-to-end tests of `rec-data` on small real data, run as a user runs it.
@Suite(.serialized) struct RecDataCLITests {
    @Test func synthSplitStatsExportPipeline() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        let synth = try CLI.run("rec-data", ["synth", "--db", db, "--seed", "3", "--users", "30", "--items", "60"])
        #expect(synth.status == 0, "\(synth.stderr)")
        #expect(synth.stdout.contains("imported 'synth-3' (synthetic): 30 users, 60 items"))
        let split = try CLI.run("rec-data", ["split", "--db", db, "--dataset", "synth-3", "--method", "leave-last-out", "--valid", "1", "--test", "2"])
        #expect(split.status == 0, "\(split.stderr)")
        #expect(split.stdout.contains("test 60 ratings"))
        let stats = try CLI.run("rec-data", ["stats", "--db", db, "--dataset", "synth-3", "--split", "leave-last-out"])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("users            30") && stats.stdout.contains("rating histogram"))
        let json = try CLI.run("rec-data", ["stats", "--db", db, "--dataset", "synth-3", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(parsed?["users"] as? Int == 30)
        let csv = dir.appendingPathComponent("ratings.csv").path
        let export = try CLI.run("rec-data", ["export", "--db", db, "--dataset", "synth-3", "--split", "leave-last-out", "-o", csv])
        #expect(export.status == 0)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "user_id,item_id,rating,timestamp,part")
        #expect(lines.filter { $0.hasSuffix(",test") }.count == 60)
        // The same seed gives the same world.
        let db2 = dir.appendingPathComponent("again.sqlite").path
        try CLI.run("rec-data", ["synth", "--db", db2, "--seed", "3", "--users", "30", "--items", "60"])
        try CLI.run("rec-data", ["split", "--db", db2, "--dataset", "synth-3", "--method", "leave-last-out", "--valid", "1", "--test", "2"])
        let csv2 = dir.appendingPathComponent("ratings2.csv").path
        try CLI.run("rec-data", ["export", "--db", db2, "--dataset", "synth-3", "--split", "leave-last-out", "-o", csv2])
        #expect(try String(contentsOfFile: csv, encoding: .utf8) == String(contentsOfFile: csv2, encoding: .utf8))
    }

    @Test func badInputNamesFileLineFieldAndLeavesTheDatabaseAsItWas() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        try CLI.run("rec-data", ["synth", "--db", db, "--seed", "1", "--users", "10", "--items", "20"])
        let csv = dir.appendingPathComponent("r.csv").path
        try "user,item,rating,ts\nu1,i1,4,100\nu2,i2,five,200\nu3,i3,3,300\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run("rec-data", ["import", "--db", db, csv, "--user-col", "user", "--item-col", "item", "--rating-col", "rating", "--time-col", "ts"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("r.csv:3") && r.stderr.contains("rating") && r.stderr.contains("five"), "\(r.stderr)")
        let list = try CLI.run("rec-data", ["list", "--db", db])
        #expect(list.stdout.split(separator: "\n").count == 1 && list.stdout.hasPrefix("synth-1"))
        // Skipping imports the rest and counts the problem.
        let skip = try CLI.run("rec-data", ["import", "--db", db, csv, "--user-col", "user", "--item-col", "item", "--rating-col", "rating",
                                            "--time-col", "ts", "--on-error", "skip"])
        #expect(skip.status == 0, "\(skip.stderr)")
        #expect(skip.stdout.contains("2 ratings") && skip.stdout.contains("non-numeric 1"), "\(skip.stdout)")
        // Same name again: refused without --replace.
        let again = try CLI.run("rec-data", ["import", "--db", db, csv, "--user-col", "user", "--item-col", "item", "--rating-col", "rating", "--on-error", "skip"])
        #expect(again.status != 0 && again.stderr.contains("--replace"))
        // Unknown things get a list of what exists.
        let noSplit = try CLI.run("rec-data", ["stats", "--db", db, "--dataset", "synth-1", "--split", "nope"])
        #expect(noSplit.status != 0 && noSplit.stderr.contains("no split named 'nope'"))
        let noData = try CLI.run("rec-data", ["stats", "--db", db, "--dataset", "nope"])
        #expect(noData.status != 0 && noData.stderr.contains("available: r, synth-1"), "\(noData.stderr)")
    }

    @Test func killedImportLeavesNoPartialDataset() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        try CLI.run("rec-data", ["synth", "--db", db, "--seed", "1", "--users", "10", "--items", "20"])
        // The ratings come through a named pipe: once the first half has been written, the import
        // has parsed it inside its transaction and is blocked reading the rest, so the kill lands
        // mid-import however fast the importer is.
        let csv = dir.appendingPathComponent("big.csv").path
        var rows: [String] = []
        for u in 0..<3000 {
            for i in 0..<200 { rows.append("u\(u),i\(i * 7 % 5000),\(1 + (u + i) % 5),\(u * 1000 + i)\n") }
        }
        #expect(mkfifo(csv, 0o600) == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.path("rec-data"))
        p.arguments = ["import", "--db", db, csv, "--name", "big", "--user-col", "user", "--item-col", "item", "--rating-col", "rating", "--time-col", "ts", "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        // The write end opens once the importer has opened the pipe for reading (polled, so a
        // failing importer fails the test instead of hanging it); a dead reader gives EPIPE, not
        // SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var fd: Int32 = -1
        let deadline = Date().addingTimeInterval(30)
        while fd < 0 && p.isRunning && Date() < deadline {
            fd = open(csv, O_WRONLY | O_NONBLOCK)
            if fd < 0 { usleep(10_000) }
        }
        try #require(fd >= 0, "the importer never opened the pipe")
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let firstHalf = Array(("user,item,rating,ts\n" + rows[..<(rows.count / 2)].joined()).utf8)
        var written = 0
        while written < firstHalf.count {
            let n = firstHalf[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            written += n
        }
        usleep(200_000)
        let wasRunning = p.isRunning
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        close(fd)
        #expect(written == firstHalf.count && wasRunning, "the import ended before it read the whole file")
        let list = try CLI.run("rec-data", ["list", "--db", db])
        #expect(list.status == 0)
        #expect(!list.stdout.contains("big"), "\(list.stdout)")
        let stats = try CLI.run("rec-data", ["stats", "--db", db, "--dataset", "synth-1", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        #expect(parsed?["users"] as? Int == 10)
        let counts = try DatabaseQueue(path: db).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM user")! }
        #expect(counts == 10)
        // And the same import, from a plain file, now runs to completion.
        try FileManager.default.removeItem(atPath: csv)
        try Data(("user,item,rating,ts\n" + rows.joined()).utf8).write(to: URL(fileURLWithPath: csv))
        let rerun = try CLI.run("rec-data", p.arguments!)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("600000 ratings"), "\(rerun.stdout)")
    }

    @Test func fetchAndImportMovieLens100K() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        let r = try CLI.run("rec-data", ["fetch", "ml-100k", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("943 users, 1682 items, 100000 ratings"), "\(r.stdout)")
        let stats = try CLI.run("rec-data", ["stats", "--db", db, "--dataset", "ml-100k"])
        for line in ["users            943", "items            1682 (1682 with text)", "ratings          100000"] {
            #expect(stats.stdout.contains(line), "\(stats.stdout)")
        }
        // Histogram of ml-100k: 6110 ones, 11370 twos, 27145 threes, 34174 fours, 21201 fives.
        for bin in ["6110", "11370", "27145", "34174", "21201"] { #expect(stats.stdout.contains(bin)) }
        let items = try CLI.run("rec-data", ["export", "--db", db, "--dataset", "ml-100k", "--table", "items"])
        #expect(items.stdout.contains("Toy Story (1995). Genres: Animation, Children's, Comedy."), "\(items.stdout.prefix(400))")
    }
}
