/// One cell of a report table. Numbers keep their value so each renderer can align and format
/// them; undefined estimates keep their reason so no renderer can print them as 0 or NaN.
public enum ReportCell: Sendable, Hashable {
    case text(String)
    case integer(Int)
    /// A number with a fixed number of decimals; a non-finite number renders as undefined.
    case number(Double, digits: Int)
    case estimate(Estimate, digits: Int)
    /// "0.712 [0.690, 0.733]": an estimate with its confidence interval.
    case estimateWithInterval(Estimate, IntervalEstimate, digits: Int)
}

extension ReportCell: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
}

/// How undefined values appear in a rendered table.
public enum UndefinedStyle: Sendable, Hashable {
    /// "undefined (constant vector)" in the cell.
    case inline
    /// "n/a [1]" in the cell and "[1] constant vector" under the table.
    case footnote
}

/// A table of report cells with a header row, rendered by `MarkdownTable`, `TextTable`,
/// `CSVWriter` and `HTMLReport`.
public struct ReportTable: Sendable, Hashable {
    public var header: [String]
    public var rows: [[ReportCell]]

    public init(header: [String], rows: [[ReportCell]] = []) {
        self.header = header; self.rows = rows
    }

    public mutating func append(_ row: [ReportCell]) { rows.append(row) }

    /// Cells rendered to strings with undefined values per `style`; footnotes in order of first
    /// appearance (one per distinct reason).
    func rendered(_ style: UndefinedStyle, marker: (Int) -> String) -> (rows: [[String]], numeric: [Bool], footnotes: [String]) {
        var notes: [String] = []
        func undefined(_ reason: String) -> String {
            switch style {
            case .inline: return "undefined (\(reason))"
            case .footnote:
                if let i = notes.firstIndex(of: reason) { return "n/a" + marker(i + 1) }
                notes.append(reason)
                return "n/a" + marker(notes.count)
            }
        }
        func fmt(_ e: Estimate, _ d: Int) -> String {
            switch e {
            case .value(let v): return v.isFinite ? NumberFormat.fixed(v, digits: d) : undefined("non-finite value")
            case .undefined(let r): return undefined(r)
            }
        }
        let width = max(header.count, rows.map(\.count).max() ?? 0)
        var numeric = [Bool](repeating: true, count: width)
        var anyNumber = [Bool](repeating: false, count: width)
        let out: [[String]] = rows.map { row in
            (0..<width).map { i -> String in
                guard i < row.count else { return "" }
                switch row[i] {
                case .text(let s): numeric[i] = false; return s
                case .integer(let n): anyNumber[i] = true; return String(n)
                case .number(let v, let d): anyNumber[i] = true; return fmt(.value(v), d)
                case .estimate(let e, let d): anyNumber[i] = true; return fmt(e, d)
                case .estimateWithInterval(let e, let ci, let d):
                    anyNumber[i] = true
                    let point = fmt(e, d)
                    guard e.isDefined else { return point }
                    switch ci {
                    case .interval(let c): return "\(point) [\(fmt(.value(c.lower), d)), \(fmt(.value(c.upper), d))]"
                    case .undefined(let r): return "\(point) [CI \(undefined(r))]"
                    }
                }
            }
        }
        for i in 0..<width where !anyNumber[i] { numeric[i] = false }
        return (out, numeric, notes)
    }
}

/// GitHub-flavoured Markdown tables.
public enum MarkdownTable {
    /// Pipes in cells are escaped; numeric columns are right-aligned; undefined values become
    /// "n/a [n]" with footnotes below the table by default.
    public static func render(_ table: ReportTable, undefined: UndefinedStyle = .footnote) -> String {
        let r = table.rendered(undefined) { "[\($0)]" }
        func cell(_ s: String) -> String {
            s.replacingAll("|", with: "\\|").replacingAll("\n", with: " ")
        }
        let width = max(table.header.count, r.numeric.count)
        let header = (0..<width).map { $0 < table.header.count ? cell(table.header[$0]) : "" }
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + (0..<width).map { $0 < r.numeric.count && r.numeric[$0] ? "---:" : ":---" }.joined(separator: "|") + "|\n"
        for row in r.rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        if !r.footnotes.isEmpty {
            out += "\n"
            for (i, n) in r.footnotes.enumerated() { out += "[\(i + 1)] undefined: \(cell(n))  \n" }
        }
        return out
    }
}

/// Plain-text tables for the terminal: padded columns, numbers right-aligned, a dashed rule under
/// the header, no box-drawing characters (they break in logs and some terminals).
public enum TextTable {
    public static func render(_ table: ReportTable, undefined: UndefinedStyle = .inline, separator: String = "  ") -> String {
        let r = table.rendered(undefined) { "[\($0)]" }
        let width = max(table.header.count, r.numeric.count)
        let header = (0..<width).map { $0 < table.header.count ? table.header[$0] : "" }
        var widths = header.map(\.count)
        for row in r.rows { for (i, s) in row.enumerated() { widths[i] = max(widths[i], s.count) } }
        func line(_ cells: [String], alignNumbers: Bool) -> String {
            cells.enumerated().map { i, s in
                let pad = String(repeating: " ", count: widths[i] - s.count)
                return (alignNumbers && i < r.numeric.count && r.numeric[i]) ? pad + s : s + pad
            }.joined(separator: separator).trimmingTrailingSpaces()
        }
        var out = line(header, alignNumbers: true) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: separator) + "\n"
        for row in r.rows { out += line(row, alignNumbers: true) + "\n" }
        for (i, n) in r.footnotes.enumerated() { out += "[\(i + 1)] undefined: \(n)\n" }
        return out
    }
}

/// RFC 4180 CSV: fields with a comma, double quote, CR or LF are quoted and inner quotes doubled;
/// records end with CRLF as the RFC specifies (pandas, R and spreadsheets all accept it).
public struct CSVWriter: Sendable {
    public var lineEnding: String

    public init(lineEnding: String = "\r\n") { self.lineEnding = lineEnding }

    public static func field(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
        }
        return s
    }

    public func record(_ fields: [String]) -> String {
        fields.map(Self.field).joined(separator: ",") + lineEnding
    }

    public func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map(record).joined()
    }

    /// A report table as CSV; undefined values are written "undefined (reason)" so a re-analysis
    /// cannot read them as numbers.
    public func document(_ table: ReportTable) -> String {
        let r = table.rendered(.inline) { _ in "" }
        return document(header: table.header, rows: r.rows)
    }
}

/// A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF records), the inverse of
/// `CSVWriter` for small files such as summaries.
public enum CSVReader {
    public static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var atFieldStart = true
        var it = Array(text.unicodeScalars)[...]
        while let ch = it.popFirst() {
            if inQuotes {
                if ch == "\"" {
                    if it.first == "\"" { it.removeFirst(); field.unicodeScalars.append("\"") } else { inQuotes = false }
                } else {
                    field.unicodeScalars.append(ch)
                }
                continue
            }
            switch ch {
            case "\"" where atFieldStart: inQuotes = true; atFieldStart = false
            case ",": record.append(field); field = ""; atFieldStart = true
            case "\r" where it.first == "\n": continue
            case "\n", "\r":
                record.append(field); records.append(record); record = []; field = ""; atFieldStart = true
            default: field.unicodeScalars.append(ch); atFieldStart = false
            }
        }
        if !field.isEmpty || !record.isEmpty || !atFieldStart { record.append(field); records.append(record) }
        return records
    }
}

extension String {
    /// Foundation-free replacement (the module imports nothing beyond RecKit and libc).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }

    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
