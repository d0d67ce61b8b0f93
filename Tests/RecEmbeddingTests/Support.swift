import Foundation
import Testing
@testable import RecEmbedding
import RecNumerics

/// Shared fixtures: `$REC_SHARED_DIR`, else `<repo>/../shared`.
enum Fixtures {
    static var sharedDirectory: URL {
        if let d = ProcessInfo.processInfo.environment["REC_SHARED_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        // #filePath is <repo>/Tests/RecEmbeddingTests/Support.swift.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }

    static var referenceURL: URL { sharedDirectory.appendingPathComponent("fixtures/minilm-l6-v2-reference.json") }

    struct Record: Decodable { let text: String; let input_ids: [Int32]; let embedding: [Float] }
    struct Reference: Decodable { let max_seq_length: Int; let records: [Record] }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: referenceURL))
    }

    /// One encoder shared by all tests in the process (loading takes ~0.3 s).
    static let encoder: Result<MiniLMEncoder, any Error> = Result {
        let dir = try ModelStore().ensureMiniLM()
        return try MiniLMEncoder(modelDirectory: dir, threads: 2)
    }
}

/// A fresh temporary directory removed by the caller.
func makeTempDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rec-emb-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
