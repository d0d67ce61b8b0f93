// bench-encoder: OpenBLAS kernels, sgemm roofline, and sentences/s of the Swift SentenceBERT
// against sentence-transformers (PyTorch CPU) on the same texts, same machine, same run.
import ArgumentParser
import Foundation
import RecEmbedding
import RecKit
import RecNumerics
#if canImport(Glibc)
import Glibc
#endif

// Must run before anything touches BLAS performance: may replace this process.
BLASRuntime.reexecWithOptimalCoreIfNeeded()
/// print + flush: lines appear as they are measured, also when redirected to a file.
func say(_ s: String) { print(s); fflush(nil) }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func peakRSSMiB() -> Double {
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    return Double(ru.ru_maxrss) / 1024  // Linux reports KiB
}

/// Best-of-`repeats` sgemm throughput for `m x k` times `k x n`.
func sgemmGFLOPS(m: Int, n: Int, k: Int, threads: Int, repeats: Int = 5) -> Double {
    BLASRuntime.setThreads(threads)
    var g = SeededGenerator(seed: 7)
    let a = Matrix(rows: m, cols: k, storage: (0..<(m * k)).map { _ in g.nextUnitFloat() - 0.5 })
    let b = Matrix(rows: k, cols: n, storage: (0..<(k * n)).map { _ in g.nextUnitFloat() - 0.5 })
    var c = Matrix(rows: m, cols: n)
    Kernels.gemm(a, b, beta: 0, into: &c)  // warm-up (thread start, page faults)
    var best = Double.infinity
    let iters = max(1, Int(2e9 / (2.0 * Double(m * n * k))))
    for _ in 0..<repeats {
        let t0 = now()
        for _ in 0..<iters { Kernels.gemm(a, b, beta: 0, into: &c) }
        best = min(best, (now() - t0) / Double(iters))
    }
    return 2.0 * Double(m) * Double(n) * Double(k) / best / 1e9
}

/// ml-100k item texts in the library's template: "Title (Year). Genres: A, B."
func movieLensTexts(itemFile: String) throws -> [String] {
    let text = try String(contentsOfFile: itemFile, encoding: .utf8)
    var out: [String] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() where i > 0 {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 4 else { continue }
        let title = f[1], year = f[2]
        let genres = f[3].split(separator: " ").joined(separator: ", ")
        var s = year.isEmpty ? title : "\(title) (\(year))"
        s += "."
        if !genres.isEmpty { s += " Genres: \(genres)." }
        out.append(s)
    }
    return out
}

/// Deterministic product descriptions of about `targetTokens` word pieces each.
func syntheticDescriptions(count: Int, targetTokens: Int, seed: UInt64, tokenizer: (String) -> Int) -> [String] {
    let adjectives = ["lightweight", "durable", "compact", "ergonomic", "waterproof", "stainless", "premium", "affordable",
                      "rechargeable", "foldable", "breathable", "insulated", "adjustable", "wireless", "handcrafted", "organic"]
    let nouns = ["backpack", "kettle", "headphones", "jacket", "blender", "lamp", "keyboard", "tent", "water bottle",
                 "running shoe", "desk chair", "camera bag", "yoga mat", "coffee grinder", "smartwatch", "cookware set"]
    let features = ["a 30-hour battery", "USB-C fast charging", "a breathable mesh upper", "double-wall insulation",
                    "a non-slip base", "reinforced stitching", "a lifetime warranty", "dishwasher-safe parts",
                    "noise cancellation", "a magnetic closure", "recycled materials", "three speed settings",
                    "an aluminium frame", "a detachable strap", "bluetooth 5.3", "a memory-foam cushion"]
    let uses = ["daily commutes", "weekend hikes", "small kitchens", "home offices", "long flights", "rainy autumn days",
                "beginners and professionals", "gifts for coffee lovers", "outdoor camping", "busy families"]
    var g = SeededGenerator(seed: seed)
    func pick(_ a: [String]) -> String { a[g.nextIndex(a.count)] }
    var out: [String] = []
    for _ in 0..<count {
        var s = "This \(pick(adjectives)) \(pick(nouns)) comes with \(pick(features))."
        while tokenizer(s) < targetTokens {
            switch g.nextIndex(4) {
            case 0: s += " It is \(pick(adjectives)) and \(pick(adjectives)), with \(pick(features)) and \(pick(features))."
            case 1: s += " Ideal for \(pick(uses)); customers praise its \(pick(adjectives)) design."
            case 2: s += " Rated \(g.nextIndex(5) + 1).\(g.nextIndex(10)) stars by \(g.nextIndex(9000) + 100) reviewers."
            default: s += " Compared with other \(pick(nouns))s, it offers \(pick(features))."
            }
        }
        out.append(s)
    }
    return out
}

struct PeerResult { let ok: Bool; let sentencesPerSecond: Double; let note: String }

func runPeer(python: String, script: String, model: URL, texts: [String], threads: Int, batchSize: Int) -> PeerResult {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-encoder-\(getpid())-\(threads)-\(texts.count).txt")
    defer { try? FileManager.default.removeItem(at: file) }
    do {
        // One text per line: texts with newlines would be split, so flatten them for both sides.
        try texts.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python.contains("/") ? python : "/usr/bin/env")
        p.arguments = (python.contains("/") ? [] : [python]) + [script, "--model", model.path, "--texts", file.path,
                                                                 "--threads", "\(threads)", "--batch-size", "\(batchSize)", "--repeat", "1"]
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "\(threads)"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        _ = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            return PeerResult(ok: false, sentencesPerSecond: 0, note: "peer not installed (no result from \(python), exit \(p.terminationStatus))")
        }
        if (obj["ok"] as? Bool) == true, let r = obj["sentences_per_second"] as? Double {
            let v = (obj["versions"] as? [String: String]).map { "torch \($0["torch"] ?? "?"), sentence-transformers \($0["sentence_transformers"] ?? "?")" } ?? ""
            return PeerResult(ok: true, sentencesPerSecond: r, note: v)
        }
        return PeerResult(ok: false, sentencesPerSecond: 0, note: (obj["error"] as? String) ?? "peer not installed")
    } catch {
        return PeerResult(ok: false, sentencesPerSecond: 0, note: "peer not installed (\(error))")
    }
}

struct BenchEncoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-encoder",
        abstract: "Swift SentenceBERT (all-MiniLM-L6-v2 over OpenBLAS) vs sentence-transformers on the same texts.")

    @Option(help: "Model folder (default: fetched all-MiniLM-L6-v2 from the cache).")
    var modelDir: String?
    @Option(help: "One text per line for workload (a); default: ml-100k item texts.")
    var texts: String?
    @Option(help: "RecBole ml-100k.item used when --texts is not given.")
    var itemFile = "/tmp/rb/recbole/dataset_example/ml-100k/ml-100k.item"
    @Option(help: "Python with torch + sentence-transformers for the peer.")
    var peerPython: String?
    @Option(help: "Peer script.")
    var peerScript = "Notebooks-as-Scripts/bench_encoder_peer.py"
    @Flag(help: "Skip the peer.")
    var noPeer = false
    @Option(help: "Batch size of the Swift encoder.")
    var batchSize = 64
    @Option(help: "Batch size of the peer (sentence-transformers' default is 32).")
    var peerBatchSize = 32
    @Option(help: "Thread counts to measure, comma-separated.")
    var threads = "1,2"
    @Option(help: "Multi-thread strategy of the Swift encoder: batches or blas.")
    var parallelism = "batches"
    @Option(help: "Workloads to run: a, b or a,b.")
    var workloads = "a,b"
    @Flag(help: "Skip the sgemm measurement.")
    var noSgemm = false
    @Option(help: "Timed repetitions (best is reported).")
    var repeats = 3

    func run() throws {
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        say("== BLAS")
        say("core: \(BLASRuntime.coreName)   (re-exec: \(ProcessInfo.processInfo.environment[BLASRuntime.reexecGuardVariable] != nil ? "yes, OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "")" : "no: \(BLASRuntime.reexecDecision().reason)"))")
        say("config: \(BLASRuntime.configDescription)")
        var peak: [Int: Double] = [:]
        for t in threadCounts where !noSgemm {
            let g1 = sgemmGFLOPS(m: 512, n: 512, k: 512, threads: t)
            let g2 = sgemmGFLOPS(m: 1024, n: 1536, k: 384, threads: t)
            peak[t] = max(g1, g2)
            say(String(format: "sgemm %d thread(s): 512x512x512 %.1f GFLOP/s, 1024x384x1536 %.1f GFLOP/s", t, g1, g2))
        }

        let modelURL = try modelDir.map { URL(fileURLWithPath: $0) } ?? ModelStore().ensureMiniLM()
        let probe = try MiniLMEncoder(modelDirectory: modelURL, threads: 1)
        let workloadA: [String]
        let nameA: String
        if let texts {
            workloadA = try String(contentsOfFile: texts, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init).filter { !$0.isEmpty }
            nameA = "texts from \(texts)"
        } else {
            workloadA = try movieLensTexts(itemFile: itemFile)
            nameA = "ml-100k item texts"
        }
        let workloadB = syntheticDescriptions(count: 256, targetTokens: 128, seed: 42) { probe.tokenize($0).count }
        let selected = Set(workloads.split(separator: ","))
        let runs = [("(a) \(nameA)", workloadA, "a"), ("(b) synthetic product descriptions", workloadB, "b")]
            .filter { selected.contains(Substring($0.2)) }.map { ($0.0, $0.1) }
        say("model: \(modelURL.path)  id \(probe.modelID)")

        let python = peerPython ?? (FileManager.default.isExecutableFile(atPath: ".venv-peer/bin/python") ? ".venv-peer/bin/python" : "python3")
        for (name, ws) in runs {
            let lengths = ws.map { probe.tokenize($0).count }
            let flops = probe.forwardFLOPs(lengths: lengths)
            say(String(format: "\n== %@: %d texts, mean %.1f tokens (max %d), %.1f GFLOP per pass", name, ws.count,
                         Double(lengths.reduce(0, +)) / Double(max(1, ws.count)), lengths.max() ?? 0, flops / 1e9))
            for t in threadCounts {
                let enc = try MiniLMEncoder(modelDirectory: modelURL, threads: t,
                                            parallelism: MiniLMEncoder.Parallelism(rawValue: parallelism) ?? .batches)
                _ = try enc.encode(Array(ws.prefix(64)), batchSize: batchSize)
                // Swift and peer runs alternate, best of `repeats` rounds each: on a shared, noisy machine
                // both sides then see the same background load rather than different moments of it.
                var best = Double.infinity
                var peerBest: PeerResult? = nil
                for _ in 0..<max(1, repeats) {
                    let t0 = now()
                    _ = try enc.encode(ws, batchSize: batchSize)
                    best = min(best, now() - t0)
                    if !noPeer {
                        let p = runPeer(python: python, script: peerScript, model: modelURL, texts: ws, threads: t, batchSize: peerBatchSize)
                        if peerBest == nil || (p.ok && p.sentencesPerSecond > peerBest!.sentencesPerSecond) { peerBest = p }
                        if !p.ok { break }
                    }
                }
                let rate = Double(ws.count) / best
                let gflops = flops / best / 1e9
                var line = String(format: "swift  %d thread(s): %8.1f sentences/s  (%.3f s, %.1f GFLOP/s = %.0f%% of measured sgemm)",
                                  t, rate, best, gflops, 100 * gflops / (peak[t] ?? .nan))
                if let peer = peerBest {
                    if peer.ok {
                        line += String(format: "\npeer   %d thread(s): %8.1f sentences/s  -> swift/peer = %.2fx  [%@]", t,
                                       peer.sentencesPerSecond, rate / peer.sentencesPerSecond, peer.note)
                    } else {
                        line += "\npeer   \(t) thread(s): \(peer.note)"
                    }
                }
                say(line)
            }
        }
        say(String(format: "\npeak RSS: %.0f MiB", peakRSSMiB()))
    }
}

BenchEncoder.main()
