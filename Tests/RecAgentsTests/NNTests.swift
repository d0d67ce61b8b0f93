import Foundation
import Testing
import RecKit
@testable import RecNN

@Suite struct NNTests {
    /// Loss = Σ wᵢ·outᵢ with fixed random w, so ∂L/∂out = w.
    func loss(_ mlp: MLP, _ p: ParameterSet, _ x: [Float], batch: Int, weights: [Float]) -> Double {
        let out = mlp(x, batch: batch, parameters: p)
        return zip(out, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    @Test func mlpGradientsMatchFiniteDifferences() {
        var g = SeededGenerator(seed: 3)
        var p = ParameterSet()
        let mlp = MLP(name: "m", sizes: [5, 7, 6, 3], parameters: &p, initializer: .heUniform, rng: &g)
        // Non-zero biases so ReLU kinks are rarely within ε of a unit's input.
        for i in p.values.indices { p.values[i] += Float(g.nextGaussian()) * 0.05 }
        let batch = 4
        let x = (0..<(batch * 5)).map { _ in Float(g.nextGaussian()) }
        let w = (0..<(batch * 3)).map { _ in Float(g.nextGaussian()) }
        let trace = mlp.forward(x, batch: batch, parameters: p)
        p.zeroGradients()
        let dx = mlp.backward(trace, outputGradient: w, parameters: &p, inputGradient: true)!
        let eps: Float = 1e-2
        var worst = 0.0
        for i in stride(from: 0, to: p.count, by: 3) {
            var plus = p, minus = p
            plus.values[i] += eps
            minus.values[i] -= eps
            let fd = (loss(mlp, plus, x, batch: batch, weights: w) - loss(mlp, minus, x, batch: batch, weights: w)) / Double(2 * eps)
            worst = max(worst, abs(fd - Double(p.gradients[i])) / max(1, abs(fd)))
        }
        #expect(worst < 2e-3, "worst relative parameter-gradient error \(worst)")
        for i in 0..<x.count {
            var xp = x, xm = x
            xp[i] += eps; xm[i] -= eps
            let fd = (loss(mlp, p, xp, batch: batch, weights: w) - loss(mlp, p, xm, batch: batch, weights: w)) / Double(2 * eps)
            #expect(abs(fd - Double(dx[i])) < 2e-3 * max(1, abs(fd)))
        }
    }

    @Test func adamMatchesHandComputation() {
        var p = ParameterSet()
        let s = p.allocate("w", shape: [2])
        p.values = [1.0, -2.0]
        var adam = Adam(parameterCount: 2, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        let grads: [[Float]] = [[0.5, -1.0], [0.25, 2.0]]
        var ref = [1.0, -2.0], m = [0.0, 0.0], v = [0.0, 0.0]
        for (t, gr) in grads.enumerated() {
            p.gradients = gr
            adam.update(&p)
            for i in 0..<2 {
                let gi = Double(gr[i]) + 0.01 * ref[i]
                m[i] = 0.9 * m[i] + 0.1 * gi
                v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                ref[i] -= 0.1 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        #expect(adam.step == 2)
        #expect(abs(Double(p.tensor(s)[0]) - ref[0]) < 1e-5)
        #expect(abs(Double(p.tensor(s)[1]) - ref[1]) < 1e-5)
    }

    /// The vectorised C kernel behind `Adam.update` rounds exactly as the formula written out in
    /// scalar Swift (same operation order, no FMA): bit-identical on random data, with a length
    /// that leaves a tail after every vector width.
    @Test func adamKernelIsBitIdenticalToScalarFormula() {
        var g = SeededGenerator(seed: 11)
        let n = 1000 + 13
        var p = ParameterSet()
        _ = p.allocate("w", shape: [n])
        p.values = (0..<n).map { _ in Float(g.nextGaussian()) }
        let lr: Float = 3e-3, b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8, wd: Float = 0.01
        var adam = Adam(parameterCount: n, learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd)
        var ref = p.values, m = [Float](repeating: 0, count: n), v = m
        for t in 1...5 {
            p.gradients = (0..<n).map { _ in Float(g.nextGaussian()) * (t == 3 ? 1e-6 : 1) }
            adam.update(&p)
            let stepSize = lr / (1 - Float(Double(b1).power(t)))
            let invBC2Sqrt = 1 / Float((1 - Double(b2).power(t)).squareRoot())
            for i in 0..<n {
                let gi = p.gradients[i] + wd * ref[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                ref[i] = ref[i] - stepSize * m[i] / (v[i].squareRoot() * invBC2Sqrt + eps)
            }
            #expect(p.values.map(\.bitPattern) == ref.map(\.bitPattern), "step \(t)")
            #expect(adam.firstMoment.map(\.bitPattern) == m.map(\.bitPattern))
            #expect(adam.secondMoment.map(\.bitPattern) == v.map(\.bitPattern))
        }
    }

    @Test func huberValueAndGradient() {
        let (loss, grad) = HuberLoss.evaluate(prediction: [0.5, 3, -2], target: [0, 0, 0])
        // 0.5·0.25 = 0.125; 3 − 0.5 = 2.5; 2 − 0.5 = 1.5 → mean 4.125 / 3
        #expect(abs(loss - 4.125 / 3) < 1e-6)
        #expect(grad == [Float(0.5 / 3), Float(1.0 / 3), Float(-1.0 / 3)])
    }

    @Test func gradientClippingByGlobalNorm() {
        var p = ParameterSet()
        _ = p.allocate("a", shape: [2])
        _ = p.allocate("b", shape: [1])
        p.gradients = [3, 0, 4]
        let norm = p.clipGradientNorm(1)
        #expect(abs(norm - 5) < 1e-9)
        #expect(abs(p.gradientNorm() - 1) < 1e-5)
        #expect(abs(p.gradients[0] - 0.6) < 1e-5)
    }

    @Test func initialisersRespectTheirBounds() {
        var g = SeededGenerator(seed: 1)
        var p = ParameterSet()
        let d = Dense(name: "l", inputs: 100, outputs: 50, parameters: &p, initializer: .torchLinear, rng: &g)
        #expect(p.tensor(d.weight).allSatisfy { abs($0) <= 0.1 })
        #expect(p.tensor(d.bias).allSatisfy { abs($0) <= 0.1 })
        var q = ParameterSet()
        let x = Dense(name: "l", inputs: 100, outputs: 50, parameters: &q, initializer: .xavierUniform, rng: &g)
        let bound = Float((6.0 / 150).squareRoot())
        #expect(q.tensor(x.weight).allSatisfy { abs($0) <= bound } && q.tensor(x.bias).allSatisfy { $0 == 0 })
    }

    @Test func safetensorsRoundTripAndCorruptFiles() throws {
        var g = SeededGenerator(seed: 2)
        var p = ParameterSet()
        _ = MLP(name: "net", sizes: [4, 3, 2], parameters: &p, rng: &g)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("c.safetensors")
        var tensors = p.storedTensors(prefix: "online.")
        tensors["ints"] = StoredTensor(shape: [3], ints: [1, -2, 3])
        try SafetensorsFile.write(tensors, metadata: ["step": "7"], to: url)
        let (read, meta) = try SafetensorsFile.read(url)
        #expect(meta["step"] == "7")
        #expect(read["ints"]?.ints == [1, -2, 3])
        var q = ParameterSet()
        var g2 = SeededGenerator(seed: 99)
        _ = MLP(name: "net", sizes: [4, 3, 2], parameters: &q, rng: &g2)
        #expect(q.values != p.values)
        try q.load(from: read.filter { $0.key.hasPrefix("online.") }, prefix: "online.", file: url.path)
        #expect(q.values == p.values)
        // Header alignment: data starts at a multiple of 8.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0)

        // Truncated file.
        let truncated = dir.appendingPathComponent("t.safetensors")
        try bytes.prefix(bytes.count - 5).write(to: truncated)
        #expect { try SafetensorsFile.read(truncated) } throws: { e in
            guard case let CheckpointError.corrupt(file, reason) = e else { return false }
            return file == truncated.path && reason.contains("truncated")
        }
        // Wrong shape.
        var r = ParameterSet()
        var g3 = SeededGenerator(seed: 1)
        _ = MLP(name: "net", sizes: [4, 5, 2], parameters: &r, rng: &g3)
        #expect { try r.load(from: read, prefix: "online.", file: "x.safetensors") } throws: { e in
            guard case let CheckpointError.shapeMismatch(file, tensor, _, _) = e else { return false }
            return file == "x.safetensors" && tensor == "online.net.0.weight"
        }
        // Missing tensor.
        var s = ParameterSet()
        var g4 = SeededGenerator(seed: 1)
        _ = MLP(name: "other", sizes: [4, 3, 2], parameters: &s, rng: &g4)
        #expect { try s.load(from: read, prefix: "online.", file: "x.safetensors") } throws: { e in
            (e as? CheckpointError)?.description.contains("online.other.0.weight") == true
        }
        // Not a safetensors file at all.
        let garbage = dir.appendingPathComponent("g.safetensors")
        try Data("hello world, not a checkpoint".utf8).write(to: garbage)
        #expect(throws: CheckpointError.self) { try SafetensorsFile.read(garbage) }
    }
}
