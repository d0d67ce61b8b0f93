import Foundation
import GRDB
import Testing
@testable import RecData

/// A store written by an older schema must open under the current one with nothing lost.
@Suite struct MigrationTests {
    /// Writes a v1 store by hand: a rowid rating table (ids deliberately not in (user, item)
    /// order) and split assignments that point at rating ids.
    func writeV1Store(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: "v1-ratings")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO dataset(id, name, format, source, scale_min, scale_max, like_threshold, item_text_template, created_at)
                VALUES (1, 'old', 'csv', 'x.csv', 1, 5, 4, '{title}', '2026-01-01T00:00:00Z');
                INSERT INTO user(id, dataset_id, external_id) VALUES (1, 1, 'u1'), (2, 1, 'u2'), (3, 1, 'u3');
                INSERT INTO item(id, dataset_id, external_id, title) VALUES (1, 1, 'i1', 'A'), (2, 1, 'i2', 'B'), (3, 1, 'i3', 'C');
                INSERT INTO rating(id, dataset_id, user_id, item_id, value, timestamp, merged) VALUES
                    (10, 1, 2, 1, 5, 100, 1), (11, 1, 1, 2, 3, 200, 2), (12, 1, 1, 1, 4, 150, 1),
                    (13, 1, 2, 3, 1, 120, 1), (14, 1, 1, 3, 2, 300, 1);
                INSERT INTO split(id, dataset_id, name, method, parameters, seed, created_at)
                VALUES (1, 1, 's', 'leave-last-out', '{}', 7, '2026-01-01T00:00:00Z');
                INSERT INTO split_assignment(split_id, rating_id, part) VALUES (1, 10, 0), (1, 11, 0), (1, 12, 0), (1, 13, 2), (1, 14, 2);
                """)
        }
    }

    @Test func v1StoreKeepsRatingsSplitsAndStats() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("old.sqlite").path
        try writeV1Store(at: path)

        let store = try RatingStore(path: path)
        let d = try store.dataset(named: "old")
        let all = try store.ratings(dataset: d).map { [$0.userID, $0.itemID, Int64($0.value), $0.timestamp] }
        #expect(all == [[1, 1, 4, 150], [1, 2, 3, 200], [1, 3, 2, 300], [2, 1, 5, 100], [2, 3, 1, 120]])
        #expect(try store.ratings(dataset: d, split: "s", part: .test).map { [$0.userID, $0.itemID] } == [[1, 3], [2, 3]])
        #expect(try store.ratings(dataset: d, split: "s", part: .train).count == 3)
        let merged = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT merged FROM rating WHERE user_id = 1 AND item_id = 2") }
        #expect(merged == 2)

        let stats = try store.stats(dataset: "old", split: "s")
        #expect(stats.ratings == 5)
        #expect(stats.split?.test == 2 && stats.split?.testUsers == 2)
        // Training positives (≥ 4): u1 has (i1, 4), u2 has (i1, 5); u3 has no ratings at all.
        #expect(stats.positivesPerUser.max == 1 && stats.positivesPerUser.min == 0 && stats.usersWithoutPositives == 1)
        #expect(stats.ratingsPerItem.min == 1 && stats.ratingsPerItem.max == 2)
        #expect(try store.likedTrainingItems(dataset: d, split: "s") == [1: [1], 2: [1]])

        let columns = try store.pool.read { db in try db.columns(in: "split_assignment").map(\.name) }
        #expect(columns == ["split_id", "user_id", "item_id", "part"])

        // Deleting the dataset still takes its ratings and split assignments with it.
        try store.deleteDataset(named: "old")
        let left = try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM rating) + (SELECT count(*) FROM split_assignment) + (SELECT count(*) FROM user)")
        }
        #expect(left == 0)
    }
}
