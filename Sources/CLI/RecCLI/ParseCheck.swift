import ArgumentParser
import Foundation

/// A parse-only mode for checking documented command lines against the real parser.
///
/// With `REC_PARSE_ONLY=1` in the environment, a tool parses and validates its arguments exactly
/// as it would before running (the same `parseAsRoot`, every `validate()`), prints
/// `parsed: <command name>` and exits 0 without opening a store or doing any work; an argument
/// error exits with the parser's message and status 64 as usual. The docs check in
/// `Tests/CLITests/DocsCommandTests.swift` runs every command line shown in README.md and Docs/
/// this way, so a renamed flag breaks a test rather than a reader. An environment variable, not a
/// flag, because a flag would have to be declared on every subcommand and would show in `--help`.
public enum ParseCheck {
    /// The environment variable that switches a tool to parse-only mode.
    public static let variable = "REC_PARSE_ONLY"

    /// Exits after parsing when ``variable`` is set to `1`; otherwise returns at once.
    public static func exitIfRequested(_ command: any ParsableCommand.Type) {
        guard ProcessInfo.processInfo.environment[variable] == "1" else { return }
        do {
            let parsed = try command.parseAsRoot(nil)
            print("parsed: \(type(of: parsed)._commandName)")
            Foundation.exit(0)
        } catch {
            command.exit(withError: error)
        }
    }
}
