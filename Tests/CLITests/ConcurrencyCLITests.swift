import Foundation
import GRDB
import Testing

/// Many tool processes on one store at once, and reading commands on a read-only copy
/// (issue 14; Docs/guarantees.md, "Concurrent use" and "Read-only use").
@Suite(.serialized) struct ConcurrencyCLITests {
    static let base = "synth-5"

    /// The stages of the workload: stage 0 runs alone (a store without the reasoning and
    /// embedding tables, so stage 1's processes race to create them, as in the issue), then each
    /// later stage's commands run at once.
    static func stages(_ db: String, out: URL) -> [[(tool: String, args: [String])]] {
        let d = ["--db", db]
        return [
            [("rec-data", ["synth"] + d + ["--seed", "5", "--users", "40", "--items", "60", "--quiet"]),
             ("rec-data", ["split"] + d + ["--dataset", base, "--name", "random", "--method", "random", "--ratios", "0.7,0.1,0.2"])],
            [("rec-data", ["synth"] + d + ["--seed", "11", "--users", "20", "--items", "30", "--quiet"]),
             ("rec-data", ["synth"] + d + ["--seed", "12", "--users", "20", "--items", "30", "--quiet"]),
             ("rec-data", ["split"] + d + ["--dataset", base, "--name", "lo"]),
             ("rec-data", ["rationales"] + d + ["--dataset", base, "--split", "random", "--reasoner", "aspect", "--quiet"]),
             ("rec-data", ["rationales"] + d + ["--dataset", base, "--split", "random", "--reasoner", "aspect", "--quiet"]),
             ("rec-data", ["rationales"] + d + ["--dataset", base, "--split", "random", "--reasoner", "oracle", "--quiet"]),
             ("rec-data", ["embed"] + d + ["--dataset", base, "--quiet"]),
             ("rec-data", ["embed"] + d + ["--dataset", base, "--quiet"])],
            [("validate-rewards", d + ["--dataset", base, "--split", "random", "--reasoner", "oracle", "--metrics", "sbert-cosine,random",
                                       "--bootstrap", "50", "--permutations", "50", "--out", out.appendingPathComponent("v1").path, "--quiet"]),
             ("validate-rewards", d + ["--dataset", base, "--split", "random", "--reasoner", "oracle", "--metrics", "sbert-cosine,random",
                                       "--bootstrap", "50", "--permutations", "50", "--out", out.appendingPathComponent("v2").path, "--quiet"]),
             ("rec-data", ["rationales"] + d + ["--dataset", base, "--split", "lo", "--reasoner", "aspect", "--quiet"]),
             ("rec-data", ["synth"] + d + ["--seed", "13", "--users", "20", "--items", "30", "--quiet"]),
             ("rec-data", ["list"] + d),
             ("rec-data", ["stats"] + d + ["--dataset", base])],
        ]
    }

    /// Import, split, rationales (twice for one run, racing to create the tables), embed (twice)
    /// and validate-rewards at once: every process succeeds, or fails with a clear message, and the
    /// store ends equal, table by table, to the same commands run one after another.
    @Test func concurrentWritersEndEqualToASerialRun() throws {
        let started = Date()
        let dir = try CLI.temporaryDirectory()
        let serial = dir.appendingPathComponent("serial.sqlite").path
        for (i, stage) in Self.stages(serial, out: dir.appendingPathComponent("serial-out")).enumerated() {
            for c in stage {
                let r = try CLI.run(c.tool, c.args)
                #expect(r.status == 0, "serial stage \(i): \(c.tool) \(c.args): \(r.stderr)")
            }
        }
        let concurrent = dir.appendingPathComponent("concurrent.sqlite").path
        var processes = 0
        for (i, stage) in Self.stages(concurrent, out: dir.appendingPathComponent("concurrent-out")).enumerated() {
            let results = i == 0 ? try stage.map { try CLI.run($0.tool, $0.args) } : CLI.runConcurrently(stage)
            processes += stage.count
            for (c, r) in zip(stage, results) {
                // Every command here can succeed when it waits its turn, so all of them must.
                #expect(r.status == 0, "stage \(i): \(c.tool) \(c.args.joined(separator: " ")): \(r.stderr)")
                #expect(r.status == 0 || CLI.failedClearly(r, store: concurrent), "unclear failure: \(r.stderr)")
            }
        }
        let a = try StoreDump.dump(serial), b = try StoreDump.dump(concurrent)
        let same = a == b
        #expect(same, "\(StoreDump.differences(a, b))")
        #expect(a["rationale"]?.isEmpty == false && a["embedding"]?.isEmpty == false && a["dataset"]?.count == 4)
        print("concurrency: \(processes) processes in \(Self.stages(concurrent, out: dir).count) stages, \(String(format: "%.1f", Date().timeIntervalSince(started))) s including the serial reference")
    }

    /// Two writers racing to create the reasoning tables on a store that lacks them: the issue's
    /// `table rationale_run already exists` (5 of 5 before the fix).
    @Test func twoFirstRationaleRunsCreateTheTablesOnce() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        for args in [["synth", "--db", db, "--seed", "3", "--users", "20", "--items", "30", "--quiet"],
                     ["split", "--db", db, "--dataset", "synth-3", "--name", "lo"]] {
            let r = try CLI.run("rec-data", args)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let cmd = ["rationales", "--db", db, "--dataset", "synth-3", "--split", "lo", "--reasoner", "aspect", "--quiet"]
        let results = CLI.runConcurrently(Array(repeating: ("rec-data", cmd), count: 4))
        for r in results { #expect(r.status == 0, "\(r.stderr)") }
        let d = try StoreDump.dump(db)
        #expect(d["rationale_run"]?.count == 1)
        #expect(d["rationale_user"]?.count == 20)
    }

    /// A writer that cannot get the write lock in time says which store is locked and what to do
    /// (the issue: `database is locked - while executing BEGIN IMMEDIATE TRANSACTION`).
    @Test func aWriterThatTimesOutNamesTheStoreAndWhatToDo() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        #expect(try CLI.run("rec-data", ["synth", "--db", db, "--seed", "3", "--users", "20", "--items", "30", "--quiet"]).status == 0)
        // Hold the write lock from this process for longer than the split may wait.
        let holder = try DatabaseHolder(path: db)
        defer { holder.release() }
        let r = try CLI.run("rec-data", ["split", "--db", db, "--dataset", "synth-3", "--name", "lo"], environment: ["REC_BUSY_TIMEOUT": "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(db) && r.stderr.contains("another process") && r.stderr.contains("REC_BUSY_TIMEOUT"), "\(r.stderr)")
    }

    /// The issue's `split` during a long import: the split waits for the import's transaction,
    /// says on stderr what it waits for, and then succeeds.
    @Test func aWriterWaitsForALongTransactionAndSaysSo() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        #expect(try CLI.run("rec-data", ["synth", "--db", db, "--seed", "3", "--users", "20", "--items", "30", "--quiet"]).status == 0)
        let holder = try DatabaseHolder(path: db)
        DispatchQueue.global().asyncAfter(deadline: .now() + 3) { holder.release() }
        let r = try CLI.run("rec-data", ["split", "--db", db, "--dataset", "synth-3", "--name", "lo"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("waiting for another process that is writing to \(db)"), "\(r.stderr)")
    }

    /// The issue's "done when": a store copied to a read-only folder (file 444, folder 555) works
    /// for every reading command without changing a byte.
    @Test func readingCommandsLeaveAReadOnlyStoreByteForByte() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        let d = ["--db", db]
        for args in [["synth"] + d + ["--seed", "4", "--users", "40", "--items", "60", "--quiet"],
                     ["split"] + d + ["--dataset", "synth-4", "--name", "random", "--method", "random", "--ratios", "0.7,0.1,0.2"],
                     ["rationales"] + d + ["--dataset", "synth-4", "--split", "random", "--reasoner", "oracle", "--quiet"],
                     ["embed"] + d + ["--dataset", "synth-4", "--quiet"]] {
            let r = try CLI.run("rec-data", args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        let validate = ["--dataset", "synth-4", "--split", "random", "--reasoner", "oracle", "--metrics", "sbert-cosine,random",
                        "--bootstrap", "50", "--permutations", "50", "--quiet"]
        let train = ["--dataset", "synth-4", "--split", "random", "--rationales", "oracle", "--encoder", "minilm",
                     "--steps", "30", "--finetune-steps", "30", "--eval-users", "5", "--quiet"]
        // Once on the writable store, so every embedding these commands need is cached.
        #expect(try CLI.run("validate-rewards", d + validate + ["--out", dir.appendingPathComponent("warm-v").path]).status == 0)
        let warm = try CLI.run("rec-train", d + train + ["--out", dir.appendingPathComponent("warm-t").path])
        #expect(warm.status == 0, "\(warm.stderr)")

        let ro = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: ro, withIntermediateDirectories: true)
        let copy = ro.appendingPathComponent("rec.sqlite").path
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        // Only the main file is copied: whatever the tools wrote must be in it, not in a -wal.
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: ro.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ro.path) }
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        let c = ["--db", copy]
        let out = dir.appendingPathComponent("out")
        let commands: [(String, [String])] = [
            ("rec-data", ["list"] + c),
            ("rec-data", ["stats"] + c),
            ("rec-data", ["stats"] + c + ["--dataset", "synth-4", "--split", "random", "--json"]),
            ("rec-data", ["export"] + c + ["--dataset", "synth-4", "--split", "random"]),
            ("rec-data", ["rationales-show"] + c + ["--dataset", "synth-4", "--split", "random"]),
            ("rec-data", ["rationales-show"] + c + ["--dataset", "synth-4", "--split", "random", "--runs"]),
            ("validate-rewards", c + validate + ["--out", out.appendingPathComponent("v").path]),
            ("rec-train", c + train + ["--out", out.appendingPathComponent("t").path]),
        ]
        for (tool, args) in commands {
            let r = try CLI.run(tool, args)
            #expect(r.status == 0, "\(tool) \(args.joined(separator: " ")): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before, "a reading command changed the store")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ro.path) == ["rec.sqlite"])
        // A writing command on it fails with the path and what to do.
        let w = try CLI.run("rec-data", ["split"] + c + ["--dataset", "synth-4", "--name", "x"])
        #expect(w.status != 0 && w.stderr.contains(copy), "\(w.stderr)")
    }

    /// `rec-data upgrade` applies what an older version left pending (here: a store from before
    /// token embeddings), which reading commands leave alone.
    @Test func upgradeAppliesPendingMigrations() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        #expect(try CLI.run("rec-data", ["upgrade", "--db", db]).status == 0)
        do {
            let queue = try DatabaseQueue(path: db)
            try queue.write { db in
                try db.execute(sql: "DROP TABLE token_embedding; DELETE FROM grdb_migrations WHERE identifier = 'embedding-v2-tokens'")
            }
        }
        #expect(try CLI.run("rec-data", ["list", "--db", db]).status == 0)
        #expect(try StoreDump.dump(db)["token_embedding"] == nil, "a reading command migrated")
        let r = try CLI.run("rec-data", ["upgrade", "--db", db])
        #expect(r.status == 0 && r.stdout.contains("up to date"), "\(r.stderr)")
        #expect(try StoreDump.dump(db)["token_embedding"] == [])
    }

    /// `--db` errors name the path (the issue: bare `SQLite error 14` and `SQLite error 26`).
    @Test func badDatabasePathsAreNamed() throws {
        let dir = try CLI.temporaryDirectory()
        let garbage = dir.appendingPathComponent("notes.txt").path
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: garbage))
        for args in [["list", "--db", garbage], ["synth", "--db", garbage, "--users", "5", "--items", "10"]] {
            let r = try CLI.run("rec-data", args)
            #expect(r.status != 0 && r.stderr.contains(garbage) && r.stderr.contains("not an SQLite database"), "\(r.stderr)")
        }
        let missing = dir.appendingPathComponent("absent.sqlite").path
        let r = try CLI.run("rec-data", ["stats", "--db", missing])
        #expect(r.status != 0 && r.stderr.contains(missing), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}

/// Holds an SQLite write transaction on a store from this process until released (a stand-in for
/// a long import in another process: the lock is the same file lock).
final class DatabaseHolder: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String) throws {
        let started = DispatchSemaphore(value: 0)
        let done = self.done, finished = self.finished
        nonisolated(unsafe) var failure: (any Error)?
        Thread {
            do {
                let queue = try DatabaseQueue(path: path)
                try queue.inDatabase { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    started.signal()
                    done.wait()
                    try db.execute(sql: "ROLLBACK")
                }
            } catch {
                failure = error
                started.signal()
            }
            finished.signal()
        }.start()
        started.wait()
        if let failure { throw failure }
    }

    func release() {
        done.signal()
        finished.wait()
    }
}
