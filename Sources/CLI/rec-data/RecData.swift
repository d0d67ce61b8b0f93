import ArgumentParser
import Foundation
import RecData
import RecKit
import RecNumerics

/// `rec-data`: everything about the ratings store — fetching, importing, synthesising, splitting,
/// describing and exporting datasets.
@main
struct RecDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-data",
        abstract: "Build and inspect the SQLite ratings store of the rationale-rewards library.",
        version: RecDataCommand.versionString,
        subcommands: [Fetch.self, Import.self, Synth.self, Split.self, Stats.self, Export.self, List.self,
                      FetchModel.self, Embed.self, Encode.self,
                      Rationales.self, RationalesShow.self, RationalesExport.self, RationalesImport.self]
    )

    static var versionString: String { "rec-data 0.1.0 (BLAS: OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) threads)" }

    /// Runs with OpenBLAS's fast kernels: re-executes first when OpenBLAS misdetected the CPU.
    static func main() {
        BLASRuntime.reexecWithOptimalCoreIfNeeded()
        _ = BLASRuntime.configureFromEnvironment()
        Self.main(nil)
    }
}

/// Options every command that touches the store shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (created if missing). Default: $REC_DB or ./rec.sqlite.")
    var db: String = ProcessInfo.processInfo.environment["REC_DB"] ?? "rec.sqlite"

    func open(readOnly: Bool = false) throws -> RatingStore {
        let dir = (db as NSString).deletingLastPathComponent
        if !dir.isEmpty && !readOnly { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        return try RatingStore(path: db, readOnly: readOnly)
    }
}

extension OnErrorPolicy: ExpressibleByArgument {}
extension DuplicatePolicy: ExpressibleByArgument {}

/// Where a command with `--output` writes: the file (created or truncated), or standard output.
func outputHandle(_ output: String?) throws -> FileHandle {
    guard let output else { return FileHandle.standardOutput }
    guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
        throw ValidationError("cannot write \(output)")
    }
    return h
}

/// Prints a failure the way every command does: one `error:` paragraph on stderr, exit status 1.
/// Argument-parser errors (usage mistakes, explicit exits) pass through untouched so the parser
/// reports them with the command's usage.
func fail(_ error: any Error) -> any Error {
    if error is ValidationError || error is ExitCode { return error }
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode.failure
}
