import RecData
import RecKit

/// Answers "what would user u rate item i": the user's held-out rating where one exists, else the
/// fitted biased MF model (clamped to the scale); on a synthetic world the true preference model
/// answers for every item (its expected rating, or a noisy draw when `syntheticNoise` is on).
///
/// `rating(user:item:)` is a pure function of (seed, user, item): noise comes from a generator
/// forked per pair, so rewards computed from ratings need no state and replays are exact.
public struct UserSimulator: Sendable {
    public private(set) var dataset: AgentDataset
    public let model: MatrixFactorization
    /// MF RMSE on the test ratings (clamped to the scale).
    public let heldOutRMSE: Double
    /// Standard deviation of those test ratings (what RMSE should be well below).
    public let heldOutSD: Double
    public let syntheticNoise: Bool
    /// The simulator's own seed: the MF fit and the synthetic-noise draws flow from it.
    public let seed: UInt64
    let noiseRoot: SeededGenerator

    public init(dataset: AgentDataset, mf: MatrixFactorization.Configuration = .init(), syntheticNoise: Bool = false, seed: UInt64) {
        self.dataset = dataset
        var train: [(user: Int, item: Int, rating: Double)] = []
        var test: [(user: Int, item: Int, rating: Double)] = []
        for (u, user) in dataset.users.enumerated() {
            for (i, r) in user.trainRatings.sorted(by: { $0.key < $1.key }) { train.append((u, i, r)) }
            for (i, r) in user.test.sorted(by: { $0.key < $1.key }) { test.append((u, i, r)) }
        }
        model = MatrixFactorization(ratings: train, users: dataset.users.count, items: dataset.itemCount, configuration: mf, seed: seed)
        heldOutRMSE = model.rmse(test, clampedTo: dataset.scale.min...dataset.scale.max)
        let m = test.isEmpty ? 0 : test.reduce(0) { $0 + $1.rating } / Double(test.count)
        heldOutSD = test.count < 2 ? .nan : (test.reduce(0) { $0 + ($1.rating - m) * ($1.rating - m) } / Double(test.count - 1)).squareRoot()
        self.syntheticNoise = syntheticNoise
        self.seed = seed
        noiseRoot = SeededGenerator(seed: seed).fork("simulator-noise")
    }

    /// The same simulator without some held-out ratings among its answers (the MF model, fitted
    /// on training ratings, answers there instead). Training runs on it when the users the agent
    /// trains on are also the users its ranking is scored on (`--eval-users all`), so no scored
    /// rating reaches a reward, the replay buffer or an action mask; a run scored on the
    /// validation part hides the test part everywhere, so tuning never reads a test rating.
    /// `test` stays (the evaluator reads relevance from the unhidden simulator's dataset).
    public func hidingHeldOutRatings(test hideTest: Bool, validation hideValidation: Bool) -> UserSimulator {
        var copy = self
        for (u, user) in dataset.users.enumerated() {
            let hidden = (hideTest ? Array(user.test.keys) : []) + (hideValidation ? Array(user.validation.keys) : [])
            for i in hidden { copy.dataset.users[u].heldOut[i] = nil }
        }
        return copy
    }

    /// Where an answer comes from.
    public enum Source: String, Sendable { case heldOut, model, truth }

    public func source(user u: Int, item i: Int) -> Source {
        if dataset.tastes[u] != nil { return .truth }
        return dataset.users[u].heldOut[i] != nil ? .heldOut : .model
    }

    /// The simulated rating of item `i` by user `u`, on the dataset's scale.
    public func rating(user u: Int, item i: Int) -> Double {
        if let taste = dataset.tastes[u] {
            if syntheticNoise {
                var g = noiseRoot.fork("\(u):\(i)")
                return taste.sampleRating(of: dataset.itemFields[i], using: &g)
            }
            return taste.expectedRating(of: dataset.itemFields[i])
        }
        if let r = dataset.users[u].heldOut[i] { return r }
        return min(dataset.scale.max, max(dataset.scale.min, model.predict(user: u, item: i)))
    }

    public func liked(_ rating: Double) -> Bool { rating >= dataset.scale.likeThreshold }

    /// Items whose rating is known (held-out) for a user: the observed-only action set.
    public func observedItems(user u: Int) -> [Int] { dataset.users[u].heldOut.keys.sorted() }
}

/// A recommendation session: T steps for one user, starting from their training history.
///
/// State = the last `historyLength` consumed items (liked recommendations join the history);
/// items already consumed or recommended are masked; in observed-only mode only items with a
/// known rating are actions.
public struct RecommendationEnvironment: Sendable {
    public let simulator: UserSimulator
    public let episodeLength: Int
    public let historyLength: Int
    public let observedOnly: Bool

    public private(set) var user = 0
    public private(set) var step = 0
    /// Consumed items, oldest first (training history, then liked recommendations).
    public private(set) var history: [Int] = []
    public private(set) var recommended: [Int] = []
    /// `true` where an item may be recommended now.
    public private(set) var allowed: [Bool] = []
    public private(set) var allowedCount = 0

    public init(simulator: UserSimulator, episodeLength: Int, historyLength: Int, observedOnly: Bool = false) throws {
        let n = simulator.dataset.itemCount
        guard episodeLength >= 1 else { throw AgentError.impossible("episode length T must be ≥ 1 (got \(episodeLength))") }
        guard historyLength >= 1 else { throw AgentError.impossible("history length N must be ≥ 1 (got \(historyLength))") }
        guard episodeLength <= n else {
            throw AgentError.impossible("episode length T = \(episodeLength) is larger than the catalog (\(n) items)")
        }
        self.simulator = simulator
        self.episodeLength = episodeLength
        self.historyLength = historyLength
        self.observedOnly = observedOnly
    }

    /// Actions available to a user at the start of a session.
    public func initialActionCount(user u: Int) -> Int {
        let seen = Set(simulator.dataset.users[u].history)
        if observedOnly { return simulator.observedItems(user: u).filter { !seen.contains($0) }.count }
        return simulator.dataset.itemCount - seen.count
    }

    /// Users who can play a full session (enough actions for T steps).
    public func playableUsers(_ candidates: [Int]) -> [Int] { candidates.filter { initialActionCount(user: $0) >= episodeLength } }

    /// Starts a session for user `u`.
    public mutating func reset(user u: Int) throws {
        let n = simulator.dataset.itemCount
        user = u
        step = 0
        history = simulator.dataset.users[u].history
        recommended = []
        if observedOnly {
            allowed = [Bool](repeating: false, count: n)
            for i in simulator.observedItems(user: u) { allowed[i] = true }
        } else {
            allowed = [Bool](repeating: true, count: n)
        }
        for i in history { allowed[i] = false }
        allowedCount = allowed.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard allowedCount >= episodeLength else {
            throw AgentError.emptyActionSet("user \(simulator.dataset.users[u].id) has \(allowedCount) recommendable items\(observedOnly ? " with a known rating" : ""), fewer than T = \(episodeLength)")
        }
    }

    /// The last N consumed items, oldest first, padded with −1 at the front.
    public var recentHistory: [Int32] {
        let tail = history.suffix(historyLength).map { Int32($0) }
        return [Int32](repeating: -1, count: historyLength - tail.count) + tail
    }

    public var done: Bool { step >= episodeLength }

    /// Recommends item `i`: returns the simulated rating; a liked item joins the history.
    public mutating func recommend(_ i: Int) -> (rating: Double, liked: Bool) {
        precondition(!done, "episode already finished")
        precondition(allowed[i], "item \(i) is masked (already consumed or recommended, or not observed)")
        let r = simulator.rating(user: user, item: i)
        let liked = simulator.liked(r)
        allowed[i] = false
        allowedCount -= 1
        recommended.append(i)
        if liked { history.append(i) }
        step += 1
        return (r, liked)
    }
}
