import ArgumentParser
import Foundation
import RecData
import RecKit

/// Imports a generated ratings CSV into a fresh store and prints rows/s and peak memory; in the
/// same run, times the straightforward Python importer (`csv` + `sqlite3.executemany`, same
/// schema) on the same file, so the two figures come from the same machine state.
@main
struct ImportBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-import",
        abstract: "Benchmark the CSV ratings importer against a Python csv+sqlite3 importer.")

    @Option(help: "Rows in the generated ratings file.") var rows = 10_000_000
    @Option(help: "Distinct users in the generated file.") var users = 200_000
    @Option(help: "Distinct items in the generated file.") var items = 50_000
    @Option(help: "Work folder (default: a temporary folder, removed afterwards).") var workdir: String?
    @Option(name: .customLong("peer-python"), help: "Python for the peer importer.") var peerPython = "python3"
    @Flag(name: .customLong("skip-peer"), help: "Do not run the Python importer.") var skipPeer = false
    @Option(help: "Seed of the generated file.") var seed: UInt64 = 7

    func run() throws {
        let dir = workdir ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-import-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if workdir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let csv = dir + "/ratings.csv"
        if !FileManager.default.fileExists(atPath: csv) || workdir == nil {
            try generate(csv)
        }
        let size = (try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int) ?? 0
        print("file: \(csv) — \(rows) rows, \(String(format: "%.0f", Double(size) / 1e6)) MB, \(users) users, \(items) items")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, SQLite WAL, one transaction per import")

        // Ours.
        let dbPath = dir + "/ours.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dbPath + suffix) }
        let store = try RatingStore(path: dbPath)
        var opts = ImportOptions(datasetName: "bench")
        opts.duplicates = .last
        opts.showProgress = true
        var mapping = DelimitedMapping(user: "user_id", item: "item_id", rating: "rating", timestamp: "timestamp")
        mapping.hasHeader = true
        let importer = try DatasetFormat.importer(format: .csv, path: csv, metaPath: nil, mapping: mapping)
        let rssBefore = peakRSSMiB()
        let t0 = Date()
        let report = try store.importDataset(importer, options: opts)
        let ours = Date().timeIntervalSince(t0)
        let oursRate = Double(rows) / ours
        print(String(format: "rec-data import (Swift):  %.2f s  %8.0f rows/s  peak RSS %.0f MiB (before import %.0f MiB)  [%d ratings stored]",
                     ours, oursRate, peakRSSMiB(), rssBefore, report.ratings))

        // Peer.
        if skipPeer { print("python csv+sqlite3: skipped"); return }
        let script = ImportBenchmark.peerScriptPath()
        let peerDB = dir + "/peer.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: peerDB + suffix) }
        do {
            let out = try WheelFetcher.run(peerPython, [script, csv, peerDB])
            let fields = Dictionary(uniqueKeysWithValues: out.split(separator: "\n").compactMap { line -> (String, String)? in
                let p = line.split(separator: "=", maxSplits: 1); return p.count == 2 ? (String(p[0]), String(p[1])) : nil })
            if let secs = Double(fields["seconds"] ?? ""), secs > 0 {
                let peerRate = Double(rows) / secs
                print(String(format: "python csv+sqlite3:       %.2f s  %8.0f rows/s  peak RSS %@ MiB  [%@ ratings stored]",
                             secs, peerRate, fields["peak_rss_mib"] ?? "?", fields["ratings"] ?? "?"))
                print(String(format: "speed-up: %.2fx (target >= 2x)", oursRate / peerRate))
            } else {
                print("python csv+sqlite3: unexpected output:\n\(out)")
            }
        } catch {
            print("python csv+sqlite3: peer not available (\(error))")
        }
    }

    /// MovieLens-like file: users in blocks with increasing timestamps, Zipf-ish item popularity,
    /// half-star ratings.
    func generate(_ path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot write \(path)")
        }
        defer { try? h.close() }
        var g = SeededGenerator(seed: seed)
        var buf = "user_id,item_id,rating,timestamp\n"
        let perUser = max(1, rows / users)
        var written = 0
        var user = 0
        let progress = ProgressReporter(label: "generate", unit: "rows", total: rows)
        while written < rows {
            user += 1
            var t = 1_000_000_000 + g.nextIndex(300_000_000)
            var seen = Set<Int>()
            let n = min(rows - written, perUser)
            while seen.count < n {
                // Zipf-like: squares of uniforms concentrate on low ids (popular items).
                let u = g.nextUnit()
                let item = 1 + Int(u * u * Double(items - 1))
                if !seen.insert(item).inserted { continue }
                let r = Double(1 + g.nextIndex(9)) * 0.5 + 0.5
                t += 1 + g.nextIndex(3600)
                buf += "u\(user),i\(item),\(r == r.rounded() ? String(Int(r)) : String(r)),\(t)\n"
                written += 1
                progress.advance()
            }
            if buf.utf8.count > 1 << 20 { h.write(Data(buf.utf8)); buf = "" }
        }
        h.write(Data(buf.utf8))
        progress.finish()
    }

    static func peerScriptPath() -> String {
        // The script lives in the repository; find it relative to the working directory or the binary.
        let candidates = [FileManager.default.currentDirectoryPath + "/Notebooks-as-Scripts/bench_import_peer.py",
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                              .appendingPathComponent("../../../Notebooks-as-Scripts/bench_import_peer.py").standardized.path]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }
}

/// Peak resident memory of this process (VmHWM).
func peakRSSMiB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}
