import GRDB

/// Versioned migrations of the ratings store. A migration, once released, is never edited: new
/// columns and tables arrive as new migrations so old databases upgrade in place.
enum Schema {
    /// The GRDB form of ``migrations`` (tests write old stores with `migrate(_:upTo:)`).
    static var migrator: DatabaseMigrator { migrations.migrator }

    /// The ratings layer's steps; ``StoreMigrations/apply(to:)`` runs them race-free.
    static let migrations = StoreMigrations(layer: "ratings", steps: [
        ("v1-ratings", { db in
            try db.execute(sql: """
                CREATE TABLE dataset (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    format TEXT NOT NULL,
                    source TEXT NOT NULL,
                    scale_min REAL NOT NULL,
                    scale_max REAL NOT NULL,
                    like_threshold REAL NOT NULL,
                    item_text_template TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    import_report TEXT NOT NULL DEFAULT '{}'
                );
                CREATE TABLE user (
                    id INTEGER PRIMARY KEY,
                    dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
                    external_id TEXT NOT NULL,
                    attributes TEXT NOT NULL DEFAULT '{}',
                    preference_statement TEXT,
                    UNIQUE (dataset_id, external_id)
                );
                CREATE TABLE item (
                    id INTEGER PRIMARY KEY,
                    dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
                    external_id TEXT NOT NULL,
                    title TEXT NOT NULL DEFAULT '',
                    description TEXT NOT NULL DEFAULT '',
                    genres TEXT NOT NULL DEFAULT '',
                    categories TEXT NOT NULL DEFAULT '',
                    year INTEGER,
                    price REAL,
                    attributes TEXT NOT NULL DEFAULT '{}',
                    text TEXT NOT NULL DEFAULT '',
                    UNIQUE (dataset_id, external_id)
                );
                CREATE TABLE rating (
                    id INTEGER PRIMARY KEY,
                    dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
                    user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    item_id INTEGER NOT NULL REFERENCES item(id) ON DELETE CASCADE,
                    value REAL NOT NULL,
                    timestamp INTEGER NOT NULL,
                    merged INTEGER NOT NULL DEFAULT 1,
                    UNIQUE (dataset_id, user_id, item_id)
                );
                CREATE INDEX rating_item ON rating(item_id);
                CREATE TABLE split (
                    id INTEGER PRIMARY KEY,
                    dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    method TEXT NOT NULL,
                    parameters TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    created_at TEXT NOT NULL,
                    UNIQUE (dataset_id, name)
                );
                CREATE TABLE split_assignment (
                    split_id INTEGER NOT NULL REFERENCES split(id) ON DELETE CASCADE,
                    rating_id INTEGER NOT NULL REFERENCES rating(id) ON DELETE CASCADE,
                    part INTEGER NOT NULL CHECK (part IN (0, 1, 2)),
                    PRIMARY KEY (split_id, rating_id)
                ) WITHOUT ROWID;
                CREATE INDEX split_assignment_rating ON split_assignment(rating_id);
                """)
        }),
        // Ratings keyed by what identifies them, (dataset, user, item), in one clustered B-tree:
        // v1 kept a rowid table plus a unique index on that key plus an item index, three B-trees
        // written per rating. Split assignments follow the same key. user_id/item_id carry no
        // foreign keys: ratings are only written by DatasetWriter from ids it created in the same
        // transaction, so two parent lookups per inserted row would check nothing, and cascading
        // deletes of users or items would each need a reverse index on rating (v1's rating_item
        // was one). Deleting a dataset still removes everything through dataset_id and split_id.
        ("v2-rating-key", { db in
            try db.execute(sql: """
                CREATE TABLE rating_v2 (
                    dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
                    user_id INTEGER NOT NULL,
                    item_id INTEGER NOT NULL,
                    value REAL NOT NULL,
                    timestamp INTEGER NOT NULL,
                    merged INTEGER NOT NULL DEFAULT 1,
                    PRIMARY KEY (dataset_id, user_id, item_id)
                ) WITHOUT ROWID;
                INSERT INTO rating_v2(dataset_id, user_id, item_id, value, timestamp, merged)
                    SELECT dataset_id, user_id, item_id, value, timestamp, merged FROM rating
                    ORDER BY dataset_id, user_id, item_id;
                CREATE TABLE split_assignment_v2 (
                    split_id INTEGER NOT NULL REFERENCES split(id) ON DELETE CASCADE,
                    user_id INTEGER NOT NULL,
                    item_id INTEGER NOT NULL,
                    part INTEGER NOT NULL CHECK (part IN (0, 1, 2)),
                    PRIMARY KEY (split_id, user_id, item_id)
                ) WITHOUT ROWID;
                INSERT INTO split_assignment_v2(split_id, user_id, item_id, part)
                    SELECT a.split_id, r.user_id, r.item_id, a.part FROM split_assignment a JOIN rating r ON r.id = a.rating_id
                    ORDER BY a.split_id, r.user_id, r.item_id;
                DROP TABLE split_assignment;
                DROP TABLE rating;
                ALTER TABLE rating_v2 RENAME TO rating;
                ALTER TABLE split_assignment_v2 RENAME TO split_assignment;
                """)
        }),
    ])
}
