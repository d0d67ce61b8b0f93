import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real HTTP/1.1 server on 127.0.0.1 for tests of HTTP clients: POSIX sockets, an ephemeral
/// port, keep-alive, `Expect: 100-continue`, and scripted answers (status, headers, body, a delay
/// to simulate a hanging server, or a body cut short of its Content-Length).
///
/// Each response goes out in one `send`: headers and body written separately would meet Nagle's
/// algorithm and delayed ACKs and cost ~40 ms per request (MEASURED.md).
public final class LoopbackServer: @unchecked Sendable {
    /// A request as the server received it.
    public struct Request: Sendable, CustomStringConvertible {
        public var method: String
        public var path: String
        /// Header names lowercased; a repeated header keeps its last value.
        public var headers: [String: String]
        public var body: Data
        /// The 0-based position of this request among all the server received.
        public var index: Int
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as a JSON object, if it is one.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
        /// Seconds since the server started when the request's headers had arrived.
        public var receivedAt: Double
        public var description: String { "\(method) \(path) (\(body.count) bytes)" }
    }

    /// A scripted answer.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        /// Seconds to wait before answering (a hanging server when longer than the client's timeout).
        public var delay: Double
        /// Send only this many body bytes while advertising the full Content-Length, then close.
        public var truncateBodyTo: Int?
        /// Close the connection after this response even if the client wants to keep it.
        public var close: Bool

        public init(status: Int = 200, headers: [String: String] = [:], body: Data = Data(), delay: Double = 0,
                    truncateBodyTo: Int? = nil, close: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.truncateBodyTo = truncateBodyTo
            self.close = close
        }

        /// A response with a text body (Content-Type application/json unless given).
        public static func text(_ s: String, status: Int = 200, contentType: String = "application/json",
                                headers: [String: String] = [:]) -> Response {
            var h = headers
            h["Content-Type"] = h["Content-Type"] ?? contentType
            return Response(status: status, headers: h, body: Data(s.utf8))
        }

        /// A JSON response from a JSON-serialisable value.
        public static func json(_ object: Any, status: Int = 200, headers: [String: String] = [:]) -> Response {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("null".utf8)
            var h = headers
            h["Content-Type"] = "application/json"
            return Response(status: status, headers: h, body: data)
        }
    }

    public typealias Handler = @Sendable (Request) -> Response

    public let port: UInt16
    private let listenFD: Int32
    private let handler: Handler
    private let lock = NSLock()
    private var stopped = false
    private var received: [Request] = []
    private var clientFDs: Set<Int32> = []
    private var threadsRunning = 0
    private let started = Date()

    /// Starts a server that answers every request with `handler`.
    public init(handler: @escaping Handler) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let e = errno; close(fd); throw ServerError.socket("bind", e) }
        guard listen(fd, 64) == 0 else { let e = errno; close(fd); throw ServerError.socket("listen", e) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        listenFD = fd
        self.handler = handler
        threadsRunning = 1
        let t = Thread { [self] in acceptLoop() }
        t.name = "loopback-accept"
        t.start()
    }

    /// Starts a server that plays `script` in order, one response per request, then answers
    /// every further request with `fallback` (default: 500 "script exhausted").
    public convenience init(script: [Response], fallback: Response? = nil) throws {
        let queue = ScriptQueue(script)
        let last = fallback ?? .text(#"{"error":"loopback script exhausted"}"#, status: 500)
        try self.init(handler: { _ in queue.next() ?? last })
    }

    deinit { stop() }

    /// `http://127.0.0.1:PORT`
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Requests received so far, in arrival order.
    public var requests: [Request] { lock.withLock { received } }

    /// Stops accepting, closes every open connection and waits (briefly) for handler threads.
    public func stop() {
        let fds: [Int32] = lock.withLock {
            if stopped { return [] }
            stopped = true
            return Array(clientFDs)
        }
        for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) }
        let deadline = Date().addingTimeInterval(2)
        while lock.withLock({ threadsRunning }) > 0 && Date() < deadline { usleep(2_000) }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        defer {
            close(listenFD)
            lock.withLock { threadsRunning -= 1 }
        }
        while !isStopped {
            var p = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, 20)
            if r <= 0 { continue }
            let client = accept(listenFD, nil, nil)
            if client < 0 { continue }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            #if canImport(Darwin)
            setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let admitted: Bool = lock.withLock {
                if stopped { return false }
                clientFDs.insert(client)
                threadsRunning += 1
                return true
            }
            if !admitted { close(client); break }
            let t = Thread { [self] in serve(client) }
            t.name = "loopback-conn"
            t.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            lock.withLock {
                clientFDs.remove(fd)
                threadsRunning -= 1
            }
            close(fd)
        }
        var buffer = Data()
        while !isStopped {
            guard let head = readHead(fd, &buffer) else { return }
            let lines = head.components(separatedBy: "\r\n")
            let parts = lines[0].split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count >= 2 else { return }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let receivedAt = Date().timeIntervalSince(started)
            if headers["expect"]?.lowercased() == "100-continue" {
                guard sendAll(fd, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            var body: Data
            if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                guard let b = readChunked(fd, &buffer) else { return }
                body = b
            } else {
                while buffer.count < length {
                    guard readMore(fd, &buffer) else { return }
                }
                body = Data(buffer.prefix(length))
                buffer.removeFirst(length)
            }
            let request: Request = lock.withLock {
                let r = Request(method: parts[0], path: parts[1], headers: headers, body: body, index: received.count, receivedAt: receivedAt)
                received.append(r)
                return r
            }
            let response = handler(request)
            if response.delay > 0 {
                let until = Date().addingTimeInterval(response.delay)
                while Date() < until {
                    if isStopped { return }
                    usleep(5_000)
                }
            }
            let wantsClose = response.close || response.truncateBodyTo != nil
                || headers["connection"]?.lowercased() == "close"
            guard sendAll(fd, encode(response, close: wantsClose)) else { return }
            if wantsClose { return }
        }
    }

    private func encode(_ r: Response, close: Bool) -> Data {
        var head = "HTTP/1.1 \(r.status) \(LoopbackServer.reason(r.status))\r\n"
        var h = r.headers
        h["Content-Length"] = String(r.body.count)
        if close { h["Connection"] = "close" }
        for (k, v) in h.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let cut = r.truncateBodyTo { out.append(r.body.prefix(max(0, cut))) } else { out.append(r.body) }
        return out
    }

    /// Reads until the blank line that ends the headers; returns them without it.
    private func readHead(_ fd: Int32, _ buffer: inout Data) -> String? {
        let marker = Data("\r\n\r\n".utf8)
        while true {
            if let r = buffer.range(of: marker) {
                let head = String(decoding: buffer[buffer.startIndex..<r.lowerBound], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex..<r.upperBound)
                buffer = Data(buffer)
                return head
            }
            guard readMore(fd, &buffer) else { return nil }
        }
    }

    private func readChunked(_ fd: Int32, _ buffer: inout Data) -> Data? {
        var body = Data()
        let crlf = Data("\r\n".utf8)
        while true {
            var lineRange = buffer.range(of: crlf)
            while lineRange == nil {
                guard readMore(fd, &buffer) else { return nil }
                lineRange = buffer.range(of: crlf)
            }
            let sizeLine = String(decoding: buffer[buffer.startIndex..<lineRange!.lowerBound], as: UTF8.self)
            buffer.removeSubrange(buffer.startIndex..<lineRange!.upperBound)
            buffer = Data(buffer)
            guard let size = Int(sizeLine.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            while buffer.count < size + 2 { guard readMore(fd, &buffer) else { return nil } }
            body.append(buffer.prefix(size))
            buffer = Data(buffer.dropFirst(size + 2))
            if size == 0 { return body }
        }
    }

    private func readMore(_ fd: Int32, _ buffer: inout Data) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            if isStopped { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, 20)
            if r == 0 { continue }
            if r < 0 { if errno == EINTR { continue }; return false }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    private func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        #if canImport(Darwin)
        let flags: Int32 = 0
        #else
        let flags = Int32(MSG_NOSIGNAL)
        #endif
        return data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, flags)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    public enum ServerError: Error, CustomStringConvertible {
        case socket(String, Int32)
        public var description: String {
            switch self {
            case let .socket(call, e): return "loopback server: \(call) failed: \(String(cString: strerror(e)))"
            }
        }
    }
}

/// A thread-safe FIFO of scripted responses.
final class ScriptQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [LoopbackServer.Response]
    init(_ items: [LoopbackServer.Response]) { self.items = items }
    func next() -> LoopbackServer.Response? {
        lock.withLock { items.isEmpty ? nil : items.removeFirst() }
    }
}
