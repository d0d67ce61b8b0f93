// bench-dqn: gradient updates/s and environment steps/s of the default DQN agent on a catalog of
// ml-100k's size (1,682 items, 384-d embeddings, 943 users), and in the same run the PyTorch
// peer (Notebooks-as-Scripts/bench_dqn_peer.py) doing the same update. Release build:
//   swift build -c release --product bench-dqn && .build/release/bench-dqn --peer-python .venv-peer/bin/python
import Foundation
import RecAgents
import RecData
import RecKit
import RecNN
import RecNumerics

BLASRuntime.reexecWithOptimalCoreIfNeeded()

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, in arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let threads = Int(option("--threads") ?? "2") ?? 2
let updatesToTime = Int(option("--updates") ?? "300") ?? 300
let rounds = max(1, Int(option("--rounds") ?? "5") ?? 5)
let stepsToTime = Int(option("--steps") ?? "5000") ?? 5000
let peerPython = option("--peer-python")
let items = Int(option("--items") ?? "1682") ?? 1682
let dim = 384, userCount = 943
BLASRuntime.setThreads(threads)

// A synthetic dataset of ml-100k's shape: random unit embeddings, ~60 training ratings per user.
var g = SeededGenerator(seed: 1)
let embeddings = Matrix(rows: items, cols: dim, storage: (0..<(items * dim)).map { _ in Float(g.nextGaussian()) })
var users: [AgentUser] = []
for u in 0..<userCount {
    var history: [Int] = []
    var seen = Set<Int>()
    while history.count < 60 { let i = g.nextIndex(items); if seen.insert(i).inserted { history.append(i) } }
    var ratings: [Int: Double] = [:]
    for i in history { ratings[i] = Double(1 + g.nextIndex(5)) }
    users.append(AgentUser(id: Int64(u + 1), history: history, trainRatings: ratings, heldOut: [:], test: [:]))
}
let dataset = AgentDataset(name: "bench", split: "bench", scale: RatingScale(min: 1, max: 5), itemIDs: (0..<items).map { Int64($0 + 1) },
                           itemTexts: (0..<items).map { "item \($0)" }, itemFields: (0..<items).map { ItemFields(externalID: "i\($0)") },
                           embeddings: embeddings, popularity: [Int](repeating: 1, count: items), users: users, tastes: [:],
                           rationales: [[String]](repeating: [], count: userCount), rationaleEmbeddings: nil, encoderID: "random")
var mf = MatrixFactorization.Configuration()
mf.epochs = 2
let simulator = UserSimulator(dataset: dataset, mf: mf, seed: 1)
let configuration = DQNConfiguration()
var agent = try DQNAgent(dataset: dataset, configuration: configuration, seed: 1)
var env = try RecommendationEnvironment(simulator: simulator, episodeLength: configuration.episodeLength, historyLength: configuration.historyLength)
var reward: any AgentReward = ExtrinsicReward(simulator: simulator)

func now() -> Double { var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts); return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9 }

print("bench-dqn: \(items) items × \(dim)-d, state \(2 * dim + 1) → \(configuration.stateHidden) → \(configuration.towerWidth), item tower linear, batch \(configuration.batchSize), BLAS \(BLASRuntime.coreName), \(threads) threads")

// Fill the buffer with random-policy sessions (no learning), then time greedy environment steps:
// each step scores the whole catalog (state tower + one GEMV against the cached item tower).
var phaseStep = 0
var fillAgent = agent
var noLearning = configuration
noLearning.learningStarts = Int.max / 2
while fillAgent.replay.count < 10_000 {
    _ = try fillAgent.runEpisode(environment: &env, user: g.nextIndex(userCount), reward: &reward, epsilon: { _ in 1 }, phaseStep: &phaseStep)
}
agent = fillAgent
var greedy = try DQNAgent(dataset: dataset, configuration: noLearning, seed: 2)
var t0 = now()
var steps = 0
phaseStep = 0
while steps < stepsToTime {
    _ = try greedy.runEpisode(environment: &env, user: g.nextIndex(userCount), reward: &reward, epsilon: { _ in 0 }, phaseStep: &phaseStep)
    steps += configuration.episodeLength
}
let envRate = Double(steps) / (now() - t0)

// Gradient updates: sample, rebuild states, double-DQN targets over the masked catalog, Huber, clip,
// Adam. This VM's speed drifts by up to 2× within a minute (a neighbour on the host), so the
// updates are timed in rounds that alternate with the peer's, and the report compares medians:
// both sides then see the same machine.
func runPeer(updates: Int) -> (rate: Double, torch: String)? {
    guard let python = peerPython else { return nil }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Notebooks-as-Scripts/bench_dqn_peer.py").standardized.path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [script, "--items", String(items), "--dim", String(dim), "--hidden", configuration.stateHidden.map(String.init).joined(separator: ","),
                   "--tower", String(configuration.towerWidth), "--batch", String(configuration.batchSize), "--threads", String(threads),
                   "--updates", String(updates)]
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { print("peer not installed (\(python): \(error))"); return nil }
    p.waitUntilExit()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard let line = text.split(separator: "\n").last, let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          obj["peer"] as? String != "not installed", let rate = obj["updates_per_s"] as? Double else {
        print("peer not installed (no torch for \(python))"); return nil
    }
    return (rate, obj["torch"] as? String ?? "?")
}
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

for _ in 0..<20 { agent.update() }
var lossBits: UInt64 = 0
var swiftRates: [Double] = [], peerRates: [Double] = []
var torchVersion = ""
var peerAvailable = peerPython != nil
for round in 0..<rounds {
    t0 = now()
    for _ in 0..<updatesToTime { lossBits = lossBits &* 31 &+ agent.update().bitPattern }
    swiftRates.append(Double(updatesToTime) / (now() - t0))
    var line = String(format: "round %d: swift %.0f updates/s", round + 1, swiftRates.last!)
    if peerAvailable, let peer = runPeer(updates: updatesToTime) {
        peerRates.append(peer.rate)
        torchVersion = peer.torch
        line += String(format: ", pytorch %.0f updates/s", peer.rate)
    } else {
        peerAvailable = false
    }
    print(line)
}
// A fingerprint of what the updates computed (every loss and the final weights, bit for bit):
// a speed change that keeps it unchanged did not change the maths. Same seed and BLAS threads ⇒
// same line.
let weightBits = agent.online.values.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1.bitPattern) }
print(String(format: "fingerprint: losses %016llx, weights %016llx", lossBits, weightBits))
let updateRate = median(swiftRates)

// Training throughput with the default schedule: one update every `trainFrequency` steps.
var trainer = agent
t0 = now()
steps = 0
phaseStep = configuration.learningStarts
while steps < 2000 {
    _ = try trainer.runEpisode(environment: &env, user: g.nextIndex(userCount), reward: &reward, epsilon: { _ in 0.1 }, phaseStep: &phaseStep)
    steps += configuration.episodeLength
}
let trainRate = Double(steps) / (now() - t0)

print(String(format: "swift: %.0f updates/s median of %d rounds (%.2f ms/update; best %.0f), %.0f environment steps/s (greedy, full-catalog scoring), %.0f training steps/s (1 update per %d steps)",
             updateRate, rounds, 1000 / updateRate, swiftRates.max() ?? .nan, envRate, trainRate, configuration.trainFrequency))
guard peerPython != nil else { print("peer: not run (pass --peer-python PATH)"); exit(0) }
guard peerAvailable, !peerRates.isEmpty else { exit(0) }
let peerRate = median(peerRates)
let ratios = zip(swiftRates, peerRates).map { $0 / $1 }
print(String(format: "pytorch %@: %.0f updates/s median of %d rounds (%.2f ms/update; best %.0f), %d threads", torchVersion, peerRate, peerRates.count,
             1000 / peerRate, peerRates.max() ?? .nan, threads))
print(String(format: "speed-up: %.2fx the PyTorch updates/s (median of per-round ratios; ratio of medians %.2fx, of bests %.2fx; target ≥ 3x)",
             median(ratios), updateRate / peerRate, (swiftRates.max() ?? .nan) / (peerRates.max() ?? .nan)))
