import Foundation
import LoopbackHTTP
import Testing

/// Embeddings from an OpenAI-compatible server on the command line (`--embeddings-url`): a real
/// HTTP server on loopback answers `POST /v1/embeddings` with a deterministic character-histogram
/// embedding, and the tools embed, cache, validate and train with it. The cache keeps the server's
/// vectors apart from the in-process model's by model id.
@Suite(.serialized) struct EmbeddingsServerCLITests {
    static let width = 8

    /// A character histogram folded into `width` buckets: deterministic, and texts that share
    /// letters get similar vectors, so cosines carry some signal.
    static func embedding(_ text: String) -> [Double] {
        var v = [Double](repeating: 0, count: width)
        for s in text.lowercased().unicodeScalars { v[Int(s.value) % width] += 1 }
        v[0] += 1  // no zero vector for the empty text
        return v
    }

    /// A server that answers embeddings requests, and 404 for anything else.
    static func server() throws -> LoopbackServer {
        try LoopbackServer { request in
            guard request.method == "POST", request.path.hasSuffix("/embeddings"), let body = request.json,
                  let input = body["input"] as? [String] else {
                return .json(["error": ["message": "not found: \(request.path)"]], status: 404)
            }
            let data = input.enumerated().map { ["object": "embedding", "index": $0.offset, "embedding": Self.embedding($0.element)] as [String: Any] }
            return .json(["object": "list", "data": data, "model": body["model"] as? String ?? ""])
        }
    }

    @Test func embedValidateAndTrainUseTheServerAndTheCacheKeepsItApart() throws {
        let server = try Self.server()
        defer { server.stop() }
        let url = server.baseURL.appendingPathComponent("v1").absoluteString
        let (db, dir) = try CLI.syntheticWorld(seed: 4, users: 12, items: 30)
        let serverArgs = ["--embeddings-url", url, "--embeddings-model", "toy-embedder"]

        // Embed: the width is asked of the server first (one probe), then every item text is sent.
        let first = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-4"] + serverArgs)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("embedded 30 item texts") && first.stdout.contains("(\(Self.width) dimensions)")
                && first.stdout.contains("30 distinct texts newly encoded"), "\(first.stdout)")
        let inputs = server.requests.compactMap { $0.json?["input"] as? [String] }
        #expect(inputs.first == ["dimension probe"])
        #expect(Set(inputs.dropFirst().flatMap { $0 }).count == 30)
        #expect(server.requests.allSatisfy { $0.json?["model"] as? String == "toy-embedder" })

        // Again with the width given: nothing new, and no request at all.
        let before = server.requests.count
        let again = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-4", "--embeddings-dimension", "\(Self.width)"] + serverArgs)
        #expect(again.status == 0 && again.stdout.contains("0 distinct texts newly encoded"), "\(again.stdout) \(again.stderr)")
        #expect(server.requests.count == before)

        // --embeddings-id names the vectors instead of the URL: a server on another port reuses them.
        let named = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-4", "--embeddings-id", "toy-hist8"] + serverArgs)
        #expect(named.status == 0 && named.stdout.contains("30 distinct texts newly encoded") && named.stdout.contains("openai:toy-hist8"), "\(named.stdout) \(named.stderr)")
        let other = try Self.server()
        defer { other.stop() }
        let moved = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-4", "--embeddings-id", "toy-hist8",
                                             "--embeddings-url", other.baseURL.appendingPathComponent("v1").absoluteString, "--embeddings-model", "toy-embedder"])
        #expect(moved.status == 0 && moved.stdout.contains("0 distinct texts newly encoded"), "\(moved.stdout) \(moved.stderr)")

        // The in-process model does not reuse the server's vectors: all 30 texts are its own.
        let bert = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-4"])
        #expect(bert.status == 0 && bert.stdout.contains("30 distinct texts newly encoded") && bert.stdout.contains("(384 dimensions)"), "\(bert.stdout) \(bert.stderr)")

        // validate-rewards: rationales are embedded by the server too, and the report names it.
        try #require(try CLI.run("rec-data", ["rationales", "--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle"]).status == 0)
        let out = dir.appendingPathComponent("vr")
        let vr = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                  "--metrics", "sbert-cosine,popularity", "--bootstrap", "50", "--quiet", "--out", out.path] + serverArgs)
        #expect(vr.status == 0, "\(vr.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any]
        let encoderID = try #require((report?["configuration"] as? [String: Any])?["encoder"] as? String)
        #expect(encoderID.hasPrefix("openai:127.0.0.1:\(server.port)/v1:toy-embedder"), "\(encoderID)")
        let sentTexts = Set(server.requests.compactMap { $0.json?["input"] as? [String] }.flatMap { $0 })
        #expect(sentTexts.count > 31, "rationales were not sent to the server")

        // Token-level metrics need the in-process model: refused, by name, before any request.
        let n = server.requests.count
        let token = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-4", "--split", "random", "--reasoner", "oracle",
                                                     "--metrics", "bertscore-f1", "--quiet", "--out", dir.appendingPathComponent("vr2").path] + serverArgs)
        #expect(token.status != 0 && token.stderr.contains("bertscore-f1") && token.stderr.contains("--embeddings-url"), "\(token.stderr)")
        #expect(server.requests.count == n)

        // rec-train: the agent's item and rationale vectors come from the server; the config records it.
        let run = dir.appendingPathComponent("train")
        let train = try CLI.run("rec-train", ["--db", db, "--dataset", "synth-4", "--split", "random", "--rationales", "truth",
                                              "--reward", "ellm", "--hidden", "16", "--tower", "8", "--eval-users", "3", "--steps", "100",
                                              "--finetune-steps", "0", "--quiet", "--out", run.path] + serverArgs)
        #expect(train.status == 0, "\(train.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(((config?["run"] as? [String: Any])?["encoder"] as? String)?.hasPrefix("openai:127.0.0.1") == true, "\(String(describing: config))")
    }

    @Test func aServerThatIsDownOrWrongIsNamedAndNothingIsStored() throws {
        let (db, _) = try CLI.syntheticWorld(seed: 5, users: 5, items: 20)
        // Nothing listens on port 9 of loopback: the probe fails with the URL in the message.
        let down = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-5", "--embeddings-url", "http://127.0.0.1:9/v1",
                                            "--embeddings-timeout", "5"])
        #expect(down.status != 0 && down.stderr.contains("127.0.0.1:9"), "\(down.stderr)")

        // A server whose vectors change width mid-run: refused, and no vector of the run is cached.
        let server = try LoopbackServer { request in
            let input = request.json?["input"] as? [String] ?? []
            let width = input == ["dimension probe"] ? 4 : 5
            return .json(["data": input.indices.map { ["index": $0, "embedding": [Double](repeating: 0.5, count: width)] }])
        }
        defer { server.stop() }
        let url = server.baseURL.appendingPathComponent("v1").absoluteString
        let wrong = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-5", "--embeddings-url", url])
        #expect(wrong.status != 0 && wrong.stderr.contains("5 dimensions, expected 4"), "\(wrong.stderr)")
        let right = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-5", "--embeddings-url", url, "--embeddings-dimension", "5"])
        #expect(right.status == 0 && right.stdout.contains("20 distinct texts newly encoded"), "\(right.stdout) \(right.stderr)")

        // Options that cannot make a client are refused at parse time.
        for (args, message) in [(["--embeddings-url", "ftp://x/v1"], "--embeddings-url must be an http(s) URL"),
                                (["--embeddings-url", url, "--model", "/tmp/m"], "exclude each other"),
                                (["--embeddings-url", url, "--embeddings-dimension", "0"], "--embeddings-dimension must be ≥ 1")] {
            let r = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-5"] + args)
            #expect(r.status == 64 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }
}

/// `--embeddings-url` against a real llama.cpp `llama-server --embeddings --pooling mean` serving
/// SmolLM2-135M (mean-pooled hidden states, 576 wide): embed, then validate with its vectors.
/// Skipped, with the command that builds the server, where it is not in the cache.
@Suite(.serialized, .enabled(if: LlamaServer.available, Comment(rawValue: LlamaServer.skipReason)))
struct LlamaEmbeddingsCLITests {
    @Test func embedAndValidateWithLlamaServerEmbeddings() throws {
        let server = try LlamaServer.start(extraArguments: "--embeddings --pooling mean")
        defer { server.stop() }
        let (db, dir) = try CLI.syntheticWorld(seed: 6, users: 12, items: 30)
        let args = ["--embeddings-url", server.baseURL.absoluteString, "--embeddings-model", "smollm2-135m", "--embeddings-id", "smollm2-135m-mean"]
        let embed = try CLI.run("rec-data", ["embed", "--db", db, "--dataset", "synth-6"] + args)
        #expect(embed.status == 0 && embed.stdout.contains("30 distinct texts newly encoded") && embed.stdout.contains("(576 dimensions)"),
                "\(embed.stdout) \(embed.stderr)")
        try #require(try CLI.run("rec-data", ["rationales", "--db", db, "--dataset", "synth-6", "--split", "random", "--reasoner", "oracle"]).status == 0)
        let out = dir.appendingPathComponent("vr")
        let vr = try CLI.run("validate-rewards", ["--db", db, "--dataset", "synth-6", "--split", "random", "--reasoner", "oracle",
                                                  "--metrics", "sbert-cosine", "--bootstrap", "50", "--quiet", "--out", out.path] + args)
        #expect(vr.status == 0, "\(vr.stderr)")
        let rows = try String(contentsOf: out.appendingPathComponent("pairs.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rows.count > 10)
    }
}
