/// An RFC 4180 CSV record parser fed line by line: quoted fields may contain the delimiter, doubled
/// quotes, and newlines (a record then spans several lines).
///
/// Usage: call `feed(_:)` with each line; when it returns `true` the record is complete and its
/// fields are in `fields` (byte ranges into `bytes`). When it returns `false` the record continues on
/// the next line. `finish()` reports a quote left open at end of file.
public struct CSVRecordParser {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// A quote opened and never closed; `startLine` is where the record began.
        case unterminatedQuote(startLine: Int)
        /// Text after a closing quote, as in `"abc"x`.
        case junkAfterQuote(column: Int)

        public var description: String {
            switch self {
            case .unterminatedQuote(let l): return "quoted field opened on line \(l) is never closed"
            case .junkAfterQuote(let c): return "unexpected character after closing quote in column \(c)"
            }
        }
    }

    public let delimiter: UInt8
    /// Unescaped field contents of the current record.
    public private(set) var bytes: [UInt8] = []
    /// Ranges of the fields in `bytes`.
    public private(set) var fields: [Range<Int>] = []
    private var inQuotes = false
    private var fieldStart = 0
    private var pending = false
    /// Line on which the current (possibly multi-line) record started.
    public private(set) var recordStartLine = 0

    public init(delimiter: UInt8 = UInt8(ascii: ",")) {
        self.delimiter = delimiter
        bytes.reserveCapacity(4096)
        fields.reserveCapacity(32)
    }

    /// Feeds one line (without its newline). Returns whether a full record is available.
    public mutating func feed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws -> Bool {
        if !pending {
            bytes.removeAll(keepingCapacity: true)
            fields.removeAll(keepingCapacity: true)
            fieldStart = 0
            recordStartLine = lineNumber
        } else {
            bytes.append(0x0A)  // the newline inside a quoted field
        }
        var i = 0
        let n = line.count
        var afterQuote = false
        while i < n {
            let c = line[i]
            if inQuotes {
                if c == 0x22 {
                    if i + 1 < n && line[i + 1] == 0x22 { bytes.append(0x22); i += 2; continue }
                    inQuotes = false
                    afterQuote = true
                } else {
                    bytes.append(c)
                }
            } else if c == delimiter {
                fields.append(fieldStart..<bytes.count)
                fieldStart = bytes.count
                afterQuote = false
            } else if c == 0x22 && bytes.count == fieldStart && !afterQuote {
                inQuotes = true
            } else {
                if afterQuote { throw Failure.junkAfterQuote(column: fields.count + 1) }
                bytes.append(c)
            }
            i += 1
        }
        if inQuotes { pending = true; return false }
        pending = false
        fields.append(fieldStart..<bytes.count)
        return true
    }

    /// Throws when the input ended inside a quoted field.
    public func finish() throws {
        if pending { throw Failure.unterminatedQuote(startLine: recordStartLine) }
    }

    /// Runs `body` with the record's bytes.
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer(body)
    }
}
