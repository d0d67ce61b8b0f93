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

    @Test func badInputLeavesOnlyAnErrorFile() throws {
        let (db, dir) = try Self.world()
        let cases: [([String], String)] = [
            (["--split", "nope"], "no split named 'nope'"),
            (["--split", "random", "--metrics", "sbert-cosine,nonsense"], "unknown metric 'nonsense'; available: sbert-cosine"),
            (["--split", "random", "--threshold", "1.5", "--metrics", "sbert-cosine"], "outside the range of metric 'sbert-cosine'"),
            (["--split", "random", "--reasoner", "openai"], "available reasoners: aspect, oracle"),
            (["--split", "random", "--threshold", "often"], "--threshold expects"),
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
        let report = ["pairs.csv", "report.html", "report.json", "report.md", "summary.csv"]
        for bad in [args(metrics: "no-such-metric", db: db), args(metrics: "bm25", db: dir.appendingPathComponent("missing/none.sqlite").path)] {
            let r = try CLI.run("validate-rewards", bad)
            #expect(r.status != 0)
            #expect(r.stderr.contains("(wrote \(out.path)/error.txt)"), "\(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["error.txt"] + report)
            #expect(try String(contentsOf: out.appendingPathComponent("pairs.csv"), encoding: .utf8) == pairs)
            let error = try String(contentsOf: out.appendingPathComponent("error.txt"), encoding: .utf8)
            #expect(error.contains("from an earlier successful run"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func anUnwritableOutFailsBeforeAnyWorkAndClaimsNoWrite() throws {
        let (db, dir) = try Self.world()
        let file = dir.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        var targets = [file.appendingPathComponent("x").path]
        #if os(Linux)
        targets.append("/proc/x")
        #endif
        for target in targets {
            let start = Date()
            let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                     "--metrics", "sbert-cosine", "--out", target])
            #expect(r.status != 0)
            #expect(r.stderr.contains("error: cannot write the run folder \(target)"), "\(r.stderr)")
            #expect(!r.stderr.contains("wrote") && !r.stderr.contains("NSCocoaErrorDomain"), "\(r.stderr)")
            #expect(Date().timeIntervalSince(start) < 20)  // refused before the encoder loads
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
}
