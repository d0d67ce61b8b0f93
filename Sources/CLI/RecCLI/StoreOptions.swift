import ArgumentParser
import Foundation
import RecData

/// `--db`: the SQLite store every command that reads or writes ratings shares.
///
/// Include it with `@OptionGroup var store: StoreOptions`; the default comes from `$REC_DB` so a
/// shell session can point every tool at one store without repeating the flag.
public struct StoreOptions: ParsableArguments {
    /// Path of the SQLite database file.
    @Option(name: .long, help: "SQLite database file (created if missing where a command writes); $REC_DB, when set, is the default.")
    public var db: String = ProcessInfo.processInfo.environment["REC_DB"] ?? "rec.sqlite"

    public init() {}

    /// The `--db` this process was given (or its default), for error messages raised where the
    /// parsed options are out of reach.
    static func pathInArguments(_ arguments: [String] = CommandLine.arguments) -> String {
        for (i, a) in arguments.enumerated() {
            if a == "--db", i + 1 < arguments.count { return arguments[i + 1] }
            if a.hasPrefix("--db=") { return String(a.dropFirst("--db=".count)) }
        }
        return StoreOptions().db
    }

    /// Opens the store; a writable store's folder is created first, so `--db runs/x.sqlite` works
    /// on a fresh checkout. Reading commands pass `readOnly: true`: the store is then neither
    /// migrated nor written (Docs/guarantees.md), so it may sit on a read-only disk.
    public func open(readOnly: Bool = false) throws -> RatingStore {
        let dir = (db as NSString).deletingLastPathComponent
        if !dir.isEmpty && !readOnly { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        return try RatingStore(path: db, readOnly: readOnly)
    }
}

/// The one error path of the command-line tools: prints `error: …` (and an optional note) on
/// stderr and turns the error into exit status 1.
///
/// Argument-parser errors (usage mistakes, `--help`, explicit exits) pass through untouched so
/// the parser reports them with the command's usage and its own exit status.
///
/// SQLite errors met after the store opened (a lock held past the wait, a store that turned out
/// read-only) are restated with the store's path and what to do (`RatingStore.describe`).
public func commandFailure(_ error: any Error, note: String? = nil) -> any Error {
    if error is ValidationError || error is ExitCode || error is CleanExit { return error }
    let error = RatingStore.describe(error, path: StoreOptions.pathInArguments())
    FileHandle.standardError.write(Data("error: \(error)\n\(note.map { "(\($0))\n" } ?? "")".utf8))
    return ExitCode.failure
}
