import Foundation
import Testing

/// `rec-train bpr`: BPR-MF in RecBole's protocol writes its results, per-user rows and the
/// distance from RecBole's published figure; bad settings are refused before any work.
@Suite(.serialized) struct BPRCLITests {
    @Test func bprWritesResultsPerUserRowsAndTheAnchorDistance() throws {
        let (db, dir) = try CLI.syntheticWorld(seed: 5, users: 60, items: 100)
        let out = dir.appendingPathComponent("bpr")
        let r = try CLI.run("rec-train", ["bpr", "--db", db, "--dataset", "synth-5", "--split", "random", "--epochs", "20",
                                          "--dimension", "16", "--out", out.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("NDCG@10") && r.stdout.contains("RecBole 0.2768"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any])
        let ndcg = try #require(json["ndcg"] as? Double), anchor = try #require(json["recBoleNDCG"] as? Double)
        #expect(anchor == 0.2768 && abs((json["ndcgMinusRecBole"] as? Double ?? .nan) - (ndcg - anchor)) < 1e-12)
        let rows = try String(contentsOf: out.appendingPathComponent("per-user.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rows.first == "user_id,relevant,ndcg@10,hit@10" && rows.count - 1 == json["users"] as? Int)
        let mean = rows.dropFirst().map { Double($0.split(separator: ",")[2])! }.reduce(0, +) / Double(rows.count - 1)
        #expect(abs(mean - ndcg) < 1e-6, "the per-user rows average to the reported NDCG")
    }

    @Test func badSettingsAreRefusedBeforeWork() throws {
        let (db, dir) = try CLI.syntheticWorld(seed: 5, users: 30, items: 50)
        for (args, message) in [(["--lr", "0"], "learning rate"), (["--patience", "0"], "patience"), (["--dimension", "0"], "dimension")] {
            let r = try CLI.run("rec-train", ["bpr", "--db", db, "--dataset", "synth-5", "--split", "random",
                                              "--out", dir.appendingPathComponent("x").path] + args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }
}
