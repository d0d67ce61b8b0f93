import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors from reading model files; every case names the file and, where relevant, the tensor.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case invalidHeader(file: String, reason: String)
    case invalidTensor(file: String, tensor: String, reason: String)
    case missingTensor(file: String, tensor: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case invalidConfig(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read (\(r))"
        case let .invalidHeader(f, r): return "\(f): invalid safetensors header: \(r)"
        case let .invalidTensor(f, t, r): return "\(f): tensor '\(t)': \(r)"
        case let .missingTensor(f, t): return "\(f): tensor '\(t)' not found"
        case let .unsupportedDType(f, t, d): return "\(f): tensor '\(t)' has dtype \(d); only F32, F16 and BF16 can be read as weights"
        case let .shapeMismatch(f, t, e, s): return "\(f): tensor '\(t)' has shape \(s), expected \(e)"
        case let .invalidConfig(f, r): return "\(f): \(r)"
        }
    }
}

/// A memory-mapped `.safetensors` file whose header has been fully validated.
///
/// Validation follows the format's own reader: the header length fits in the file, the header
/// is a JSON object of tensors with known dtypes, each tensor's byte length equals
/// `product(shape) * dtype size`, and the sorted `data_offsets` tile the data section exactly
/// (no overlap, no gap, nothing past the end). A lying header therefore fails at open time with
/// an error instead of reading out of bounds later.
public final class SafetensorsFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and immutable after init; unmapped only in deinit.

    /// One tensor's header entry.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range within the data section (after the 8-byte length and the header).
        public let dataRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Bytes per element of the dtypes the format defines.
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    /// Path, for error messages.
    public let path: String
    /// Tensors by name.
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` string map, if any.
    public let metadata: [String: String]
    /// The raw JSON header bytes (part of a model's identity).
    public let headerBytes: [UInt8]
    /// Size of the whole file in bytes.
    public let fileSize: Int

    private let base: UnsafeRawPointer?
    private let dataStart: Int

    /// Opens and validates `url`.
    public init(url: URL) throws {
        let path = url.path
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelFileError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelFileError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        fileSize = size
        guard size >= 8 else { throw ModelFileError.invalidHeader(file: path, reason: "file is \(size) bytes, shorter than the 8-byte header length") }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw ModelFileError.unreadable(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let base = UnsafeRawPointer(m)
        self.base = base
        // From here on, a throw must unmap: deinit does not run for a failed init.
        do {
            let n64 = base.loadUnaligned(as: UInt64.self).littleEndian
            guard n64 <= UInt64(size - 8) else {
                throw ModelFileError.invalidHeader(file: path, reason: "header length \(n64) exceeds the file (\(size) bytes)")
            }
            guard n64 <= 100_000_000 else { throw ModelFileError.invalidHeader(file: path, reason: "header length \(n64) is implausibly large") }
            let n = Int(n64)
            dataStart = 8 + n
            headerBytes = Array(UnsafeRawBufferPointer(start: base + 8, count: n))
            (tensors, metadata) = try SafetensorsFile.parseHeader(headerBytes, dataSize: size - 8 - n, path: path)
        } catch {
            munmap(m, size)
            throw error
        }
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }
    }

    static func parseHeader(_ bytes: [UInt8], dataSize: Int, path: String) throws -> ([String: TensorInfo], [String: String]) {
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw ModelFileError.invalidHeader(file: path, reason: "header is not valid JSON")
        }
        guard let dict = obj as? [String: Any] else { throw ModelFileError.invalidHeader(file: path, reason: "header is not a JSON object") }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let md = value as? [String: Any] else { throw ModelFileError.invalidHeader(file: path, reason: "__metadata__ is not an object") }
                for (k, v) in md { metadata[k] = (v as? String) ?? "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any] else { throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "entry is not an object") }
            guard let dtype = entry["dtype"] as? String else { throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "missing dtype") }
            guard let esize = dtypeSizes[dtype] else { throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "unknown dtype \(dtype)") }
            guard let shapeAny = entry["shape"] as? [Any], let shape = integers(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "shape is not a list of non-negative integers")
            }
            guard let offAny = entry["data_offsets"] as? [Any], let offs = integers(offAny), offs.count == 2 else {
                throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "data_offsets is not a pair of integers")
            }
            let (b, e) = (offs[0], offs[1])
            guard b >= 0, e >= b else { throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "data_offsets [\(b), \(e)] are not an increasing range") }
            guard e <= dataSize else {
                throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "data_offsets end \(e) is past the data section (\(dataSize) bytes; file truncated?)")
            }
            var count = 1
            for d in shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw ModelFileError.invalidTensor(file: path, tensor: name, reason: "shape \(shape) overflows") }
                count = p
            }
            let (bytesNeeded, o) = count.multipliedReportingOverflow(by: esize)
            guard !o, bytesNeeded == e - b else {
                throw ModelFileError.invalidTensor(file: path, tensor: name,
                    reason: "shape \(shape) x \(dtype) needs \(bytesNeeded) bytes but data_offsets span \(e - b)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, dataRange: b..<e)
        }
        // Sorted by offset, the tensors must tile the data section: overlap means a lying header.
        var cursor = 0
        for t in tensors.values.sorted(by: { ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound) }) {
            guard t.dataRange.lowerBound == cursor else {
                let what = t.dataRange.lowerBound < cursor ? "overlaps the previous tensor" : "leaves a gap after the previous tensor"
                throw ModelFileError.invalidTensor(file: path, tensor: t.name, reason: "data_offsets [\(t.dataRange.lowerBound), \(t.dataRange.upperBound)] \(what)")
            }
            cursor = t.dataRange.upperBound
        }
        guard cursor == dataSize else {
            throw ModelFileError.invalidHeader(file: path, reason: "tensors cover \(cursor) bytes but the data section has \(dataSize)")
        }
        return (tensors, metadata)
    }

    private static func integers(_ a: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in a {
            // JSONSerialization yields NSNumber; `as? Int` refuses fractional values.
            guard let i = v as? Int else { return nil }
            out.append(i)
        }
        return out
    }

    /// Reads tensor `name` as `Float`, converting F16/BF16; checks the shape when given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let info = tensors[name] else { throw ModelFileError.missingTensor(file: path, tensor: name) }
        if let expected, expected != info.shape {
            throw ModelFileError.shapeMismatch(file: path, tensor: name, expected: expected, found: info.shape)
        }
        let n = info.elementCount
        guard let base else { return [] }
        let src = base + dataStart + info.dataRange.lowerBound
        switch info.dtype {
        case "F32":
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                if n > 0 { memcpy(buf.baseAddress!, src, n * 4) }
                #if _endian(big)
                for i in 0..<n { buf[i] = Float(bitPattern: UInt32(littleEndian: buf[i].bitPattern)) }
                #endif
                count = n
            }
        case "F16":
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                for i in 0..<n { buf[i] = SafetensorsFile.halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                count = n
            }
        case "BF16":
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                for i in 0..<n {
                    let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    buf[i] = Float(bitPattern: UInt32(h) << 16)
                }
                count = n
            }
        default:
            throw ModelFileError.unsupportedDType(file: path, tensor: name, dtype: info.dtype)
        }
    }

    /// IEEE half to single, including subnormals, infinities and NaN (no Float16 on x86 Linux Swift).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            let v = Float(mant) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }
}
