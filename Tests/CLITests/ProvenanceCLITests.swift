import Foundation
import GRDB
import Testing

/// Outputs say where they came from (issue 16, item 10): the validate-rewards folder is named after
/// the reasoner of the rationale run actually used, and an SFT export refuses options that would
/// not reproduce the prompt the run sent.
@Suite(.serialized) struct ProvenanceCLITests {
    /// Run ids in the world of `ValidateRewardsCLITests.world()`: oracle first, then aspect.
    static func runID(_ db: String, reasoner: String) throws -> Int64 {
        try DatabaseQueue(path: db).read { try Int64.fetchOne($0, sql: "SELECT id FROM rationale_run WHERE reasoner = ?", arguments: [reasoner])! }
    }

    @Test func theDefaultFolderNamesTheReasonerOfTheRunUsed() throws {
        let (db, dir) = try ValidateRewardsCLITests.world()
        let oracle = try Self.runID(db, reasoner: "oracle")
        let r = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "aspect",
                                                 "--run", String(oracle), "--metrics", "bm25,random", "--baseline", "random",
                                                 "--bootstrap", "50", "--permutations", "100"], directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("runs/validate-rewards").path)
        #expect(runs == ["synth-4-random-oracle-seed1"], "\(runs)")
    }

    @Test func anExportThatWouldNotReproduceTheRunsPromptIsRefused() throws {
        let (db, dir) = try ValidateRewardsCLITests.world()
        // A run without a prompt (aspect) exports, with a note saying so.
        let aspect = try CLI.run("rec-data", ["rationales-export", "--db", db, "--dataset", "synth-4", "--split", "random",
                                              "--reasoner", "aspect", "-o", dir.appendingPathComponent("a.jsonl").path])
        #expect(aspect.status == 0 && aspect.stderr.contains("not produced by a prompt"), "\(aspect.stderr)")
        // A prompt-produced run records its template hash and answer format; other options are refused.
        let oracle = try Self.runID(db, reasoner: "oracle")
        try DatabaseQueue(path: db).write { db in
            try db.execute(sql: "UPDATE rationale_run SET config = ? WHERE id = ?",
                           arguments: [#"{"template":"mine.txt","template_sha256":"0123456789abcdef","json_mode":"true"}"#, oracle])
        }
        let out = dir.appendingPathComponent("o.jsonl")
        let r = try CLI.run("rec-data", ["rationales-export", "--db", db, "--dataset", "synth-4", "--split", "random",
                                         "--run", String(oracle), "-o", out.path])
        #expect(r.status != 0, "\(r.stdout)")
        #expect(r.stderr.contains("would not reproduce the prompt of run \(oracle)") && r.stderr.contains("template sha256 0123456789ab")
                && r.stderr.contains("json_mode true"), "\(r.stderr)")
    }
}
