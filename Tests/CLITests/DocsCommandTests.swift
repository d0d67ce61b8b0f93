import Foundation
import Testing

/// Every command line the docs show is accepted by the real argument parser: each `rec-data`,
/// `validate-rewards` and `rec-train` line of a shell code block in README.md and Docs/*.md runs
/// through the built tool in parse-only mode (`REC_PARSE_ONLY=1`, `RecCLI.ParseCheck`), which
/// parses and validates exactly as a real run does and then exits. A renamed or removed flag then
/// fails here instead of in a reader's terminal.
@Suite struct DocsCommandTests {
    /// One documented command line.
    struct DocCommand: CustomStringConvertible {
        var file: String
        var line: Int
        var tool: String
        var arguments: [String]
        var description: String { "\(file):\(line): \(tool) \(arguments.joined(separator: " "))" }
    }

    static let tools: Set<String> = ["rec-data", "validate-rewards", "rec-train"]
    /// The aliases the docs and run.sh give the tools (`rd="$bin/rec-data"`).
    static let aliases = ["rd": "rec-data", "vr": "validate-rewards", "rt": "rec-train"]

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// README.md and every Markdown file under Docs/, sorted.
    static func documents() throws -> [URL] {
        let docs = repositoryRoot.appendingPathComponent("Docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }.sorted()
        return [repositoryRoot.appendingPathComponent("README.md")] + names.map { docs.appendingPathComponent($0) }
    }

    /// Shell code blocks (```sh, ```bash, ```shell or a bare ```) of a Markdown text, as logical
    /// lines (backslash continuations joined) with the number of their first line.
    static func shellLines(_ text: String) -> [(line: Int, text: String)] {
        var out: [(Int, String)] = []
        var inBlock = false, shell = false
        var pending: (Int, String)?
        for (i, raw) in text.components(separatedBy: "\n").enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                if inBlock { inBlock = false } else {
                    inBlock = true
                    shell = ["", "sh", "bash", "shell", "console"].contains(trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces))
                }
                continue
            }
            guard inBlock, shell else { continue }
            let start = pending?.0 ?? i + 1
            var joined = (pending?.1 ?? "") + raw
            if joined.hasSuffix("\\") {
                joined.removeLast()
                pending = (start, joined + " ")
                continue
            }
            pending = nil
            out.append((start, joined))
        }
        return out
    }

    /// Shell words of a line, split into simple commands at `;`, `&&` and `||`, comments dropped;
    /// quotes group words and are removed.
    static func commands(_ line: String) -> [[String]] {
        var commands: [[String]] = [], words: [String] = []
        var word = "", quote: Character?, inWord = false
        func endWord() { if inWord { words.append(word) }; word = ""; inWord = false }
        func endCommand() { endWord(); if !words.isEmpty { commands.append(words) }; words = [] }
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if let q = quote {
                if c == q { quote = nil } else { word.append(c) }
                continue
            }
            switch c {
            case "\"", "'": quote = c; inWord = true
            case " ", "\t": endWord()
            case "#" where !inWord: endCommand(); return commands
            case ";": endCommand()
            case "&" where chars.first == "&", "|" where chars.first == "|": chars.removeFirst(); endCommand()
            default: word.append(c); inWord = true
            }
        }
        endCommand()
        return commands
    }

    /// The tool a command runs and its arguments, or nil for anything else (`swift build`, `bash
    /// run.sh`, model servers, benchmarks). Leading `NAME=value` assignments are skipped; shell
    /// variables in arguments become a placeholder value.
    static func toolInvocation(_ words: [String], among known: Set<String> = tools) -> (tool: String, arguments: [String])? {
        var w = words[...]
        while let first = w.first, first.contains("="), !first.hasPrefix("-"), first.first?.isLetter == true { w.removeFirst() }
        guard var head = w.popFirst() else { return nil }
        if head == "swift", w.first == "run" {
            w.removeFirst()
            guard let product = w.popFirst() else { return nil }
            head = product
        }
        var tool = head.split(separator: "/").last.map(String.init) ?? head
        if tool.hasPrefix("$") { tool = aliases[String(tool.dropFirst()).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))] ?? tool }
        guard known.contains(tool) else { return nil }
        let arguments = w.map { $0.contains("$") ? "placeholder" : $0 }
        return (tool, arguments)
    }

    static func documentedCommands() throws -> (checked: [DocCommand], perFile: [String: Int]) {
        var checked: [DocCommand] = []
        var perFile: [String: Int] = [:]
        for url in try documents() {
            let name = url.path.replacingOccurrences(of: repositoryRoot.path + "/", with: "")
            for (line, text) in shellLines(try String(contentsOf: url, encoding: .utf8)) {
                for words in commands(text) {
                    guard let (tool, arguments) = toolInvocation(words) else { continue }
                    checked.append(DocCommand(file: name, line: line, tool: tool, arguments: arguments))
                    perFile[name, default: 0] += 1
                }
            }
        }
        return (checked, perFile)
    }

    @Test func everyDocumentedCommandLineParses() throws {
        let (commands, perFile) = try Self.documentedCommands()
        // The docs' command blocks that show the tools: a file dropping out of this list means its
        // blocks were no longer recognised, which would silently weaken the check.
        for file in ["README.md", "Docs/dqn.md", "Docs/reasoners.md", "Docs/results.md", "Docs/metrics.md"] {
            #expect((perFile[file] ?? 0) > 0, "no tool command found in \(file): \(perFile)")
        }
        #expect(Set(commands.map(\.tool)) == Self.tools)
        for c in commands {
            let r = try CLI.run(c.tool, c.arguments, environment: ["REC_PARSE_ONLY": "1"])
            #expect(r.status == 0 && r.stdout.hasPrefix("parsed: "), "\(c)\n\(r.stderr)")
        }
        print("docs check: \(commands.count) command lines parsed; per file: \(perFile.sorted { $0.key < $1.key })")
    }

    /// The benchmarks (Sources/Benchmarks/NAME): executables that print figures.
    static let benchmarks: Set<String> = ["bench-import", "bench-encoder", "bench-similarity", "bench-dqn", "bench-http"]

    /// Every flag a documented benchmark line passes is one the benchmark reads: a
    /// swift-argument-parser option (`@Option`/`@Flag` property `peerPython` for `--peer-python`,
    /// or `.customLong("peer-python")`) or a flag parsed by hand (`option("--rounds")`). Weaker
    /// than a real parse (values are not checked) but a renamed or removed flag fails here.
    @Test func everyDocumentedBenchmarkFlagIsOneTheBenchmarkReads() throws {
        var checked = 0
        for url in try Self.documents() {
            let name = url.path.replacingOccurrences(of: Self.repositoryRoot.path + "/", with: "")
            for (line, text) in Self.shellLines(try String(contentsOf: url, encoding: .utf8)) {
                for words in Self.commands(text) {
                    guard let (tool, arguments) = Self.toolInvocation(words, among: Self.benchmarks) else { continue }
                    let dir = Self.repositoryRoot.appendingPathComponent("Sources/Benchmarks/\(tool)")
                    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
                    let source = try files.map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }.joined()
                    for argument in arguments where argument.hasPrefix("--") {
                        let flag = String(argument.split(separator: "=")[0])
                        let long = String(flag.dropFirst(2))
                        let parts = long.split(separator: "-")
                        let camel = (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
                        let read = source.contains("\"\(flag)\"") || source.contains("customLong(\"\(long)\")")
                            || (flag != "--help" && source.range(of: #"@(Option|Flag)\b[^\n]*\n?\s*var \#(camel)\b"#, options: .regularExpression) != nil)
                        #expect(read, "\(name):\(line): \(tool) does not read \(flag)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked >= 10, "only \(checked) benchmark flags found in the docs")
        print("docs check: \(checked) benchmark flags found in the benchmarks' sources")
    }

    @Test func parseOnlyModeRefusesWhatTheRealParserRefuses() throws {
        // A misspelt flag, a bad typed value and a failed validate() all fail in parse-only mode,
        // so the check above has teeth; nothing runs (no store is created).
        let dir = try CLI.temporaryDirectory()
        let db = dir.appendingPathComponent("never.sqlite").path
        let env = ["REC_PARSE_ONLY": "1"]
        let cases: [(String, [String])] = [
            ("rec-data", ["split", "--db", db, "--dataset", "x", "--method", "random", "--ratio", "0.8,0.1,0.1"]),
            ("rec-data", ["split", "--db", db, "--dataset", "x", "--method", "random", "--ratios", "0.8,0.1"]),
            ("validate-rewards", ["--db", db, "--dataset", "x", "--split", "y", "--reasoner", "nosuch"]),
            ("rec-train", ["compare", "--db", db, "--dataset", "x", "--split", "y", "--seed", "1,2"]),
        ]
        for (tool, args) in cases {
            let r = try CLI.run(tool, args, environment: env)
            #expect(r.status == 64, "\(tool) \(args): \(r.status) \(r.stderr)")
        }
        let ok = try CLI.run("rec-data", ["split", "--db", db, "--dataset", "x", "--method", "random", "--ratios", "0.8,0.1,0.1"], environment: env)
        #expect(ok.status == 0 && ok.stdout == "parsed: split\n", "\(ok.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func extractionFollowsShellRules() {
        let lines = Self.shellLines("text\n```sh\na --x 1 \\\n    --y 2   # note\n```\n```swift\nrec-data x\n```\n")
        #expect(lines.count == 1 && lines[0].line == 3)
        #expect(Self.commands(lines[0].text) == [["a", "--x", "1", "--y", "2"]])
        #expect(Self.commands("rec-data fetch x; rec-data embed --dataset \"a b\" && ls") == [["rec-data", "fetch", "x"], ["rec-data", "embed", "--dataset", "a b"], ["ls"]])
        #expect(Self.toolInvocation(["K=v", "$B/rec-train", "--db", "$db"])! == ("rec-train", ["--db", "placeholder"]))
        #expect(Self.toolInvocation(["swift", "run", "validate-rewards", "--k", "5"])! == ("validate-rewards", ["--k", "5"]))
        #expect(Self.toolInvocation(["$rd", "stats"])! == ("rec-data", ["stats"]))
        #expect(Self.toolInvocation(["swift", "build", "-c", "release"]) == nil)
    }
}
