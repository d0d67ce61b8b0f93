import Foundation

/// Architecture hyper-parameters from a BERT-family `config.json`.
public struct BERTConfiguration: Sendable, Equatable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var hiddenAct: String

    /// Model types that share BERT's encoder layout (absolute positions, post-LN, GELU FFN).
    public static let supportedModelTypes: Set<String> = ["bert"]

    /// Parses and checks `config.json`.
    public init(contentsOf url: URL) throws {
        let d = try readJSONObject(url)
        let file = url.path
        func int(_ k: String, default def: Int? = nil) throws -> Int {
            if let v = d[k] as? Int { return v }
            if let def { return def }
            throw ModelFileError.invalidConfig(file: file, reason: "missing integer field \(k)")
        }
        modelType = (d["model_type"] as? String) ?? ""
        guard BERTConfiguration.supportedModelTypes.contains(modelType) else {
            throw ModelFileError.invalidConfig(file: file,
                reason: "model_type '\(modelType)' is not a BERT-family encoder (supported: \(BERTConfiguration.supportedModelTypes.sorted().joined(separator: ", ")))")
        }
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        numHiddenLayers = try int("num_hidden_layers")
        numAttentionHeads = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        maxPositionEmbeddings = try int("max_position_embeddings", default: 512)
        typeVocabSize = try int("type_vocab_size", default: 2)
        layerNormEps = Float((d["layer_norm_eps"] as? Double) ?? 1e-12)
        hiddenAct = (d["hidden_act"] as? String) ?? "gelu"
        let posType = (d["position_embedding_type"] as? String) ?? "absolute"
        guard posType == "absolute" else { throw ModelFileError.invalidConfig(file: file, reason: "position_embedding_type '\(posType)' is not supported (only absolute)") }
        guard hiddenAct == "gelu" else { throw ModelFileError.invalidConfig(file: file, reason: "hidden_act '\(hiddenAct)' is not supported (only gelu)") }
        guard hiddenSize > 0, numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelFileError.invalidConfig(file: file, reason: "hidden_size \(hiddenSize) is not a positive multiple of num_attention_heads \(numAttentionHeads)")
        }
        guard numHiddenLayers > 0, intermediateSize > 0, vocabSize > 0, maxPositionEmbeddings > 2, typeVocabSize > 0 else {
            throw ModelFileError.invalidConfig(file: file, reason: "non-positive size in config")
        }
    }
}

/// How token states become one sentence vector (sentence-transformers' Pooling module).
public enum PoolingMode: String, Sendable, Equatable {
    case mean, cls, max
}

/// Everything about a sentence-transformers folder besides the weights.
public struct SentenceModelConfiguration: Sendable, Equatable {
    public var bert: BERTConfiguration
    public var pooling: PoolingMode
    /// Whether a Normalize module follows pooling (unit-length outputs).
    public var normalize: Bool
    /// Longest sequence in tokens, including `[CLS]` and `[SEP]`.
    public var maxSeqLength: Int
    /// Tokenizer lower-casing (tokenizer_config.json `do_lower_case`).
    public var lowercase: Bool
    /// Accent stripping; nil follows `lowercase`.
    public var stripAccents: Bool?
    public var tokenizeChineseChars: Bool
    /// sentence_bert_config.json `do_lower_case`: lower-case text before the tokenizer.
    public var lowercaseInput: Bool

    /// Reads `config.json`, `modules.json`, the pooling config, `sentence_bert_config.json`
    /// and `tokenizer_config.json` from a sentence-transformers folder.
    public init(directory: URL) throws {
        bert = try BERTConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        var poolingPath = "1_Pooling"
        normalize = false
        let modulesURL = directory.appendingPathComponent("modules.json")
        if FileManager.default.fileExists(atPath: modulesURL.path) {
            let data = try readData(modulesURL)
            guard let mods = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
                throw ModelFileError.invalidConfig(file: modulesURL.path, reason: "not a JSON list of modules")
            }
            for m in mods {
                let type = (m["type"] as? String) ?? ""
                if type.hasSuffix(".Pooling"), let p = m["path"] as? String { poolingPath = p }
                if type.hasSuffix(".Normalize") { normalize = true }
                if type.hasSuffix(".Dense") {
                    throw ModelFileError.invalidConfig(file: modulesURL.path, reason: "Dense modules after pooling are not supported")
                }
            }
        }
        pooling = .mean
        let poolURL = directory.appendingPathComponent(poolingPath).appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: poolURL.path) {
            let p = try readJSONObject(poolURL)
            let flags = [("pooling_mode_cls_token", PoolingMode.cls), ("pooling_mode_mean_tokens", .mean), ("pooling_mode_max_tokens", .max)]
            let on = flags.filter { (p[$0.0] as? Bool) == true }.map(\.1)
            if (p["pooling_mode_mean_sqrt_len_tokens"] as? Bool) == true || (p["pooling_mode_weightedmean_tokens"] as? Bool) == true
                || (p["pooling_mode_lasttoken"] as? Bool) == true {
                throw ModelFileError.invalidConfig(file: poolURL.path, reason: "only cls, mean or max pooling is supported")
            }
            guard on.count == 1 else { throw ModelFileError.invalidConfig(file: poolURL.path, reason: "exactly one pooling mode must be enabled (found \(on.count))") }
            pooling = on[0]
        }
        maxSeqLength = bert.maxPositionEmbeddings
        lowercaseInput = false
        let sbURL = directory.appendingPathComponent("sentence_bert_config.json")
        if FileManager.default.fileExists(atPath: sbURL.path) {
            let sb = try readJSONObject(sbURL)
            if let m = sb["max_seq_length"] as? Int, m > 2 { maxSeqLength = min(m, bert.maxPositionEmbeddings) }
            lowercaseInput = (sb["do_lower_case"] as? Bool) ?? false
        }
        lowercase = true
        stripAccents = nil
        tokenizeChineseChars = true
        let tcURL = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: tcURL.path) {
            let tc = try readJSONObject(tcURL)
            lowercase = (tc["do_lower_case"] as? Bool) ?? true
            stripAccents = tc["strip_accents"] as? Bool
            tokenizeChineseChars = (tc["tokenize_chinese_chars"] as? Bool) ?? true
            if let mml = tc["model_max_length"] as? Int, mml > 2 { maxSeqLength = min(maxSeqLength, mml) }
        }
    }
}

func readData(_ url: URL) throws -> Data {
    do { return try Data(contentsOf: url) } catch {
        throw ModelFileError.unreadable(file: url.path, reason: "\(error.localizedDescription)")
    }
}

func readJSONObject(_ url: URL) throws -> [String: Any] {
    let data = try readData(url)
    guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        throw ModelFileError.invalidConfig(file: url.path, reason: "not a JSON object")
    }
    return obj
}

extension WordPieceTokenizer {
    /// Loads the tokenizer of a sentence-transformers folder: `vocab.txt`, or the WordPiece
    /// vocabulary inside `tokenizer.json` when there is no `vocab.txt`.
    public init(directory: URL, configuration c: SentenceModelConfiguration) throws {
        let vocabURL = directory.appendingPathComponent("vocab.txt")
        let tjURL = directory.appendingPathComponent("tokenizer.json")
        var extra: [String] = []
        var tokenizerJSON: [String: Any]? = nil
        if FileManager.default.fileExists(atPath: tjURL.path) {
            let tj = try readJSONObject(tjURL)
            tokenizerJSON = tj
            for t in (tj["added_tokens"] as? [[String: Any]]) ?? [] where (t["normalized"] as? Bool) != true {
                if let content = t["content"] as? String { extra.append(content) }
            }
        }
        if FileManager.default.fileExists(atPath: vocabURL.path) {
            let text = String(decoding: try readData(vocabURL), as: UTF8.self)
            try self.init(vocabText: text, lowercase: c.lowercase, stripAccents: c.stripAccents,
                          tokenizeChineseChars: c.tokenizeChineseChars, extraSpecialTokens: extra, file: vocabURL.path)
            return
        }
        guard let tj = tokenizerJSON else { throw ModelFileError.unreadable(file: vocabURL.path, reason: "neither vocab.txt nor tokenizer.json exists") }
        guard let model = tj["model"] as? [String: Any], (model["type"] as? String) == "WordPiece",
              let vocab = model["vocab"] as? [String: Any] else {
            throw ModelFileError.invalidConfig(file: tjURL.path, reason: "no WordPiece vocabulary (and no vocab.txt)")
        }
        var v: [String: Int32] = [:]
        for (k, id) in vocab { if let i = id as? Int { v[k] = Int32(i) } }
        let norm = tj["normalizer"] as? [String: Any]
        let lower = (norm?["lowercase"] as? Bool) ?? c.lowercase
        let strip = (norm?["strip_accents"] as? Bool) ?? c.stripAccents
        let chinese = (norm?["handle_chinese_chars"] as? Bool) ?? c.tokenizeChineseChars
        try self.init(vocabulary: v, lowercase: lower, stripAccents: strip, tokenizeChineseChars: chinese,
                      maxInputCharsPerWord: (model["max_input_chars_per_word"] as? Int) ?? 100,
                      unkToken: (model["unk_token"] as? String) ?? "[UNK]", extraSpecialTokens: extra, file: tjURL.path)
    }
}
