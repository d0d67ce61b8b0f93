import Foundation
import Testing
@testable import RecKit

@Suite struct WheelFetcherTests {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("wf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Writes a zip standing in for a wheel, with `files` (path → text), via Python's zipfile.
    func makeWheel(_ url: URL, _ files: [String: String]) throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: files), as: UTF8.self)
        try WheelFetcher.run("python3", ["-c", """
            import sys, json, zipfile
            with zipfile.ZipFile(sys.argv[1], 'w') as z:
                for k, v in json.loads(sys.argv[2]).items(): z.writestr(k, v)
            """, url.path, json])
    }

    @Test func sha256OfFilesAcrossBufferBoundaries() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var g = SeededGenerator(seed: 9)
        for size in [0, 1, 64, (1 << 20) - 1, 1 << 20, (1 << 20) * 2 + 77] {
            let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let f = dir.appendingPathComponent("f\(size)")
            try Data(bytes).write(to: f)
            #expect(try WheelFetcher.sha256(file: f) == SHA256.hex(bytes), "size \(size)")
        }
        #expect(throws: WheelFetcher.FetchError.self) { try WheelFetcher.sha256(file: dir.appendingPathComponent("missing")) }
    }

    @Test func fileLockSerialises() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lockFile = dir.appendingPathComponent(".lock")
        final class State: @unchecked Sendable { let lock = NSLock(); var inside = 0; var maxInside = 0 }
        let state = State()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            // flock locks belong to the open file description, so separate opens exclude each other
            // even inside one process.
            try? WheelFetcher.withFileLock(lockFile) {
                state.lock.withLock { state.inside += 1; state.maxInside = max(state.maxInside, state.inside) }
                Thread.sleep(forTimeInterval: 0.02)
                state.lock.withLock { state.inside -= 1 }
            }
        }
        #expect(state.maxInside == 1)
    }

    @Test func ensureUnpacksOnceAndValidateProtectsTheDestination() throws {
        let cache = try tempDir()
        defer { try? FileManager.default.removeItem(at: cache) }
        let wheels = cache.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        try makeWheel(wheels.appendingPathComponent("fake_pkg-1.0-py3-none-any.whl"),
                      ["fake_pkg/data/a.txt": "A", "fake_pkg/data/sub/b.txt": "B", "fake_pkg/other.txt": "x"])
        let fetcher = WheelFetcher(cacheDirectory: cache, python: "python3")
        let dest = cache.appendingPathComponent("things/fake")
        func complete(_ u: URL) -> Bool { FileManager.default.fileExists(atPath: u.appendingPathComponent("sub/b.txt").path) }
        let out = try fetcher.ensure(name: "fake-pkg", version: "1.0", prefix: "fake_pkg/data/", at: dest, isComplete: complete)
        #expect(out == dest)
        #expect(try String(contentsOf: dest.appendingPathComponent("a.txt"), encoding: .utf8) == "A")
        #expect(try String(contentsOf: dest.appendingPathComponent("sub/b.txt"), encoding: .utf8) == "B")
        #expect(!FileManager.default.fileExists(atPath: dest.appendingPathComponent("other.txt").path))

        // A failing validation leaves the existing folder alone and no staging folder behind.
        struct Rejected: Error {}
        try Data("keep".utf8).write(to: dest.appendingPathComponent("marker"))
        #expect(throws: Rejected.self) {
            try fetcher.unpack(wheel: try fetcher.wheel(name: "fake-pkg", version: "1.0"), prefix: "fake_pkg/data/", to: dest) { _ in
                throw Rejected()
            }
        }
        #expect(FileManager.default.fileExists(atPath: dest.appendingPathComponent("marker").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dest.deletingLastPathComponent().path)
        #expect(leftovers.sorted() == [".lock", "fake"])
        // A member prefix the wheel lacks is a clear error.
        #expect(throws: WheelFetcher.FetchError.self) {
            try fetcher.unpack(wheel: try fetcher.wheel(name: "fake-pkg", version: "1.0"), prefix: "nothing/", to: cache.appendingPathComponent("things/none"))
        }
    }
}

@Suite struct BlockingTests {
    struct Boom: Error {}

    @Test func returnsAndRethrows() throws {
        #expect(try Blocking.wait { try await Task.sleep(nanoseconds: 1_000_000); return 42 } == 42)
        #expect(throws: Boom.self) { try Blocking.wait { () async throws -> Int in throw Boom() } }
    }

    /// Many more blocking waits than cooperative threads, each needing async work (sleeps, child
    /// tasks) to finish: the work runs on the waits' own executors, so none starves.
    @Test func safeFromManyAsyncTasks() async throws {
        let n = 4 * max(2, ProcessInfo.processInfo.activeProcessorCount)
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<n {
                group.addTask {
                    try Blocking.wait {
                        try await withThrowingTaskGroup(of: Int.self) { inner in
                            for j in 0..<3 { inner.addTask { try await Task.sleep(nanoseconds: 20_000_000); return j } }
                            var s = 0
                            for try await v in inner { s += v }
                            return s + i * 10
                        }
                    }
                }
            }
            var all: [Int] = []
            for try await r in group { all.append(r) }
            return all.sorted()
        }
        #expect(results == (0..<n).map { $0 * 10 + 3 })
    }
}
