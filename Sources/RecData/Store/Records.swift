import Foundation

/// The range of a dataset's ratings and the value at or above which a rating counts as "liked".
public struct RatingScale: Codable, Sendable, Hashable, CustomStringConvertible {
    public var min: Double
    public var max: Double
    /// Ratings `>= likeThreshold` are positives ("highly rated"). Evaluated on training ratings only.
    public var likeThreshold: Double

    public init(min: Double, max: Double, likeThreshold: Double? = nil) {
        self.min = min
        self.max = max
        self.likeThreshold = likeThreshold ?? RatingScale.defaultThreshold(min: min, max: max)
    }

    /// The scale-aware default: three quarters of the way up the scale, rounded up to the scale's
    /// step (whole points when both ends are whole, else half points). 1–5 and 0.5–5 give 4; 1–10
    /// gives 8; 0–1 gives 1 (implicit feedback: every interaction is a positive).
    public static func defaultThreshold(min: Double, max: Double) -> Double {
        let raw = min + 0.75 * (max - min)
        let whole = min == min.rounded() && max == max.rounded()
        let step = whole ? 1.0 : 0.5
        return Swift.min((raw / step).rounded(.up) * step, max)
    }

    public func contains(_ v: Double) -> Bool { v >= min && v <= max }

    public var description: String {
        "\(RatingScale.fmt(min))–\(RatingScale.fmt(max)) (liked ≥ \(RatingScale.fmt(likeThreshold)))"
    }

    static func fmt(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

    /// Parses "MIN:MAX" (as given on the command line).
    public init?(parsing text: String, likeThreshold: Double? = nil) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), a < b else { return nil }
        self.init(min: a, max: b, likeThreshold: likeThreshold)
    }
}

/// A dataset as stored: one named import of users, items and ratings.
public struct DatasetInfo: Codable, Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var format: String
    public var source: String
    public var scale: RatingScale
    public var itemTextTemplate: String
    public var createdAt: String

    public init(id: Int64, name: String, format: String, source: String, scale: RatingScale, itemTextTemplate: String, createdAt: String) {
        self.id = id
        self.name = name
        self.format = format
        self.source = source
        self.scale = scale
        self.itemTextTemplate = itemTextTemplate
        self.createdAt = createdAt
    }
}

/// An item's fields as importers produce them. `text` (the ELLM "caption") is composed from these
/// by an `ItemTextTemplate` when the item is written.
public struct ItemFields: Sendable, Hashable, Codable {
    public var externalID: String
    public var title: String = ""
    public var description: String = ""
    /// Genres or tags, in source order.
    public var genres: [String] = []
    /// Category path or set (Amazon main category first), in source order.
    public var categories: [String] = []
    public var year: Int?
    public var price: Double?
    /// Any further named fields (brand, director, details...), kept as strings.
    public var attributes: [String: String] = [:]

    public init(externalID: String, title: String = "", description: String = "", genres: [String] = [],
                categories: [String] = [], year: Int? = nil, price: Double? = nil, attributes: [String: String] = [:]) {
        self.externalID = externalID
        self.title = title
        self.description = description
        self.genres = genres
        self.categories = categories
        self.year = year
        self.price = price
        self.attributes = attributes
    }
}

/// An item as read back from the store.
public struct StoredItem: Sendable, Hashable {
    public var id: Int64
    public var fields: ItemFields
    /// The composed description used as the item's caption.
    public var text: String
}

/// One rating as read back from the store.
public struct StoredRating: Sendable, Hashable {
    public var userID: Int64
    public var itemID: Int64
    public var value: Double
    public var timestamp: Int64
}

/// Which part of a split a rating belongs to.
public enum SplitPart: Int, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case train = 0, valid = 1, test = 2
    public var description: String { ["train", "valid", "test"][rawValue] }
}
