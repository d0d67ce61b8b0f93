import RecKit

/// Where one named tensor lives inside a `ParameterSet`'s flat storage.
public struct TensorSpec: Sendable, Hashable, Codable {
    /// Dotted name, as written to checkpoints ("state.0.weight").
    public var name: String
    /// Shape in PyTorch order: a linear layer's weight is `[outputs, inputs]`.
    public var shape: [Int]
    /// First element in the flat storage.
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Every trainable tensor of a model in one flat `Float` buffer, with a gradient buffer of the
/// same layout.
///
/// One buffer rather than one array per tensor because the operations that touch every parameter
/// (Adam, gradient-norm clipping, target-network copies, Polyak averaging) then become single
/// vectorisable loops, and copying a network is one array assignment.
public struct ParameterSet: Sendable, Hashable {
    public private(set) var specs: [TensorSpec] = []
    public var values: [Float] = []
    public var gradients: [Float] = []

    public init() {}

    /// Number of scalar parameters.
    public var count: Int { values.count }

    /// Appends a zero tensor and returns where it lives.
    public mutating func allocate(_ name: String, shape: [Int]) -> TensorSpec {
        precondition(!specs.contains { $0.name == name }, "parameter '\(name)' allocated twice")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(name): \(shape)")
        let spec = TensorSpec(name: name, shape: shape, offset: values.count)
        specs.append(spec)
        values.append(contentsOf: repeatElement(0, count: spec.count))
        gradients.append(contentsOf: repeatElement(0, count: spec.count))
        return spec
    }

    public func spec(named name: String) -> TensorSpec? { specs.first { $0.name == name } }

    /// A copy of one tensor's values.
    public func tensor(_ spec: TensorSpec) -> [Float] { Array(values[spec.range]) }

    /// A copy of one tensor's gradient.
    public func gradient(_ spec: TensorSpec) -> [Float] { Array(gradients[spec.range]) }

    /// Runs `body` with the values (read) and the gradients (written) as raw pointers, for
    /// backward passes that read one and accumulate into the other.
    public mutating func withValuesAndGradients<R>(_ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer { v in
            try gradients.withUnsafeMutableBufferPointer { g in try body(v.baseAddress!, g.baseAddress!) }
        }
    }

    public mutating func zeroGradients() {
        gradients.withUnsafeMutableBufferPointer { g in g.update(repeating: 0) }
    }

    /// Global L2 norm of the gradient (double accumulation so the clip threshold is exact).
    public func gradientNorm() -> Double {
        gradients.withUnsafeBufferPointer { g in
            var s = 0.0
            var i = 0
            let n = g.count
            // Float partial sums of 16 lanes, flushed to Double every block, vectorise and stay accurate.
            while i < n {
                let end = min(n, i + 4096)
                var acc = SIMD16<Float>()
                var j = i
                let raw = UnsafeRawPointer(g.baseAddress!)
                while j + 16 <= end {
                    let v = raw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD16<Float>.self)
                    acc += v * v
                    j &+= 16
                }
                var part = Double(acc.sum())
                while j < end { part += Double(g[j] * g[j]); j &+= 1 }
                s += part
                i = end
            }
            return s.squareRoot()
        }
    }

    /// Scales gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_);
    /// returns the norm before clipping.
    @discardableResult
    public mutating func clipGradientNorm(_ maxNorm: Double) -> Double {
        let norm = gradientNorm()
        if norm > maxNorm, norm > 0 {
            let scale = Float(maxNorm / (norm + 1e-6))
            gradients.withUnsafeMutableBufferPointer { g in
                for i in g.indices { g[i] *= scale }
            }
        }
        return norm
    }

    /// `self ← τ·other + (1−τ)·self` (Polyak averaging of a target network).
    public mutating func blend(towards other: ParameterSet, tau: Float) {
        precondition(other.specs == specs, "blend: parameter layouts differ")
        let keep = 1 - tau
        values.withUnsafeMutableBufferPointer { v in
            other.values.withUnsafeBufferPointer { o in
                for i in v.indices { v[i] = keep * v[i] + tau * o[i] }
            }
        }
    }
}

/// Weight initialisers. All draw from a `SeededGenerator`, so the same seed gives the same network.
public enum Initializer: String, Sendable, Hashable, Codable, CaseIterable {
    /// PyTorch's default for `nn.Linear`: weights and biases U(−1/√fan_in, 1/√fan_in)
    /// (kaiming_uniform with a = √5).
    case torchLinear
    /// He/Kaiming uniform for ReLU: weights U(−√(6/fan_in), √(6/fan_in)), zero bias.
    case heUniform
    /// Glorot/Xavier uniform: U(−√(6/(fan_in+fan_out)), ·), zero bias.
    case xavierUniform
    /// All zeros (tests, output biases).
    case zeros

    /// Fills a `[fanOut, fanIn]` weight and its bias.
    public func fill(weight: inout ArraySlice<Float>, bias: inout ArraySlice<Float>, fanIn: Int, fanOut: Int,
                     rng: inout SeededGenerator) {
        let (wBound, bBound): (Float, Float)
        switch self {
        case .torchLinear:
            let b = 1 / Float(max(fanIn, 1)).squareRoot()
            (wBound, bBound) = (b, b)
        case .heUniform: (wBound, bBound) = ((6 / Float(max(fanIn, 1))).squareRoot(), 0)
        case .xavierUniform: (wBound, bBound) = ((6 / Float(max(fanIn + fanOut, 1))).squareRoot(), 0)
        case .zeros: (wBound, bBound) = (0, 0)
        }
        for i in weight.indices { weight[i] = (2 * rng.nextUnitFloat() - 1) * wBound }
        for i in bias.indices { bias[i] = (2 * rng.nextUnitFloat() - 1) * bBound }
    }
}
