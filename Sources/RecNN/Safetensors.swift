import Foundation

/// Why a checkpoint could not be read or does not fit the model. Every case names the file, and
/// the tensor where one is involved.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case corrupt(file: String, reason: String)
    case missingTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case unexpectedTensor(file: String, tensor: String)
    case wrongDType(file: String, tensor: String, dtype: String)
    case mismatch(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "cannot read checkpoint \(f): \(r)"
        case let .corrupt(f, r): return "checkpoint \(f) is corrupt: \(r)"
        case let .missingTensor(f, t): return "checkpoint \(f) has no tensor '\(t)' (written by a different model configuration?)"
        case let .shapeMismatch(f, t, e, found): return "checkpoint \(f): tensor '\(t)' has shape \(found), the model expects \(e) (different network sizes or catalog?)"
        case let .unexpectedTensor(f, t): return "checkpoint \(f) has tensor '\(t)' that the model does not have (written by a different model configuration?)"
        case let .wrongDType(f, t, d): return "checkpoint \(f): tensor '\(t)' has dtype \(d), expected F32 or I32"
        case let .mismatch(f, r): return "checkpoint \(f) does not match this run: \(r)"
        }
    }
}

/// One tensor of a safetensors file: little-endian F32 or I32 data with a shape.
public struct StoredTensor: Sendable, Hashable {
    public enum Data: Sendable, Hashable {
        case float32([Float])
        case int32([Int32])
    }
    public var shape: [Int]
    public var data: Data

    public init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "tensor shape \(shape) does not match \(floats.count) values")
        self.shape = shape
        data = .float32(floats)
    }

    public init(shape: [Int], ints: [Int32]) {
        precondition(shape.reduce(1, *) == ints.count, "tensor shape \(shape) does not match \(ints.count) values")
        self.shape = shape
        data = .int32(ints)
    }

    public var floats: [Float]? { if case .float32(let v) = data { return v }; return nil }
    public var ints: [Int32]? { if case .int32(let v) = data { return v }; return nil }
    var dtype: String { if case .float32 = data { return "F32" }; return "I32" }
    var byteCount: Int { shape.reduce(1, *) * 4 }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping tensor names to dtype, shape and byte offsets (plus a `__metadata__` map of strings),
/// then the raw little-endian data. Files written here open with
/// `safetensors.numpy.load_file` / `safetensors.torch.load_file`.
public enum SafetensorsFile {
    /// Writes tensors (in name order, as the Python writer does) and string metadata, atomically.
    public static func write(_ tensors: [String: StoredTensor], metadata: [String: String] = [:], to url: URL) throws {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.byteCount]]
            offset += t.byteCount
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var len = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            switch tensors[name]!.data {
            case .float32(let v):
                v.withUnsafeBufferPointer { b in
                    #if _endian(big)
                    for x in b { var le = x.bitPattern.littleEndian; withUnsafeBytes(of: &le) { out.append(contentsOf: $0) } }
                    #else
                    out.append(UnsafeBufferPointer(start: UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: UInt8.self), count: b.count * 4))
                    #endif
                }
            case .int32(let v):
                v.withUnsafeBufferPointer { b in
                    #if _endian(big)
                    for x in b { var le = x.littleEndian; withUnsafeBytes(of: &le) { out.append(contentsOf: $0) } }
                    #else
                    out.append(UnsafeBufferPointer(start: UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: UInt8.self), count: b.count * 4))
                    #endif
                }
            }
        }
        do { try out.write(to: url, options: .atomic) } catch {
            throw CheckpointError.unreadable(file: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads every tensor and the metadata, validating offsets, sizes and dtypes.
    public static func read(_ url: URL) throws -> (tensors: [String: StoredTensor], metadata: [String: String]) {
        let file = url.path
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(file: file, reason: FileManager.default.fileExists(atPath: file) ? error.localizedDescription : "no such file")
        }
        guard bytes.count >= 8 else { throw CheckpointError.corrupt(file: file, reason: "\(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw CheckpointError.corrupt(file: file, reason: "header length \(headerLength) exceeds the file (\(bytes.count) bytes): truncated?")
        }
        let headerData = bytes.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw CheckpointError.corrupt(file: file, reason: "header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataCount = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: StoredTensor] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw CheckpointError.corrupt(file: file, reason: "__metadata__ is not a map of strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
                throw CheckpointError.corrupt(file: file, reason: "tensor '\(name)' has a malformed header entry")
            }
            guard dtype == "F32" || dtype == "I32" else { throw CheckpointError.wrongDType(file: file, tensor: name, dtype: dtype) }
            let (begin, end) = (offsets[0], offsets[1])
            let elements = shape.reduce(1, *)
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, end >= begin, end - begin == elements * 4 else {
                throw CheckpointError.corrupt(file: file, reason: "tensor '\(name)': offsets \(offsets) do not fit shape \(shape)")
            }
            guard end <= dataCount else {
                throw CheckpointError.corrupt(file: file, reason: "tensor '\(name)' ends at byte \(end) but the data has \(dataCount) bytes: truncated file")
            }
            let raw = bytes.subdata(in: (dataStart + begin)..<(dataStart + end))
            let words: [UInt32] = raw.withUnsafeBytes { r in
                (0..<elements).map { UInt32(littleEndian: r.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            }
            tensors[name] = dtype == "F32" ? StoredTensor(shape: shape, floats: words.map(Float.init(bitPattern:)))
                                           : StoredTensor(shape: shape, ints: words.map { Int32(bitPattern: $0) })
        }
        return (tensors, metadata)
    }
}

extension ParameterSet {
    /// The parameters as named tensors, each name prefixed (`"online."`), for a checkpoint.
    public func storedTensors(prefix: String = "") -> [String: StoredTensor] {
        var out: [String: StoredTensor] = [:]
        for s in specs { out[prefix + s.name] = StoredTensor(shape: s.shape, floats: tensor(s)) }
        return out
    }

    /// Loads every tensor of this layout from `tensors` (names prefixed by `prefix`), checking
    /// names and shapes; `file` is named in errors.
    public mutating func load(from tensors: [String: StoredTensor], prefix: String = "", file: String) throws {
        for s in specs {
            guard let t = tensors[prefix + s.name] else { throw CheckpointError.missingTensor(file: file, tensor: prefix + s.name) }
            guard t.shape == s.shape else { throw CheckpointError.shapeMismatch(file: file, tensor: prefix + s.name, expected: s.shape, found: t.shape) }
            guard let v = t.floats else { throw CheckpointError.wrongDType(file: file, tensor: prefix + s.name, dtype: "I32") }
            values.replaceSubrange(s.range, with: v)
        }
        let known = Set(specs.map { prefix + $0.name })
        if let extra = tensors.keys.sorted().first(where: { $0.hasPrefix(prefix) && !known.contains($0) && !prefix.isEmpty }) {
            throw CheckpointError.unexpectedTensor(file: file, tensor: extra)
        }
    }
}
