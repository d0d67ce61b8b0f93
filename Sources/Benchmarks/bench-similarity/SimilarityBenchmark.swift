import ArgumentParser
import Foundation
import RecDistances
import RecKit
import RecNumerics

/// Item × rationale similarity throughput of the embedding metrics (384 dimensions), against the
/// machine's sgemm rate measured in the same run; optionally the end-to-end time of
/// `validate-rewards` on a prepared database.
@main
struct SimilarityBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-similarity",
        abstract: "Benchmark batched rationale × item similarity and (optionally) a whole validate-rewards run.")

    @Option(help: "Catalog items.") var items = 1682
    @Option(help: "Rationales (all users').") var rationales = 3742
    @Option(help: "Embedding dimension.") var dimension = 384
    @Option(help: "Repetitions per measurement (best is reported).") var repeats = 5
    @Option(help: "A database prepared by `bash run.sh demo`, to time validate-rewards end to end.") var db: String?
    @Option(help: "Arguments for the end-to-end run.") var validateArguments = "--dataset ml-100k --split random --reasoner aspect --quiet"

    static func main() {
        BLASRuntime.reexecWithOptimalCoreIfNeeded()
        _ = BLASRuntime.configureFromEnvironment()
        Self.main(nil)
    }

    func best(_ body: () -> Void) -> Double {
        var t = Double.infinity
        for _ in 0..<repeats {
            let s = Date()
            body()
            t = min(t, Date().timeIntervalSince(s))
        }
        return t
    }

    func randomUnitRows(_ n: Int, _ g: inout SeededGenerator) -> Matrix {
        var m = Matrix(rows: n, cols: dimension, storage: (0..<(n * dimension)).map { _ in Float(g.nextGaussian()) })
        Kernels.l2NormalizeRows(&m)
        return m
    }

    func run() throws {
        print("BLAS: OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) threads; \(BLASRuntime.configDescription)")
        var g = SeededGenerator(seed: 1)
        // Peer in the same run: sgemm on a square problem of similar size.
        let n = 1024
        let a = randomUnitRows(n, &g), b = randomUnitRows(n, &g)
        let sq1024 = Matrix(rows: n, cols: n, storage: (0..<(n * n)).map { _ in Float(g.nextGaussian()) })
        let tSquare = best { _ = Kernels.gemm(sq1024, sq1024) }
        let peak = 2 * pow(Double(n), 3) / tSquare / 1e9
        _ = (a, b)
        print(String(format: "sgemm 1024x1024x1024: %.1f GFLOP/s (the machine's reference rate)", peak))

        let itemsM = randomUnitRows(items, &g), ratsM = randomUnitRows(rationales, &g)
        let flops = 2 * Double(items) * Double(rationales) * Double(dimension)
        let tBatched = best { _ = Kernels.gemm(ratsM, itemsM, transposeB: true) }
        let gflops = flops / tBatched / 1e9
        print(String(format: "batched cosine %d rationales x %d items x %d: %.2f ms, %.0f M pairs/s, %.1f GFLOP/s = %.0f %% of sgemm",
                     rationales, items, dimension, tBatched * 1e3, Double(items * rationales) / tBatched / 1e6, gflops, gflops / peak * 100))

        // The per-user path validate-rewards takes: ~11 held-out items x ~4 rationales per user.
        let perUser = 11, perUserRats = 4, users = rationales / perUserRats
        let catalog = ScoringCatalog(texts: [String](repeating: "", count: items), embeddings: itemsM)
        let context = ScoringContext(catalog: catalog, rationales: RationaleSet(texts: [String](repeating: "", count: rationales), embeddings: ratsM))
        let queries = (0..<users).map { UserQuery(userID: Int64($0), rationales: ($0 * perUserRats)..<(($0 + 1) * perUserRats), likedItems: []) }
        let itemLists = (0..<users).map { _ in (0..<perUser).map { _ in g.nextIndex(items) } }
        let metric = SBERTCosine()
        let tUsers = best { for (u, q) in queries.enumerated() { _ = metric.similarities(items: itemLists[u], user: q, context: context) } }
        print(String(format: "per-user sbert-cosine (%d users x %d items x %d rationales): %.2f ms, %.2f M pairs/s",
                     users, perUser, perUserRats, tUsers * 1e3, Double(users * perUser * perUserRats) / tUsers / 1e6))

        if let db {
            let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("validate-rewards").path
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-validate-\(getpid())").path
            let start = Date()
            _ = try WheelFetcher.run(bin, ["--db", db, "--out", out] + validateArguments.split(separator: " ").map(String.init))
            print(String(format: "validate-rewards end to end (%@): %.1f s", validateArguments, Date().timeIntervalSince(start)))
            try? FileManager.default.removeItem(atPath: out)
        }
    }
}
