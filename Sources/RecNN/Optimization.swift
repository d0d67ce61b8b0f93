/// Adam (Kingma & Ba) with bias correction, exactly as `torch.optim.Adam` computes it, including
/// its coupled L2 weight decay (`g ← g + λ·θ` before the moments).
public struct Adam: Sendable, Hashable, Codable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// Number of updates done (the `t` of the bias correction).
    public private(set) var step: Int = 0
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]

    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = firstMoment
    }

    /// Restores moments and step from a checkpoint.
    public mutating func restore(step: Int, firstMoment m: [Float], secondMoment v: [Float]) {
        precondition(m.count == firstMoment.count && v.count == secondMoment.count, "Adam.restore: moment sizes differ")
        self.step = step
        firstMoment = m
        secondMoment = v
    }

    /// One update of every parameter from its gradient.
    public mutating func update(_ parameters: inout ParameterSet) {
        precondition(parameters.count == firstMoment.count, "Adam: optimizer built for \(firstMoment.count) parameters, model has \(parameters.count)")
        step += 1
        let b1 = beta1, b2 = beta2, eps = epsilon, wd = weightDecay
        let bc1 = 1 - Float(Double(b1).power(step))
        let bc2Sqrt = Float((1 - Double(b2).power(step)).squareRoot())
        let stepSize = learningRate / bc1
        let grads = parameters.gradients
        let n = parameters.count
        // Three simple loops over raw pointers rather than one fused loop: LLVM vectorises each
        // (sqrt and division included); the fused form stayed scalar and took 23 % of a DQN update.
        parameters.values.withUnsafeMutableBufferPointer { pb in
            grads.withUnsafeBufferPointer { gb in
                firstMoment.withUnsafeMutableBufferPointer { mb in
                    secondMoment.withUnsafeMutableBufferPointer { vb in
                        let p = pb.baseAddress!, g = gb.baseAddress!, m = mb.baseAddress!, v = vb.baseAddress!
                        Adam.moments(p, g, m, v, n, b1, b2, wd)
                        Adam.apply(p, m, v, n, stepSize, 1 / bc2Sqrt, eps)
                    }
                }
            }
        }
    }
}

extension Adam {
    @inline(never)
    static func moments(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ v: UnsafeMutablePointer<Float>, _ n: Int, _ b1: Float, _ b2: Float, _ wd: Float) {
        let c1 = 1 - b1, c2 = 1 - b2
        var i = 0
        while i < n {
            let gi = g[i] + wd * p[i]
            m[i] = b1 * m[i] + c1 * gi
            v[i] = b2 * v[i] + c2 * gi * gi
            i &+= 1
        }
    }

    @inline(never)
    static func apply(_ p: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ n: Int,
                      _ stepSize: Float, _ invBC2Sqrt: Float, _ eps: Float) {
        // Explicit SIMD: a scalar Float.squareRoot() loop is not vectorised (it keeps sqrtf's
        // error path), and this loop then dominated Adam.
        var i = 0
        let rp = UnsafeMutableRawPointer(p), rm = UnsafeRawPointer(m), rv = UnsafeRawPointer(v)
        let s8 = SIMD8<Float>(repeating: stepSize), k8 = SIMD8<Float>(repeating: invBC2Sqrt), e8 = SIMD8<Float>(repeating: eps)
        while i + 8 <= n {
            let o = i &* 4
            let mv = rm.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let vv = rv.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let pv = rp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            rp.storeBytes(of: pv - s8 * mv / (vv.squareRoot() * k8 + e8), toByteOffset: o, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < n {
            p[i] -= stepSize * m[i] / (v[i].squareRoot() * invBC2Sqrt + eps)
            i &+= 1
        }
    }
}

extension Double {
    /// Integer power by repeated squaring (no libm, exact for the bias-correction terms).
    func power(_ n: Int) -> Double {
        var result = 1.0, base = self, e = n
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }
}

/// Huber loss (PyTorch's `HuberLoss`/`smooth_l1_loss` with δ = 1 coincide), mean over elements.
public enum HuberLoss {
    /// Mean loss of `prediction − target` and its gradient with respect to `prediction`.
    public static func evaluate(prediction: [Float], target: [Float], delta: Float = 1) -> (loss: Double, gradient: [Float]) {
        precondition(prediction.count == target.count && !prediction.isEmpty, "Huber: sizes differ or empty")
        let n = Float(prediction.count)
        var loss = 0.0
        var grad = [Float](repeating: 0, count: prediction.count)
        for i in prediction.indices {
            let d = prediction[i] - target[i]
            if abs(d) < delta {
                loss += Double(0.5 * d * d)
                grad[i] = d / n
            } else {
                loss += Double(delta * (abs(d) - 0.5 * delta))
                grad[i] = (d > 0 ? delta : -delta) / n
            }
        }
        return (loss / Double(n), grad)
    }
}
