import ArgumentParser
import Foundation
import RecCLI
import RecData
import RecEmbedding
import RecReasoning

/// Rationale-quality settings shared by `rationales-show --quality` and `rationales-filter`.
struct QualityOptions: ParsableArguments {
    @Flag(help: "Quality: also call a rationale a near-copy when its MiniLM cosine to a prompt item's title reaches --near-copy-cosine (loads the encoder).")
    var embeddings = false
    @Option(name: .customLong("near-copy-jaccard"), help: "Quality: character-trigram Jaccard to a prompt title at or above which a rationale is a near-copy.")
    var nearCopyJaccard = RationaleQualityRules().trigramJaccardCutoff
    @Option(name: .customLong("near-copy-token-share"), help: "Quality: share of a rationale's content words found in a prompt title at or above which it is a near-copy.")
    var nearCopyTokenShare = RationaleQualityRules().titleTokenShareCutoff
    @Option(name: .customLong("near-copy-cosine"), help: "Quality with --embeddings: cosine to a prompt title at or above which a rationale is a near-copy.")
    var nearCopyCosine = RationaleQualityRules().embeddingCutoff
    @OptionGroup var encoderOptions: EncoderOptions

    var rules: RationaleQualityRules {
        RationaleQualityRules(trigramJaccardCutoff: nearCopyJaccard, titleTokenShareCutoff: nearCopyTokenShare, embeddingCutoff: nearCopyCosine)
    }

    func embedder() throws -> RationaleTextEmbedder? {
        guard embeddings else { return nil }
        let encoder = try encoderOptions.makeSentenceEncoder()
        return { texts in
            guard !texts.isEmpty else { return [] }
            let m = try encoder.encode(texts, batchSize: 32)
            return (0..<m.rows).map { r in (0..<m.cols).map { c in m[r, c] } }
        }
    }

    /// The run's rationales beside their prompt titles, classified.
    func measure(_ rs: RationaleStore, run: RationaleRun)
        throws -> (inputs: [RationaleQualityInput], quality: RationaleQuality, classes: [[RationaleClass]]) {
        let builder = try ProfileBuilder(store: rs.store, dataset: run.dataset, split: run.split,
                                         options: RationaleStore.profileOptions(of: run))
        let inputs = try rs.qualityInputs(run: run, builder: builder)
        let (q, classes) = try RationaleQuality.measure(inputs, rules: rules, embedder: try embedder())
        return (inputs, q, classes)
    }
}

/// `rationales-show --quality`: the quality table (or JSON) of the selected run.
func printQuality(_ rs: RationaleStore, run: RationaleRun, options: QualityOptions, json: Bool) throws {
    let q = try options.measure(rs, run: run).quality
    if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        print(String(decoding: try enc.encode(q), as: UTF8.self))
    } else {
        print(run)
        print(q.table)
    }
}

extension RationaleClass: ExpressibleByArgument {}

struct RationalesFilter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rationales-filter",
        abstract: "Copy a run without its near-copy and meta-talk rationales, as reasoner imported:NAME (for validate-rewards).",
        discussion: """
        Classes are those of `rationales-show --quality` (Docs/reasoners.md, "Rationale quality"). \
        Every user of the source run is kept, with the rationales that remain. Filter every run you \
        compare with the same options, e.g.
          rec-data rationales-filter --dataset ml-100k --split random --reasoner aspect
          rec-data rationales-filter --dataset ml-100k --split random --reasoner openai
          validate-rewards --dataset ml-100k --split random --reasoner imported:aspect-quality ...
          validate-rewards --dataset ml-100k --split random --reasoner imported:openai-quality ...
        """)
    @OptionGroup var store: StoreOptions
    @OptionGroup var selection: RunSelection
    @OptionGroup var quality: QualityOptions
    @Option(help: "Name of the filtered run (reasoner imported:NAME); default: the source reasoner's name without 'imported:', ':' as '-', then '-quality'.")
    var name: String?
    @Option(parsing: .upToNextOption, help: "Classes to drop (default: near-copy and every meta-talk class).")
    var drop: [RationaleClass] = RationaleClass.allCases.filter { $0 != .ok }

    func run() throws {
        do {
            let rs = try RationaleStore(store: try store.open())
            let source = try selection.resolve(rs)
            let (inputs, q, classes) = try quality.measure(rs, run: source)
            let stem = source.reasoner.hasPrefix("imported:") ? String(source.reasoner.dropFirst("imported:".count)) : source.reasoner
            let n = name ?? stem.replacingOccurrences(of: ":", with: "-") + "-quality"
            let out = try rs.writeFiltered(from: source, inputs: inputs, classes: classes, drop: Set(drop), name: n,
                                           rules: quality.rules.canonical, embeddings: quality.embeddings)
            let users = classes.filter { cs in cs.contains { !drop.contains($0) } }.count
            print("filtered \(source)\n  → \(out.run)\n  kept \(out.kept) of \(q.rationales) rationales (dropped \(out.dropped)); \(users) of \(q.users) users keep at least one")
        } catch {
            throw commandFailure(error)
        }
    }
}
