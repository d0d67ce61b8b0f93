import Foundation
import GRDB
import Testing

/// End-to-end: `rec-data train-distance` fits the learned distance on the training part only. The
/// checkpoint is unchanged, byte for byte, when every held-out rating is rewritten, and changes
/// when one training rating does (so the comparison can fail).
@Suite(.serialized) struct TrainDistanceCLITests {
    static func checkpoint(db: String, dir: URL, name: String) throws -> Data {
        let out = dir.appendingPathComponent(name).path
        let r = try CLI.run("rec-data", ["train-distance", "--db", db, "--dataset", "synth-4", "--split", "random",
                                         "--reasoner", "oracle", "--iterations", "20", "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("fitted learned-bilinear on"))
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    /// The safetensors header: tensor names with their shapes, and the metadata.
    static func header(_ data: Data) throws -> [String: Any] {
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
    }

    @Test func heldOutRatingsNeverReachTheFit() throws {
        let (db, dir) = try ValidateRewardsCLITests.world()
        let before = try Self.checkpoint(db: db, dir: dir, name: "a.safetensors")
        let h = try Self.header(before)
        #expect((h["W"] as? [String: Any])?["shape"] as? [Int] == [384, 384])
        let meta = try #require(h["__metadata__"] as? [String: String])
        #expect(meta["format"] == "rationale-rec/learned-bilinear/1" && meta["split"] == "random")

        let queue = try DatabaseQueue(path: db)
        let changed = try queue.write { db -> Int in
            try db.execute(sql: """
                UPDATE rating SET value = 6 - value WHERE EXISTS (
                  SELECT 1 FROM split_assignment a WHERE a.user_id = rating.user_id AND a.item_id = rating.item_id AND a.part != 0)
                """)
            return db.changesCount
        }
        #expect(changed > 100)
        let after = try Self.checkpoint(db: db, dir: dir, name: "b.safetensors")
        #expect(after == before, "a held-out rating reached the fit")

        try queue.write { db in
            try db.execute(sql: """
                UPDATE rating SET value = 6 - value WHERE (user_id, item_id) = (
                  SELECT r.user_id, r.item_id FROM rating r JOIN split_assignment a ON a.user_id = r.user_id AND a.item_id = r.item_id AND a.part = 0
                  WHERE r.value != 3 ORDER BY r.user_id, r.item_id LIMIT 1)
                """)
        }
        let trained = try Self.checkpoint(db: db, dir: dir, name: "c.safetensors")
        #expect(trained != before, "changing a training rating left the fit unchanged: the check above cannot fail")
    }

    @Test func badArgumentsAreRefusedBeforeWork() throws {
        let (db, dir) = try ValidateRewardsCLITests.world()
        for (args, message) in [(["--l2", "-1"], "--l2"), (["--iterations", "0"], "--iterations"), (["--out", dir.appendingPathComponent("x.bin").path], ".safetensors")] {
            var full = ["train-distance", "--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle"]
            if !args.contains("--out") { full += ["--out", dir.appendingPathComponent("x.safetensors").path] }
            let r = try CLI.run("rec-data", full + args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }
}
