/// A self-contained HTML page (inline CSS and SVG, no scripts, no external assets) built from
/// sections, paragraphs, tables, figures and preformatted configuration, so a run folder's
/// report opens anywhere, offline, years later.
public struct HTMLReport: Sendable {
    public var title: String
    private var parts: [String] = []
    private var figureCount = 0
    private var tableCount = 0

    public init(title: String) { self.title = title }

    /// A level-2 heading.
    public mutating func section(_ heading: String) {
        parts.append("<h2>\(Markup.escape(heading))</h2>")
    }

    /// A level-3 heading.
    public mutating func subsection(_ heading: String) {
        parts.append("<h3>\(Markup.escape(heading))</h3>")
    }

    /// A paragraph of plain text (escaped).
    public mutating func paragraph(_ text: String) {
        parts.append("<p>\(Markup.escape(text))</p>")
    }

    /// A table; undefined values become "n/a" with footnotes under the table.
    public mutating func table(_ table: ReportTable, caption: String? = nil, undefined: UndefinedStyle = .footnote) {
        tableCount += 1
        let r = table.rendered(undefined) { "<sup>\($0)</sup>" }
        var h = "<table>"
        if let caption { h += "<caption>Table \(tableCount). \(Markup.escape(caption))</caption>" }
        h += "<thead><tr>" + table.header.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in r.rows {
            h += "<tr>"
            for (i, s) in row.enumerated() {
                let cls = i < r.numeric.count && r.numeric[i] ? " class=\"num\"" : ""
                // The footnote marker is our own markup: escape the cell text around it only.
                let cell: String
                if let range = s.range(of: "<sup>") {
                    cell = Markup.escape(String(s[..<range.lowerBound])) + String(s[range.lowerBound...])
                } else {
                    cell = Markup.escape(s)
                }
                h += "<td\(cls)>\(cell)</td>"
            }
            h += "</tr>"
        }
        h += "</tbody></table>"
        if !r.footnotes.isEmpty {
            h += "<ol class=\"notes\">" + r.footnotes.map { "<li>undefined: \(Markup.escape($0))</li>" }.joined() + "</ol>"
        }
        parts.append(h)
    }

    /// An inline SVG figure (as produced by the chart types) with a numbered caption.
    public mutating func figure(svg: String, caption: String) {
        figureCount += 1
        parts.append("<figure>\(Self.stripXMLDeclaration(svg))<figcaption>Figure \(figureCount). \(Markup.escape(caption))</figcaption></figure>")
    }

    /// A `<pre>` block, e.g. the run's full configuration as JSON.
    public mutating func preformatted(_ text: String, heading: String? = nil) {
        if let heading { parts.append("<h3>\(Markup.escape(heading))</h3>") }
        parts.append("<pre>\(Markup.escape(text))</pre>")
    }

    /// Trusted HTML, inserted verbatim (the caller is responsible for escaping).
    public mutating func rawHTML(_ html: String) { parts.append(html) }

    public func render() -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Markup.escape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
        h1 { font-size: 1.6em; border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
        h2 { font-size: 1.3em; margin-top: 1.8em; }
        table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
        caption { text-align: left; font-weight: bold; padding-bottom: .3em; }
        th, td { border-bottom: 1px solid #ddd; padding: .3em .7em; text-align: left; }
        th { background: #f3f6f9; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        ol.notes { font-size: .85em; color: #555; }
        figure { margin: 1.2em 0; }
        figcaption { font-size: .9em; color: #444; }
        svg { max-width: 100%; height: auto; }
        pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .85em; }
        </style>
        </head>
        <body>
        <h1>\(Markup.escape(title))</h1>
        \(parts.joined(separator: "\n"))
        </body>
        </html>

        """
    }

    static func stripXMLDeclaration(_ svg: String) -> String {
        guard svg.hasPrefix("<?xml"), let end = svg.range(of: "?>") else { return svg }
        return String(svg[end.upperBound...])
    }
}

extension String {
    /// Foundation-free substring search (first occurrence).
    func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
