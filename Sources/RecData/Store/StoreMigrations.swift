import Foundation
import GRDB

/// One layer's ordered schema migrations, applied so that several processes opening one store at
/// once cannot race.
///
/// GRDB's `DatabaseMigrator` reads the applied identifiers before it takes the write lock, so two
/// processes that open a store at the same moment both see a migration as pending and the second
/// one dies on `CREATE TABLE` ("table rationale_run already exists"). Here the applied set is read
/// again inside the `BEGIN IMMEDIATE` transaction that applies the pending steps: whoever takes the
/// lock second finds nothing left to do. The bookkeeping table is GRDB's own `grdb_migrations`
/// (one identifier per row), so stores written by earlier versions upgrade in place.
public struct StoreMigrations: Sendable {
    /// A migration step: its identifier (never reused) and the SQL work it does.
    public typealias Step = (identifier: String, apply: @Sendable (Database) throws -> Void)

    /// Name of the layer, for messages ("ratings", "reasoning", "embedding").
    public let layer: String
    /// The steps in the order they are applied.
    public let steps: [Step]

    public init(layer: String, steps: [Step]) {
        self.layer = layer
        self.steps = steps
    }

    /// The same steps as a GRDB migrator (tests build old stores with `migrate(_:upTo:)`).
    public var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for s in steps { m.registerMigration(s.identifier) { db in try s.apply(db) } }
        return m
    }

    /// Identifiers of the steps not yet applied to `db` (all of them on a store without the
    /// bookkeeping table). Reads only.
    public func pending(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return steps.map(\.identifier) }
        let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
        return steps.map(\.identifier).filter { !applied.contains($0) }
    }

    /// Applies the pending steps in one immediate transaction (all or nothing: a kill leaves the
    /// store as it was). A store with nothing pending is only read, never written.
    public func apply(to writer: any DatabaseWriter) throws {
        if try writer.read({ try pending($0) }).isEmpty { return }
        try writer.writeWithoutTransaction { db in
            // Table rebuilds (v2-rating-key) need foreign keys off, and that pragma is a no-op
            // inside a transaction (https://www.sqlite.org/lang_altertable.html#otheralter).
            let foreignKeys = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
            if foreignKeys { try db.execute(sql: "PRAGMA foreign_keys = OFF") }
            defer { if foreignKeys { try? db.execute(sql: "PRAGMA foreign_keys = ON") } }
            try db.inTransaction(.immediate) {
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                // Read again under the write lock: another process may have migrated meanwhile.
                let todo = Set(try pending(db))
                for s in steps where todo.contains(s.identifier) {
                    try s.apply(db)
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [s.identifier])
                }
                if foreignKeys { try db.checkForeignKeys() }
                return .commit
            }
        }
    }
}
