import ArgumentParser
import Foundation
import RecCLI
import RecData
import RecKit
import RecReasoning

extension ReasoningMode: ExpressibleByArgument {}

struct Rationales: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rationales",
        abstract: "Generate rationales (short statements of what each user values) from training-split likes.",
        discussion: """
        Reasoners: aspect (offline, deterministic: distinctive genres/categories/decades/attributes by log-odds), \
        openai (any OpenAI-compatible chat-completions server: llama-server, Ollama, vLLM, OpenAI), \
        oracle (the synthetic world's true preference statements).

        Commits per user and resumes: rerunning the same command skips users already done. \
        Examples:
          rec-data rationales --dataset ml-100k --split leave-last-out --reasoner aspect
          rec-data rationales --dataset ml-100k --split leave-last-out --reasoner openai \\
            --base-url http://127.0.0.1:8080/v1 --model any --limit-users 5
        """)

    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name (rationales use its training part only).") var split: String
    @Option(help: "Reasoner that writes the rationales.") var reasoner: ReasonerKind = .aspect
    @Option(help: "Rationales per user.") var k = 5
    @Option(help: "open (write K rationales) or closed (yes/no per candidate; openai only).") var mode: ReasoningMode = .open
    @Option(name: .customLong("base-url"), help: "OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.") var baseURL = "http://127.0.0.1:8080/v1"
    @Option(help: "Model name sent to the server.") var model = "default"
    @Option(name: .customLong("api-key-env"), help: "Name of the environment variable holding the API key (the key is never printed).")
    var apiKeyEnv: String?
    @Option(help: "Sampling temperature.") var temperature = 0.2
    @Option(name: .customLong("max-tokens"), help: "Most tokens per answer (open mode).") var maxTokens = 256
    @Option(help: "Sampling seed sent to the server.") var seed: Int?
    @Flag(name: .customLong("json-mode"), help: "Send response_format json_object and ask for {\"rationales\": [...]}.") var jsonMode = false
    @Flag(name: .customLong("no-logprobs"), help: "Closed mode: do not ask for log-probabilities.") var noLogprobs = false
    @Flag(help: "Lowercase rationales (as ELLM does).") var lowercase = false
    @Option(help: "Users generated at once (requests in flight).") var concurrency = 4
    @Option(help: "Per-request timeout in seconds.") var timeout = 120.0
    @Option(help: "Attempts per request (1 = no retries).") var attempts = 4
    @Option(name: .customLong("prompt"), help: "Prompt template file ([system]/[user] sections, {{items}} {{k}} {{format}} {{statement}}).")
    var promptFile: String?
    @Option(help: "Closed mode: candidate rationales, one per line.") var candidates: String?
    @Option(name: .customLong("candidate-pool"), help: "Closed mode without --candidates: catalog, or reasoner:NAME (other users' rationales of NAME's latest run).")
    var candidatePool = "catalog"
    @Option(name: .customLong("max-candidates"), help: "Closed mode: candidates asked about per user.") var maxCandidates = 20
    @Option(name: .customLong("max-liked"), help: "Liked items per profile (most recent first).") var maxLiked = 20
    @Flag(name: .customLong("with-disliked"), help: "Add low-rated training items as contrast.") var withDisliked = false
    @Option(name: .customLong("limit-users"), help: "Only the first N users (by id).") var limitUsers: Int?
    @Option(help: "oracle: whole or sentences.") var granularity: String = "whole"
    @Flag(help: "No progress line.") var quiet = false

    /// Refused at parse time: k = 0 used to run silently as k = 1 and become the "latest" run.
    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be ≥ 1 (got \(k)): a run needs at least one rationale per user") }
    }

    func run() throws {
        do {
            let s = try store.open()
            let rs = try RationaleStore(store: s)
            let profile = ProfileOptions(maxLiked: maxLiked, includeDisliked: withDisliked)
            let builder = try ProfileBuilder(store: s, dataset: dataset, split: split, options: profile)
            let r: any Reasoner
            switch reasoner {
            case .aspect:
                guard mode == .open else { throw ValidationError("--mode closed needs --reasoner openai") }
                r = AspectReasoner(builder: builder, options: .init(k: k))
            case .oracle:
                guard let g = OracleReasoner.Granularity(rawValue: granularity) else {
                    throw ValidationError("--granularity must be whole or sentences (got '\(granularity)')")
                }
                r = try OracleReasoner(store: s, dataset: dataset, granularity: g, k: k, profileOptions: profile)
            case .openai:
                guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https" else {
                    throw ValidationError("--base-url must be an http(s) URL such as http://127.0.0.1:8080/v1 (got '\(baseURL)')")
                }
                var c = OpenAIChatReasoner.Configuration(baseURL: url, model: model)
                c.apiKeyEnv = apiKeyEnv
                c.mode = mode
                c.k = k
                c.temperature = temperature
                c.maxTokens = maxTokens
                c.seed = seed
                c.jsonMode = jsonMode
                c.logprobs = !noLogprobs
                c.timeout = timeout
                c.retry = RetryPolicy(maxAttempts: attempts)
                c.maxConnections = concurrency
                c.profileOptions = profile
                c.lowercase = lowercase
                c.maxCandidates = maxCandidates
                if let promptFile {
                    let t = try PromptTemplate(contentsOf: promptFile)
                    if mode == .open { c.openTemplate = t } else { c.closedTemplate = t }
                }
                if mode == .closed {
                    if let candidates {
                        c.candidates = try CandidatePool(file: candidates)
                    } else if candidatePool == "catalog" {
                        c.candidates = CandidatePool(texts: AspectReasoner(builder: builder).catalogPhrases(), source: "catalog")
                    } else if candidatePool.hasPrefix("reasoner:") {
                        let name = String(candidatePool.dropFirst("reasoner:".count))
                        c.candidates = CandidatePool(rationales: try rs.rationales(dataset: dataset, split: split, reasoner: name),
                                                     source: candidatePool)
                    } else {
                        throw ValidationError("--candidate-pool must be catalog or reasoner:NAME (got '\(candidatePool)')")
                    }
                }
                r = try OpenAIChatReasoner(c)
            }
            var o = RationaleGenerator.Options(dataset: dataset, split: split)
            o.concurrency = reasoner == .openai ? concurrency : 1
            o.limitUsers = limitUsers
            if quiet { o.showProgress = false }
            let generator = RationaleGenerator(store: rs, reasoner: r, options: o)
            // The root command is synchronous: run the async generator to completion here.
            let summary = try Blocking.wait { try await generator.run(builder: builder) }
            print(summary)
        } catch {
            throw commandFailure(error)
        }
    }
}

/// Options that pick a run.
struct RunSelection: ParsableArguments {
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name.") var split: String
    @Option(help: "Reasoner of the run (default: the latest run of any).") var reasoner: ReasonerName?
    @Option(help: "Run id (overrides --reasoner).") var run: Int64?

    func resolve(_ rs: RationaleStore) throws -> RationaleRun {
        if let run {
            let r = try rs.run(id: run)
            guard r.dataset == dataset, r.split == split else {
                throw ValidationError("run \(run) belongs to \(r.dataset)/\(r.split), not \(dataset)/\(split)")
            }
            return r
        }
        return try rs.latestRun(dataset: dataset, split: split, reasoner: reasoner?.rawValue)
    }
}

struct RationalesShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rationales-show",
        abstract: "Print stored rationales (a few users, one user, or the list of runs).")
    @OptionGroup var store: StoreOptions
    @OptionGroup var selection: RunSelection
    @Option(help: "External id of one user.") var user: String?
    @Option(help: "Users to print.") var limit = 10
    @Flag(help: "List the runs of the split instead.") var runs = false
    @Flag(help: "Also print each user's liked training items.") var items = false
    @Flag(help: "Print the run's rationale-quality measures instead (Docs/reasoners.md, \"Rationale quality\").") var quality = false
    @Flag(help: "With --quality: print them as JSON.") var json = false
    @OptionGroup var qualityOptions: QualityOptions

    func run() throws {
        do {
            let s = try store.open(readOnly: true)
            let rs = try RationaleStore(store: s)
            if quality { return try printQuality(rs, run: try selection.resolve(rs), options: qualityOptions, json: json) }
            if runs {
                for r in try rs.runs(dataset: selection.dataset, split: selection.split, reasoner: selection.reasoner?.rawValue) {
                    let sum = try rs.summary(runID: r.id)
                    print("\(r)\n    \(sum.users) users, \(sum.rationales) rationales\(sum.usage.totalTokens > 0 ? ", \(sum.usage)" : "")")
                }
                return
            }
            let run = try selection.resolve(rs)
            print(run)
            let records = try rs.records(runID: run.id, externalUser: user, limit: user == nil ? limit : nil)
            if let user, records.isEmpty { throw ValidationError("user '\(user)' has no rationales in run \(run.id)") }
            let builder = items ? try ProfileBuilder(store: s, dataset: run.dataset, split: run.split) : nil
            for rec in records {
                print("\nuser \(rec.externalID):")
                if let builder {
                    for it in builder.profile(userID: rec.userID, externalID: rec.externalID).liked.prefix(8) {
                        let r = it.rating == it.rating.rounded() ? String(Int(it.rating)) : String(it.rating)
                        print("    liked \(r): \(it.text.prefix(100))")
                    }
                }
                if rec.texts.isEmpty { print("  (no rationales)") }
                for (i, t) in rec.texts.enumerated() { print("  \(i + 1). \(t)") }
            }
        } catch {
            throw commandFailure(error)
        }
    }
}

struct RationalesExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rationales-export",
        abstract: "Export (profile prompt → rationales) pairs as chat-format JSONL for supervised fine-tuning.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var selection: RunSelection
    @Option(help: "Export format (sft-jsonl).") var format = "sft-jsonl"
    @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?
    @Option(name: .customLong("prompt"), help: "Prompt template file (default: the built-in open-ended template).") var promptFile: String?
    @Flag(name: .customLong("json-mode"), help: "Assistant answers as {\"rationales\": [...]} (and the prompt asks for JSON).") var jsonMode = false
    @Option(name: .customLong("max-liked"), help: "Liked items per profile.") var maxLiked = 20
    @Flag(name: .customLong("with-disliked"), help: "Add low-rated training items as contrast.") var withDisliked = false

    func run() throws {
        guard format == "sft-jsonl" else { throw ValidationError("unknown --format '\(format)'; expected sft-jsonl") }
        do {
            let rs = try RationaleStore(store: try store.open(readOnly: true))
            let run = try selection.resolve(rs)
            let template = try promptFile.map { try PromptTemplate(contentsOf: $0) } ?? .openEnded
            let profile = ProfileOptions(maxLiked: maxLiked, includeDisliked: withDisliked)
            try Self.checkMatchesRun(run, template: template, profile: profile, jsonMode: jsonMode)
            let n = try FineTuningExchange.exportSFT(store: rs, runID: run.id, template: template,
                                                     profileOptions: profile, jsonMode: jsonMode, to: try outputHandle(output))
            FileHandle.standardError.write(Data("exported \(n) examples from \(run)\(output.map { " to \($0)" } ?? "")\n".utf8))
        } catch {
            throw commandFailure(error)
        }
    }
}

extension RationalesExport {
    /// An SFT example pairs the prompt with the rationales it produced, so the export must render
    /// the prompt the run actually sent. The run stores its template's SHA-256, answer format,
    /// profile cut and item rendering (never the template text): options that differ from them
    /// are refused, naming the run's values. Runs without a prompt (aspect, oracle, imported)
    /// have nothing to match; the user turn is then the prompt `--reasoner openai` would send.
    static func checkMatchesRun(_ run: RationaleRun, template: PromptTemplate, profile: ProfileOptions, jsonMode: Bool) throws {
        let stored = (try? JSONSerialization.jsonObject(with: Data(run.configJSON.utf8))) as? [String: Any] ?? [:]
        guard let sha = stored["template_sha256"] as? String else {
            FileHandle.standardError.write(Data("note: run \(run.id) (\(run.reasoner)) was not produced by a prompt; the user turn is the prompt --reasoner openai would send with these options\n".utf8))
            return
        }
        guard run.mode == .open else {
            throw ValidationError("run \(run.id) is closed-form (yes/no questions per candidate); SFT export writes open-ended examples only")
        }
        var differences: [String] = []
        if sha != template.sha256 {
            differences.append("template sha256 \(sha.prefix(12))… (\(stored["template"] as? String ?? "?")), --prompt gives \(template.sha256.prefix(12))… (\(template.name)): pass the run's template file with --prompt")
        }
        if let j = stored["json_mode"] as? String, j != String(jsonMode) {
            differences.append("json_mode \(j), the options give \(jsonMode): \(j == "true" ? "add" : "drop") --json-mode")
        }
        if let p = stored["profile"] as? String, p != profile.canonical {
            differences.append("profile \(p), the options give \(profile.canonical) (--max-liked, --with-disliked)")
        }
        if let r = stored["render"] as? String, r != ItemBlockRenderer().canonical {
            differences.append("item rendering \(r); the export renders \(ItemBlockRenderer().canonical)")
        }
        guard differences.isEmpty else {
            throw ValidationError("the export would not reproduce the prompt of run \(run.id): " + differences.joined(separator: "; "))
        }
    }
}

struct RationalesImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rationales-import",
        abstract: "Import rationales from JSONL lines {\"user_id\": EXTERNAL_ID, \"rationales\": [...]} as reasoner imported:NAME.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "JSONL file.") var file: String
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split the rationales were generated from.") var split: String
    @Option(help: "Name of the import (the run's reasoner becomes imported:NAME); default: the file's base name.") var name: String?
    @Option(help: "Model that wrote the rationales (recorded).") var model = "imported"

    func run() throws {
        do {
            let rs = try RationaleStore(store: try store.open())
            let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let summary = try FineTuningExchange.importJSONL(store: rs, path: file, dataset: dataset, split: split,
                                                             name: name ?? base, model: model)
            print(summary)
        } catch {
            throw commandFailure(error)
        }
    }
}
