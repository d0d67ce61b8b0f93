import Foundation
import Testing
import RecKit
@testable import RecEvaluation

@Suite struct BootstrapTests {
    func syntheticUsers(_ n: Int, seed: UInt64, signal: Double) -> [(x: [Double], y: [Double])] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in
            let m = 2 + g.nextIndex(8)
            let x = (0..<m).map { _ in Double(1 + g.nextIndex(5)) }
            let y = x.map { (($0 * signal + g.nextGaussian()) * 10).rounded() / 10 }
            return (x, y)
        }
    }

    @Test func deterministicForASeed() {
        let pairs = UserGroupedPairs(syntheticUsers(150, seed: 1, signal: 0.3))
        let cfg = BootstrapConfiguration(resamples: 200, seed: 77)
        let a = ClusterBootstrap(userCount: pairs.userCount, configuration: cfg).run([pairs.spearman, pairs.kendallTauB])
        let b = ClusterBootstrap(userCount: pairs.userCount, configuration: cfg).run([pairs.spearman, pairs.kendallTauB])
        #expect(a.replicates == b.replicates)
        #expect(a.estimate(0) == b.estimate(0))
        var other = cfg; other.seed = 78
        let c = ClusterBootstrap(userCount: pairs.userCount, configuration: other).run([pairs.spearman, pairs.kendallTauB])
        #expect(a.replicates != c.replicates)
        let ci = a.estimate(0).interval.interval!
        #expect(ci.contains(a.points[0].value!))
    }

    /// A 95 % interval of a mean of normal per-user values should cover the true mean in about
    /// 95 % of repetitions; with 200 repetitions a binomial 99.9 % band is roughly [0.88, 0.99].
    @Test(arguments: [BootstrapMethod.percentile, .bca])
    func coverageOfAMeanIsNominal(_ method: BootstrapMethod) {
        var g = SeededGenerator(seed: 2024)
        var covered = 0
        let reps = 200
        for r in 0..<reps {
            let values = (0..<60).map { _ in 0.5 + g.nextGaussian() }
            let uv = UserValues(values.map { .value($0) })
            let cfg = BootstrapConfiguration(resamples: 400, seed: UInt64(r), method: method)
            let e = ClusterBootstrap(userCount: 60, configuration: cfg).estimate(uv.mean)
            if e.interval.interval!.contains(0.5) { covered += 1 }
            #expect(e.method == method)
        }
        let rate = Double(covered) / Double(reps)
        #expect(rate > 0.88 && rate < 0.99, "coverage \(rate)")
    }

    @Test func pairedBootstrapSeesAClearDifferenceAndNoneForIdenticalStatistics() {
        let users = syntheticUsers(300, seed: 3, signal: 0.4)
        let good = UserGroupedPairs(users)
        // The same ratings against pure noise: a worse metric on the same users.
        var g = SeededGenerator(seed: 5)
        let noise = UserGroupedPairs(users.map { u in (u.x, u.x.map { _ in g.nextGaussian() }) })
        let boot = ClusterBootstrap(userCount: users.count, configuration: BootstrapConfiguration(resamples: 500, seed: 1))
        let d = boot.compare(good.spearman, noise.spearman)
        #expect(d.difference.point.value! > 0.3)
        #expect(d.difference.interval.interval!.lower > 0)
        #expect(d.pValue.value! < 0.01)
        let same = boot.compare(good.spearman, good.spearman)
        #expect(same.difference.point == .value(0) && same.pValue == .value(1))
    }

    @Test func undefinedResamplesAreCountedAndCanVoidTheInterval() {
        // One positive in one user out of 50: most resamples have no positive.
        var groups: [(scores: [Double], labels: [Bool])] = (0..<49).map { i in ([Double(i)], [false]) }
        groups.append(([100], [true]))
        let l = UserGroupedLabels(groups)
        let e = ClusterBootstrap(userCount: 50, configuration: BootstrapConfiguration(resamples: 300, seed: 3)).estimate(l.auc)
        #expect(e.point == .value(1))
        #expect(e.undefinedResamples > 50)
        #expect(e.interval.interval == nil)
    }

    /// The issue-5 workload (~1000 users, ~5 pairs each, 5 statistics, 1000 resamples) gives every
    /// interval; its time is printed, not asserted (a clock is no test on a shared host).
    @Test func largeBootstrapGivesEveryInterval() {
        let users = syntheticUsers(1000, seed: 8, signal: 0.3)
        let pairs = UserGroupedPairs(users)
        let labels = UserGroupedLabels(users.map { u in (u.y, u.x.map { $0 >= 4 }) })
        let ndcg = UserValues(users.map { u in RankingEvaluation.ndcg(scores: u.y, relevance: u.x.map { $0 >= 4 ? 1 : 0 }, k: 10) })
        let start = Date()
        let r = ClusterBootstrap(userCount: 1000, configuration: BootstrapConfiguration(resamples: 1000, seed: 1))
            .run([pairs.pearson, pairs.spearman, pairs.kendallTauB, labels.auc, ndcg.mean])
        let seconds = Date().timeIntervalSince(start)
        print("bootstrap 1000 users x 1000 resamples x 5 statistics: \(seconds) s")
        for s in 0..<5 { #expect(r.estimate(s).interval.interval != nil) }
    }
}

@Suite struct PermutationTests {
    @Test func pValuesAreRoughlyUniformUnderTheNull() {
        var g = SeededGenerator(seed: 10)
        var ps: [Double] = []
        for r in 0..<200 {
            let d = (0..<40).map { _ in g.nextGaussian() }
            ps.append(PairedTests.signFlip(differences: d, permutations: 400, seed: UInt64(r)).pValue.value!)
        }
        let below05 = Double(ps.filter { $0 <= 0.05 }.count) / 200
        let below50 = Double(ps.filter { $0 <= 0.5 }.count) / 200
        #expect(below05 < 0.11, "rejection rate \(below05)")
        #expect(below50 > 0.38 && below50 < 0.62, "median check \(below50)")
    }

    @Test func tinyUnderAClearEffect() {
        var g = SeededGenerator(seed: 11)
        let d = (0..<200).map { _ in 0.5 + g.nextGaussian() }
        let r = PairedTests.signFlip(differences: d, permutations: 2000, seed: 1)
        #expect(r.pValue.value! == 1.0 / 2001)
        #expect(!r.exact)
    }

    @Test func exactEnumerationForFewUsers() {
        // All 5 differences positive: only the all-plus and all-minus patterns are as extreme.
        let r = PairedTests.signFlip(differences: [1, 2, 3, 4, 5], permutations: 10_000, seed: 0)
        #expect(r.exact && r.permutations == 32)
        #expect(r.pValue == .value(2.0 / 32))
        #expect(PairedTests.signFlip(differences: [0, 0, 0], seed: 0).pValue == .value(1))
        #expect(!PairedTests.signFlip(differences: [], seed: 0).pValue.isDefined)
        let a = PairedTests.signFlip(differences: (0..<100).map { Double($0 % 7) - 2.9 }, permutations: 500, seed: 4)
        let b = PairedTests.signFlip(differences: (0..<100).map { Double($0 % 7) - 2.9 }, permutations: 500, seed: 4)
        #expect(a == b)
    }

    @Test func holmKeepsUndefinedAndOrder() {
        let adj = MultipleComparisons.holm([.value(0.01), .undefined(reason: "x"), .value(0.04), .value(0.03)])
        #expect(adj[1] == .undefined(reason: "x"))
        #expect(matches(adj[0], 0.03, 1e-15) && matches(adj[2], 0.06, 1e-15) && matches(adj[3], 0.06, 1e-15))
        #expect(MultipleComparisons.bonferroni([0.2, 0.6]) == [0.4, 1])
    }

    @Test func seedSummaryEdgeCases() {
        let one = SeedSummary([0.4])
        #expect(one.mean == .value(0.4) && one.interval.interval == nil && !one.standardDeviation.isDefined)
        #expect(!SeedSummary([]).mean.isDefined)
        let same = SeedSummary([0.3, 0.3, 0.3])
        #expect(same.interval.interval!.width == 0)
    }
}
