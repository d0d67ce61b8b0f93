import Foundation
import RecData
import RecKit

/// An item in a user's profile.
public struct ProfileItem: Sendable, Hashable {
    public var itemID: Int64
    public var externalID: String
    public var fields: ItemFields
    /// The item's composed caption (the text rewards later compare rationales with).
    public var text: String
    public var rating: Double
    public var timestamp: Int64
}

/// What a reasoner may know about a user: training-split ratings only.
public struct UserProfile: Sendable, Hashable {
    public var userID: Int64
    public var externalID: String
    /// Liked training items (rating ≥ the dataset's like threshold), most recent first, then
    /// highest rated, then item id; capped at `ProfileOptions.maxLiked`.
    public var liked: [ProfileItem]
    /// Disliked training items (rating ≤ the dislike threshold), same order, when requested.
    public var disliked: [ProfileItem]
    /// Liked training items before the cap.
    public var likedTotal: Int
    public var scale: RatingScale
}

/// How profiles are cut: caps and thresholds. Part of a run's prompt hash, since it changes what
/// a reasoner reads.
public struct ProfileOptions: Sendable, Hashable, Codable {
    public var maxLiked: Int
    public var includeDisliked: Bool
    public var maxDisliked: Int
    /// Ratings at or below this are dislikes; default: a quarter of the way up the scale, rounded
    /// down (2 on 1–5, 3 on 1–10).
    public var dislikeThreshold: Double?

    public init(maxLiked: Int = 20, includeDisliked: Bool = false, maxDisliked: Int = 5, dislikeThreshold: Double? = nil) {
        self.maxLiked = max(1, maxLiked)
        self.includeDisliked = includeDisliked
        self.maxDisliked = max(0, maxDisliked)
        self.dislikeThreshold = dislikeThreshold
    }

    public func dislikeThreshold(for scale: RatingScale) -> Double {
        if let dislikeThreshold { return dislikeThreshold }
        let raw = scale.min + 0.25 * (scale.max - scale.min)
        return Swift.max(scale.min, raw.rounded(.down))
    }

    /// A stable one-line rendering for hashing.
    public var canonical: String {
        "maxLiked=\(maxLiked);disliked=\(includeDisliked ? maxDisliked : 0);dislikeThreshold=\(dislikeThreshold.map { String($0) } ?? "auto")"
    }
}

/// Builds user profiles from the training part of a named split.
///
/// Only `part = train` ratings are read (one query through `RatingStore.ratings(dataset:split:part:)`),
/// so validation and test items cannot leak into rationales and, through them, into rewards.
public struct ProfileBuilder: Sendable {
    public let dataset: DatasetInfo
    public let split: String
    public let options: ProfileOptions
    /// The catalog, by internal id (aspect statistics and candidate phrases need all of it).
    public let items: [Int64: StoredItem]
    public let catalog: [StoredItem]
    public let users: [(id: Int64, externalID: String)]
    private let training: [Int64: [StoredRating]]

    public init(store: RatingStore, dataset: String, split: String, options: ProfileOptions = ProfileOptions()) throws {
        let d = try store.dataset(named: dataset)
        self.dataset = d
        self.split = split
        self.options = options
        let catalog = try store.items(dataset: d)
        self.catalog = catalog
        self.items = Dictionary(uniqueKeysWithValues: catalog.map { ($0.id, $0) })
        self.users = try store.users(dataset: d).map { ($0.id, $0.externalID) }
        var byUser: [Int64: [StoredRating]] = [:]
        for r in try store.ratings(dataset: d, split: split, part: .train) { byUser[r.userID, default: []].append(r) }
        self.training = byUser
    }

    /// The profile of one user (empty lists when the user has no training ratings).
    public func profile(userID: Int64, externalID: String) -> UserProfile {
        let rs = training[userID] ?? []
        // Most recent first, then highest rated, then item id: deterministic under timestamp ties.
        func order(_ a: StoredRating, _ b: StoredRating) -> Bool {
            if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
            if a.value != b.value { return a.value > b.value }
            return a.itemID < b.itemID
        }
        let threshold = dataset.scale.likeThreshold
        let likedRatings = rs.filter { $0.value >= threshold }.sorted(by: order)
        let low = options.dislikeThreshold(for: dataset.scale)
        let dislikedRatings = options.includeDisliked
            ? Array(rs.filter { $0.value <= low && $0.value < threshold }.sorted(by: order).prefix(options.maxDisliked)) : []
        func item(_ r: StoredRating) -> ProfileItem? {
            guard let it = items[r.itemID] else { return nil }
            return ProfileItem(itemID: it.id, externalID: it.fields.externalID, fields: it.fields, text: it.text,
                               rating: r.value, timestamp: r.timestamp)
        }
        return UserProfile(userID: userID, externalID: externalID,
                           liked: likedRatings.prefix(options.maxLiked).compactMap(item),
                           disliked: dislikedRatings.compactMap(item),
                           likedTotal: likedRatings.count, scale: dataset.scale)
    }

    /// Profiles of every user of the dataset, in user id order.
    public func profiles() -> [UserProfile] {
        users.map { profile(userID: $0.id, externalID: $0.externalID) }
    }
}
