import Foundation
import Testing

/// End-to-end: synthetic world -> split -> rationales (oracle and aspect) -> validate-rewards.
@Suite(.serialized) struct ValidateRewardsCLITests {
    static func world() throws -> (db: String, dir: URL) {
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        for args in [["synth", "--db", db, "--seed", "4", "--users", "60", "--items", "120"],
                     ["split", "--db", db, "--dataset", "synth-4", "--name", "random", "--method", "random", "--ratios", "0.7,0.1,0.2"],
                     ["rationales", "--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle"],
                     ["rationales", "--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "aspect"]] {
            let r = try CLI.run("rec-data", args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        return (db, dir)
    }

    /// Runs `python3 -c script arguments…` (CLI.run runs only the package's own tools).
    static func python(_ script: String, _ arguments: String...) throws -> CLI.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // The outputs are a line or a traceback: far below a pipe's buffer, so sequential reads do not block.
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func summary(_ folder: URL) throws -> [String: Double] {
        let text = try String(contentsOf: folder.appendingPathComponent("summary.csv"), encoding: .utf8)
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if let v = Double(f[2]) { out["\(f[0]).\(f[1])"] = v }
        }
        return out
    }

    @Test func oracleRationalesValidateAndTheReportIsComplete() throws {
        let (db, dir) = try Self.world()
        let out = dir.appendingPathComponent("oracle")
        let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                 "--metrics", "sbert-cosine,calibrated-cosine,bm25,random", "--bootstrap", "200",
                                                 "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        for f in ["pairs.csv", "summary.csv", "report.md", "report.json", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "\(f)")
        }
        #expect(r.stdout.contains("ROC-AUC") && r.stdout.contains("centroid-cosine"))  // the control joins automatically
        let s = try Self.summary(out)
        // The true preference statement must predict liking far better than chance, and better
        // than the random control.
        #expect(s["sbert-cosine.roc_auc"]! > 0.65, "\(s)")
        #expect(s["sbert-cosine.roc_auc"]! > s["random.roc_auc"]! + 0.1)
        #expect(abs(s["random.roc_auc"]! - 0.5) < 0.08)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("ROC"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as! [String: Any]
        let config = json["configuration"] as! [String: Any]
        #expect(config["seed"] as? Int == 1 && (config["metrics"] as? [String])?.count == 5)
        // Same seed, same numbers.
        let again = dir.appendingPathComponent("again")
        try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                         "--metrics", "sbert-cosine,calibrated-cosine,bm25,random", "--bootstrap", "200", "--out", again.path])
        #expect(try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
                == String(contentsOf: again.appendingPathComponent("summary.csv"), encoding: .utf8))
    }

    @Test func usersOfRunValidatesOnlyTheUsersBothRunsCover() throws {
        let (db, dir) = try Self.world()
        // An imported run covering 10 users (as a --limit-users LLM run would).
        let jsonl = dir.appendingPathComponent("ten.jsonl")
        try (1...10).map { "{\"user_id\": \"u\($0)\", \"rationales\": [\"prefers lightweight gear\"]}" }.joined(separator: "\n")
            .write(to: jsonl, atomically: true, encoding: .utf8)
        let imported = try CLI.run("rec-data", ["rationales-import", jsonl.path, "--db", db, "--dataset", "synth-4", "--split", "random", "--name", "ten"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let runs = try CLI.run("rec-data", ["rationales-show", "--db", db, "--dataset", "synth-4", "--split", "random", "--runs"])
        let line = try #require(runs.stdout.split(separator: "\n").first { $0.contains("imported:ten") }, "\(runs.stdout)")
        let runID = try #require(line.split(whereSeparator: { !$0.isNumber }).first.map(String.init), "\(line)")
        let out = dir.appendingPathComponent("restricted")
        let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                 "--users-of-run", runID, "--metrics", "sbert-cosine", "--bootstrap", "50", "--quiet", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let users = Set(try String(contentsOf: out.appendingPathComponent("pairs.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { String($0.split(separator: ",")[0]) })
        #expect(!users.isEmpty && users.isSubset(of: Set((1...10).map { "u\($0)" })), "\(users.sorted())")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as! [String: Any]
        #expect((json["configuration"] as? [String: Any])?["users_of_runs"] as? [Int] == [Int(runID)!])
        // A run of another split is refused by name.
        try #require(try CLI.run("rec-data", ["split", "--db", db, "--dataset", "synth-4", "--name", "other", "--method", "random", "--ratios", "0.7,0.1,0.2", "--seed", "9"]).status == 0)
        try #require(try CLI.run("rec-data", ["rationales", "--db", db, "--dataset", "synth-4", "--split", "other", "--reasoner", "oracle"]).status == 0)
        let wrong = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "other", "--reasoner", "oracle",
                                                     "--users-of-run", runID, "--metrics", "sbert-cosine", "--quiet", "--out", dir.appendingPathComponent("w").path])
        #expect(wrong.status != 0 && wrong.stderr.contains("--users-of-run \(runID) is a run of synth-4/random"), "\(wrong.stderr)")
    }

    @Test func badInputLeavesOnlyAnErrorFile() throws {
        let (db, dir) = try Self.world()
        let cases: [([String], String)] = [
            (["--split", "nope"], "no split named 'nope'"),
            (["--split", "random", "--metrics", "sbert-cosine,nonsense"], "unknown metric 'nonsense'; available: sbert-cosine"),
            (["--split", "random", "--threshold", "1.5", "--metrics", "sbert-cosine"], "outside the range of metric 'sbert-cosine'"),
            (["--split", "random", "--reasoner", "openai"], "available reasoners: aspect, oracle"),
            (["--split", "random", "--threshold", "often"], "--threshold expects"),
            (["--split", "random", "--cross-fit-folds", "1"], "--cross-fit-folds must be ≥ 2"),
            (["--split", "random", "--sweep", "--sweep-thresholds", "p0.5,often"], "--sweep-thresholds expects"),
        ]
        for (k, (args, message)) in cases.enumerated() {
            let out = dir.appendingPathComponent("bad\(k)")
            let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--out", out.path] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
            #expect(files == ["error.txt"], "\(args): \(files)")
        }
        let list = try CLI.run("validate-rewards", ["--list-metrics", "--dataset", "x", "--split", "y"])
        #expect(list.stdout.contains("bertscore-f1") && list.stdout.contains("csls-cosine"))
    }

    // Issue 14: a failed rerun must not destroy the previous report.
    @Test func aFailedRerunKeepsThePreviousReportAndAddsErrorTxt() throws {
        let (db, dir) = try Self.world()
        let out = dir.appendingPathComponent("keep")
        func args(metrics: String, db: String) -> [String] {
            ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle", "--metrics", metrics,
             "--bootstrap", "50", "--permutations", "50", "--out", out.path]
        }
        let ok = try CLI.run("validate-rewards", args(metrics: "bm25", db: db))
        #expect(ok.status == 0, "\(ok.stderr)")
        let pairs = try String(contentsOf: out.appendingPathComponent("pairs.csv"), encoding: .utf8)
        let report = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(Set(["pairs.csv", "report.html", "report.json", "report.md", "summary.csv"]).isSubset(of: report))
        for bad in [args(metrics: "no-such-metric", db: db), args(metrics: "bm25", db: dir.appendingPathComponent("missing/none.sqlite").path)] {
            let r = try CLI.run("validate-rewards", bad)
            #expect(r.status != 0)
            #expect(r.stderr.contains("(wrote \(out.path)/error.txt)"), "\(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == (["error.txt"] + report).sorted())
            #expect(try String(contentsOf: out.appendingPathComponent("pairs.csv"), encoding: .utf8) == pairs)
            let error = try String(contentsOf: out.appendingPathComponent("error.txt"), encoding: .utf8)
            #expect(error.contains("from an earlier successful run"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func anUnwritableOutFailsBeforeAnyWorkAndClaimsNoWrite() throws {
        let (db, dir) = try Self.world()
        for target in try CLI.unwritableOutTargets(in: dir) {
            let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                     "--metrics", "sbert-cosine", "--out", target])
            #expect(r.status != 0)
            #expect(r.stderr.contains("error: cannot write the run folder \(target)"), "\(r.stderr)")
            // Refused before any work: a failure inside the validation says "wrote …/error.txt" or
            // "could not write … either" (a behavioural check; a clock is not one on a busy host).
            #expect(!r.stderr.contains("wrote") && !r.stderr.contains("could not write") && !r.stderr.contains("NSCocoaErrorDomain"), "\(r.stderr)")
        }
    }

    @Test func theDefaultFolderStaysUnderRunsWhateverTheNames() throws {
        let (db, dir) = try Self.world()
        let cwd = dir.appendingPathComponent("cwd")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "../../esc", "--split", "random"], directory: cwd)
        #expect(r.status != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path) == ["runs"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.appendingPathComponent("runs/validate-rewards").path)
                == ["___.._esc-random-aspect-seed1"])
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("esc-random-aspect-seed1").path))
    }

    /// Issue 12: --sweep selects on valid and reports on test; report.json reads in Python's json
    /// module with the flat v2 schema; the popularity sections and files are there.
    @Test func sweepSelectsOnValidReportsOnTestAndTheJSONIsFlat() throws {
        let (db, dir) = try Self.world()
        let out = dir.appendingPathComponent("sweep")
        let args = ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle", "--metrics", "sbert-cosine,bm25",
                    "--bootstrap", "100", "--permutations", "200"]
        let r = try CLI.run("validate-rewards", args + ["--sweep", "--select-by", "reward-f1", "--sweep-thresholds", "p0.5,p0.9",
                                                        "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        for f in ["sweep.csv", "incremental-auc.svg", "popularity-strata-auc.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "\(f)")
        }
        #expect(r.stdout.contains("Selection on the valid part") && r.stdout.contains("Δ AUC over popularity")
                && r.stdout.contains("by item popularity"))
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("Beyond popularity") && html.contains("Selection on the validation part")
                && html.contains("By item popularity"))
        let s = try Self.summary(out)
        #expect(s["sbert-cosine.incremental_auc_over_popularity"] != nil && s["sbert-cosine.partial_spearman_given_popularity"] != nil)
        // Python reads the document as it is; the picks of the rationale metrics carry a swept
        // threshold that the test run used (threshold_overrides), the control has none.
        let script = """
        import json, sys
        d = json.load(open(sys.argv[1]))
        assert d["schema"] == "rationale-rec/validate-rewards/2", d["schema"]
        assert d["configuration"]["held_out_part"] == "test"
        sel = d["selection"]
        assert sel["criterion"] == "reward-f1" and sel["part"] == "valid"
        picks = {p["metric"]: p for p in sel["picked"]}
        for m in ("sbert-cosine", "bm25"):
            assert picks[m]["threshold"] in ("p0.5", "p0.9"), picks[m]
            assert d["configuration"]["threshold_overrides"][picks[m]["configuration"]] == picks[m]["threshold"]
        assert picks["centroid-cosine"]["threshold"] is None
        assert len(sel["sweep"]) == 2 + 2 + 1
        m = {x["metric"]: x for x in d["metrics"]}
        auc = m["sbert-cosine"]["roc_auc"]
        assert isinstance(auc["value"], float) and len(auc["ci"]) == 2 and auc["level"] == 0.95 and auc["resamples"] == 100
        inc = m["sbert-cosine"]["incremental_auc_over_popularity"]
        assert 0 <= inc["p_value"] <= 1 and inc["ci"][0] <= inc["value"] <= inc["ci"][1]
        assert [s["stratum"] for s in m["bm25"]["by_popularity_stratum"]] == ["head", "torso", "tail"]
        assert m["sbert-cosine"]["threshold"] == picks["sbert-cosine"]["threshold"]
        print("ok")
        """
        let py = try Self.python(script, out.appendingPathComponent("report.json").path)
        #expect(py.status == 0 && py.stdout.contains("ok"), "\(py.stderr)")

        // Selecting and reporting on the same part is refused.
        let bad = dir.appendingPathComponent("sweep-valid")
        let e = try CLI.run("validate-rewards", args + ["--sweep", "--part", "valid", "--out", bad.path])
        #expect(e.status != 0 && e.stderr.contains("--sweep selects on the valid part"), "\(e.stderr)")
    }
}
