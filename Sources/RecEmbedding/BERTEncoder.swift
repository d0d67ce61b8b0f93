import Foundation
import Dispatch
import RecKit
import RecNumerics

/// Weights in one contiguous, immutable, 64-byte aligned buffer handed to BLAS by pointer.
final class WeightBuffer: @unchecked Sendable {
    // @unchecked: written only during init, read-only afterwards; freed in deinit.
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
        values.withUnsafeBufferPointer { src in
            if count > 0 { pointer.update(from: src.baseAddress!, count: count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// One transformer layer's parameters. Q, K and V are stacked into one `3H x H` matrix so the
/// three projections run as a single GEMM.
struct EncoderLayer: Sendable {
    let qkvWeight: WeightBuffer, qkvBias: WeightBuffer
    let outWeight: WeightBuffer, outBias: WeightBuffer
    let ln1Gamma: WeightBuffer, ln1Beta: WeightBuffer
    let ffnInWeight: WeightBuffer, ffnInBias: WeightBuffer
    let ffnOutWeight: WeightBuffer, ffnOutBias: WeightBuffer
    let ln2Gamma: WeightBuffer, ln2Beta: WeightBuffer
}

/// A BERT-family sentence-transformers model (all-MiniLM-L6-v2, all-MiniLM-L12-v2,
/// paraphrase-MiniLM-L3-v2, bge-small-en-v1.5, ...) run on the CPU in fp32 over OpenBLAS.
///
/// Outputs match sentence-transformers to float rounding (cosine ≥ 0.99999). Texts are
/// tokenised, sorted by length and packed into batches without padding: the dense layers run on
/// all tokens of a batch at once and only attention is done per sequence, so no FLOP is spent
/// on padding and no mask is needed.
public final class BERTSentenceEncoder: SentenceEncoder {
    /// Settings read from the folder.
    public let configuration: SentenceModelConfiguration
    /// The tokenizer.
    public let tokenizer: WordPieceTokenizer
    public let modelID: String
    public var dimension: Int { configuration.bert.hiddenSize }
    /// Threads used by `encode`.
    public let threads: Int
    /// How `threads` are used.
    public let parallelism: Parallelism

    /// How an encoder uses several threads. The OpenBLAS thread count is process-wide state:
    /// encoders of different modes should not run concurrently in one process.
    public enum Parallelism: String, Sendable, CaseIterable {
        /// Batches run concurrently, one per thread, each with single-threaded BLAS: also
        /// spreads softmax / GELU / layer norm, and avoids OpenBLAS's per-call thread start-up.
        case batches
        /// One batch at a time with multi-threaded BLAS (element-wise work stays on one thread).
        case blas
    }
    /// The folder the model was loaded from.
    public let directory: URL
    /// SHA-256 of `model.safetensors`.
    public let weightsSHA256: String

    let wordEmbeddings: WeightBuffer
    let positionEmbeddings: WeightBuffer
    let tokenTypeEmbeddings: WeightBuffer
    let embLNGamma: WeightBuffer, embLNBeta: WeightBuffer
    let layers: [EncoderLayer]

    /// Loads a sentence-transformers folder.
    /// - Parameter threads: parallel workers; nil reads `REC_BLAS_THREADS`, else uses all cores.
    public init(modelDirectory: URL, threads: Int? = nil, parallelism: Parallelism = .batches) throws {
        directory = modelDirectory
        self.parallelism = parallelism
        let cfg = try SentenceModelConfiguration(directory: modelDirectory)
        configuration = cfg
        tokenizer = try WordPieceTokenizer(directory: modelDirectory, configuration: cfg)
        // Ids index the embedding table without bounds checks in the hot loop: check them once here.
        if let maxID = tokenizer.vocabulary.values.max(), Int(maxID) >= cfg.bert.vocabSize {
            throw ModelFileError.invalidConfig(file: modelDirectory.appendingPathComponent("config.json").path,
                reason: "vocab_size \(cfg.bert.vocabSize) is smaller than the tokenizer's largest id \(maxID)")
        }
        let envThreads = ProcessInfo.processInfo.environment[BLASRuntime.threadsVariable].flatMap(Int.init)
        self.threads = max(1, threads ?? envThreads ?? ProcessInfo.processInfo.activeProcessorCount)

        let weightsURL = modelDirectory.appendingPathComponent("model.safetensors")
        let st = try SafetensorsFile(url: weightsURL)
        let prefix = ["", "bert.", "model."].first { st.tensors["\($0)embeddings.word_embeddings.weight"] != nil }
        guard let prefix else { throw ModelFileError.missingTensor(file: st.path, tensor: "embeddings.word_embeddings.weight") }
        let b = cfg.bert
        let (h, i) = (b.hiddenSize, b.intermediateSize)
        func load(_ name: String, _ shape: [Int]) throws -> [Float] { try st.floats(prefix + name, shape: shape) }
        func buf(_ name: String, _ shape: [Int]) throws -> WeightBuffer { WeightBuffer(try load(name, shape)) }
        wordEmbeddings = try buf("embeddings.word_embeddings.weight", [b.vocabSize, h])
        positionEmbeddings = try buf("embeddings.position_embeddings.weight", [b.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try buf("embeddings.token_type_embeddings.weight", [b.typeVocabSize, h])
        embLNGamma = try buf("embeddings.LayerNorm.weight", [h])
        embLNBeta = try buf("embeddings.LayerNorm.bias", [h])
        var layers: [EncoderLayer] = []
        for l in 0..<b.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            let qkvW = try load(p + "attention.self.query.weight", [h, h]) + load(p + "attention.self.key.weight", [h, h])
                + load(p + "attention.self.value.weight", [h, h])
            let qkvB = try load(p + "attention.self.query.bias", [h]) + load(p + "attention.self.key.bias", [h])
                + load(p + "attention.self.value.bias", [h])
            layers.append(EncoderLayer(
                qkvWeight: WeightBuffer(qkvW), qkvBias: WeightBuffer(qkvB),
                outWeight: try buf(p + "attention.output.dense.weight", [h, h]),
                outBias: try buf(p + "attention.output.dense.bias", [h]),
                ln1Gamma: try buf(p + "attention.output.LayerNorm.weight", [h]),
                ln1Beta: try buf(p + "attention.output.LayerNorm.bias", [h]),
                ffnInWeight: try buf(p + "intermediate.dense.weight", [i, h]),
                ffnInBias: try buf(p + "intermediate.dense.bias", [i]),
                ffnOutWeight: try buf(p + "output.dense.weight", [h, i]),
                ffnOutBias: try buf(p + "output.dense.bias", [h]),
                ln2Gamma: try buf(p + "output.LayerNorm.weight", [h]),
                ln2Beta: try buf(p + "output.LayerNorm.bias", [h])))
        }
        self.layers = layers
        weightsSHA256 = try ModelStore.weightsSHA256(of: weightsURL)
        let settings = "pooling=\(cfg.pooling.rawValue);normalize=\(cfg.normalize);max_seq_length=\(cfg.maxSeqLength);"
            + "lowercase=\(cfg.lowercase);strip_accents=\(tokenizer.stripAccents);lowercase_input=\(cfg.lowercaseInput)"
        modelID = "bert-st:" + String(RecKit.SHA256.hex(weightsSHA256 + "|" + settings).prefix(32))
    }

    /// Token ids with `[CLS]`/`[SEP]`, truncated to `max_seq_length`.
    public func tokenize(_ text: String) -> [Int32] {
        tokenizer.encode(configuration.lowercaseInput ? text.lowercased() : text, maxLength: configuration.maxSeqLength)
    }

    /// FLOPs of one forward pass over sequences of the given lengths (multiply-add = 2), for
    /// efficiency reports.
    public func forwardFLOPs(lengths: [Int]) -> Double {
        let b = configuration.bert
        let (h, i) = (Double(b.hiddenSize), Double(b.intermediateSize))
        var f = 0.0
        for l in lengths {
            let t = Double(l)
            f += t * (2 * h * 3 * h + 2 * h * h + 4 * h * i) + 4 * t * t * h
        }
        return f * Double(b.numHiddenLayers)
    }

    // MARK: Encoding

    /// Throws ``NonFiniteEmbeddingError`` naming the first text whose embedding holds a NaN or
    /// an infinity (broken weights), instead of returning it.
    public func encode(_ texts: [String], batchSize: Int = 32) throws -> Matrix {
        let ids = texts.map(tokenize)
        let m = encodeValidated(ids, batchSize: batchSize)
        if let row = NonFiniteEmbeddingError.firstNonFiniteRow(m) {
            throw NonFiniteEmbeddingError(stage: "encoder output", modelID: modelID, index: row, text: texts[row])
        }
        return m
    }

    /// Encodes pre-tokenised sequences (each should start with `[CLS]` and end with `[SEP]`),
    /// one row per sequence. Throws on ids outside the vocabulary or sequences longer than the
    /// model's position table.
    public func encode(tokenIDs ids: [[Int32]], batchSize: Int = 32) throws -> Matrix {
        let b = configuration.bert
        for (i, seq) in ids.enumerated() {
            guard seq.count <= b.maxPositionEmbeddings else {
                throw EncoderInputError.sequenceTooLong(index: i, length: seq.count, limit: b.maxPositionEmbeddings)
            }
            if let bad = seq.first(where: { $0 < 0 || Int($0) >= b.vocabSize }) {
                throw EncoderInputError.tokenOutOfRange(index: i, token: bad, vocabularySize: b.vocabSize)
            }
        }
        let m = encodeValidated(ids, batchSize: batchSize)
        if let row = NonFiniteEmbeddingError.firstNonFiniteRow(m) {
            throw NonFiniteEmbeddingError(stage: "encoder output", modelID: modelID, index: row)
        }
        return m
    }

    func encodeValidated(_ ids: [[Int32]], batchSize: Int) -> Matrix {
        let h = dimension
        var out = Matrix(rows: ids.count, cols: h)
        if ids.isEmpty { return out }
        let pool = configuration.pooling
        let normalize = configuration.normalize
        out.storage.withUnsafeMutableBufferPointer { dst in
            let dstBox = SendablePointer(dst.baseAddress!)
            run(ids, batchSize: batchSize) { batch, hidden, offsets in
                for (j, idx) in batch.enumerated() {
                    let row = dstBox.pointer + idx * h
                    let start = offsets[j], len = offsets[j + 1] - offsets[j]
                    let src = hidden + start * h
                    switch pool {
                    case .cls:
                        row.update(from: src, count: h)
                    case .mean:
                        row.update(repeating: 0, count: h)
                        for t in 0..<len { let s = src + t * h; for c in 0..<h { row[c] += s[c] } }
                        let inv = 1 / Float(max(len, 1))
                        for c in 0..<h { row[c] *= inv }
                    case .max:
                        row.update(from: src, count: h)
                        for t in 1..<max(len, 1) { let s = src + t * h; for c in 0..<h { row[c] = Swift.max(row[c], s[c]) } }
                    }
                    if normalize { Kernels.l2NormalizeRows(row, rows: 1, cols: h, ld: h) }
                }
            }
        }
        return out
    }

    /// Final hidden states of every token of each text, `[CLS]` and `[SEP]` excluded (rows are
    /// the word pieces in order, after truncation to `max_seq_length`). Not normalised. For
    /// token-level metrics such as BERTScore / MaxSim.
    public func tokenEmbeddings(_ texts: [String], batchSize: Int = 32) throws -> [Matrix] {
        let ids = texts.map(tokenize)
        let h = dimension
        var results = [Matrix](repeating: Matrix(rows: 0, cols: h), count: texts.count)
        if texts.isEmpty { return results }
        let lock = NSLock()
        results.withUnsafeMutableBufferPointer { res in
            let box = SendablePointer(res.baseAddress!)
            run(ids, batchSize: batchSize) { batch, hidden, offsets in
                for (j, idx) in batch.enumerated() {
                    let len = offsets[j + 1] - offsets[j]
                    let inner = max(0, len - 2)
                    let m = Matrix(rows: inner, cols: h,
                                   storage: Array(UnsafeBufferPointer(start: hidden + (offsets[j] + 1) * h, count: inner * h)))
                    lock.lock(); box.pointer[idx] = m; lock.unlock()
                }
            }
        }
        if let bad = results.firstIndex(where: { NonFiniteEmbeddingError.firstNonFiniteRow($0) != nil }) {
            throw NonFiniteEmbeddingError(stage: "encoder output (token embeddings)", modelID: modelID, index: bad, text: texts[bad])
        }
        return results
    }

    /// Splits sequences into length-sorted batches, runs the encoder on each (concurrently
    /// when `threads > 1`) and hands the packed final hidden states to `consume`, which receives
    /// the batch's original indices, the `[tokens x H]` states and per-sequence token offsets.
    func run(_ ids: [[Int32]], batchSize: Int,
             consume: @Sendable ([Int], UnsafeMutablePointer<Float>, [Int]) -> Void) {
        guard !ids.isEmpty else { return }
        let order = ids.indices.sorted { (ids[$0].count, $0) < (ids[$1].count, $1) }
        var bs = max(1, batchSize)
        if parallelism == .batches && threads > 1 {
            // Enough batches to keep every worker busy (a 30-text call with 2 threads runs as 2 x 15).
            bs = max(1, min(bs, (ids.count + threads - 1) / threads))
        }
        var batches: [[Int]] = []
        var k = 0
        while k < order.count { batches.append(Array(order[k..<min(k + bs, order.count)])); k += bs }
        let workers = parallelism == .batches ? min(threads, batches.count) : 1
        if workers <= 1 {
            setBLASThreads(parallelism == .blas ? threads : 1)
            let ws = Workspace()
            for b in batches.reversed() { forward(b.map { ids[$0] }, workspace: ws) { consume(b, $0, $1) } }  // longest first: one allocation
            return
        }
        setBLASThreads(1)
        // Longest batches first, handed out on demand: on a shared machine one core may be taken by
        // another process, and a static split would then wait for the starved worker.
        let sortedBatches = batches.reversed() as [[Int]]
        let queue = BatchCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let ws = Workspace()
            while let bi = queue.next(below: sortedBatches.count) {
                let b = sortedBatches[bi]
                forward(b.map { ids[$0] }, workspace: ws) { consume(b, $0, $1) }
            }
        }
    }

    /// OpenBLAS's thread count is process-wide; change it only when it differs, so encoders that
    /// agree on it (every `.batches` encoder uses 1) never touch it while another one is inside BLAS.
    private func setBLASThreads(_ n: Int) {
        if BLASRuntime.threads != n { BLASRuntime.setThreads(n) }
    }

    /// The encoder on one packed batch; `body` sees the final hidden states before they are freed.
    func forward(_ seqs: [[Int32]], workspace: Workspace, body: (UnsafeMutablePointer<Float>, [Int]) -> Void) {
        let b = configuration.bert
        let h = b.hiddenSize, inter = b.intermediateSize, nh = b.numAttentionHeads, dh = h / nh
        var offsets = [0]
        for s in seqs { offsets.append(offsets.last! + s.count) }
        let total = offsets.last!
        let maxLen = seqs.map(\.count).max() ?? 0
        guard total > 0 else { return }  // unreachable in practice: every sequence has [CLS] and [SEP]

        workspace.reserve(tokens: total, maxLength: maxLen, hidden: h, intermediate: inter)
        var x = workspace.x, y = workspace.y
        let qkv = workspace.qkv, ctx = workspace.ctx, ffn = workspace.ffn, scores = workspace.scores

        // Embeddings: word + position + token type 0, then LayerNorm.
        let we = wordEmbeddings.pointer, pe = positionEmbeddings.pointer, te = tokenTypeEmbeddings.pointer
        for (s, seq) in seqs.enumerated() {
            for (p, id) in seq.enumerated() {
                let row = x + (offsets[s] + p) * h
                let w = we + Int(id) * h, pp = pe + p * h
                for c in 0..<h { row[c] = w[c] + pp[c] + te[c] }
            }
        }
        Kernels.layerNorm(x, rows: total, cols: h, ld: h, gamma: embLNGamma.pointer, beta: embLNBeta.pointer, eps: b.layerNormEps)

        let scale = 1 / Float(dh).squareRoot()
        for layer in layers {
            // Q|K|V for all tokens in one GEMM.
            Kernels.sgemm(transB: true, m: total, n: 3 * h, k: h, a: x, lda: h, b: layer.qkvWeight.pointer, ldb: h,
                          c: qkv, ldc: 3 * h)
            Kernels.addBias(qkv, rows: total, cols: 3 * h, ld: 3 * h, bias: layer.qkvBias.pointer)
            // Attention per sequence and head on strided views of Q|K|V (no copies).
            for s in 0..<seqs.count {
                let o = offsets[s], len = offsets[s + 1] - o
                let base = qkv + o * 3 * h
                for head in 0..<nh {
                    let q = base + head * dh, kk = base + h + head * dh, v = base + 2 * h + head * dh
                    Kernels.sgemm(transB: true, m: len, n: len, k: dh, alpha: scale, a: q, lda: 3 * h, b: kk, ldb: 3 * h,
                                  c: scores, ldc: len)
                    Kernels.softmaxRows(scores, rows: len, cols: len, ld: len)
                    Kernels.sgemm(m: len, n: dh, k: len, a: scores, lda: len, b: v, ldb: 3 * h,
                                  c: ctx + o * h + head * dh, ldc: h)
                }
            }
            // Output projection with the residual folded in through beta = 1.
            y.update(from: x, count: total * h)
            Kernels.sgemm(transB: true, m: total, n: h, k: h, a: ctx, lda: h, b: layer.outWeight.pointer, ldb: h,
                          beta: 1, c: y, ldc: h)
            Kernels.addBiasLayerNorm(y, rows: total, cols: h, ld: h, bias: layer.outBias.pointer,
                                     gamma: layer.ln1Gamma.pointer, beta: layer.ln1Beta.pointer, eps: b.layerNormEps)
            swap(&x, &y)
            // Feed-forward.
            Kernels.sgemm(transB: true, m: total, n: inter, k: h, a: x, lda: h, b: layer.ffnInWeight.pointer, ldb: h,
                          c: ffn, ldc: inter)
            Kernels.addBiasGELU(ffn, rows: total, cols: inter, ld: inter, bias: layer.ffnInBias.pointer)
            y.update(from: x, count: total * h)
            Kernels.sgemm(transB: true, m: total, n: h, k: inter, a: ffn, lda: inter, b: layer.ffnOutWeight.pointer, ldb: inter,
                          beta: 1, c: y, ldc: h)
            Kernels.addBiasLayerNorm(y, rows: total, cols: h, ld: h, bias: layer.ffnOutBias.pointer,
                                     gamma: layer.ln2Gamma.pointer, beta: layer.ln2Beta.pointer, eps: b.layerNormEps)
            swap(&x, &y)
        }
        body(x, offsets)
    }
}

/// Invalid pre-tokenised input to `BERTSentenceEncoder.encode(tokenIDs:)`.
public enum EncoderInputError: Error, CustomStringConvertible, Equatable {
    case sequenceTooLong(index: Int, length: Int, limit: Int)
    case tokenOutOfRange(index: Int, token: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .sequenceTooLong(i, l, m): return "sequence \(i) has \(l) tokens; the model accepts at most \(m)"
        case let .tokenOutOfRange(i, t, v): return "sequence \(i) has token id \(t) outside the vocabulary (0..<\(v))"
        }
    }
}

/// Scratch buffers of one worker, grown on demand and reused across batches (fresh buffers per
/// batch cost page faults that showed up at ~3% of the profile).
final class Workspace {
    private(set) var x = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var y = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var qkv = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var ctx = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var ffn = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var scores = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var tokens = 0, maxLength = 0

    func reserve(tokens t: Int, maxLength l: Int, hidden h: Int, intermediate i: Int) {
        if t > tokens {
            for p in [x, y, qkv, ctx, ffn] { p.deallocate() }
            x = .allocate(capacity: t * h); y = .allocate(capacity: t * h); qkv = .allocate(capacity: t * 3 * h)
            ctx = .allocate(capacity: t * h); ffn = .allocate(capacity: t * i)
            tokens = t
        }
        if l > maxLength {
            scores.deallocate()
            scores = .allocate(capacity: l * l)
            maxLength = l
        }
    }

    deinit { for p in [x, y, qkv, ctx, ffn, scores] { p.deallocate() } }
}

/// The name the rest of the library uses for the default encoder.
public typealias MiniLMEncoder = BERTSentenceEncoder

/// A shared "next batch" counter for the workers of one `run`.
final class BatchCounter: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0

    func next(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// A raw pointer that concurrent workers write through at disjoint indices.
struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}
