import Foundation

/// A real llama.cpp `llama-server` serving SmolLM2-135M-Instruct, started and stopped by
/// Notebooks-as-Scripts/llama-server.sh, for the end-to-end tests that use it. They run only where
/// that script has built the server and fetched the model into the cache (about 20 minutes on 2
/// idle cores, see `buildCommand`); elsewhere they are reported as skipped with that command.
public enum LlamaServer {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Notebooks-as-Scripts/llama-server.sh").path
    /// What builds the server and fetches the model.
    public static let buildCommand = "bash Notebooks-as-Scripts/llama-server.sh build && bash Notebooks-as-Scripts/llama-server.sh fetch-model"
    /// Why a suite that needs the server is skipped.
    public static let skipReason = "llama-server or the SmolLM2 model is not in the cache; build it with: \(buildCommand)"

    /// Runs the script; stdout trimmed, or nil on a non-zero exit.
    @discardableResult
    public static func run(_ args: [String], environment: [String: String] = [:]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script] + args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Built and fetched: `path` and `model-path` succeed (they only look at the cache).
    public static let available: Bool = FileManager.default.fileExists(atPath: script) && run(["path"]) != nil && run(["model-path"]) != nil

    /// A server started in its own run folder; `stop()` stops it and removes the folder.
    public struct Running: Sendable {
        /// The OpenAI-compatible API root, `http://127.0.0.1:PORT/v1`.
        public let baseURL: URL
        let environment: [String: String]
        let runDirectory: URL
        public func stop() {
            LlamaServer.run(["stop"], environment: environment)
            try? FileManager.default.removeItem(at: runDirectory)
        }
    }

    /// A failed start, with the log's place.
    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts a server on a free loopback port; `extraArguments` go to llama-server as they are
    /// (e.g. `--embeddings --pooling mean`).
    public static func start(extraArguments: String = "", threads: Int = 2) throws -> Running {
        let runDir = FileManager.default.temporaryDirectory.appendingPathComponent("llama-run-\(UUID().uuidString)")
        let env = ["LLAMA_RUN_DIR": runDir.path, "LLAMA_START_TIMEOUT": "180", "LLAMA_EXTRA_ARGS": extraArguments,
                   "LLAMA_THREADS": String(threads)]
        guard let started = run(["start"], environment: env), let url = URL(string: started), url.host == "127.0.0.1" else {
            run(["stop"], environment: env)
            throw StartFailure(description: "llama-server.sh start failed (log: \(runDir.path)/server.log)")
        }
        return Running(baseURL: url.appendingPathComponent("v1"), environment: env, runDirectory: runDir)
    }
}
