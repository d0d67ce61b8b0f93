import CKernels

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
        update(&parameters.values, gradients: parameters.gradients)
    }

    /// One update of a flat parameter vector from its gradient (models that keep their own
    /// arrays, such as BPR-MF's embedding tables).
    public mutating func update(_ values: inout [Float], gradients grads: [Float]) {
        precondition(values.count == firstMoment.count && grads.count == values.count,
                     "Adam: optimizer built for \(firstMoment.count) parameters, given \(values.count) values and \(grads.count) gradients")
        step += 1
        let b1 = beta1, b2 = beta2, eps = epsilon, wd = weightDecay
        let bc1 = 1 - Float(Double(b1).power(step))
        let bc2Sqrt = Float((1 - Double(b2).power(step)).squareRoot())
        let stepSize = learningRate / bc1
        let n = values.count
        // One fused pass in C (Sources/CKernels): Swift kept this loop scalar with the default
        // x86-64 target, and it took ~16 % of a DQN update; the kernel vectorises with AVX-512/AVX2
        // and rounds exactly as the formula written out in Swift would. (Splitting it over two
        // threads with Dispatch measured no faster: waking a worker costs about what it saves.)
        values.withUnsafeMutableBufferPointer { pb in
            grads.withUnsafeBufferPointer { gb in
                firstMoment.withUnsafeMutableBufferPointer { mb in
                    secondMoment.withUnsafeMutableBufferPointer { vb in
                        ck_adam_step(pb.baseAddress!, gb.baseAddress!, mb.baseAddress!, vb.baseAddress!, n,
                                     b1, b2, wd, stepSize, 1 / bc2Sqrt, eps)
                    }
                }
            }
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
