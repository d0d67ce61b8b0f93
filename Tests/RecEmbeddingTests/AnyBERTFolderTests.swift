import Foundation
import Testing
import RecKit
import RecNN
import RecData
import RecNumerics
@testable import RecEmbedding

/// A tiny random-weight sentence-transformers BERT folder: 3 layers like paraphrase-MiniLM-L3-v2
/// (ELLM's encoder), hidden size 12, 3 heads, its own vocab.txt, weights written with RecNN's
/// safetensors writer. The encoder must take every architecture number from config.json and the
/// pooling and normalisation from the sentence-transformers module files.
private struct TinyBERT {
    static let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "##s", "a", "red"]
    let layers = 3, hidden = 12, heads = 3, intermediate = 20, positions = 16
    var tensors: [String: StoredTensor] = [:]

    init(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        func t(_ shape: [Int], scale: Double = 0.5, offset: Float = 0) -> StoredTensor {
            StoredTensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in offset + Float(g.nextGaussian() * scale) })
        }
        let (h, i) = (hidden, intermediate)
        tensors["embeddings.word_embeddings.weight"] = t([Self.vocab.count, h])
        tensors["embeddings.position_embeddings.weight"] = t([positions, h])
        tensors["embeddings.token_type_embeddings.weight"] = t([2, h])
        tensors["embeddings.LayerNorm.weight"] = t([h], scale: 0.1, offset: 1)
        tensors["embeddings.LayerNorm.bias"] = t([h], scale: 0.1)
        for l in 0..<layers {
            let p = "encoder.layer.\(l)."
            for n in ["query", "key", "value"] {
                tensors[p + "attention.self.\(n).weight"] = t([h, h]); tensors[p + "attention.self.\(n).bias"] = t([h], scale: 0.1)
            }
            tensors[p + "attention.output.dense.weight"] = t([h, h]); tensors[p + "attention.output.dense.bias"] = t([h], scale: 0.1)
            tensors[p + "attention.output.LayerNorm.weight"] = t([h], scale: 0.1, offset: 1)
            tensors[p + "attention.output.LayerNorm.bias"] = t([h], scale: 0.1)
            tensors[p + "intermediate.dense.weight"] = t([i, h]); tensors[p + "intermediate.dense.bias"] = t([i], scale: 0.1)
            tensors[p + "output.dense.weight"] = t([h, i]); tensors[p + "output.dense.bias"] = t([h], scale: 0.1)
            tensors[p + "output.LayerNorm.weight"] = t([h], scale: 0.1, offset: 1)
            tensors[p + "output.LayerNorm.bias"] = t([h], scale: 0.1)
        }
    }

    /// Writes the folder; `pooling` goes to 1_Pooling/config.json, `normalize` adds a Normalize
    /// module to modules.json.
    func write(to dir: URL, pooling: String, normalize: Bool, configLayers: Int? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        func json(_ object: Any, _ name: String) throws {
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: dir.appendingPathComponent(name))
        }
        try json(["model_type": "bert", "vocab_size": Self.vocab.count, "hidden_size": hidden, "num_hidden_layers": configLayers ?? layers,
                  "num_attention_heads": heads, "intermediate_size": intermediate, "max_position_embeddings": positions,
                  "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"], "config.json")
        var modules: [[String: Any]] = [["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
                                        ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"]]
        if normalize { modules.append(["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"]) }
        try json(modules, "modules.json")
        try json(["word_embedding_dimension": hidden, "pooling_mode_cls_token": pooling == "cls", "pooling_mode_mean_tokens": pooling == "mean",
                  "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false], "1_Pooling/config.json")
        try (Self.vocab.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try RecNN.SafetensorsFile.write(tensors, to: dir.appendingPathComponent("model.safetensors"))
    }

    /// BERT's forward pass written from its definition in Double (Devlin et al. 2019; Hugging Face
    /// `BertModel`: post-LN, exact erf GELU), then sentence-transformers pooling.
    func reference(_ ids: [Int32], pooling: String, normalize: Bool) -> [Double] {
        func w(_ n: String) -> [Double] { tensors[n]!.floats!.map(Double.init) }
        let n = ids.count, h = hidden, d = hidden / heads
        func layerNorm(_ x: [Double], _ g: [Double], _ b: [Double]) -> [Double] {
            let mean = x.reduce(0, +) / Double(x.count)
            let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
            return x.indices.map { (x[$0] - mean) / (variance + 1e-12).squareRoot() * g[$0] + b[$0] }
        }
        func dense(_ x: [Double], _ weight: [Double], _ bias: [Double]) -> [Double] {  // weight [out, in]
            bias.indices.map { o in bias[o] + x.indices.reduce(0) { $0 + weight[o * x.count + $1] * x[$1] } }
        }
        let word = w("embeddings.word_embeddings.weight"), pos = w("embeddings.position_embeddings.weight")
        let type = w("embeddings.token_type_embeddings.weight")
        var x: [[Double]] = (0..<n).map { t in
            layerNorm((0..<h).map { word[Int(ids[t]) * h + $0] + pos[t * h + $0] + type[$0] },
                      w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        }
        for l in 0..<layers {
            let p = "encoder.layer.\(l)."
            let q = x.map { dense($0, w(p + "attention.self.query.weight"), w(p + "attention.self.query.bias")) }
            let k = x.map { dense($0, w(p + "attention.self.key.weight"), w(p + "attention.self.key.bias")) }
            let v = x.map { dense($0, w(p + "attention.self.value.weight"), w(p + "attention.self.value.bias")) }
            var context = [[Double]](repeating: [Double](repeating: 0, count: h), count: n)
            for head in 0..<heads {
                let r = head * d..<(head + 1) * d
                for a in 0..<n {
                    let scores = (0..<n).map { b in r.reduce(0) { $0 + q[a][$1] * k[b][$1] } / Double(d).squareRoot() }
                    let top = scores.max()!, e = scores.map { exp($0 - top) }, z = e.reduce(0, +)
                    for c in r { context[a][c] = (0..<n).reduce(0) { $0 + e[$1] / z * v[$1][c] } }
                }
            }
            x = (0..<n).map { t in
                let attn = dense(context[t], w(p + "attention.output.dense.weight"), w(p + "attention.output.dense.bias"))
                let y = layerNorm(zip(attn, x[t]).map { $0 + $1 }, w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias"))
                let inner = dense(y, w(p + "intermediate.dense.weight"), w(p + "intermediate.dense.bias")).map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
                let out = dense(inner, w(p + "output.dense.weight"), w(p + "output.dense.bias"))
                return layerNorm(zip(out, y).map { $0 + $1 }, w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias"))
            }
        }
        var pooled = pooling == "cls" ? x[0] : (0..<h).map { c in x.reduce(0) { $0 + $1[c] } / Double(n) }
        if normalize {
            let norm = pooled.reduce(0) { $0 + $1 * $1 }.squareRoot()
            pooled = pooled.map { $0 / norm }
        }
        return pooled
    }
}

@Suite struct AnyBERTFolderTests {
    @Test(arguments: [("mean", true), ("cls", false)])
    func aThreeLayerFolderLoadsAndMatchesBERTsDefinition(pooling: String, normalize: Bool) throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TinyBERT(seed: 5)
        try model.write(to: dir, pooling: pooling, normalize: normalize)
        let encoder = try BERTSentenceEncoder(modelDirectory: dir, threads: 1)
        #expect(encoder.configuration.bert.numHiddenLayers == 3 && encoder.layers.count == 3)
        #expect(encoder.dimension == 12)
        #expect(encoder.configuration.pooling.rawValue == pooling && encoder.configuration.normalize == normalize)
        // The folder's own vocab.txt: "the cats sat" → [CLS] the cat ##s sat [SEP].
        #expect(encoder.tokenize("The cats sat") == [2, 5, 6, 11, 7, 3])
        let texts = ["The cats sat", "a red dog sat on the mat", "dog"]
        let out = try encoder.encode(texts)
        #expect(out.rows == 3 && out.cols == 12)
        for (r, text) in texts.enumerated() {
            let expected = model.reference(encoder.tokenize(text), pooling: pooling, normalize: normalize)
            for c in 0..<12 { #expect(abs(Double(out[r, c]) - expected[c]) < 2e-4, "\(text)[\(c)]: \(out[r, c]) vs \(expected[c])") }
            let norm = (0..<12).reduce(0.0) { $0 + Double(out[r, $1] * out[r, $1]) }.squareRoot()
            if normalize { #expect(abs(norm - 1) < 1e-5) }
        }
    }

    @Test func aConfigThatClaimsMoreLayersThanTheWeightsHoldIsRefused() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyBERT(seed: 5).write(to: dir, pooling: "mean", normalize: true, configLayers: 4)
        #expect(throws: ModelFileError.self) { try BERTSentenceEncoder(modelDirectory: dir, threads: 1) }
    }

    // Issue 14: a model with NaN weights printed "[-nan(0x1fffff),…" and filled the cache with
    // NaN vectors, exit status 0. Non-finite output must stop at the encoder, naming the text.
    @Test func aModelWithNaNWeightsIsStoppedAtItsOutput() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = TinyBERT(seed: 5)
        var w = model.tensors["encoder.layer.1.output.dense.weight"]!.floats!
        w[3] = .nan
        model.tensors["encoder.layer.1.output.dense.weight"] = StoredTensor(shape: model.tensors["encoder.layer.1.output.dense.weight"]!.shape, floats: w)
        try model.write(to: dir, pooling: "mean", normalize: true)
        let encoder = try BERTSentenceEncoder(modelDirectory: dir, threads: 1)
        let e = #expect(throws: NonFiniteEmbeddingError.self) { try encoder.encode(["the cat", "a red dog"]) }
        #expect(e?.stage == "encoder output" && e?.index == 0 && e?.text == "the cat")
        #expect(e?.description.contains("non-finite value (NaN or infinity) for text 0 ('the cat')") == true, "\(String(describing: e))")
        #expect(throws: NonFiniteEmbeddingError.self) { try encoder.encode(tokenIDs: [[2, 5, 3]]) }
        #expect(throws: NonFiniteEmbeddingError.self) { try encoder.tokenEmbeddings(["the cat"]) }

        // Nothing reaches the cache, whichever encoder produced it.
        let store = try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path)
        let cache = try EmbeddingCache(store: store)
        #expect(throws: NonFiniteEmbeddingError.self) { try cache.embed(["the cat", "dog"], encoder: encoder) }
        #expect(try cache.count(modelID: encoder.modelID) == 0)
    }

    /// The cache's own check, for encoders that do not check their output (an HTTP embedding
    /// server, a downstream encoder): a real encoder whose second vector is spoiled after the fact.
    @Test func theCacheRefusesToStoreANonFiniteVector() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyBERT(seed: 5).write(to: dir, pooling: "mean", normalize: true)
        let real = try BERTSentenceEncoder(modelDirectory: dir, threads: 1)
        let cache = try EmbeddingCache(store: try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path))
        let e = #expect(throws: NonFiniteEmbeddingError.self) {
            try cache.embed(["the cat", "a red dog", "the cat"], encoder: SpoilingEncoder(inner: real))
        }
        #expect(e?.stage == "embedding cache write" && e?.index == 1 && e?.text == "a red dog", "\(String(describing: e))")
        #expect(try cache.count(modelID: real.modelID) == 0)
    }
}

/// Passes a real encoder's output on with an infinity in its second row.
private struct SpoilingEncoder: SentenceEncoder {
    let inner: BERTSentenceEncoder
    var dimension: Int { inner.dimension }
    var modelID: String { inner.modelID }
    func encode(_ texts: [String], batchSize: Int) throws -> Matrix {
        var m = try inner.encode(texts, batchSize: batchSize)
        if m.rows > 1 { m.storage[m.cols + 2] = .infinity }
        return m
    }
}
