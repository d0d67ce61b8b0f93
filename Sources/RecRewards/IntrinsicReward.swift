/// A reward an agent earns from what it recommends. Despite the name, the protocol is behind every
/// reward, intrinsic or not: the DQN recommender and the simulator talk through it to ELLM's
/// rationale reward, count-based novelty, RND, weighted sums, and also the extrinsic reward (the
/// simulated rating, `ExtrinsicReward` in RecAgents), which is the one that uses the rating.
public protocol IntrinsicReward: Sendable {
    /// Short name used in configurations and reports ("ellm", "count-novelty", "rnd", ...).
    var name: String { get }
    /// Starts an episode for a user (clears per-episode state such as achieved goals).
    mutating func beginEpisode(user: Int64)
    /// The reward for showing catalog item `item` at this step of the episode.
    mutating func reward(for item: Int) -> Double
}
