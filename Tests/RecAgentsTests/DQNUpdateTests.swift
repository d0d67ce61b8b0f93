import Testing
import RecKit
import RecNN
@testable import RecAgents

/// The fast paths of `DQNAgent.update()` against the plain computations they replace.
@Suite struct DQNUpdateTests {
    /// The double-DQN argmax as first written: the first allowed unmasked item, then strictly better ones.
    func referenceArgmax(_ q: [Float], masked: Set<Int32>, allowed: [Int32]?) -> Int? {
        var best = -1
        var bestQ = -Float.infinity
        for a in (allowed.map { $0.map(Int.init) } ?? Array(q.indices)) where !masked.contains(Int32(a)) && (best < 0 || q[a] > bestQ) {
            best = a
            bestQ = q[a]
        }
        return best >= 0 ? best : nil
    }

    @Test func bestActionMatchesTheScalarScan() {
        var g = SeededGenerator(seed: 5)
        let n = 203  // not a multiple of any vector width
        for trial in 0..<400 {
            // Few distinct values, so ties (and masked maxima) are common.
            var q = (0..<n).map { _ in Float(g.nextIndex(9)) - 4 }
            switch trial % 8 {
            case 0: q = [Float](repeating: -.infinity, count: n)
            case 1: q[g.nextIndex(n)] = .nan
            case 2: for i in q.indices where i % 3 != 0 { q[i] = -.infinity }
            default: break
            }
            let consumed = (0..<g.nextIndex(trial % 5 == 0 ? n : 30)).map { _ in Int32(g.nextIndex(n)) }
            var recommended = (0..<10).map { _ in Int32(g.nextIndex(n)) }
            for i in recommended.indices where i >= g.nextIndex(11) { recommended[i] = -1 }
            let allowed: [Int32]? = trial % 4 == 3 ? (0..<20).map { _ in Int32(g.nextIndex(n)) } : nil
            let masked = Set(consumed).union(recommended.filter { $0 >= 0 })
            let expected = referenceArgmax(q, masked: masked, allowed: allowed)
            var row = q
            let got = row.withUnsafeMutableBufferPointer { r in
                recommended.withUnsafeBufferPointer { rec in
                    DQNAgent.bestAction(scores: r.baseAddress!, items: n, consumed: consumed, recommended: rec, allowed: allowed)
                }
            }
            #expect(got == expected, "trial \(trial)")
        }
    }

    /// A forward over 2·b rows and a backward over its first b rows (how update() runs the online
    /// state tower on s and s′ at once) give bit for bit what the b-row forward and backward give.
    @Test func backwardOverLeadingRowsMatchesASeparateForward() {
        var g = SeededGenerator(seed: 9)
        var p = ParameterSet()
        let mlp = MLP(name: "m", sizes: [37, 24, 19, 5], parameters: &p, rng: &g)
        let b = 6
        let x = (0..<(2 * b * 37)).map { _ in Float(g.nextGaussian()) }
        let dy = (0..<(b * 5)).map { _ in Float(g.nextGaussian()) }

        var reference = p
        reference.zeroGradients()
        let trace = mlp.forward(Array(x.prefix(b * 37)), batch: b, parameters: reference)
        mlp.backward(trace, outputGradient: dy, parameters: &reference)

        var fused = p
        fused.zeroGradients()
        var activations = [Float](repeating: 0, count: mlp.activationCount(rows: 2 * b))
        var scratch = [Float](repeating: 0, count: mlp.backwardScratchCount(batch: b))
        var gradient = dy
        fused.withValuesAndGradients { values, grads in
            x.withUnsafeBufferPointer { xp in
                activations.withUnsafeMutableBufferPointer { a in
                    mlp.forward(xp.baseAddress!, rows: 2 * b, parameters: values, activations: a.baseAddress!)
                    gradient.withUnsafeMutableBufferPointer { d in
                        scratch.withUnsafeMutableBufferPointer { s in
                            mlp.backward(input: xp.baseAddress!, activations: a.baseAddress!, rows: 2 * b, batch: b,
                                         outputGradient: d.baseAddress!, parameters: values, gradients: grads, scratch: s.baseAddress!)
                        }
                    }
                }
            }
        }
        let output = mlp.activationOffset(layer: mlp.layers.count - 1, rows: 2 * b)
        #expect(Array(activations[output..<(output + b * 5)]).map(\.bitPattern) == trace.output.map(\.bitPattern))
        #expect(fused.gradients.map(\.bitPattern) == reference.gradients.map(\.bitPattern))
    }
}
