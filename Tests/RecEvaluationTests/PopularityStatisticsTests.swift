import Foundation
import Testing
import RecKit
@testable import RecEvaluation

/// Issue 12: logistic regression, cross-fitting over users and the partial rank correlation,
/// each against a closed form or a brute-force definition.
@Suite struct PopularityStatisticsTests {
    func logit(_ p: Double) -> Double { log(p / (1 - p)) }

    @Test func logisticWithOneBinaryFeatureMatchesTheClosedForm() {
        // x = 0: 3 of 10 liked; x = 1: 7 of 10. The saturated model's MLE is the two groups'
        // log-odds: β₀ = logit 0.3, β₁ = logit 0.7 − logit 0.3.
        let x = [Double](repeating: 0, count: 10) + [Double](repeating: 1, count: 10)
        let y = (0..<10).map { $0 < 3 } + (0..<10).map { $0 < 7 }
        let m = LogisticRegression.fit(columns: [x], labels: y, ridge: 0)
        #expect(abs(m.intercept - logit(0.3)) < 1e-9)
        #expect(abs(m.coefficients[0] - (logit(0.7) - logit(0.3))) < 1e-9)
    }

    @Test func logisticSolvesTheScoreEquations() {
        // At the MLE the score equations Σ (y − μ) x_j = 0 hold for every column and the intercept.
        var g = SeededGenerator(seed: 5)
        let n = 400
        let a = (0..<n).map { _ in g.nextUnit() * 4 - 2 }
        let b = (0..<n).map { _ in g.nextUnit() * 2 }
        let y = (0..<n).map { i in g.nextUnit() < 1 / (1 + exp(-(0.3 + 1.2 * a[i] - 0.8 * b[i]))) }
        let m = LogisticRegression.fit(columns: [a, b], labels: y, ridge: 0)
        var s = [0.0, 0.0, 0.0]
        for i in 0..<n {
            let mu = 1 / (1 + exp(-m.logOdds([a[i], b[i]])))
            let r = (y[i] ? 1 : 0) - mu
            s[0] += r; s[1] += r * a[i]; s[2] += r * b[i]
        }
        #expect(s.allSatisfy { abs($0) < 1e-8 }, "\(s)")
        #expect(m.coefficients[0] > 0.6 && m.coefficients[1] < -0.2)  // the generating signs
    }

    @Test func separableClassesStillGiveFiniteOrderedPredictions() {
        let x = (0..<20).map(Double.init)
        let y = x.map { $0 >= 10 }
        let m = LogisticRegression.fit(columns: [x], labels: y)
        #expect(m.intercept.isFinite && m.coefficients[0].isFinite && m.coefficients[0] > 0)
    }

    @Test func userFoldsAreBalancedSeededAndComplete() {
        let f = CrossFitting.userFolds(userCount: 23, folds: 5, seed: 7)
        let counts = (0..<5).map { k in f.filter { $0 == k }.count }
        #expect(counts.max()! - counts.min()! <= 1 && counts.reduce(0, +) == 23)
        #expect(f == CrossFitting.userFolds(userCount: 23, folds: 5, seed: 7))
        #expect(f != CrossFitting.userFolds(userCount: 23, folds: 5, seed: 8))
    }

    /// Data of `users` users with 6 observations each, feature correlated with the label.
    func data(users: Int, seed: UInt64) -> (x: [Double], z: [Double], y: [Bool], user: [Int]) {
        var g = SeededGenerator(seed: seed)
        var x: [Double] = [], z: [Double] = [], y: [Bool] = [], user: [Int] = []
        for u in 0..<users {
            for _ in 0..<6 {
                let a = g.nextUnit() * 3, b = g.nextUnit()
                x.append(a); z.append(b); user.append(u)
                y.append(g.nextUnit() < 1 / (1 + exp(-(a - 1.5 + b))))
            }
        }
        return (x, z, y, user)
    }

    @Test func outOfFoldPredictionsMatchAHandFitOnTheOtherFolds() {
        let d = data(users: 30, seed: 11)
        let folds = CrossFitting.userFolds(userCount: 30, folds: 3, seed: 2)
        let oof = CrossFitting.outOfFoldLogOdds(columns: [d.x, d.z], labels: d.y, userOfObservation: d.user, foldOfUser: folds, folds: 3)
        for f in 0..<3 {
            // By hand: standardise on the other folds, fit there, predict this fold.
            let train = d.y.indices.filter { folds[d.user[$0]] != f }
            func standardise(_ c: [Double]) -> (Double, Double) {
                let v = train.map { c[$0] }
                let mean = v.reduce(0, +) / Double(v.count)
                return (mean, (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot())
            }
            let (mx, sx) = standardise(d.x), (mz, sz) = standardise(d.z)
            let m = LogisticRegression.fit(columns: [train.map { (d.x[$0] - mx) / sx }, train.map { (d.z[$0] - mz) / sz }],
                                           labels: train.map { d.y[$0] })
            for i in d.y.indices where folds[d.user[i]] == f {
                #expect(abs(oof[i] - m.logOdds([(d.x[i] - mx) / sx, (d.z[i] - mz) / sz])) < 1e-9)
            }
        }
    }

    @Test func outOfFoldScoresAreTheLogOddsLessAConstantPerFold() {
        let d = data(users: 30, seed: 12)
        let folds = CrossFitting.userFolds(userCount: 30, folds: 3, seed: 5)
        let logOdds = CrossFitting.outOfFoldLogOdds(columns: [d.x, d.z], labels: d.y, userOfObservation: d.user, foldOfUser: folds, folds: 3)
        let scores = CrossFitting.outOfFoldScores(columns: [d.x, d.z], labels: d.y, userOfObservation: d.user, foldOfUser: folds, folds: 3)
        var constants: [Double] = []
        for f in 0..<3 {
            let shift = d.y.indices.filter { folds[d.user[$0]] == f }.map { logOdds[$0] - scores[$0] }
            #expect(shift.allSatisfy { abs($0 - shift[0]) < 1e-9 })
            constants.append(shift[0])
        }
        #expect(Set(constants.map { ($0 * 1e6).rounded() }).count == 3)  // the folds' constants differ: dropping them matters
    }

    @Test func withoutSignalThePooledScoresAreNotAntiPredictive() {
        // Labels independent of the feature, base rates that differ by fold: pooled log-odds rank
        // folds by their complement's base rate (AUC well below 0.5); the scores do not.
        var g = SeededGenerator(seed: 17)
        var x: [Double] = [], y: [Bool] = [], user: [Int] = []
        let folds = CrossFitting.userFolds(userCount: 200, folds: 5, seed: 3)
        for u in 0..<200 {
            let rate = 0.2 + 0.15 * Double(folds[u])
            for _ in 0..<5 { x.append(g.nextUnit()); y.append(g.nextUnit() < rate); user.append(u) }
        }
        let pooled = ROC.auc(scores: CrossFitting.outOfFoldLogOdds(columns: [x], labels: y, userOfObservation: user, foldOfUser: folds, folds: 5), labels: y).value!
        let scores = ROC.auc(scores: CrossFitting.outOfFoldScores(columns: [x], labels: y, userOfObservation: user, foldOfUser: folds, folds: 5), labels: y).value!
        #expect(pooled < 0.4, "\(pooled)")
        #expect(abs(scores - 0.5) < 0.06, "\(scores)")
    }

    @Test func aFoldsOwnLabelsNeverReachItsPredictions() {
        let d = data(users: 24, seed: 3)
        let folds = CrossFitting.userFolds(userCount: 24, folds: 4, seed: 1)
        let before = CrossFitting.outOfFoldLogOdds(columns: [d.x], labels: d.y, userOfObservation: d.user, foldOfUser: folds, folds: 4)
        // Flip every label of fold 0: fold 0's predictions must not move, the others must.
        let flipped = d.y.indices.map { folds[d.user[$0]] == 0 ? !d.y[$0] : d.y[$0] }
        let after = CrossFitting.outOfFoldLogOdds(columns: [d.x], labels: flipped, userOfObservation: d.user, foldOfUser: folds, folds: 4)
        let inFold = d.y.indices.filter { folds[d.user[$0]] == 0 }
        let outside = d.y.indices.filter { folds[d.user[$0]] != 0 }
        #expect(inFold.allSatisfy { before[$0] == after[$0] })
        #expect(outside.contains { abs(before[$0] - after[$0]) > 1e-6 })
    }

    /// Spearman partial correlation by its definition: Pearson of the OLS residuals of the ranks.
    func bruteForcePartial(_ x: [Double], _ y: [Double], _ z: [Double]) -> Double {
        let rx = Ranks.average(x), ry = Ranks.average(y), rz = Ranks.average(z)
        func residuals(_ v: [Double]) -> [Double] {
            let n = Double(v.count)
            let mv = v.reduce(0, +) / n, mz = rz.reduce(0, +) / n
            var sxy = 0.0, sxx = 0.0
            for i in v.indices { sxy += (rz[i] - mz) * (v[i] - mv); sxx += (rz[i] - mz) * (rz[i] - mz) }
            let slope = sxy / sxx
            return v.indices.map { v[$0] - mv - slope * (rz[$0] - mz) }
        }
        return Correlation.pearson(residuals(rx), residuals(ry)).value!
    }

    @Test func partialSpearmanIsTheResidualCorrelationOfRanks() {
        var g = SeededGenerator(seed: 9)
        var groups: [(x: [Double], y: [Double], z: [Double])] = []
        for _ in 0..<15 {
            var gx: [Double] = [], gy: [Double] = [], gz: [Double] = []
            for _ in 0..<5 {
                let z = Double(g.nextIndex(6))  // ties in the control, as popularity has
                let x = z + g.nextUnit() * 3
                gx.append(x); gz.append(z); gy.append(Double(1 + g.nextIndex(5)) + 0.3 * x)
            }
            groups.append((gx, gy, gz))
        }
        let p = UserGroupedPartialSpearman(groups)
        let value = p.estimate(.identity(userCount: 15)).value!
        #expect(abs(value - bruteForcePartial(groups.flatMap(\.x), groups.flatMap(\.y), groups.flatMap(\.z))) < 1e-10)
        // A resample equals the brute force on the data with each user repeated by its multiplicity.
        let m: [Double] = (0..<15).map { Double($0 % 3) }
        var ex: [Double] = [], ey: [Double] = [], ez: [Double] = []
        for (u, k) in m.enumerated() { for _ in 0..<Int(k) { ex += groups[u].x; ey += groups[u].y; ez += groups[u].z } }
        #expect(abs(p.estimate(UserWeights(multiplicity: m)).value! - bruteForcePartial(ex, ey, ez)) < 1e-10)
    }

    @Test func partialSpearmanOfTheControlItselfIsUndefinedNotNaN() {
        var groups: [(x: [Double], y: [Double], z: [Double])] = []
        for u in 0..<5 {
            let v = Double(u)
            groups.append((x: [v, v + 0.5], y: [1, 2], z: [v, v + 0.5]))
        }
        let e = UserGroupedPartialSpearman(groups).estimate(.identity(userCount: 5))
        #expect(e.value == nil && e.undefinedReason != nil)
    }

    @Test func combinedReplicatesEqualBootstrappingTheCombinationItself() {
        var g = SeededGenerator(seed: 21)
        let groups: [(x: [Double], y: [Double], z: [Double])] = (0..<25).map { _ in
            let z = (0..<4).map { _ in Double(g.nextIndex(5)) }
            let x = z.map { $0 + g.nextUnit() * 2 }
            return (x, x.map { $0 * 0.5 + g.nextUnit() * 2 }, z)
        }
        let partial = UserGroupedPartialSpearman(groups)
        let b = ClusterBootstrap(userCount: 25, configuration: BootstrapConfiguration(resamples: 300, seed: 4))
        let r = b.run([partial.xy.spearman, partial.xz.spearman, partial.yz.spearman, partial.estimate])
        let combined = r.combined([0, 1, 2]) {
            UserGroupedPartialSpearman.combine(.value($0[0]), .value($0[1]), .value($0[2]))
        }
        let direct = r.estimate(3)
        #expect(abs(combined.point.value! - direct.point.value!) < 1e-12)
        #expect(abs(combined.interval.interval!.lower - direct.interval.interval!.lower) < 1e-12)
        #expect(abs(combined.interval.interval!.upper - direct.interval.interval!.upper) < 1e-12)
        #expect(combined.undefinedResamples == direct.undefinedResamples)
    }
}
