import Foundation
import GRDB

/// Five-number-style summary of a count distribution.
public struct CountSummary: Sendable, Codable, Hashable {
    public var min: Int
    public var median: Double
    public var mean: Double
    public var max: Int

    init(_ values: [Int]) {
        guard !values.isEmpty else { self.init(min: 0, median: 0, mean: 0, max: 0); return }
        let s = values.sorted()
        let mid = s.count / 2
        self.init(min: s[0], median: s.count % 2 == 1 ? Double(s[mid]) : Double(s[mid - 1] + s[mid]) / 2,
                  mean: Double(s.reduce(0, +)) / Double(s.count), max: s[s.count - 1])
    }

    init(min: Int, median: Double, mean: Double, max: Int) {
        self.min = min; self.median = median; self.mean = mean; self.max = max
    }
}

/// What `rec-data stats` reports about a dataset (and, optionally, one of its splits).
public struct DatasetStats: Sendable, Codable {
    public var dataset: String
    public var users: Int
    public var items: Int
    public var ratings: Int
    /// ratings / (users × items).
    public var density: Double
    public var scale: RatingScale
    /// Count of ratings per distinct value, ascending by value.
    public var histogram: [HistogramBin]
    public var meanRating: Double
    public var ratingsPerUser: CountSummary
    public var ratingsPerItem: CountSummary
    /// Positives (ratings ≥ like threshold) per user: on the training part when a split is given.
    public var positivesPerUser: CountSummary
    public var positivesCountedOn: String
    /// Users with no positive at all on the part counted: rationales cannot be written for them.
    public var usersWithoutPositives: Int
    /// Users with fewer than `coldThreshold` ratings (training ratings when a split is given).
    public var coldUsers: Int
    public var coldItems: Int
    public var coldThreshold: Int
    public var itemsWithText: Int
    public var split: SplitSummary?

    public struct HistogramBin: Sendable, Codable, Hashable {
        public var value: Double
        public var count: Int
    }
}

extension RatingStore {
    /// Computes the statistics of a dataset; with `split`, positives and cold users are counted on
    /// its training part only.
    public func stats(dataset name: String, split: String? = nil, coldThreshold: Int = 5) throws -> DatasetStats {
        try pool.read { db in
            let d = try RatingStore.dataset(named: name, db)
            let users = try Int.fetchOne(db, sql: "SELECT count(*) FROM user WHERE dataset_id = ?", arguments: [d.id]) ?? 0
            let items = try Int.fetchOne(db, sql: "SELECT count(*) FROM item WHERE dataset_id = ?", arguments: [d.id]) ?? 0
            let withText = try Int.fetchOne(db, sql: "SELECT count(*) FROM item WHERE dataset_id = ? AND text <> ''", arguments: [d.id]) ?? 0
            let ratings = try Int.fetchOne(db, sql: "SELECT count(*) FROM rating WHERE dataset_id = ?", arguments: [d.id]) ?? 0
            let hist = try Row.fetchAll(db, sql: "SELECT value, count(*) FROM rating WHERE dataset_id = ? GROUP BY value ORDER BY value", arguments: [d.id])
                .map { DatasetStats.HistogramBin(value: $0[0], count: $0[1]) }
            let mean = try Double.fetchOne(db, sql: "SELECT avg(value) FROM rating WHERE dataset_id = ?", arguments: [d.id]) ?? 0
            // Grouped over the rating table alone (its key order), then the unrated items as zeros:
            // a join from item would need an index on rating(item_id) that nothing else uses.
            var perItem = try Int.fetchAll(db, sql: "SELECT count(*) FROM rating WHERE dataset_id = ? GROUP BY item_id", arguments: [d.id])
            perItem += [Int](repeating: 0, count: max(0, items - perItem.count))

            var splitSummary: SplitSummary?
            var partFilter = ""
            let args: StatementArguments = [d.likeThresholdValue, d.id]
            if let split {
                let sid = try RatingStore.splitID(dataset: d, name: split, db)
                partFilter = "JOIN split_assignment a ON a.split_id = \(sid) AND a.user_id = r.user_id AND a.item_id = r.item_id AND a.part = 0"
                let row = try Row.fetchOne(db, sql: """
                    SELECT s.method, s.seed, sum(a.part = 0), sum(a.part = 1), sum(a.part = 2),
                           (SELECT count(DISTINCT a2.user_id) FROM split_assignment a2 WHERE a2.split_id = s.id AND a2.part = 2)
                    FROM split s JOIN split_assignment a ON a.split_id = s.id WHERE s.id = ?
                    """, arguments: [sid])!
                splitSummary = SplitSummary(name: split, method: row[0], seed: UInt64(bitPattern: row[1]),
                                            train: row[2] ?? 0, valid: row[3] ?? 0, test: row[4] ?? 0, testUsers: row[5] ?? 0)
            }
            let perUser = try Row.fetchAll(db, sql: """
                SELECT r.user_id, count(*), coalesce(sum(r.value >= ?), 0) FROM rating r \(partFilter)
                WHERE r.dataset_id = ? GROUP BY r.user_id
                """, arguments: args)
            // Users with no (training) ratings count as zeros.
            let unrated = [Int](repeating: 0, count: max(0, users - perUser.count))
            let counts = perUser.map { $0[1] as Int } + unrated
            let positives = perUser.map { $0[2] as Int } + unrated
            return DatasetStats(
                dataset: d.name, users: users, items: items, ratings: ratings,
                density: users > 0 && items > 0 ? Double(ratings) / (Double(users) * Double(items)) : 0,
                scale: d.scale, histogram: hist, meanRating: mean,
                ratingsPerUser: CountSummary(counts), ratingsPerItem: CountSummary(perItem),
                positivesPerUser: CountSummary(positives),
                positivesCountedOn: split.map { "training part of split '\($0)'" } ?? "all ratings (no split given)",
                usersWithoutPositives: positives.filter { $0 == 0 }.count,
                coldUsers: counts.filter { $0 < coldThreshold }.count,
                coldItems: perItem.filter { $0 < coldThreshold }.count,
                coldThreshold: coldThreshold, itemsWithText: withText, split: splitSummary)
        }
    }
}

extension DatasetInfo {
    var likeThresholdValue: Double { scale.likeThreshold }
}

extension DatasetStats: CustomStringConvertible {
    /// A terminal rendering with a text histogram.
    public var description: String {
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        var s = """
        dataset \(dataset)
          users            \(users)
          items            \(items) (\(itemsWithText) with text)
          ratings          \(ratings)
          density          \(String(format: "%.4f%%", density * 100))
          scale            \(scale)
          mean rating      \(f(meanRating))
          ratings / user   min \(ratingsPerUser.min), median \(f(ratingsPerUser.median)), mean \(f(ratingsPerUser.mean)), max \(ratingsPerUser.max)
          ratings / item   min \(ratingsPerItem.min), median \(f(ratingsPerItem.median)), mean \(f(ratingsPerItem.mean)), max \(ratingsPerItem.max)
          positives / user min \(positivesPerUser.min), median \(f(positivesPerUser.median)), mean \(f(positivesPerUser.mean)), max \(positivesPerUser.max)  [\(positivesCountedOn)]
          users without positives \(usersWithoutPositives)
          cold users (< \(coldThreshold) ratings) \(coldUsers)
          cold items (< \(coldThreshold) ratings) \(coldItems)

        """
        if let split { s += "  \(split)\n\n" }
        s += "rating histogram\n"
        let maxCount = histogram.map(\.count).max() ?? 1
        let labels = histogram.map { RatingScale.fmt($0.value) }
        let width = labels.map(\.count).max() ?? 1
        for (bin, label) in zip(histogram, labels) {
            let bar = String(repeating: "█", count: max(1, Int((Double(bin.count) / Double(maxCount) * 50).rounded())))
            let pct = ratings > 0 ? Double(bin.count) / Double(ratings) * 100 : 0
            s += "  " + String(repeating: " ", count: width - label.count) + label + " │" + bar + " \(bin.count) (\(String(format: "%.1f", pct))%)\n"
        }
        return s
    }
}
