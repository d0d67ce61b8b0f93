/// A reward an agent earns from what it recommends, computed without (or besides) the user's
/// rating. The DQN recommender and the simulator talk to every reward through this protocol:
/// ELLM's rationale reward, novelty counts, RND, the extrinsic rating and weighted sums.
public protocol IntrinsicReward: Sendable {
    /// Short name used in configurations and reports ("ellm", "novelty", "rnd", ...).
    var name: String { get }
    /// Starts an episode for a user (clears per-episode state such as achieved goals).
    mutating func beginEpisode(user: Int64)
    /// The reward for showing catalog item `item` at this step of the episode.
    mutating func reward(for item: Int) -> Double
}
