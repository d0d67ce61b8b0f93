import Foundation
import Testing

/// The typed option values of the three tools: a bad value is refused while parsing (exit status
/// 64, the flag named, the valid values listed) before any store is opened or any work starts,
/// and every value the docs use still parses.
@Suite(.serialized) struct TypedOptionsCLITests {
    /// A usage error: status 64 and a message naming the flag.
    static func expectUsageError(_ r: CLI.Result, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 64, "\(r.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.stderr.contains(f), "missing '\(f)' in: \(r.stderr)", sourceLocation: sourceLocation) }
    }

    @Test func splitRatiosAreNumbersAndThreeOfThem() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        let base = ["split", "--db", db, "--dataset", "synth-5"]
        // Rejected while parsing: the store is never created.
        Self.expectUsageError(try CLI.run("rec-data", base + ["--method", "random", "--ratios", "0.8,0.1"]),
                              ["--ratios expects three", "got 2"])
        Self.expectUsageError(try CLI.run("rec-data", base + ["--method", "random", "--ratios", "0.8,x,0.1"]),
                              ["--ratios", "'x' is not a number"])
        Self.expectUsageError(try CLI.run("rec-data", base + ["--method", "random", "--ratios", "0.8,0.1,,0.1"]),
                              ["--ratios", "'' is not a number"])
        Self.expectUsageError(try CLI.run("rec-data", base + ["--ratios", "0.8,0.1,0.1"]), ["--ratios applies to --method random or temporal"])
        Self.expectUsageError(try CLI.run("rec-data", base + ["--method", "nosuch"]),
                              ["--method", "'leave-last-out'", "'random'", "'temporal'"])
        #expect(!FileManager.default.fileExists(atPath: db))

        // Every method and the documented spelling of the ratios work.
        #expect(try CLI.run("rec-data", ["synth", "--db", db, "--seed", "5", "--users", "20", "--items", "40"]).status == 0)
        for (method, extra) in [("random", ["--ratios", "0.8,0.1,0.1"]), ("temporal", ["--ratios", "0.7, 0.2, 0.1"]), ("leave-last-out", [])] {
            let r = try CLI.run("rec-data", base + ["--method", method] + extra)
            #expect(r.status == 0, "\(method): \(r.stderr)")
        }
        let list = try CLI.run("rec-data", ["list", "--db", db])
        for method in ["leave-last-out", "random", "temporal"] { #expect(list.stdout.contains(method), "\(list.stdout)") }
        // Fractions that parse but make no split are the store's error, not a usage error.
        let sum = try CLI.run("rec-data", base + ["--name", "bad", "--method", "random", "--ratios", "0.8,0.3,0.1"])
        #expect(sum.status == 1 && sum.stderr.contains("summing to 1"), "\(sum.stderr)")
    }

    @Test func enumeratedValuesAreCheckedWhileParsing() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("never.sqlite").path
        Self.expectUsageError(try CLI.run("rec-data", ["rationales", "--db", db, "--dataset", "d", "--split", "s", "--reasoner", "imported:x"]),
                              ["--reasoner", "'aspect'", "'openai'", "'oracle'"])
        Self.expectUsageError(try CLI.run("rec-data", ["rationales-show", "--db", db, "--dataset", "d", "--split", "s", "--reasoner", "imported:"]),
                              ["--reasoner"])
        Self.expectUsageError(try CLI.run("rec-data", ["import", "--db", db, "r.csv", "--user-col", "u", "--item-col", "i", "--time-format", "epoch"]),
                              ["--time-format", "'unix'", "'unix-ms'", "'iso8601'"])
        let out = dir.appendingPathComponent("vr")
        for (args, flag) in [(["--part", "nosuch"], "--part"), (["--reasoner", "nosuch"], "--reasoner"), (["--payout", "nosuch"], "--payout")] {
            let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "d", "--split", "s", "--out", out.path] + args)
            Self.expectUsageError(r, [flag])
        }
        #expect(!FileManager.default.fileExists(atPath: out.path), "a usage error writes no run folder")
        Self.expectUsageError(try CLI.run("rec-train", ["--db", db, "--dataset", "d", "--encoder", "word2vec", "--out", out.path]),
                              ["--encoder", "'minilm'", "'hashing'"])
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func importedReasonersAndTheValidPartStillReachTheStore() throws {
        let (db, dir) = try ValidateRewardsCLITests.world()
        let out = dir.appendingPathComponent("imported")
        let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "imported:mine",
                                                 "--part", "valid", "--out", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("reasoner 'imported:mine'; available reasoners: aspect, oracle"), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("error.txt").path))
        let shown = try CLI.run("rec-data", ["rationales-show", "--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle", "--limit", "1"])
        #expect(shown.status == 0 && shown.stdout.contains("oracle"), "\(shown.stderr)")
    }

    /// The custom-metric notebook is a whole validate-rewards with one metric added
    /// (`ValidateRewardsCommand.main(adding:)`); the plain tool does not see that metric.
    @Test func aMetricAddedByAProgramJoinsTheWholeCommandLine() throws {
        let notebook = CLI.path("notebook-custom-metric")
        try #require(FileManager.default.isExecutableFile(atPath: notebook), "build notebook-custom-metric first")
        let listed = try CLI.run("notebook-custom-metric", ["--list-metrics", "--dataset", "x", "--split", "y"])
        #expect(listed.status == 0 && listed.stdout.contains("angular") && listed.stdout.contains("sbert-cosine"), "\(listed.stdout)")
        let plain = try CLI.run("validate-rewards", ["--list-metrics", "--dataset", "x", "--split", "y"])
        #expect(!plain.stdout.contains("angular"))

        let (db, dir) = try ValidateRewardsCLITests.world()
        let out = dir.appendingPathComponent("angular")
        let r = try CLI.run("notebook-custom-metric", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                       "--metrics", "sbert-cosine,angular",
                                                       "--bootstrap", "50", "--permutations", "200", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try ValidateRewardsCLITests.summary(out)
        // 1 − θ/π is a monotone transform of the cosine: the same ranking, so the same AUC (up to
        // ties that rounding to Float creates).
        let angular = try #require(s["angular.roc_auc"], "\(s.keys.sorted())")
        #expect(abs(angular - s["sbert-cosine.roc_auc"]!) < 0.01)
    }
}
