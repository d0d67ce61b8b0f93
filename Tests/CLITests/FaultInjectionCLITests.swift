import Foundation
import Testing

/// Kill -9 at seeded random points of every writer, then run it again: the store must converge to
/// the uninterrupted result, table by table (Docs/guarantees.md, "Kill").
///
/// Trials per writer: `$REC_FAULT_TRIALS` (default 10, the CI size); seed: `$REC_FAULT_SEED`
/// (default 14). Each trial starts from a copy of the same closed store, kills the writer after a
/// delay drawn uniformly from [0, 1.2 × its uninterrupted run time], checks that a reading command
/// still works on the killed store (a leftover WAL is recovered or read, never an error), reruns
/// the writer to completion and compares the store with the uninterrupted run's.
@Suite(.serialized) struct FaultInjectionCLITests {
    static var trials: Int { Int(ProcessInfo.processInfo.environment["REC_FAULT_TRIALS"] ?? "") ?? 10 }
    static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["REC_FAULT_SEED"] ?? "") ?? 14 }

    struct Writer: Sendable {
        var name: String
        /// Commands that build the store the writer starts from (run once, before the trials).
        var setup: @Sendable (String) -> [[String]]
        /// The writer; rerunning it after a kill must finish the job (`--replace` where a second
        /// run would otherwise refuse an existing dataset or split).
        var command: @Sendable (String) -> [String]
    }

    static let writers: [Writer] = [
        Writer(name: "import", setup: { _ in [] },
               command: { ["synth", "--db", $0, "--seed", "9", "--users", "600", "--items", "400", "--replace", "--quiet"] }),
        Writer(name: "split", setup: { db in [["synth", "--db", db, "--seed", "9", "--users", "600", "--items", "400", "--quiet"]] },
               command: { ["split", "--db", $0, "--dataset", "synth-9", "--name", "r", "--method", "random", "--replace"] }),
        Writer(name: "rationales", setup: { db in
                   [["synth", "--db", db, "--seed", "9", "--users", "600", "--items", "400", "--quiet"],
                    ["split", "--db", db, "--dataset", "synth-9", "--name", "r", "--method", "random"]] },
               command: { ["rationales", "--db", $0, "--dataset", "synth-9", "--split", "r", "--reasoner", "aspect", "--quiet"] }),
        Writer(name: "embed", setup: { db in [["synth", "--db", db, "--seed", "9", "--users", "20", "--items", "300", "--quiet"]] },
               command: { ["embed", "--db", $0, "--dataset", "synth-9", "--quiet"] }),
    ]

    @Test(arguments: 0..<4) func killedWritersConvergeOnRerun(writerIndex: Int) throws {
        let writer = Self.writers[writerIndex]
        let started = Date()
        let dir = try CLI.temporaryDirectory()
        let base = dir.appendingPathComponent("base.sqlite").path
        for args in writer.setup(base) {
            let r = try CLI.run("rec-data", args)
            #expect(r.status == 0, "setup \(args): \(r.stderr)")
        }
        func fresh(_ name: String) throws -> String {
            let p = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: base) { try FileManager.default.copyItem(atPath: base, toPath: p) }
            return p
        }

        // The uninterrupted result, and how long it takes.
        let reference = try fresh("reference.sqlite")
        let t0 = Date()
        let full = try CLI.run("rec-data", writer.command(reference))
        let duration = Date().timeIntervalSince(t0)
        #expect(full.status == 0, "\(full.stderr)")
        let expected = try StoreDump.dump(reference)

        var rng = SplitMix64(seed: Self.seed &+ UInt64(writerIndex) &* 0x9E37_79B9_7F4A_7C15)
        var killedWhileRunning = 0, killedWhileWriting = 0
        for trial in 0..<Self.trials {
            let db = try fresh("trial-\(trial).sqlite")
            let delay = Double.random(in: 0...(1.2 * duration), using: &rng)
            let p = try CLI.start("rec-data", writer.command(db))
            Thread.sleep(forTimeInterval: delay)
            if p.isRunning { killedWhileRunning += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // A WAL with content left behind: the kill hit a process that had the store open.
            if ((try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0 > 0 {
                killedWhileWriting += 1
            }
            // Whatever the kill left, reading works (if the file exists at all).
            if FileManager.default.fileExists(atPath: db) {
                let list = try CLI.run("rec-data", ["list", "--db", db])
                #expect(list.status == 0 || list.stderr.contains("holds no ratings store"),
                        "\(writer.name) trial \(trial) (kill at \(String(format: "%.2f", delay)) s): list failed: \(list.stderr)")
            }
            let rerun = try CLI.run("rec-data", writer.command(db))
            #expect(rerun.status == 0, "\(writer.name) trial \(trial) (kill at \(String(format: "%.2f", delay)) s): rerun failed: \(rerun.stderr)")
            let got = try StoreDump.dump(db)
            let same = got == expected
            #expect(same, "\(writer.name) trial \(trial) (kill at \(String(format: "%.2f", delay)) s):\n\(StoreDump.differences(expected, got))")
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        }
        print("fault injection: \(writer.name): \(Self.trials) trials (\(killedWhileRunning) killed mid-run; \(killedWhileWriting) kills left a WAL with content), uninterrupted run \(String(format: "%.2f", duration)) s, \(String(format: "%.1f", Date().timeIntervalSince(started))) s in all")
        try? FileManager.default.removeItem(at: dir)
    }

    /// `rec-train` writes checkpoints into `--out` (not the store): killed at random and rerun with
    /// `--resume`, it ends with the results and learning curve of an uninterrupted run. The store
    /// is opened read-only; the hashing encoder's vectors are cached by the reference run, so the
    /// killed runs only read it.
    @Test func killedTrainingResumesToTheSameResults() throws {
        let started = Date()
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        for args in [["synth", "--db", db, "--seed", "4", "--users", "40", "--items", "60", "--quiet"],
                     ["split", "--db", db, "--dataset", "synth-4", "--name", "random", "--method", "random", "--ratios", "0.7,0.1,0.2"]] {
            let r = try CLI.run("rec-data", args)
            #expect(r.status == 0, "setup \(args): \(r.stderr)")
        }
        func command(_ out: URL) -> [String] {
            ["--db", db, "--dataset", "synth-4", "--split", "random", "--rationales", "none", "--reward", "count-novelty",
             "--encoder", "hashing", "--pretrain-steps", "700", "--finetune-steps", "700", "--checkpoint-every", "50",
             "--eval-users", "5", "--quiet", "--out", out.path]
        }
        func outcome(_ out: URL) throws -> [String] {
            try ["results.json", "metrics.csv"].map { try String(contentsOf: out.appendingPathComponent($0), encoding: .utf8) }
        }
        let reference = dir.appendingPathComponent("reference")
        let t0 = Date()
        let full = try CLI.run("rec-train", command(reference))
        let duration = Date().timeIntervalSince(t0)
        #expect(full.status == 0, "\(full.stderr)")
        let expected = try outcome(reference)
        var rng = SplitMix64(seed: Self.seed &+ 99)
        var killedWhileRunning = 0
        for trial in 0..<Self.trials {
            let out = dir.appendingPathComponent("trial-\(trial)")
            let delay = Double.random(in: 0...(1.2 * duration), using: &rng)
            let p = try CLI.start("rec-train", command(out))
            Thread.sleep(forTimeInterval: delay)
            if p.isRunning { killedWhileRunning += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let rerun = try CLI.run("rec-train", command(out) + ["--resume"])
            #expect(rerun.status == 0, "trial \(trial) (kill at \(String(format: "%.2f", delay)) s): \(rerun.stderr)")
            #expect(try outcome(out) == expected, "trial \(trial) (kill at \(String(format: "%.2f", delay)) s): results differ")
        }
        print("fault injection: rec-train checkpoints: \(Self.trials) trials (\(killedWhileRunning) killed mid-run), uninterrupted run \(String(format: "%.2f", duration)) s, \(String(format: "%.1f", Date().timeIntervalSince(started))) s in all")
        try? FileManager.default.removeItem(at: dir)
    }
}

/// SplitMix64: the kill points of a seed are the same on every machine (this test target links
/// no library of the package, so it carries its own generator).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
