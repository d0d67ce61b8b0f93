import Foundation
import Testing

/// Issue 14 (outputs, numbers, inputs): the command line refuses what cannot work before doing
/// any, stops on non-finite numbers, and never turns a bad input into an empty or partial result.
@Suite(.serialized) struct ReliabilityCLITests {
    /// A small synthetic world with one split, `synth-SEED`, split `random`.
    static func world(seed: Int) throws -> (db: String, dir: URL) {
        try CLI.syntheticWorld(seed: seed, users: 40, items: 80)
    }

    static let small = ["--rationales", "none", "--encoder", "hashing", "--reward", "extrinsic", "--hidden", "32", "--tower", "16", "--eval-users", "5"]

    @Test func impossibleHyperparametersAreRefusedBeforeAnyWork() throws {
        let dir = try CLI.temporaryDirectory()
        let cases: [([String], String)] = [
            (["--finetune-steps=-1"], "--finetune-steps must be ≥ 0 (got -1)"),
            (["--checkpoint-every=-1"], "--checkpoint-every must be ≥ 0"),
            (["--log-every", "0"], "--log-every must be ≥ 1 (got 0)"),
            (["--threads", "0"], "--threads must be ≥ 1 (got 0)"),
            (["--tau", "5"], "--tau must be in [0, 1] (got 5.0)"),
            (["--tau=-0.5"], "--tau must be in [0, 1]"),
            (["--lr=-1"], "--lr must be a finite number > 0 (got -1.0)"),
            (["--lr", "0"], "--lr must be a finite number > 0"),
            (["--lr", "inf"], "--lr must be a finite number > 0"),
            (["--eval-users", "0"], "--eval-users must be ≥ 1 or all (got 0)"),
            (["--steps=-5"], "--steps must be ≥ 0"),
        ]
        for (args, message) in cases {
            // No store exists: the refusal must come from the options alone.
            let r = try CLI.run("rec-train", ["--db", dir.appendingPathComponent("none.sqlite").path, "--dataset", "x",
                                              "--out", dir.appendingPathComponent("run").path] + args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path))
    }

    @Test func aDivergingLossStopsTrainingAndWritesNoResults() throws {
        let (db, dir) = try Self.world(seed: 8)
        let out = dir.appendingPathComponent("run")
        let r = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-8", "--split", "random", "--lr", "1e30",
                                          "--pretrain-steps", "0", "--finetune-steps", "800"] + Self.small + ["--out", out.path])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("error: training diverged: the DQN loss is"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("results.md").path))
    }

    @Test func aMissingSplitIsNamedAndAnUnwritableOutFailsFirst() throws {
        let (db, dir) = try Self.world(seed: 9)
        let nosuch = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-9", "--split", "nosuch", "--out", dir.appendingPathComponent("r").path])
        #expect(nosuch.status == 1)
        #expect(nosuch.stderr.contains("error: dataset 'synth-9' has no split named 'nosuch'; available: random"), "\(nosuch.stderr)")
        for target in try CLI.unwritableOutTargets(in: dir) {
            let r = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-9", "--split", "random", "--finetune-steps", "100000"]
                                + Self.small + ["--out", target])
            #expect(r.status == 1)
            #expect(r.stderr.hasPrefix("error: cannot write the run folder \(target): "), "\(r.stderr)")
            #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("simulator:"), "\(r.stderr)")
        }
    }

    @Test func aResumeWithOtherOptionsNamesOnlyWhatDiffers() throws {
        let (db, dir) = try Self.world(seed: 10)
        let out = dir.appendingPathComponent("run").path
        let base = ["--db", db, "--dataset", "synth-10", "--split", "random", "--pretrain-steps", "0", "--finetune-steps", "200",
                    "--checkpoint-every", "100"] + Self.small + ["--out", out]
        let first = try CLI.run("rec-train", base)
        #expect(first.status == 0, "\(first.stderr)")
        let r = try CLI.run("rec-train", base + ["--resume", "--lr", "0.002"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("differs in: dqn)"), "\(r.stderr)")
        #expect(!r.stderr.contains("syntheticNoise"), "\(r.stderr)")
        let noise = try CLI.run("rec-train", base + ["--resume", "--synthetic-noise"])
        #expect(noise.stderr.contains("differs in: syntheticNoise)"), "\(noise.stderr)")
    }

    @Test func rationalesWithKZeroAreRefused() throws {
        let (db, _) = try Self.world(seed: 11)
        let r = try CLI.run("rec-data", ["rationales", "--db", db, "--dataset", "synth-11", "--split", "random", "--k", "0"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--k must be ≥ 1 (got 0)"), "\(r.stderr)")
        let runs = try CLI.run("rec-data", ["rationales", "--db", db, "--dataset", "synth-11", "--split", "random", "--k", "1"])
        #expect(runs.status == 0, "\(runs.stderr)")
    }

    @Test func anImportThatYieldsNoRatingsIsAnErrorUnlessAllowed() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        let cols = ["--format", "csv", "--user-col", "user", "--item-col", "item", "--rating-col", "rating"]
        let files: [(String, String, [String], String)] = [
            ("empty.csv", "", [], "header line naming the columns 'user', 'item', 'rating' (the file is empty)"),
            ("header.csv", "user,item,rating\n", [], "header.csv: field '(ratings)': expected at least one rating; nothing was stored (--allow-empty stores an empty dataset), found 'no rating rows (an empty or header-only file)' [no-ratings]"),
            ("bad.csv", "user,item,rating\n1,2,x\n3,4,y\n", ["--on-error", "skip"], "found 'no rating rows: all 2 were skipped (non-numeric 2)' [no-ratings]"),
        ]
        for (name, text, extra, message) in files {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try CLI.run("rec-data", ["import", "--db", db, path] + cols + extra)
            #expect(r.status != 0, "\(name): \(r.stdout)")
            #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
        }
        let list = try CLI.run("rec-data", ["list", "--db", db])
        #expect(!list.stdout.contains("header") && !list.stdout.contains("bad"), "\(list.stdout)")
        let allowed = try CLI.run("rec-data", ["import", "--db", db, dir.appendingPathComponent("header.csv").path, "--allow-empty"] + cols)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        // A named column missing from the header is named, even when the file has no rows.
        let path = dir.appendingPathComponent("cols.csv").path
        try "user,item,score\n".write(toFile: path, atomically: true, encoding: .utf8)
        let missing = try CLI.run("rec-data", ["import", "--db", db, path, "--allow-empty"] + cols)
        #expect(missing.status != 0 && missing.stderr.contains("a column named 'rating'"), "\(missing.stderr)")
    }

    @Test func controlBytesFromTheInputAreEscapedInMessages() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        let path = dir.appendingPathComponent("esc.csv").path
        try "user,item,rating\n1,2,4\u{1B}[2J\u{07}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLI.run("rec-data", ["import", "--db", db, path, "--user-col", "user", "--item-col", "item", "--rating-col", "rating"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("found '4\\x1b[2J\\x07'"), "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1B}") && !r.stderr.contains("\u{07}"))
    }
}
