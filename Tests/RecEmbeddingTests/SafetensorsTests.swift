import Foundation
import Testing
@testable import RecEmbedding

/// Writes a safetensors file from a header dictionary and raw data.
private func writeSafetensors(_ url: URL, header: [String: Any], data: [UInt8], headerLengthOverride: UInt64? = nil,
                              rawHeader: String? = nil) throws {
    let h = try rawHeader.map { Data($0.utf8) } ?? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    var out = Data()
    var n = (headerLengthOverride ?? UInt64(h.count)).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(h)
    out.append(contentsOf: data)
    try out.write(to: url)
}

private func floatBytes(_ v: [Float]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }

@Suite struct SafetensorsTests {
    let dir: URL
    init() throws { dir = try makeTempDirectory() }

    private func expectError(_ header: [String: Any], data: [UInt8], contains fragment: String,
                             headerLengthOverride: UInt64? = nil, rawHeader: String? = nil,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = dir.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        try writeSafetensors(url, header: header, data: data, headerLengthOverride: headerLengthOverride, rawHeader: rawHeader)
        do {
            _ = try SafetensorsFile(url: url)
            Issue.record("expected an error containing '\(fragment)'", sourceLocation: sourceLocation)
        } catch let e as ModelFileError {
            #expect(e.description.contains(fragment), "\(e.description)", sourceLocation: sourceLocation)
            #expect(e.description.contains(url.lastPathComponent), "error must name the file", sourceLocation: sourceLocation)
        }
    }

    @Test func readsF32F16BF16() throws {
        let url = dir.appendingPathComponent("ok.safetensors")
        let f32 = floatBytes([1, -2.5, 3, 0.25])
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x7C, 0x01, 0x00]  // 1, -2, +inf, smallest subnormal
        let bf16: [UInt8] = [0x80, 0x3F, 0x40, 0xC0]  // 1, -3
        let i64: [UInt8] = [UInt8](repeating: 0, count: 16)
        try writeSafetensors(url, header: [
            "__metadata__": ["format": "pt"],
            "a": ["dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]],
            "h": ["dtype": "F16", "shape": [4], "data_offsets": [16, 24]],
            "b": ["dtype": "BF16", "shape": [2], "data_offsets": [24, 28]],
            "ids": ["dtype": "I64", "shape": [2], "data_offsets": [28, 44]],
        ], data: f32 + f16 + bf16 + i64)
        let st = try SafetensorsFile(url: url)
        #expect(st.metadata["format"] == "pt")
        #expect(try st.floats("a", shape: [2, 2]) == [1, -2.5, 3, 0.25])
        let h = try st.floats("h")
        #expect(h[0] == 1 && h[1] == -2 && h[2] == .infinity && h[3] == Float(0x1p-24))
        #expect(try st.floats("b") == [1, -3])
        #expect(throws: ModelFileError.unsupportedDType(file: url.path, tensor: "ids", dtype: "I64")) { try st.floats("ids") }
        #expect(throws: ModelFileError.missingTensor(file: url.path, tensor: "nope")) { try st.floats("nope") }
        #expect(throws: ModelFileError.shapeMismatch(file: url.path, tensor: "a", expected: [4], found: [2, 2])) { try st.floats("a", shape: [4]) }
    }

    @Test func rejectsTruncatedFiles() throws {
        let url = dir.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: url)
        do {
            _ = try SafetensorsFile(url: url)
            Issue.record("expected an error")
        } catch let e as ModelFileError {
            #expect(e.description.contains("shorter than") && e.description.contains("tiny.safetensors"))
        }
        try expectError([:], data: [], contains: "not valid JSON", rawHeader: "")
        // Data section shorter than the header claims.
        try expectError(["a": ["dtype": "F32", "shape": [4], "data_offsets": [0, 16]]], data: floatBytes([1, 2]),
                        contains: "past the data section")
    }

    @Test func rejectsLyingHeaderLength() throws {
        try expectError(["a": ["dtype": "F32", "shape": [1], "data_offsets": [0, 4]]], data: floatBytes([1]),
                        contains: "exceeds the file", headerLengthOverride: 1 << 40)
    }

    @Test func rejectsBadJSON() throws {
        try expectError([:], data: [], contains: "not valid JSON", rawHeader: "{\"a\": [")
        try expectError([:], data: [], contains: "not a JSON object", rawHeader: "[1, 2]")
    }

    @Test func rejectsShapeSizeMismatch() throws {
        try expectError(["w": ["dtype": "F32", "shape": [3], "data_offsets": [0, 8]]], data: floatBytes([1, 2]),
                        contains: "'w'")
    }

    @Test func rejectsOverlapsAndGaps() throws {
        try expectError([
            "a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
            "b": ["dtype": "F32", "shape": [2], "data_offsets": [4, 12]],
        ], data: floatBytes([1, 2, 3]), contains: "overlaps")
        try expectError([
            "a": ["dtype": "F32", "shape": [1], "data_offsets": [0, 4]],
            "b": ["dtype": "F32", "shape": [1], "data_offsets": [8, 12]],
        ], data: floatBytes([1, 2, 3]), contains: "gap")
        try expectError(["a": ["dtype": "F32", "shape": [1], "data_offsets": [8, 4]]], data: floatBytes([1, 2]),
                        contains: "increasing")
    }

    @Test func rejectsUnknownDTypeAndBadFields() throws {
        try expectError(["a": ["dtype": "F42", "shape": [1], "data_offsets": [0, 4]]], data: floatBytes([1]), contains: "unknown dtype")
        try expectError(["a": ["dtype": "F32", "shape": [-1], "data_offsets": [0, 4]]], data: floatBytes([1]), contains: "shape")
        try expectError(["a": ["dtype": "F32", "shape": [1], "data_offsets": [0]]], data: floatBytes([1]), contains: "data_offsets")
        try expectError(["a": ["shape": [1], "data_offsets": [0, 4]]], data: floatBytes([1]), contains: "missing dtype")
        try expectError(["a": ["dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]]], data: floatBytes([1]), contains: "shape")
    }
}

@Suite struct ModelFolderTests {
    @Test func rejectsNonBERTModelType() throws {
        let dir = try makeTempDirectory()
        try #"{"model_type": "llama", "hidden_size": 8}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        do {
            _ = try MiniLMEncoder(modelDirectory: dir)
            Issue.record("expected an error")
        } catch let e as ModelFileError {
            #expect(e.description.contains("llama") && e.description.contains("config.json"))
        }
    }

    @Test func missingFolderGivesClearError() throws {
        let dir = URL(fileURLWithPath: "/nonexistent/model-\(UUID().uuidString)")
        #expect(throws: ModelFileError.self) { try MiniLMEncoder(modelDirectory: dir) }
    }

    @Test func readsRealConfiguration() throws {
        let enc = try Fixtures.encoder.get()
        let c = enc.configuration
        #expect(c.bert.hiddenSize == 384 && c.bert.numHiddenLayers == 6 && c.bert.numAttentionHeads == 12)
        #expect(c.pooling == .mean && c.normalize && c.maxSeqLength == 256 && c.lowercase)
        #expect(enc.weightsSHA256 == ModelStore.miniLMSHA256)
        #expect(enc.modelID.hasPrefix("bert-st:"))
    }

    @Test func truncatedWeightsInModelFolderFail() throws {
        let src = try ModelStore().ensureMiniLM()
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["config.json", "modules.json", "sentence_bert_config.json", "tokenizer_config.json", "vocab.txt"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: src.appendingPathComponent("1_Pooling/config.json"),
                                         to: dir.appendingPathComponent("1_Pooling/config.json"))
        let h = try FileHandle(forReadingFrom: src.appendingPathComponent("model.safetensors"))
        let head = try h.read(upToCount: 1 << 20) ?? Data()
        try head.write(to: dir.appendingPathComponent("model.safetensors"))
        do {
            _ = try MiniLMEncoder(modelDirectory: dir)
            Issue.record("expected an error")
        } catch let e as ModelFileError {
            #expect(e.description.contains("model.safetensors"))
        }
    }
}

@Suite struct EncoderBehaviourTests {
    @Test func poolingModesAndTokenEmbeddings() throws {
        let enc = try Fixtures.encoder.get()
        let texts = ["A short sentence.", "", "Another, slightly longer sentence about movies and books."]
        let m = try enc.encode(texts, batchSize: 2)
        #expect(m.rows == 3 && m.cols == 384)
        for r in 0..<3 {
            let n = m.row(r).reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(n - 1) < 1e-5)
        }
        let tokens = try enc.tokenEmbeddings(texts)
        #expect(tokens.count == 3)
        #expect(tokens[0].rows == enc.tokenize(texts[0]).count - 2 && tokens[0].cols == 384)
        #expect(tokens[1].rows == 0)
        #expect(try enc.encode([], batchSize: 4).rows == 0)
    }

    @Test func preTokenisedInputIsValidated() throws {
        let enc = try Fixtures.encoder.get()
        let ids = enc.tokenize("hello world")
        let a = try enc.encode(tokenIDs: [ids], batchSize: 1)
        #expect(a.storage == (try enc.encode(["hello world"], batchSize: 1)).storage)
        #expect(throws: EncoderInputError.tokenOutOfRange(index: 1, token: 999_999, vocabularySize: 30522)) {
            try enc.encode(tokenIDs: [ids, [101, 999_999, 102]])
        }
        #expect(throws: EncoderInputError.self) { try enc.encode(tokenIDs: [[Int32](repeating: 1000, count: 513)]) }
    }

    @Test func threadCountsAgree() throws {
        let dir = try ModelStore().ensureMiniLM()
        let texts = (0..<40).map { "Sentence number \($0) with " + String(repeating: "word ", count: $0 % 13) }
        let one = try MiniLMEncoder(modelDirectory: dir, threads: 1).encode(texts, batchSize: 8)
        let two = try MiniLMEncoder(modelDirectory: dir, threads: 2).encode(texts, batchSize: 8)
        let blas = try MiniLMEncoder(modelDirectory: dir, threads: 2, parallelism: .blas).encode(texts, batchSize: 8)
        #expect(zip(one.storage, two.storage).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(one.storage, blas.storage).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}
