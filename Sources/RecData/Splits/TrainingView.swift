import GRDB

extension RatingStore {
    /// Each user's liked items — training-part ratings at or above the dataset's like threshold —
    /// ordered most recent first, then highest rated. Validation and test ratings are never read,
    /// which is what keeps rationales and rewards free of test leakage.
    public func likedTrainingItems(dataset: DatasetInfo, split: String) throws -> [Int64: [Int64]] {
        try pool.read { db in
            let sid = try RatingStore.splitID(dataset: dataset, name: split, db)
            var out: [Int64: [Int64]] = [:]
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT r.user_id, r.item_id FROM rating r
                JOIN split_assignment a ON a.split_id = ? AND a.user_id = r.user_id AND a.item_id = r.item_id AND a.part = 0
                WHERE r.dataset_id = ? AND r.value >= ?
                ORDER BY r.user_id, r.timestamp DESC, r.value DESC, r.item_id DESC
                """, arguments: [sid, dataset.id, dataset.scale.likeThreshold])
            while let row = try cursor.next() { out[row[0], default: []].append(row[1]) }
            return out
        }
    }
}
