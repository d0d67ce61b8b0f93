import Foundation
import Testing

/// `rec-train --metric NAME`: any rationale metric of the registry drives the ELLM reward, the run's
/// config records it, and metrics that cannot are refused before any work, by name.
@Suite(.serialized) struct RewardMetricCLITests {
    static let small = ["--rationales", "truth", "--encoder", "hashing", "--reward", "ellm", "--hidden", "32", "--tower", "16",
                        "--eval-users", "5", "--steps", "200", "--finetune-steps", "200", "--quiet"]

    @Test func aRegistryMetricDrivesTheRewardAndIsRecorded() throws {
        let (db, dir) = try CLI.syntheticWorld(seed: 8, users: 40, items: 80)
        for metric in ["learned-bilinear", "hybrid:alpha=0.25"] {
            let out = dir.appendingPathComponent("run-\(metric)")
            let r = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-8", "--split", "random", "--metric", metric, "--out", out.path] + Self.small)
            #expect(r.status == 0, "\(metric): \(r.stderr)")
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any]
            let run = try #require(config?["run"] as? [String: Any])
            #expect(run["rewardMetric"] as? String == metric)
        }
    }

    @Test func metricsThatCannotDriveTheRewardAreRefusedUpFront() throws {
        let (db, dir) = try CLI.syntheticWorld(seed: 8, users: 40, items: 80)
        for (metric, message) in [("nosuch", "unknown metric 'nosuch'"), ("popularity", "scores items without rationales"),
                                  ("bertscore-f1", "needs token embeddings")] {
            let r = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-8", "--split", "random", "--metric", metric,
                                              "--out", dir.appendingPathComponent("x").path] + Self.small)
            #expect(r.status != 0 && r.stderr.contains(message) && r.stderr.contains("learned-bilinear"), "\(metric): \(r.stderr)")
            #expect(r.status == 64, "refused by argument validation, before any data is read: \(r.status)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path))
        }
    }
}
