import Foundation
import RecAgents
import RecData
import RecKit

/// A small synthetic world in a temporary database, split 80/10/10 at random, embedded with the
/// hashing encoder, with the true preference statements as rationales.
func tinyWorld(users: Int = 80, items: Int = 120, ratings: ClosedRange<Int> = 20...40, seed: UInt64 = 1,
               rationales: Bool = true) throws -> AgentDataset {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try RatingStore(path: dir.appendingPathComponent("w.sqlite").path)
    var c = SyntheticWorld.Configuration()
    c.users = users
    c.items = items
    c.ratingsPerUser = ratings
    c.seed = seed
    try store.importDataset(try SyntheticWorld(c), options: ImportOptions(datasetName: "w"))
    try store.createSplit(dataset: "w", splitName: "random", method: .randomRatio(train: 0.8, valid: 0.1, test: 0.1), seed: 1)
    let info = try store.dataset(named: "w")
    var rats: [Int64: [String]] = [:]
    if rationales { for u in try store.users(dataset: info) { if let p = u.preference { rats[u.id] = [p] } } }
    return try AgentDataset.load(store: store, dataset: "w", split: "random", encoder: HashingEncoder(dimension: 64),
                                 rationales: rats, allowEncoding: true, showProgress: false)
}

/// A small, fast agent configuration for tests.
func tinyConfiguration(method: String = "dqn-extrinsic", seed: UInt64 = 1, pretrain: Int = 0, finetune: Int = 2000,
                       reward: String? = nil) -> RunConfiguration {
    var c = RunConfiguration(method: method, dataset: "w", split: "random", seed: seed)
    c.dqn.episodeLength = 5
    c.dqn.historyLength = 5
    c.dqn.stateHidden = [32]
    c.dqn.towerWidth = 16
    c.dqn.batchSize = 32
    c.dqn.learningStarts = 200
    c.dqn.targetUpdateInterval = 200
    c.dqn.replayCapacity = 5000
    c.evaluationUsers = 20
    c.checkpointEvery = 0
    c.logEvery = 250
    c.phases = RunConfiguration.protocolPhases(reward: reward, pretrainSteps: pretrain, finetuneSteps: finetune)
    return c
}

func temporaryDirectory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("rl-run-\(UUID().uuidString)")
}
