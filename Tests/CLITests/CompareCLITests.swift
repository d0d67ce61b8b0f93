import Foundation
import Testing

/// `rec-train compare` reports paired tests between methods, paired over seeds (issue 16, item 6):
/// per seed the difference method − dqn-extrinsic, its mean, and the exact sign-flip p-value.
@Suite(.serialized) struct CompareCLITests {
    /// `rec-train compare` on a fresh synthetic world (no rationales, hashing encoder, 100
    /// fine-tune steps); returns its report folder.
    static func compare(methods: String, seeds: String, evalUsers: Int) throws -> URL {
        let (db, dir) = try CLI.syntheticWorld(seed: 6, users: 60, items: 120)
        let out = dir.appendingPathComponent("cmp")
        let r = try CLI.run("rec-train", ["compare", "--db", db, "--dataset", "synth-6", "--split", "random", "--rationales", "none",
                                          "--encoder", "hashing", "--seeds", seeds, "--methods", methods,
                                          "--pretrain-steps", "0", "--finetune-steps", "100", "--eval-users", "\(evalUsers)", "--out", out.path])
        guard r.status == 0 else { throw CLIFailure(message: "rec-train compare: \(r.stderr)") }
        return out
    }

    @Test func pairedTestsOverSeedsMatchAHandComputation() throws {
        let out = try Self.compare(methods: "dqn-extrinsic,random", seeds: "1,2,3", evalUsers: 10)
        // The per-seed values from comparison.csv, then the test by hand: the mean difference and
        // the share of the 2³ sign patterns whose |sum| is at least the observed |sum|.
        let csv = try String(contentsOf: out.appendingPathComponent("comparison.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let column = csv[0].firstIndex(of: "mean_rating")!
        func value(_ method: String, _ seed: String) -> Double {
            Double(csv.first { $0[0] == method && $0[1] == seed && $0[2] == "fine-tuned" }![column])!
        }
        let d = ["1", "2", "3"].map { value("random", $0) - value("dqn-extrinsic", $0) }
        let mean = d.reduce(0, +) / 3
        let observed = abs(d.reduce(0, +))
        let extreme = (0..<8).filter { mask in abs((0..<3).reduce(0.0) { $0 + (mask >> $1 & 1 == 1 ? -d[$1] : d[$1]) }) >= observed - 1e-12 }.count
        let p = Double(extreme) / 8
        #expect(p >= 0.25, "three seeds cannot give p < 2/2³")
        let md = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(md.contains("## Paired tests against dqn-extrinsic (paired over seeds)"))
        let row = md.split(separator: "\n").first { $0.hasPrefix("| random | mean_rating | fine-tuned |") }
        #expect(row != nil, "\(md)")
        if let row {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(cells[3] == "3")
            #expect(cells[4].hasPrefix(String(format: "%.3f", mean)), "\(cells[4]) vs \(mean)")
            #expect(Double(cells[5]).map { abs($0 - p) < 5e-4 } == true, "\(cells[5]) vs \(p)")
        }
    }

    /// users.csv holds one row per method, seed, point and user, and paired-users.csv's mean
    /// differences are those of the per-user values averaged over seeds, recomputed here.
    @Test func perUserRowsAndPairedTestsOverUsersMatchAHandComputation() throws {
        let out = try Self.compare(methods: "dqn-extrinsic,popularity,random", seeds: "1,2", evalUsers: 12)
        func table(_ name: String) throws -> [[String: String]] {
            let lines = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0).map { ($0, $1) }) }
        }
        let users = try table("users.csv")
        let userIDs = Set(users.map { $0["user"]! })
        #expect(userIDs.count == 12)
        #expect(users.count == 3 * 2 * 2 * 12, "method × seed × point × user")
        // Per user, mean over seeds, then the difference of means over users with a value.
        func means(_ method: String, _ point: String, _ metric: String) -> [String: Double] {
            var acc: [String: [Double]] = [:]
            for row in users where row["method"] == method && row["point"] == point { if let v = Double(row[metric]!) { acc[row["user"]!, default: []].append(v) } }
            return acc.mapValues { $0.reduce(0, +) / Double($0.count) }
        }
        let paired = try table("paired-users.csv")
        #expect(Set(paired.map { $0["reference"]! }) == ["dqn-extrinsic", "popularity"])
        // Each pair once: popularity − dqn-extrinsic is there, dqn-extrinsic − popularity is not.
        #expect(!paired.contains { $0["method"] == "dqn-extrinsic" && $0["reference"] == "popularity" })
        #expect(paired.contains { $0["method"] == "popularity" && $0["reference"] == "dqn-extrinsic" })
        for row in paired {
            let a = means(row["method"]!, row["point"]!, row["metric"]!), b = means(row["reference"]!, row["point"]!, row["metric"]!)
            let common = Set(a.keys).intersection(b.keys)
            #expect(Int(row["users"]!) == common.count)
            let expected = common.map { a[$0]! - b[$0]! }.reduce(0, +) / Double(common.count)
            let got = try #require(Double(row["difference"]!))
            #expect(abs(got - expected) < 1e-9, "\(row)")
            let lo = Double(row["ci_lower"]!)!, hi = Double(row["ci_upper"]!)!, p = Double(row["p_sign_flip"]!)!, holm = Double(row["p_holm"]!)!
            #expect(lo <= got + 1e-12 && got <= hi + 1e-12 && (0...1).contains(p) && holm >= p - 1e-12, "\(row)")
        }
        let md = try String(contentsOf: out.appendingPathComponent("comparison.md"), encoding: .utf8)
        #expect(md.contains("## Paired tests over users (dqn-extrinsic and popularity as references)"))
    }

    /// `--eval-users all`: every playable user is trained on and evaluated; the run folder's
    /// users.csv has one row per user and evaluation point, and the config records the mode.
    @Test func evalUsersAllEvaluatesEveryPlayableUser() throws {
        let (db, dir) = try CLI.syntheticWorld(seed: 6, users: 30, items: 80)
        let out = dir.appendingPathComponent("all")
        let r = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-6", "--split", "random", "--rationales", "none", "--encoder", "hashing",
                                          "--reward", "rnd", "--steps", "60", "--finetune-steps", "60", "--eval-users", "all", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try String(contentsOf: out.appendingPathComponent("users.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        let users = Set(rows.map { $0.split(separator: ",", omittingEmptySubsequences: false)[3] })
        #expect(users.count == 30 && rows.count == 60, "\(users.count) users, \(rows.count) rows")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any]
        #expect((config?["run"] as? [String: Any])?["evaluateAllUsers"] as? Bool == true)
        // Dueling heads and plain DQN targets from the command line, recorded in the config.
        let duel = dir.appendingPathComponent("duel")
        let d = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-6", "--split", "random", "--rationales", "none", "--encoder", "hashing",
                                          "--reward", "rnd", "--steps", "60", "--finetune-steps", "60", "--dueling", "--no-double", "--out", duel.path])
        #expect(d.status == 0, "\(d.stderr)")
        let dqn = try #require(((try JSONSerialization.jsonObject(with: Data(contentsOf: duel.appendingPathComponent("config.json"))) as? [String: Any])?["run"] as? [String: Any])?["dqn"] as? [String: Any])
        #expect(dqn["dueling"] as? Bool == true && dqn["doubleDQN"] as? Bool == false, "\(dqn)")
        let bad = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-6", "--split", "random", "--eval-users", "some"])
        #expect(bad.status == 64 && bad.stderr.contains("eval-users"), "\(bad.stderr)")
    }

    /// The SQN agent over BPR factors, scored on validation, beside the BPR-MF baseline: the flags
    /// reach the config and the comparison has a bpr-mf row for every seed.
    @Test func itemFeaturesEvalPartAndTheBPRBaselineFromTheCommandLine() throws {
        let (db, dir) = try CLI.syntheticWorld(seed: 6, users: 40, items: 80)
        let out = dir.appendingPathComponent("bpr")
        let r = try CLI.run("rec-train", ["compare", "--db", db, "--dataset", "synth-6", "--split", "random", "--rationales", "none",
                                          "--encoder", "hashing", "--seeds", "1,2", "--methods", "dqn-extrinsic,bpr-mf,popularity",
                                          "--pretrain-steps", "0", "--finetune-steps", "100", "--supervised-weight", "1", "--supervised-batch", "128",
                                          "--item-features", "text+bpr", "--eval-part", "validation", "--eval-users", "all", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try String(contentsOf: out.appendingPathComponent("comparison.csv"), encoding: .utf8)
        let bprRows = csv.split(separator: "\n").filter { $0.hasPrefix("bpr-mf,") }
        #expect(bprRows.count == 4, "\(csv)")  // 2 seeds × (zero-shot, fine-tuned)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as? [String: Any]
        let runConfig = try #require(json?["template"] as? [String: Any]), dqn = try #require(runConfig["dqn"] as? [String: Any])
        #expect(dqn["itemRepresentation"] as? String == "text+bpr" && dqn["supervisedBatchSize"] as? Int == 128, "\(dqn)")
        #expect(runConfig["evaluationPart"] as? String == "validation", "\(runConfig)")
        let bad = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-6", "--split", "random", "--item-features", "ids", "--out", dir.appendingPathComponent("x").path])
        #expect(bad.status == 64 && bad.stderr.contains("item-features"), "\(bad.stderr)")

        // The study's summary (Notebooks-as-Scripts/dqn_summary.py) reads this output as a sweep
        // entry, the final run and a comparison: it picks the entry and writes tidy tables.
        let study = dir.appendingPathComponent("study"), fm = FileManager.default
        try fm.createDirectory(at: study.appendingPathComponent("sweep"), withIntermediateDirectories: true)
        for target in ["sweep/only", "final", "compare-ml100k"] { try fm.copyItem(at: out, to: study.appendingPathComponent(target)) }
        try "--item-features text+bpr".write(to: study.appendingPathComponent("sweep/only/flags.txt"), atomically: true, encoding: .utf8)
        let script = DocsCommandTests.repositoryRoot.appendingPathComponent("Notebooks-as-Scripts/dqn_summary.py").path
        let runner = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
        let pick = try ValidateRewardsCLITests.python(runner, script, "pick", study.path)
        #expect(pick.status == 0 && pick.stdout == "only|--item-features text+bpr\n", "\(pick.stdout) \(pick.stderr)")
        let figures = dir.appendingPathComponent("figures")
        let summary = try ValidateRewardsCLITests.python(runner, script, "summary", study.path, figures.path)
        #expect(summary.status == 0, "\(summary.stderr)")
        let tidy = try String(contentsOf: figures.appendingPathComponent("dqn-compare.csv"), encoding: .utf8).split(whereSeparator: \.isNewline)
        #expect(tidy.first == "dataset,method,point,metric,seeds,value,ci_lower,ci_upper")
        // 3 methods × 2 points × 3 metrics, each a mean over the 2 seeds with an interval.
        #expect(tidy.count == 1 + 18 && tidy.dropFirst().allSatisfy { $0.hasPrefix("ml-100k,") && $0.contains(",2,") }, "\(tidy)")
        let final = try String(contentsOf: figures.appendingPathComponent("dqn-final.md"), encoding: .utf8)
        #expect(final.contains("| bpr-mf |") && final.contains("bpr-mf − dqn-extrinsic"), "\(final)")
        #expect(fm.fileExists(atPath: figures.appendingPathComponent("dqn-compare.svg").path))
        #expect(fm.fileExists(atPath: figures.appendingPathComponent("dqn-sweep.md").path))
    }

    @Test func theOldNoveltyNameRunsTheCountRewardWithANote() throws {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        for args in [["synth", "--db", db, "--seed", "7", "--users", "40", "--items", "80"],
                     ["split", "--db", db, "--dataset", "synth-7", "--name", "random", "--method", "random", "--ratios", "0.7,0.1,0.2"]] {
            #expect(try CLI.run("rec-data", args).status == 0)
        }
        let r = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-7", "--split", "random", "--rationales", "none", "--encoder", "hashing",
                                          "--reward", "novelty", "--steps", "50", "--finetune-steps", "50", "--eval-users", "5",
                                          "--out", dir.appendingPathComponent("run").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("reward 'novelty' is now called 'count-novelty'"), "\(r.stderr)")
        let config = try String(contentsOf: dir.appendingPathComponent("run/config.json"), encoding: .utf8)
        #expect(config.contains("count-novelty") && config.contains("\"seed\" : \"1\""), "\(config)")
    }
}
