#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a line of bytes into fields by a delimiter of one or more bytes, reusing its storage so
/// the hot path of an import allocates nothing per row.
///
/// This splitter does not understand quotes; use `CSVRecordParser` for RFC 4180 CSV.
public struct FieldSplitter {
    public let delimiter: [UInt8]
    /// Byte ranges of the fields of the last split line, relative to the line start.
    public private(set) var ranges: [Range<Int>] = []

    public init(delimiter: [UInt8]) {
        precondition(!delimiter.isEmpty)
        self.delimiter = delimiter
        ranges.reserveCapacity(32)
    }

    public init(delimiter: String) { self.init(delimiter: Array(delimiter.utf8)) }

    /// Splits `line` and returns the number of fields.
    @discardableResult
    public mutating func split(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        ranges.removeAll(keepingCapacity: true)
        var start = 0
        let n = line.count
        if delimiter.count == 1 {
            let d = delimiter[0]
            var i = 0
            while i < n {
                if line[i] == d { ranges.append(start..<i); start = i + 1 }
                i += 1
            }
        } else {
            let d0 = delimiter[0], dl = delimiter.count
            var i = 0
            while i + dl <= n {
                if line[i] == d0 {
                    var match = true
                    for k in 1..<dl where line[i + k] != delimiter[k] { match = false; break }
                    if match { ranges.append(start..<i); i += dl; start = i; continue }
                }
                i += 1
            }
        }
        ranges.append(start..<n)
        return ranges.count
    }
}

/// Number and text parsing straight from bytes.
public enum ByteParse {
    /// Parses an optionally signed decimal integer, allowing surrounding spaces. `nil` if malformed.
    @inline(__always)
    public static func int(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
        var i = r.lowerBound, end = r.upperBound
        while i < end && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
        while end > i && (b[end - 1] == 0x20 || b[end - 1] == 0x09) { end -= 1 }
        if i == end { return nil }
        var neg = false
        if b[i] == 0x2D { neg = true; i += 1 } else if b[i] == 0x2B { i += 1 }
        if i == end || end - i > 18 { return nil }
        var v: Int64 = 0
        while i < end {
            let c = b[i] &- 0x30
            if c > 9 { return nil }
            v = v * 10 + Int64(c)
            i += 1
        }
        return neg ? -v : v
    }

    /// Parses a decimal floating-point number (integers, decimals, exponents). `nil` if malformed,
    /// empty, or not finite.
    @inline(__always)
    public static func double(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Double? {
        // Integers are the common case in rating files: parse them without strtod.
        if let v = int(b, r) { return Double(v) }
        var i = r.lowerBound, end = r.upperBound
        while i < end && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
        while end > i && (b[end - 1] == 0x20 || b[end - 1] == 0x09) { end -= 1 }
        if let v = shortDecimal(b, i, end) { return v }
        let len = end - i
        if len == 0 || len > 63 { return nil }
        // Only characters of a decimal number are accepted: strtod also takes "inf", "nan", hex.
        for k in i..<end {
            let c = b[k]
            if !((c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x2B || c == 0x65 || c == 0x45) { return nil }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { tmp in
            for k in 0..<len { tmp[k] = CChar(bitPattern: b[i + k]) }
            tmp[len] = 0
            var endPtr: UnsafeMutablePointer<CChar>?
            let v = strtod(tmp.baseAddress!, &endPtr)
            guard let e = endPtr, tmp.baseAddress!.distance(to: e) == len, v.isFinite else { return nil }
            return v
        }
    }

    /// Plain decimals such as "3.5" or "-0.25" (at most 15 digits) without strtod: the digits
    /// and the power of ten are both exact doubles, so one division is correctly rounded and gives
    /// strtod's result (Clinger's fast path). Anything else returns nil for the general path.
    @inline(__always)
    static func shortDecimal(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var i = start
        var neg = false
        if i < end && b[i] == 0x2D { neg = true; i += 1 }
        var mantissa: Int64 = 0, digits = 0, decimals = 0, seenPoint = false
        while i < end {
            let c = b[i]
            if c == 0x2E {
                if seenPoint { return nil }
                seenPoint = true
            } else {
                let d = c &- 0x30
                if d > 9 || digits == 15 { return nil }
                mantissa = mantissa * 10 + Int64(d)
                digits += 1
                if seenPoint { decimals += 1 }
            }
            i += 1
        }
        guard seenPoint, digits > 0 else { return nil }
        let v = Double(mantissa) / powersOfTen[decimals]
        return neg ? -v : v
    }

    private static let powersOfTen: [Double] = (0...15).map { k in (0..<k).reduce(1.0) { p, _ in p * 10 } }

    /// Decodes bytes as UTF-8, or `nil` if they are not valid UTF-8.
    @inline(__always)
    public static func utf8(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        let field = UnsafeBufferPointer(rebasing: b[r])
        // ASCII needs no validation; the validating initialiser is generic and not specialised,
        // which made it a tenth of an import's time.
        var high: UInt8 = 0
        for c in field { high |= c }
        if high < 0x80 { return String(decoding: field, as: UTF8.self) }
        return String(validating: field, as: UTF8.self)
    }

    /// Decodes bytes as ISO-8859-1 (Latin-1), which every byte sequence is.
    public static func latin1(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        var scalars = String.UnicodeScalarView()
        for k in r { scalars.append(Unicode.Scalar(b[k])) }
        return String(scalars)
    }

    /// The field as text in the given encoding, trimmed of surrounding spaces.
    public static func text(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, latin1 isLatin1: Bool) -> String? {
        let t = trimmed(b, r)
        return isLatin1 ? latin1(b, t) : utf8(b, t)
    }

    /// The range without surrounding spaces and tabs.
    @inline(__always)
    public static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var i = r.lowerBound, end = r.upperBound
        while i < end && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
        while end > i && (b[end - 1] == 0x20 || b[end - 1] == 0x09) { end -= 1 }
        return i..<end
    }

    /// A short printable rendering of raw bytes for error messages: the text when it is valid
    /// UTF-8, otherwise the bytes in hex so the offending encoding is visible.
    public static func preview(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, limit: Int = 60) -> String {
        let slice = UnsafeBufferPointer(rebasing: b[r.lowerBound..<min(r.upperBound, r.lowerBound + limit)])
        let more = r.count > limit ? "…" : ""
        if let s = String(validating: slice, as: UTF8.self) { return s + more }
        return "bytes " + slice.map { String(format2: $0) }.joined(separator: " ") + more
    }
}

extension String {
    fileprivate init(format2 byte: UInt8) {
        let d = Array("0123456789ABCDEF")
        self = String([d[Int(byte >> 4)], d[Int(byte & 15)]])
    }
}
