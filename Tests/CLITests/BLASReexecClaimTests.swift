import Foundation
import Testing

/// Docs/ARCHITECTURE.md and Docs/benchmarks.md: "every executable that does BLAS work (all but
/// `bench-import` and `bench-http`) calls `BLASRuntime.reexecWithOptimalCoreIfNeeded()` first".
/// Checked on the sources: each executable target of Package.swift that imports a module above
/// RecKit/RecData (so links OpenBLAS) either calls it itself or starts through
/// `ValidateRewardsCommand.main`, which calls it (Sources/CLI/RecCLI/ExtensibleMetrics.swift).
@Suite struct BLASReexecClaimTests {
    @Test func everyExecutableButBenchImportReexecutes() throws {
        let root = DocsCommandTests.repositoryRoot
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        // `.executableTarget(name: "X", ... path: "P"` pairs, in manifest order.
        let pattern = try NSRegularExpression(pattern: #"\.executableTarget\(\s*name:\s*"([^"]+)"[\s\S]*?path:\s*"([^"]+)""#)
        let ns = manifest as NSString
        let targets = pattern.matches(in: manifest, range: NSRange(location: 0, length: ns.length)).map {
            (name: ns.substring(with: $0.range(at: 1)), path: ns.substring(with: $0.range(at: 2)))
        }
        #expect(targets.count >= 8, "\(targets)")
        let extensible = try String(contentsOf: root.appendingPathComponent("Sources/CLI/RecCLI/ExtensibleMetrics.swift"), encoding: .utf8)
        #expect(extensible.contains("BLASRuntime.reexecWithOptimalCoreIfNeeded()"))
        // Modules that bring no BLAS work with them.
        let noBLAS: Set<String> = ["Foundation", "FoundationNetworking", "ArgumentParser", "RecKit", "RecData", "Glibc", "Dispatch"]
        var without: [String] = [], exempt: [String] = []
        for t in targets {
            let dir = root.appendingPathComponent(t.path)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
            let text = try files.map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
            let imports = Set(text.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                return words.first == "import" && words.count >= 2 ? String(words[1]) : nil
            })
            if imports.isSubset(of: noBLAS) { exempt.append(t.name); continue }
            if !(text.contains("BLASRuntime.reexecWithOptimalCoreIfNeeded()") || text.contains("ValidateRewardsCommand.main(")) {
                without.append(t.name)
            }
        }
        #expect(without == [])
        #expect(exempt.sorted() == ["bench-http", "bench-import"])
    }
}
