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
        let gb = g + bias.offset
        for r in 0..<batch {
            let row = dy + r * outputs
            for j in 0..<outputs { gb[j] += row[j] }
        }
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
        var values: [[Float]] = [x]
        values.reserveCapacity(layers.count + 1)
        parameters.values.withUnsafeBufferPointer { p in
            for (l, layer) in layers.enumerated() {
                var y = [Float](repeating: 0, count: batch * layer.outputs)
                values[l].withUnsafeBufferPointer { xin in
                    y.withUnsafeMutableBufferPointer { yp in
                        layer.forward(xin.baseAddress!, batch: batch, parameters: p.baseAddress!, into: yp.baseAddress!)
                        if l < layers.count - 1 || reluOnOutput {
                            for i in yp.indices { yp[i] = yp[i] > 0 ? yp[i] : 0 }
                        }
                    }
                }
                values.append(y)
            }
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
        let values = parameters.values
        return parameters.gradients.withUnsafeMutableBufferPointer { g -> [Float]? in
            values.withUnsafeBufferPointer { p -> [Float]? in
                for l in stride(from: layers.count - 1, through: 0, by: -1) {
                    let layer = layers[l]
                    if l < layers.count - 1 || reluOnOutput {
                        // ReLU' from the layer's own output (stored as the next layer's input).
                        trace.values[l + 1].withUnsafeBufferPointer { out in
                            for i in 0..<dy.count where out[i] <= 0 { dy[i] = 0 }
                        }
                    }
                    let needDX = l > 0 || inputGradient
                    var dx = needDX ? [Float](repeating: 0, count: batch * layer.inputs) : []
                    trace.values[l].withUnsafeBufferPointer { xin in
                        dy.withUnsafeBufferPointer { dyp in
                            dx.withUnsafeMutableBufferPointer { dxp in
                                layer.backward(input: xin.baseAddress!, outputGradient: dyp.baseAddress!, batch: batch,
                                               parameters: p.baseAddress!, gradients: g.baseAddress!,
                                               inputGradient: needDX ? dxp.baseAddress! : nil)
                            }
                        }
                    }
                    dy = dx
                }
                return inputGradient ? dy : nil
            }
        }
    }
}
