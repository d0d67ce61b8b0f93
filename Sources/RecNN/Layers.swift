import RecKit
import RecNumerics

/// A fully connected layer `y = x Wᵀ + b` over a batch of row vectors, forward and backward as
/// single sgemm calls. The weight is stored `[outputs, inputs]` like PyTorch's `nn.Linear`, so
/// checkpoints map one-to-one onto a PyTorch module's `state_dict`.
public struct Dense: Sendable, Hashable, Codable {
    public let inputs: Int
    public let outputs: Int
    public let weight: TensorSpec
    public let bias: TensorSpec

    /// Allocates the layer's tensors in `parameters` (named `name.weight`, `name.bias`) and
    /// initialises them.
    public init(name: String, inputs: Int, outputs: Int, parameters: inout ParameterSet,
                initializer: Initializer = .torchLinear, rng: inout SeededGenerator) {
        precondition(inputs > 0 && outputs > 0, "Dense \(name): sizes must be positive (\(inputs) -> \(outputs))")
        self.inputs = inputs
        self.outputs = outputs
        weight = parameters.allocate(name + ".weight", shape: [outputs, inputs])
        bias = parameters.allocate(name + ".bias", shape: [outputs])
        var w = parameters.values[weight.range]
        var b = parameters.values[bias.range]
        initializer.fill(weight: &w, bias: &b, fanIn: inputs, fanOut: outputs, rng: &rng)
        parameters.values.replaceSubrange(weight.range, with: w)
        parameters.values.replaceSubrange(bias.range, with: b)
    }

    /// `y[batch × outputs] = x[batch × inputs] · Wᵀ + b`.
    @inlinable
    public func forward(_ x: UnsafePointer<Float>, batch: Int, parameters p: UnsafePointer<Float>,
                        into y: UnsafeMutablePointer<Float>) {
        let b = p + bias.offset
        for r in 0..<batch { (y + r * outputs).update(from: b, count: outputs) }
        Kernels.sgemm(transA: false, transB: true, m: batch, n: outputs, k: inputs, alpha: 1,
                      a: x, lda: inputs, b: p + weight.offset, ldb: inputs, beta: 1, c: y, ldc: outputs)
    }

    /// Accumulates `dW += dyᵀ x` and `db += Σ_rows dy`; writes `dx = dy W` when asked.
    @inlinable
    public func backward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int,
                         parameters p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?) {
        Kernels.sgemm(transA: true, transB: false, m: outputs, n: inputs, k: batch, alpha: 1,
                      a: dy, lda: outputs, b: x, ldb: inputs, beta: 1, c: g + weight.offset, ldc: inputs)
        for r in 0..<batch { VectorKernels.add(dy + r * outputs, into: g + bias.offset, count: outputs) }
        if let dx {
            Kernels.sgemm(transA: false, transB: false, m: batch, n: inputs, k: outputs, alpha: 1,
                          a: dy, lda: outputs, b: p + weight.offset, ldb: inputs, beta: 0, c: dx, ldc: inputs)
        }
    }
}

/// A multilayer perceptron: dense layers with ReLU between them (and optionally after the last).
public struct MLP: Sendable, Hashable, Codable {
    public let layers: [Dense]
    /// Widths from input to output, e.g. `[768, 256, 256, 64]`.
    public let sizes: [Int]
    public let reluOnOutput: Bool

    public init(name: String, sizes: [Int], reluOnOutput: Bool = false, parameters: inout ParameterSet,
                initializer: Initializer = .torchLinear, rng: inout SeededGenerator) {
        precondition(sizes.count >= 2, "an MLP needs at least an input and an output size")
        self.sizes = sizes
        self.reluOnOutput = reluOnOutput
        var layers: [Dense] = []
        for l in 0..<(sizes.count - 1) {
            layers.append(Dense(name: "\(name).\(l)", inputs: sizes[l], outputs: sizes[l + 1],
                                parameters: &parameters, initializer: initializer, rng: &rng))
        }
        self.layers = layers
    }

    public var inputSize: Int { sizes.first! }
    public var outputSize: Int { sizes.last! }

    /// Floats of the activation buffer a pointer-level `forward` fills for `rows` rows: every
    /// layer's output (after its ReLU), layer after layer, each `rows × sizes[l + 1]`.
    public func activationCount(rows: Int) -> Int { rows * (sizes.reduce(0, +) - inputSize) }

    /// Where layer `l`'s output starts in an activation buffer laid out for `rows` rows; the
    /// network's output is layer `layers.count − 1`.
    public func activationOffset(layer l: Int, rows: Int) -> Int { rows * sizes[1..<(l + 1)].reduce(0, +) }

    /// Floats of scratch a pointer-level `backward` needs for `batch` rows.
    public func backwardScratchCount(batch: Int) -> Int { 2 * batch * (sizes.dropFirst().dropLast().max() ?? 0) }

    /// Forward pass over `rows` rows of `x` into caller-owned `activations`
    /// (`activationCount(rows:)` floats; nothing is allocated).
    public func forward(_ x: UnsafePointer<Float>, rows: Int, parameters p: UnsafePointer<Float>,
                        activations a: UnsafeMutablePointer<Float>) {
        var input = x
        for (l, layer) in layers.enumerated() {
            let y = a + activationOffset(layer: l, rows: rows)
            layer.forward(input, batch: rows, parameters: p, into: y)
            if l < layers.count - 1 || reluOnOutput {
                VectorKernels.relu(y, count: rows * layer.outputs)
            }
            input = UnsafePointer(y)
        }
    }

    /// Backward pass through the first `batch` rows of a pointer-level forward over `rows` ≥ `batch`
    /// rows (rows are independent, so a forward can carry extra rows that need no gradient).
    /// Accumulates parameter gradients into `g`; `dy` (`batch × outputSize`) is overwritten;
    /// `scratch` holds `backwardScratchCount(batch:)` floats. Writes the input gradient into `dx`
    /// when given.
    public func backward(input x: UnsafePointer<Float>, activations a: UnsafePointer<Float>, rows: Int, batch: Int,
                         outputGradient dy: UnsafeMutablePointer<Float>, parameters p: UnsafePointer<Float>,
                         gradients g: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>? = nil) {
        precondition(batch <= rows, "MLP.backward: \(batch) rows of a forward over \(rows)")
        let half = backwardScratchCount(batch: batch) / 2
        var grad = dy
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            if l < layers.count - 1 || reluOnOutput {
                // ReLU' from the layer's own output.
                VectorKernels.reluBackward(grad, output: a + activationOffset(layer: l, rows: rows), count: batch * layer.outputs)
            }
            let input = l == 0 ? x : a + activationOffset(layer: l - 1, rows: rows)
            // Ping-pong between the two scratch halves; the first layer writes the caller's dx.
            let next = l == 0 ? dx : scratch + (l % 2) * half
            layer.backward(input: input, outputGradient: grad, batch: batch, parameters: p, gradients: g, inputGradient: next)
            if let next { grad = next }
        }
    }

    /// What backward needs: the input of every layer and the final output (post-activation).
    public struct Trace: Sendable {
        /// `values[l]` is the input of layer `l`; `values.last` is the network's output.
        public var values: [[Float]]
        public let batch: Int
        public var output: [Float] { values.last! }
    }

    /// Forward pass over `batch` rows of `x`.
    public func forward(_ x: [Float], batch: Int, parameters: ParameterSet) -> Trace {
        precondition(x.count == batch * inputSize, "MLP.forward: input has \(x.count) values, expected \(batch) × \(inputSize)")
        let activations = [Float](unsafeUninitializedCapacity: activationCount(rows: batch)) { buffer, count in
            x.withUnsafeBufferPointer { xp in
                parameters.values.withUnsafeBufferPointer { p in
                    forward(xp.baseAddress!, rows: batch, parameters: p.baseAddress!, activations: buffer.baseAddress!)
                }
            }
            count = buffer.count
        }
        var values: [[Float]] = [x]
        for l in layers.indices {
            let start = activationOffset(layer: l, rows: batch)
            values.append(Array(activations[start..<(start + batch * sizes[l + 1])]))
        }
        return Trace(values: values, batch: batch)
    }

    /// Output only, without keeping the trace.
    public func callAsFunction(_ x: [Float], batch: Int, parameters: ParameterSet) -> [Float] {
        forward(x, batch: batch, parameters: parameters).output
    }

    /// Backward pass: accumulates parameter gradients into `parameters.gradients`; returns the
    /// gradient with respect to the input when `inputGradient` is true.
    @discardableResult
    public func backward(_ trace: Trace, outputGradient: [Float], parameters: inout ParameterSet,
                         inputGradient: Bool = false) -> [Float]? {
        let batch = trace.batch
        var dy = outputGradient
        precondition(dy.count == batch * outputSize, "MLP.backward: gradient has \(dy.count) values, expected \(batch) × \(outputSize)")
        let activations = Array(trace.values.dropFirst().joined())
        var scratch = [Float](repeating: 0, count: max(1, backwardScratchCount(batch: batch)))
        var dx = [Float](repeating: 0, count: inputGradient ? batch * inputSize : 1)
        parameters.withValuesAndGradients { p, g in
            trace.values[0].withUnsafeBufferPointer { x in
                activations.withUnsafeBufferPointer { a in
                    dy.withUnsafeMutableBufferPointer { dyp in
                        scratch.withUnsafeMutableBufferPointer { s in
                            dx.withUnsafeMutableBufferPointer { dxp in
                                backward(input: x.baseAddress!, activations: a.baseAddress!, rows: batch, batch: batch,
                                         outputGradient: dyp.baseAddress!, parameters: p, gradients: g, scratch: s.baseAddress!,
                                         inputGradient: inputGradient ? dxp.baseAddress! : nil)
                            }
                        }
                    }
                }
            }
        }
        return inputGradient ? dx : nil
    }
}
