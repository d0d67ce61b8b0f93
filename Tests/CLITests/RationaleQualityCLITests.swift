import Foundation
import Testing

/// `rec-data rationales-show --quality` and `rationales-filter` on imported rationales with known
/// bad ones, in a tiny synthetic world.
@Suite struct RationaleQualityCLITests {
    @Test func qualityTableJSONAndFilter() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("q.sqlite").path
        let base = ["--db", db, "--dataset", "synth-3", "--split", "leave-last-out"]
        #expect(try CLI.run("rec-data", ["synth", "--db", db, "--seed", "3", "--users", "12", "--items", "40"]).status == 0)
        #expect(try CLI.run("rec-data", ["split", "--db", db, "--dataset", "synth-3", "--method", "leave-last-out", "--valid", "1", "--test", "2"]).status == 0)

        // A first import, to read u1's most recent liked item (the first of its prompt) from rationales-show --items.
        let first = dir.appendingPathComponent("first.jsonl").path
        try #"{"user_id": "u1", "rationales": ["prefers tents"]}"#.write(toFile: first, atomically: true, encoding: .utf8)
        #expect(try CLI.run("rec-data", ["rationales-import", first, "--db", db, "--dataset", "synth-3", "--split", "leave-last-out"]).status == 0)
        let shown = try CLI.run("rec-data", ["rationales-show"] + base + ["--user", "u1", "--items"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let likedLine = try #require(shown.stdout.split(separator: "\n").first { $0.contains("liked") })
        // "    liked 5: TITLE. Categories: …" (the standard item text template).
        let afterColon = likedLine[likedLine.index(after: likedLine.firstIndex(of: ":")!)...]
        let title = String(afterColon.components(separatedBy: ". ")[0]).trimmingCharacters(in: .whitespaces)
        #expect(!title.isEmpty)

        let smol = dir.appendingPathComponent("smol.jsonl").path
        let lines = [
            ["user_id": "u1", "rationales": ["prefers lightweight tents", title, "I'm ready to assist you. What's your question?"]],
            ["user_id": "u2", "rationales": ["The user's list of items is: 16, 19, 20, …", "values durable gear"]],
            ["user_id": "u3", "rationales": [String]()],
        ] as [[String: Any]]
        try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
            .joined(separator: "\n").write(toFile: smol, atomically: true, encoding: .utf8)
        let imported = try CLI.run("rec-data", ["rationales-import", smol, "--db", db, "--dataset", "synth-3", "--split", "leave-last-out"])
        #expect(imported.status == 0, "\(imported.stderr)")

        let table = try CLI.run("rec-data", ["rationales-show"] + base + ["--reasoner", "imported:smol", "--quality"])
        #expect(table.status == 0, "\(table.stderr)")
        let rows = table.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        for expected in ["users done 3", "users with ≥ 1 rationale 2 (66.7%)", "users with ≥ 1 ok rationale 2 (66.7%)",
                         "rationales 5", "rationales per user 1.67", "ok 2 (40.0%)", "near-copy of a prompt title 1 (20.0%) [lexical only]",
                         "meta-talk / not about the user 2 (40.0%)", "question 1 (20.0%)", "numbers 1 (20.0%)",
                         "duplicated across users 0 (0.0%); 5 distinct texts", "[near-copy] \(title)"] {
            #expect(rows.contains(expected), "missing row '\(expected)' in:\n\(table.stdout)")
        }

        let json = try CLI.run("rec-data", ["rationales-show"] + base + ["--reasoner", "imported:smol", "--quality", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let counts = try #require(obj["classCounts"] as? [String: Int])
        #expect(counts["ok"] == 2 && counts["near-copy"] == 1 && counts["question"] == 1 && counts["numbers"] == 1)
        #expect(obj["rationales"] as? Int == 5 && obj["users"] as? Int == 3)

        let filtered = try CLI.run("rec-data", ["rationales-filter"] + base + ["--reasoner", "imported:smol"])
        #expect(filtered.status == 0, "\(filtered.stderr)")
        #expect(filtered.stdout.contains("kept 2 of 5 rationales (dropped 3); 2 of 3 users keep at least one"), "\(filtered.stdout)")
        let after = try CLI.run("rec-data", ["rationales-show"] + base + ["--reasoner", "imported:smol-quality", "--quality"])
        #expect(after.stdout.contains("ok") && after.stdout.split(separator: "\n").contains { $0.hasPrefix("rationales ") && $0.hasSuffix(" 2") })
        let kept = try CLI.run("rec-data", ["rationales-show"] + base + ["--reasoner", "imported:smol-quality"])
        #expect(kept.stdout.contains("prefers lightweight tents") && kept.stdout.contains("values durable gear"))
        #expect(!kept.stdout.contains("question") && !kept.stdout.contains(title))
    }
}
