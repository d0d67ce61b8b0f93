import ArgumentParser
import Foundation
import RecCLI
import RecData
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
                      Rationales.self, RationalesShow.self, RationalesExport.self, RationalesImport.self,
                      RationalesFilter.self, TrainDistance.self, Upgrade.self]
    )

    static var versionString: String { "rec-data 0.1.0 (BLAS: OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) threads)" }

    /// Runs with OpenBLAS's fast kernels: re-executes first when OpenBLAS misdetected the CPU.
    static func main() {
        ParseCheck.exitIfRequested(Self.self)  // REC_PARSE_ONLY=1: the docs check
        BLASRuntime.reexecWithOptimalCoreIfNeeded()
        _ = BLASRuntime.configureFromEnvironment()
        Self.main(nil)
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
