import Foundation
import GRDB
import LoopbackHTTP
import RecData
import RecKit
@testable import RecReasoning

/// A fresh store with a small synthetic world and a leave-last-out split.
func makeWorld(users: Int = 30, items: Int = 80, seed: UInt64 = 1, ratings: ClosedRange<Int> = 15...30,
               split: SplitMethod = .leaveLastOut(valid: 1, test: 2, minTrain: 3)) throws -> (RatingStore, URL) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recreason-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let store = try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path)
    var c = SyntheticWorld.Configuration()
    c.seed = seed; c.users = users; c.items = items; c.ratingsPerUser = ratings
    var o = ImportOptions(datasetName: "synth")
    o.showProgress = false
    _ = try store.importDataset(try SyntheticWorld(c), options: o)
    try store.createSplit(dataset: "synth", splitName: "llo", method: split, seed: 1)
    return (store, dir)
}

/// An OpenAI chat-completions answer body.
func chatAnswer(_ content: String, promptTokens: Int = 50, completionTokens: Int = 10,
                logprobs: [[String: Any]]? = nil) -> LoopbackServer.Response {
    var choice: [String: Any] = ["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]
    if let logprobs { choice["logprobs"] = ["content": logprobs] }
    return .json(["id": "x", "object": "chat.completion", "model": "test", "choices": [choice],
                  "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                            "total_tokens": promptTokens + completionTokens]])
}

/// Top log-probabilities for a first answer token.
func firstTokenLogprobs(_ pairs: [(String, Double)]) -> [[String: Any]] {
    [["token": pairs[0].0, "logprob": pairs[0].1,
      "top_logprobs": pairs.map { ["token": $0.0, "logprob": $0.1] }]]
}

/// A configuration for tests: fast retries, and a timeout no busy CI host reaches (a retry after a
/// timeout would change the request counts that tests assert).
func testConfig(_ server: LoopbackServer, mode: ReasoningMode = .open, attempts: Int = 3, timeout: Double = 30) -> OpenAIChatReasoner.Configuration {
    var c = OpenAIChatReasoner.Configuration(baseURL: server.baseURL.appendingPathComponent("v1"), model: "test-model")
    c.mode = mode
    c.k = 3
    c.timeout = timeout
    c.retry = RetryPolicy(maxAttempts: attempts, initialBackoff: 0.01, maxBackoff: 0.05)
    return c
}

func rowCount(_ store: RatingStore, _ table: String) throws -> Int {
    try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
}

func quietOptions(_ split: String = "llo") -> RationaleGenerator.Options {
    var o = RationaleGenerator.Options(dataset: "synth", split: split)
    o.showProgress = false
    return o
}

/// A profile with given texts, for prompt and parser tests without a store.
func profile(_ texts: [String], userID: Int64 = 1) -> UserProfile {
    let items = texts.enumerated().map { i, t in
        ProfileItem(itemID: Int64(i + 1), externalID: "i\(i + 1)", fields: ItemFields(externalID: "i\(i + 1)", title: t),
                    text: t, rating: 5, timestamp: Int64(100 - i))
    }
    return UserProfile(userID: userID, externalID: "u\(userID)", liked: items, disliked: [], likedTotal: items.count,
                       scale: RatingScale(min: 1, max: 5))
}
