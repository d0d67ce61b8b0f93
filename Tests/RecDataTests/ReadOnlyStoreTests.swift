import Foundation
import GRDB
import RecKit
import Testing
@testable import RecData

/// Opening the store: read-only opens change no byte, concurrent opens migrate once, a writer
/// waits for another writer, and opening errors name the path (Docs/guarantees.md).
@Suite(.serialized) struct ReadOnlyStoreTests {
    static func digest(_ path: String) throws -> Data {
        var h = SHA256()
        h.update(try Data(contentsOf: URL(fileURLWithPath: path)))
        return Data(h.finalize())
    }

    /// A store with one dataset and one split, closed (its WAL checkpointed into the file).
    static func closedStore(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("rec.sqlite").path
        do {
            let s = try RatingStore(path: path)
            try importSynthetic(s, users: 20, items: 30)
            try s.createSplit(dataset: "synth", splitName: "lo", method: .leaveLastOut(valid: 1, test: 1, minTrain: 1), seed: 1)
        }
        return path
    }

    static func temporaryFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readonly-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The issue's reproduction: every open migrated and ran GRDB's WAL set-up (`CREATE TABLE
    /// grdb_issue_102`), so reading a store changed its bytes and failed on a read-only file.
    @Test func readOnlyOpenInAReadOnlyFolderChangesNoByte() throws {
        let dir = try Self.temporaryFolder()
        let path = try Self.closedStore(in: dir)
        let before = try Self.digest(path)
        let listing = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }

        do {
            let s = try RatingStore(path: path, readOnly: true)
            #expect(s.isReadOnly)
            let d = try s.dataset(named: "synth")
            #expect(try s.splits(dataset: d) == ["lo"])
            #expect(try s.ratings(dataset: d, split: "lo", part: .test).count == 20)
            #expect(try s.stats(dataset: "synth", split: "lo").ratings > 0)
            // A write through a read-only store fails instead of changing the file.
            #expect(throws: (any Error).self) { try s.setLikeThreshold(3, dataset: "synth") }
        }
        #expect(try Self.digest(path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == listing)
    }

    /// In a writable folder a read-only open may leave SQLite's -shm beside the file, but the
    /// store itself is not written.
    @Test func readOnlyOpenInAWritableFolderChangesNoByteOfTheStore() throws {
        let dir = try Self.temporaryFolder()
        let path = try Self.closedStore(in: dir)
        let before = try Self.digest(path)
        do {
            let s = try RatingStore(path: path, readOnly: true)
            #expect(try s.datasets().map(\.name) == ["synth"])
        }
        #expect(try Self.digest(path) == before)
    }

    @Test func readOnlyOpenOfAnOldStoreAsksForTheUpgradeAndChangesNothing() throws {
        let dir = try Self.temporaryFolder()
        let path = dir.appendingPathComponent("old.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "v1-ratings")
        }
        let before = try Self.digest(path)
        #expect {
            _ = try RatingStore(path: path, readOnly: true)
        } throws: { e in
            guard case let StoreError.needsUpgrade(p, layer, pending) = e else { return false }
            return p == path && layer == "ratings" && pending == ["v2-rating-key"]
                && "\(e)".contains("rec-data upgrade --db \(path)")
        }
        #expect(try Self.digest(path) == before)
        // A writing open upgrades it.
        _ = try RatingStore(path: path)
        #expect(try RatingStore(path: path, readOnly: true).datasets().isEmpty)
    }

    /// The issue's reproduction: `SQLite error 14: unable to open database file` and `SQLite error
    /// 26: file is not a database`, without the path.
    @Test func openingErrorsNameThePathAndWhatToDo() throws {
        let dir = try Self.temporaryFolder()
        let missingFolder = dir.appendingPathComponent("no/such/folder/rec.sqlite").path
        #expect {
            _ = try RatingStore(path: missingFolder)
        } throws: { e in
            "\(e)".contains(missingFolder) && "\(e)".contains("folder") && "\(e)".contains("SQLite error 14")
        }
        let garbage = dir.appendingPathComponent("notes.txt").path
        try Data(String(repeating: "not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: garbage))
        for readOnly in [false, true] {
            #expect {
                _ = try RatingStore(path: garbage, readOnly: readOnly)
            } throws: { e in
                "\(e)".contains(garbage) && "\(e)".contains("not an SQLite database")
            }
        }
        let absent = dir.appendingPathComponent("absent.sqlite").path
        #expect {
            _ = try RatingStore(path: absent, readOnly: true)
        } throws: { e in "\(e)".contains(absent) && "\(e)".contains("rec-data synth") }
        #expect(!FileManager.default.fileExists(atPath: absent))  // a read-only open creates nothing
    }

    /// The issue's reproduction: per-layer GRDB migrators read the applied migrations before taking
    /// the write lock, so two processes opening a fresh store both ran `CREATE TABLE` and one died
    /// with "table … already exists". Here eight connections (each its own pool, as separate
    /// processes would be) apply a slow migration to one file at once.
    @Test func concurrentMigrationsApplyEachStepOnce() throws {
        let dir = try Self.temporaryFolder()
        let path = dir.appendingPathComponent("race.sqlite").path
        _ = try RatingStore(path: path)
        let layer = StoreMigrations(layer: "test", steps: [
            ("test-v1", { db in
                try db.execute(sql: "CREATE TABLE race_one (id INTEGER PRIMARY KEY)")
                Thread.sleep(forTimeInterval: 0.05)  // widen the window the old migrator raced in
            }),
            ("test-v2", { db in try db.execute(sql: "CREATE TABLE race_two (id INTEGER PRIMARY KEY)") }),
        ])
        let lock = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let s = try RatingStore(path: path)
                try s.migrate(layer)
            } catch {
                lock.withLock { errors.append("\(error)") }
            }
        }
        #expect(errors.isEmpty, "\(errors)")
        let s = try RatingStore(path: path, readOnly: true)
        #expect(try s.migrate(layer).isEmpty)
        let applied = try s.pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations WHERE identifier LIKE 'test-%' ORDER BY identifier") }
        #expect(applied == ["test-v1", "test-v2"])
    }

    /// The issue's reproduction: `split` during a long import failed after 30 s with "database is
    /// locked". A writer now waits for the other writer's transaction to end.
    @Test func aWriterWaitsForAnotherWritersTransaction() throws {
        let dir = try Self.temporaryFolder()
        let path = try Self.closedStore(in: dir)
        let holder = try RatingStore(path: path)
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? holder.pool.write { db in
                try db.execute(sql: "UPDATE dataset SET source = source")
                started.signal()
                Thread.sleep(forTimeInterval: 1.5)
            }
            done.signal()
        }
        started.wait()
        let t0 = Date()
        let other = try RatingStore(path: path)
        let s = try other.createSplit(dataset: "synth", splitName: "random", method: .randomRatio(train: 0.8, valid: 0.1, test: 0.1), seed: 2)
        #expect(s.train > 0)
        #expect(Date().timeIntervalSince(t0) > 1)
        done.wait()
    }

    /// A lock error met after opening is restated with the store's path and what to do.
    @Test func lockErrorsAreDescribedWithThePath() {
        let e = DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked", sql: "BEGIN IMMEDIATE TRANSACTION")
        let d = "\(RatingStore.describe(e, path: "/x/rec.sqlite"))"
        #expect(d.contains("/x/rec.sqlite") && d.contains("another process") && d.contains("REC_BUSY_TIMEOUT"))
        #expect(RatingStore.describe(StoreError.invalidArgument("x"), path: "p") as? StoreError == .invalidArgument("x"))
    }
}
