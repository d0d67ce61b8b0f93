// bench-http: what the model-server client costs while it waits, and whether it ever limits
// throughput. Release build:
//   swift build -c release --product bench-http && .build/release/bench-http
//   .build/release/bench-http --base-url http://127.0.0.1:PORT/v1 --model M   # against a real server
//
// 1. Waiting (always): a slow loopback server (Notebooks-as-Scripts/bench_http_peer.py serve,
//    another process, so its CPU is not counted) answers each request after --delay seconds.
//    The same requests go through RecKit's JSONHTTPClient (AsyncHTTPClient), through corelibs
//    URLSession (the transport it replaced) and through the minimal Python client. For each:
//    wall time, the client process's CPU time (user + system), and CPU per second of waiting.
// 2. Throughput (with --base-url): the same chat completions against a real server (llama-server,
//    vLLM, Ollama) through JSONHTTPClient and through the minimal Python client, in alternating
//    rounds; requests/s of each and their ratio.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecKit

func option(_ name: String) -> String? {
    let a = CommandLine.arguments
    guard let i = a.firstIndex(of: name), i + 1 < a.count else { return nil }
    return a[i + 1]
}
// Defaults as in the report that found the spin: 8 requests, 4 in flight, 5 s per answer.
let delay = Double(option("--delay") ?? "5") ?? 5
let requests = Int(option("--requests") ?? "8") ?? 8
let concurrency = Int(option("--concurrency") ?? "4") ?? 4
let rounds = max(1, Int(option("--rounds") ?? "3") ?? 3)
let python = option("--peer-python") ?? "python3"
let peerScript = option("--peer-script")
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Notebooks-as-Scripts/bench_http_peer.py").path

/// Wall and CPU seconds of this process over `body`.
struct Cost {
    var wall: Double, cpu: Double
    var cpuPerWaitSecond: Double { cpu / wall }
}

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
}

func now() -> Double { var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts); return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9 }

func measure(_ body: () async throws -> Void) async rethrows -> Cost {
    let (c0, t0) = (cpuSeconds(), now())
    try await body()
    return Cost(wall: now() - t0, cpu: cpuSeconds() - c0)
}

struct ChatBody: Encodable, Sendable {
    struct Message: Encodable, Sendable { let role: String; let content: String }
    let model: String
    let max_tokens: Int
    let temperature: Double
    let messages: [Message]
}

func chatBody(model: String) -> ChatBody {
    ChatBody(model: model, max_tokens: Int(option("--max-tokens") ?? "64") ?? 64, temperature: 0,
             messages: [.init(role: "user", content: "List two things a fan of Casablanca (1942) and Rear Window (1954) values.")])
}

/// `requests` POSTs, `concurrency` at a time, through JSONHTTPClient.
func viaJSONHTTPClient(baseURL: URL, model: String) async throws {
    let client = JSONHTTPClient(baseURL: baseURL, timeout: 600, retryPolicy: RetryPolicy(maxAttempts: 1), maxConnections: concurrency)
    let body = chatBody(model: model)
    _ = try await BoundedConcurrency.map(Array(0..<requests), limit: concurrency) { _ in
        try await client.post("chat/completions", body: body) { $0.count }.value
    }
}

/// The same through corelibs URLSession, as JSONHTTPClient did before it moved to AsyncHTTPClient.
func viaURLSession(baseURL: URL, model: String) async throws {
    let config = URLSessionConfiguration.ephemeral
    config.httpMaximumConnectionsPerHost = concurrency
    let session = URLSession(configuration: config)
    var request = URLRequest(url: baseURL.appendingPathComponent("chat/completions"))
    request.httpMethod = "POST"
    request.httpBody = try JSONEncoder().encode(chatBody(model: model))
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    let r = request
    _ = try await BoundedConcurrency.map(Array(0..<requests), limit: concurrency) { _ in
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, any Error>) in
            session.dataTask(with: r) { data, _, error in
                if let error { c.resume(throwing: error) } else { c.resume(returning: data?.count ?? 0) }
            }.resume()
        }
    }
    session.finishTasksAndInvalidate()
}

/// The minimal Python client's own wall and CPU figures.
func viaPythonClient(baseURL: URL, model: String) throws -> Cost {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python, peerScript, "client", "--base-url", baseURL.absoluteString, "--model", model,
                   "--requests", String(requests), "--concurrency", String(concurrency),
                   "--max-tokens", option("--max-tokens") ?? "64"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    struct Result: Decodable { let wall: Double; let cpu: Double; let failures: Int }
    let r = try JSONDecoder().decode(Result.self, from: data)
    guard r.failures == 0 else { throw NSError(domain: "bench-http", code: 1, userInfo: [NSLocalizedDescriptionKey: "peer client: \(r.failures) failed requests"]) }
    return Cost(wall: r.wall, cpu: r.cpu)
}

/// Starts the slow server and returns it with its base URL.
func startSlowServer() throws -> (Process, URL) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python, peerScript, "serve", "--delay", String(delay)]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    var line = Data()
    while true {
        let byte = out.fileHandleForReading.readData(ofLength: 1)
        if byte.isEmpty || byte == Data("\n".utf8) { break }
        line.append(byte)
    }
    let text = String(decoding: line, as: UTF8.self)
    guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
        p.terminate()
        throw NSError(domain: "bench-http", code: 2, userInfo: [NSLocalizedDescriptionKey: "slow server did not start: '\(text)'"])
    }
    return (p, URL(string: "http://127.0.0.1:\(port)/v1")!)
}

func row(_ name: String, _ c: Cost) -> String {
    name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: " %8.2f s %9.3f s %10.2f %%", c.wall, c.cpu, 100 * c.cpuPerWaitSecond)
}

let cpuModel = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
print("bench-http on \(cpuModel), \(ProcessInfo.processInfo.activeProcessorCount) cores")

if let base = option("--base-url").flatMap(URL.init(string:)) {
    let model = option("--model") ?? "model"
    print("throughput against \(base): \(requests) chat completions, \(concurrency) in flight, \(rounds) alternating rounds")
    var ours: [Double] = [], peer: [Double] = []
    for r in 1...rounds {
        let a = try await measure { try await viaJSONHTTPClient(baseURL: base, model: model) }
        let b = try viaPythonClient(baseURL: base, model: model)
        ours.append(Double(requests) / a.wall); peer.append(Double(requests) / b.wall)
        print(String(format: "round %d: JSONHTTPClient %.3f req/s (CPU %.2f s), minimal client %.3f req/s (CPU %.2f s)",
                     r, ours.last!, a.cpu, peer.last!, b.cpu))
    }
    let mo = ours.sorted()[ours.count / 2], mp = peer.sorted()[peer.count / 2]
    print(String(format: "median: JSONHTTPClient %.3f req/s, minimal client %.3f req/s: %.1f %% of the minimal client (target ≥ 90 %%)",
                 mo, mp, 100 * mo / mp))
} else {
    let (server, base) = try startSlowServer()
    defer { server.terminate() }
    print("waiting: \(requests) requests, \(concurrency) in flight, server answers after \(delay) s (ideal wall \(String(format: "%.1f", Double((requests + concurrency - 1) / concurrency) * delay)) s)")
    print("client                                 wall   CPU (u+s)   CPU / wall")
    print(row("JSONHTTPClient (AsyncHTTPClient)", try await measure { try await viaJSONHTTPClient(baseURL: base, model: "bench") }))
    print(row("corelibs URLSession", try await measure { try await viaURLSession(baseURL: base, model: "bench") }))
    print(row("minimal Python client (threads)", try viaPythonClient(baseURL: base, model: "bench")))
    print("target: JSONHTTPClient's CPU ≤ 2 % of the wall time it spends waiting")
}
