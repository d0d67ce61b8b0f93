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

    /// Opens the store; a writable store's folder is created first, so `--db runs/x.sqlite` works
    /// on a fresh checkout.
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
public func commandFailure(_ error: any Error, note: String? = nil) -> any Error {
    if error is ValidationError || error is ExitCode || error is CleanExit { return error }
    FileHandle.standardError.write(Data("error: \(error)\n\(note.map { "(\($0))\n" } ?? "")".utf8))
    return ExitCode.failure
}
