import Foundation
import GRDB
import RecKit

/// How a dataset's ratings are divided into train, validation and test parts.
///
/// All methods are deterministic given the data and the seed, and stored in the database under a
/// name so every later step (rationales, rewards, training, evaluation) refers to the same split.
public enum SplitMethod: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Per user, in time order: the last `test` ratings go to test, the `valid` before them to
    /// validation, the rest to training. A user always keeps at least `minTrain` training ratings;
    /// users with too few ratings are held out less (test first, then validation) — RecBole's
    /// leave-one-out convention generalised to k.
    case leaveLastOut(valid: Int, test: Int, minTrain: Int)
    /// Per user, a seeded random shuffle divided by ratios (e.g. 0.8/0.1/0.1), rounding the held-out
    /// counts to the nearest whole rating and keeping at least one training rating.
    case randomRatio(train: Double, valid: Double, test: Double)
    /// One global time cut: the earliest `train` fraction of all ratings trains, the next `valid`
    /// fraction validates, the latest ratings test. Ties in time are broken by import order.
    case globalTemporal(train: Double, valid: Double)

    public var name: String {
        switch self {
        case .leaveLastOut: return "leave-last-out"
        case .randomRatio: return "random-ratio"
        case .globalTemporal: return "global-temporal"
        }
    }

    public var description: String {
        switch self {
        case let .leaveLastOut(v, t, m): return "leave-last-out(valid: \(v), test: \(t), min-train: \(m))"
        case let .randomRatio(a, b, c): return "random-ratio(\(a)/\(b)/\(c))"
        case let .globalTemporal(a, b): return "global-temporal(train: \(a), valid: \(b))"
        }
    }

    /// Rejects impossible parameters with a message saying what is allowed.
    public func validate() throws {
        switch self {
        case let .leaveLastOut(v, t, m):
            guard v >= 0, t >= 0, v + t > 0, m >= 1 else {
                throw StoreError.invalidArgument("leave-last-out needs valid ≥ 0, test ≥ 0, valid + test ≥ 1 and min-train ≥ 1 (got \(v), \(t), \(m))")
            }
        case let .randomRatio(a, b, c):
            guard a > 0, b >= 0, c >= 0, abs(a + b + c - 1) < 1e-6 else {
                throw StoreError.invalidArgument("random-ratio needs train > 0, valid ≥ 0, test ≥ 0 summing to 1 (got \(a)/\(b)/\(c))")
            }
        case let .globalTemporal(a, b):
            guard a > 0, b >= 0, a + b < 1 else {
                throw StoreError.invalidArgument("global-temporal needs train > 0, valid ≥ 0 and train + valid < 1 (got \(a), \(b))")
            }
        }
    }

    /// Assigns parts to one user's ratings, given in time order (timestamp, then import order).
    func assign(userRatings n: Int, generator: inout SeededGenerator) -> [SplitPart] {
        var parts = [SplitPart](repeating: .train, count: n)
        switch self {
        case let .leaveLastOut(v, t, m):
            let heldOut = max(0, n - m)
            let nt = min(t, heldOut)
            let nv = min(v, heldOut - nt)
            for k in 0..<nt { parts[n - 1 - k] = .test }
            for k in 0..<nv { parts[n - 1 - nt - k] = .valid }
        case let .randomRatio(_, v, t):
            var nt = Int((Double(n) * t).rounded())
            var nv = Int((Double(n) * v).rounded())
            if nt + nv > n - 1 {  // keep one training rating
                let excess = nt + nv - max(n - 1, 0)
                let cutV = min(nv, excess); nv -= cutV
                nt -= min(nt, excess - cutV)
            }
            var order = Array(0..<n)
            order.shuffle(using: &generator)
            for k in 0..<nt { parts[order[k]] = .test }
            for k in nt..<(nt + nv) { parts[order[k]] = .valid }
        case .globalTemporal:
            preconditionFailure("global temporal splits are assigned over all ratings at once")
        }
        return parts
    }
}

/// Summary of a stored split.
public struct SplitSummary: Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var method: String
    public var seed: UInt64
    public var train: Int
    public var valid: Int
    public var test: Int
    /// Users with at least one rating in the test part.
    public var testUsers: Int

    public var description: String {
        "split '\(name)' (\(method), seed \(seed)): train \(train), valid \(valid), test \(test) ratings; \(testUsers) users with test ratings"
    }
}

extension RatingStore {
    /// Computes a split and stores it under `name`, in one transaction.
    @discardableResult
    public func createSplit(dataset name: String, splitName: String, method: SplitMethod, seed: UInt64,
                            replace: Bool = false) throws -> SplitSummary {
        try method.validate()
        guard !splitName.isEmpty else { throw StoreError.invalidArgument("split name must not be empty") }
        return try pool.write { db in
            let d = try RatingStore.dataset(named: name, db)
            if let old = try Int64.fetchOne(db, sql: "SELECT id FROM split WHERE dataset_id = ? AND name = ?", arguments: [d.id, splitName]) {
                guard replace else { throw StoreError.splitExists(dataset: d.name, split: splitName) }
                try db.execute(sql: "DELETE FROM split WHERE id = ?", arguments: [old])
            }
            // Sorted keys: the synthesized Codable's key order varies between processes, and the
            // same split must be stored as the same bytes whoever computes it.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let params = String(decoding: try encoder.encode(method), as: UTF8.self)
            try db.execute(sql: "INSERT INTO split(dataset_id, name, method, parameters, seed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [d.id, splitName, method.description, params, Int64(bitPattern: seed), RatingStore.timestampNow()])
            let splitID = db.lastInsertedRowID
            let insert = try db.makeStatement(sql: "INSERT INTO split_assignment(split_id, user_id, item_id, part) VALUES (?, ?, ?, ?)")
            var counts = [0, 0, 0]
            // A rating is identified by (user, item) within its dataset.
            func put(_ rating: (user: Int64, item: Int64), _ part: SplitPart) throws {
                insert.setUncheckedArguments([splitID, rating.user, rating.item, part.rawValue])
                try insert.execute()
                counts[part.rawValue] += 1
            }
            let root = SeededGenerator(seed: seed).fork("split")
            switch method {
            case let .globalTemporal(trainFraction, validFraction):
                let ids = try Row.fetchAll(db, sql: "SELECT user_id, item_id FROM rating WHERE dataset_id = ? ORDER BY timestamp, user_id, item_id",
                                           arguments: [d.id]).map { (user: $0[0] as Int64, item: $0[1] as Int64) }
                let nTrain = Int((Double(ids.count) * trainFraction).rounded())
                let nValid = Int((Double(ids.count) * validFraction).rounded())
                for (k, id) in ids.enumerated() {
                    try put(id, k < nTrain ? .train : (k < nTrain + nValid ? .valid : .test))
                }
            case .leaveLastOut, .randomRatio:
                let cursor = try Row.fetchCursor(db, sql: "SELECT user_id, item_id, timestamp FROM rating WHERE dataset_id = ? ORDER BY user_id, timestamp, item_id", arguments: [d.id])
                var currentUser: Int64 = -1
                var ids: [(user: Int64, item: Int64)] = []
                var times: [Int64] = []
                func flush() throws {
                    guard !ids.isEmpty else { return }
                    // One stream per user, derived from the user id: adding a user never changes
                    // another user's assignment.
                    var g = root.fork(String(currentUser))
                    if case .leaveLastOut = method {
                        // Ratings given in the same second have no order; the item id is not one
                        // (on ml-100k it would hold out the highest id of 415 of 943 users' last
                        // bursts). The seed orders each burst, so seeds give different splits.
                        var tie = g.fork("ties")
                        var start = 0
                        while start < ids.count {
                            var end = start + 1
                            while end < ids.count && times[end] == times[start] { end += 1 }
                            if end - start > 1 { ids[start..<end].shuffle(using: &tie) }
                            start = end
                        }
                    }
                    let parts = method.assign(userRatings: ids.count, generator: &g)
                    for (id, p) in zip(ids, parts) { try put(id, p) }
                    ids.removeAll(keepingCapacity: true)
                    times.removeAll(keepingCapacity: true)
                }
                while let row = try cursor.next() {
                    let u: Int64 = row[0]
                    if u != currentUser { try flush(); currentUser = u }
                    ids.append((u, row[1]))
                    times.append(row[2])
                }
                try flush()
            }
            let testUsers = try Int.fetchOne(db, sql: """
                SELECT count(DISTINCT user_id) FROM split_assignment WHERE split_id = ? AND part = 2
                """, arguments: [splitID]) ?? 0
            return SplitSummary(name: splitName, method: method.description, seed: seed,
                                train: counts[0], valid: counts[1], test: counts[2], testUsers: testUsers)
        }
    }
}
