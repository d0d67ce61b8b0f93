import Foundation
import Testing
import RecKit
@testable import RecEvaluation

/// Issue 15: the cluster bootstrap draws its resamples in blocks so that memory is bounded by the
/// block, not by resamples × users. The blocks come from the one seeded stream in order, so the
/// replicates must not depend on the block size or on the number of threads.
@Suite struct BootstrapMemoryTests {
    static func users(_ n: Int, seed: UInt64) -> [(x: [Double], y: [Double])] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in
            let m = 1 + g.nextIndex(6)
            let x = (0..<m).map { _ in Double(1 + g.nextIndex(5)) }
            let y = x.map { $0 * 0.4 + g.nextGaussian() }
            return (x, y)
        }
    }

    @Test(arguments: [1, 7, 64, 1 << 23])
    func replicatesDoNotDependOnTheBlockSize(_ resampleMemory: Int) {
        let u = Self.users(120, seed: 5)
        let pairs = UserGroupedPairs(u)
        let labels = UserGroupedLabels(u.map { ($0.y, $0.x.map { $0 >= 4 }) })
        let stats: [@Sendable (UserWeights) -> Estimate] = [pairs.pearson, pairs.kendallTauB, labels.auc]
        let cfg = BootstrapConfiguration(resamples: 90, seed: 31)
        let reference = ClusterBootstrap(userCount: u.count, configuration: cfg).run(stats)
        // resampleMemory 1 is one resample per block; 7 × 120 users does not divide 90 resamples.
        let blocked = ClusterBootstrap(userCount: u.count, configuration: cfg)
            .run(stats, threads: 2, resampleMemory: resampleMemory * u.count)
        #expect(blocked.replicates == reference.replicates)
        #expect(blocked.points == reference.points)
        #expect(blocked.replicates.allSatisfy { $0.count == 90 })
    }

    @Test func theJackknifeOfBCaIsUnchangedByLazyWeights() {
        let u = Self.users(40, seed: 9)
        let pairs = UserGroupedPairs(u)
        let cfg = BootstrapConfiguration(resamples: 50, seed: 2, method: .bca)
        let r = ClusterBootstrap(userCount: u.count, configuration: cfg).run([pairs.pearson], threads: 2, resampleMemory: 3 * u.count)
        let jack = r.jackknife![0]
        #expect(jack.count == u.count)
        // Leave-one-user-out by hand for a few users.
        for left in [0, 17, 39] {
            var m = [Double](repeating: 1, count: u.count)
            m[left] = 0
            #expect(jack[left] == pairs.pearson(UserWeights(multiplicity: m)).value)
        }
    }
}
