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
    /// state tower on s and s′ at once) agree with the b-row forward and backward, and both with
    /// an exact computation in Double within bounds derived from fp32 arithmetic. Bit equality is
    /// not promised: OpenBLAS blocks a 2b-row GEMM differently from a b-row one on some kernels
    /// (Zen, Prescott), which reorders the sums.
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
        let exact = ExactMLP(mlp, parameters: p, input: Array(x.prefix(b * 37)), batch: b, outputGradient: dy)
        for (name, out) in [("fused", Array(activations[output..<(output + b * 5)])), ("separate", trace.output)] {
            for k in out.indices {
                #expect(abs(Double(out[k]) - exact.output[k]) <= exact.outputBound[k], "\(name) output \(k)")
            }
        }
        for (name, grads) in [("fused", fused.gradients), ("separate", reference.gradients)] {
            for k in grads.indices {
                #expect(abs(Double(grads[k]) - exact.gradients[k]) <= exact.gradientBounds[k], "\(name) gradient \(k)")
            }
        }
    }
}

/// An MLP's forward and backward in Double, with a first-order bound on how far any fp32
/// evaluation (any summation order, with or without FMA) can be from it. A k-term dot product
/// is off by at most γ_k·Σ|terms| (γ_k = k·u/(1 − k·u), u = 2⁻²⁴); errors already in a layer's
/// input pass through it as |W|·error, and ReLU is 1-Lipschitz. The bounds are doubled to cover the
/// second-order terms the first-order propagation leaves out.
struct ExactMLP {
    var output: [Double] = []
    var outputBound: [Double] = []
    var gradients: [Double]
    var gradientBounds: [Double]

    static func gamma(_ n: Int) -> Double {
        let u = Double(Float.ulpOfOne) / 2
        return Double(n) * u / (1 - Double(n) * u)
    }

    init(_ mlp: MLP, parameters p: ParameterSet, input: [Float], batch: Int, outputGradient: [Float]) {
        let w = p.values.map(Double.init)
        gradients = [Double](repeating: 0, count: w.count)
        gradientBounds = [Double](repeating: 0, count: w.count)
        // Forward: each layer's (post-activation) values and error bounds, layer 0 being the input.
        var h: [[Double]] = [input.map(Double.init)], e: [[Double]] = [[Double](repeating: 0, count: input.count)]
        for (l, layer) in mlp.layers.enumerated() {
            let (n, m) = (layer.inputs, layer.outputs)
            var y = [Double](repeating: 0, count: batch * m), ey = y
            for r in 0..<batch {
                for o in 0..<m {
                    var sum = w[layer.bias.offset + o], absSum = abs(sum), carried = 0.0
                    for i in 0..<n {
                        let wi = w[layer.weight.offset + o * n + i]
                        sum += wi * h[l][r * n + i]
                        absSum += abs(wi * h[l][r * n + i])
                        carried += abs(wi) * e[l][r * n + i]
                    }
                    let relu = l < mlp.layers.count - 1 || mlp.reluOnOutput
                    y[r * m + o] = relu ? max(sum, 0) : sum
                    ey[r * m + o] = 2 * (Self.gamma(n + 1) * (absSum + carried) + carried)
                }
            }
            h.append(y); e.append(ey)
        }
        output = h.last!; outputBound = e.last!
        // Backward from the exact output gradient; a unit whose pre-activation is within its bound
        // of 0 could take the other ReLU branch in fp32, which the seed here avoids.
        var d = outputGradient.map(Double.init), ed = [Double](repeating: 0, count: d.count)
        for l in stride(from: mlp.layers.count - 1, through: 0, by: -1) {
            let layer = mlp.layers[l], (n, m) = (layer.inputs, layer.outputs)
            if l < mlp.layers.count - 1 || mlp.reluOnOutput {
                for k in d.indices where h[l + 1][k] <= 0 { d[k] = 0; ed[k] = 0 }
            }
            for o in 0..<m {
                var bsum = 0.0, babs = 0.0, bcarried = 0.0
                for r in 0..<batch { bsum += d[r * m + o]; babs += abs(d[r * m + o]); bcarried += ed[r * m + o] }
                gradients[layer.bias.offset + o] = bsum
                gradientBounds[layer.bias.offset + o] = 2 * (Self.gamma(batch) * (babs + bcarried) + bcarried)
                for i in 0..<n {
                    var sum = 0.0, absSum = 0.0, carried = 0.0
                    for r in 0..<batch {
                        let (dv, hv) = (d[r * m + o], h[l][r * n + i])
                        sum += dv * hv
                        absSum += abs(dv * hv)
                        carried += abs(dv) * e[l][r * n + i] + ed[r * m + o] * abs(hv)
                    }
                    gradients[layer.weight.offset + o * n + i] = sum
                    gradientBounds[layer.weight.offset + o * n + i] = 2 * (Self.gamma(batch) * (absSum + carried) + carried)
                }
            }
            guard l > 0 else { break }
            var dx = [Double](repeating: 0, count: batch * n), edx = dx
            for r in 0..<batch {
                for i in 0..<n {
                    var sum = 0.0, absSum = 0.0, carried = 0.0
                    for o in 0..<m {
                        let wv = w[layer.weight.offset + o * n + i]
                        sum += d[r * m + o] * wv
                        absSum += abs(d[r * m + o] * wv)
                        carried += ed[r * m + o] * abs(wv)
                    }
                    dx[r * n + i] = sum
                    edx[r * n + i] = 2 * (Self.gamma(m) * (absSum + carried) + carried)
                }
            }
            d = dx; ed = edx
        }
    }
}
