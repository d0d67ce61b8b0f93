import Foundation
import Testing
@testable import RecEmbedding
import RecNumerics

/// Reference outputs kept in the repository (Tests/Fixtures), each next to the script in
/// Notebooks-as-Scripts that regenerates it with the peer.
enum Fixtures {
    /// `<repo>/Tests/Fixtures`; #filePath is <repo>/Tests/RecEmbeddingTests/Support.swift.
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// sentence-transformers on all-MiniLM-L6-v2 (Notebooks-as-Scripts/make_minilm_fixture.py).
    static var referenceURL: URL { directory.appendingPathComponent("minilm-l6-v2-reference.json") }

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
