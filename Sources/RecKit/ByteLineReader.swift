import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read as a byte stream.
public enum ByteStreamError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case corruptGzip(path: String, byteOffset: Int, reason: String)
    case truncatedGzip(path: String, byteOffset: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .corruptGzip(path, off, reason): return "\(path): corrupt gzip data near compressed byte \(off): \(reason)"
        case let .truncatedGzip(path, off): return "\(path): truncated gzip stream (ends at compressed byte \(off) before the end-of-stream marker)"
        }
    }
}

/// Streams a file (plain, or gzip detected by its magic bytes) in fixed-size chunks, with constant
/// memory whatever the file size. `compressedOffset` tracks progress through the file on disk so a
/// progress line can compute an ETA for `.gz` inputs too.
public final class ByteStream {
    public let path: String
    /// Size of the file on disk in bytes.
    public let fileSize: Int
    /// Whether the file is gzip-compressed.
    public let isGzip: Bool
    private let fd: Int32
    private var raw: [UInt8]
    private var rawStart = 0, rawEnd = 0
    private var zs = z_stream()
    private var zOpen = false
    private var zDone = false
    private(set) public var compressedOffset = 0
    private var eof = false

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ByteStreamError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        fstat(fd, &st)
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw ByteStreamError.cannotOpen(path: path, reason: "is a directory")
        }
        self.fd = fd
        self.fileSize = Int(st.st_size)
        self.raw = [UInt8](repeating: 0, count: chunkSize)
        // Peek at the magic bytes.
        var magic: (UInt8, UInt8) = (0, 0)
        let n = pread(fd, &magic, 2, 0)
        self.isGzip = n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
        if isGzip {
            let rc = inflateInit2_(&zs, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else { throw ByteStreamError.corruptGzip(path: path, byteOffset: 0, reason: "inflateInit failed (\(rc))") }
            zOpen = true
        }
    }

    deinit {
        if zOpen { inflateEnd(&zs) }
        close(fd)
    }

    private func fillRaw() -> Int {
        let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { eof = true; rawStart = 0; rawEnd = 0; return 0 }
        rawStart = 0; rawEnd = n
        return n
    }

    /// Reads up to `buffer.count` decoded bytes into `buffer`; 0 means end of data.
    public func read(into buffer: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
        if !isGzip {
            let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 { throw ByteStreamError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            compressedOffset += n
            return n
        }
        if zDone {
            // Concatenated gzip members (as `cat a.gz b.gz` makes) continue after a member ends.
            if rawStart == rawEnd && fillRaw() == 0 { return 0 }
            inflateReset(&zs)
            zDone = false
        }
        var produced = 0
        while produced == 0 {
            if rawStart == rawEnd {
                if fillRaw() == 0 {
                    throw ByteStreamError.truncatedGzip(path: path, byteOffset: compressedOffset)
                }
            }
            let consumedBefore = rawEnd - rawStart
            let rc: Int32 = raw.withUnsafeMutableBufferPointer { rp in
                zs.next_in = rp.baseAddress! + rawStart
                zs.avail_in = UInt32(rawEnd - rawStart)
                zs.next_out = buffer.baseAddress!
                zs.avail_out = UInt32(buffer.count)
                return inflate(&zs, Z_NO_FLUSH)
            }
            let consumed = consumedBefore - Int(zs.avail_in)
            rawStart += consumed
            compressedOffset += consumed
            produced = buffer.count - Int(zs.avail_out)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                zDone = true
                return produced
            default:
                let msg = zs.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw ByteStreamError.corruptGzip(path: path, byteOffset: compressedOffset, reason: msg)
            }
        }
        return produced
    }
}

/// Reads a file line by line as raw bytes, without allocating per line.
///
/// Lines end at `\n`; a trailing `\r` is removed. The final line needs no newline. The closure sees
/// each line's bytes (valid only during the call), its 1-based line number, and how far through the
/// file on disk the reader is (for progress). Throwing from the closure stops the read.
public struct ByteLineReader {
    public let path: String
    public init(path: String) { self.path = path }

    /// The file's size on disk, for progress lines.
    public var fileSize: Int { (try? ByteStream(path: path).fileSize) ?? 0 }

    public func forEachLine(
        _ body: (_ line: UnsafeBufferPointer<UInt8>, _ lineNumber: Int, _ bytesOnDisk: Int) throws -> Void
    ) throws {
        let stream = try ByteStream(path: path)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var carry: [UInt8] = []
        var lineNumber = 0
        try buf.withUnsafeMutableBufferPointer { bp in
            while true {
                let n = try stream.read(into: bp)
                if n == 0 { break }
                var start = 0
                let base = bp.baseAddress!
                while start < n {
                    let remaining = n - start
                    guard let nl = memchr(base + start, 0x0A, remaining) else {
                        carry.append(contentsOf: UnsafeBufferPointer(start: base + start, count: remaining))
                        break
                    }
                    let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                    lineNumber += 1
                    if carry.isEmpty {
                        var len = end - start
                        if len > 0 && base[start + len - 1] == 0x0D { len -= 1 }
                        try body(UnsafeBufferPointer(start: base + start, count: len), lineNumber, stream.compressedOffset)
                    } else {
                        carry.append(contentsOf: UnsafeBufferPointer(start: base + start, count: end - start))
                        if carry.last == 0x0D { carry.removeLast() }
                        try carry.withUnsafeBufferPointer { try body($0, lineNumber, stream.compressedOffset) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = end + 1
                }
            }
        }
        if !carry.isEmpty {
            lineNumber += 1
            if carry.last == 0x0D { carry.removeLast() }
            try carry.withUnsafeBufferPointer { try body($0, lineNumber, stream.compressedOffset) }
        }
    }
}
