import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import RecKit
@testable import RecEvaluation

/// Parses with Foundation's XMLParser and reports the first error, so a stray "&" or "<" from an
/// unescaped label fails the test.
final class XMLCheck: NSObject, XMLParserDelegate {
    var error: String?
    var elements: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements.append(name)
    }
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { error = "\(parseError)" }

    static func check(_ svg: String) -> (ok: Bool, elements: [String], error: String?) {
        let p = XMLParser(data: Data(svg.utf8))
        let d = XMLCheck()
        p.delegate = d
        let ok = p.parse()
        return (ok && d.error == nil, d.elements, d.error ?? p.parserError.map { "\($0)" })
    }
}

@Suite struct ChartTests {
    let nasty = "AUC <0.5> & \"quotes\" 'single' \u{1}ctl"

    func charts() -> [String] {
        let curve = try! ROC.curve(scores: [0.9, 0.8, 0.8, 0.3, 0.1, 0.1], labels: [true, false, true, true, false, false]).get()
        var g = SeededGenerator(seed: 1)
        let roc = LineChart.roc(title: nasty, curves: [(nasty, curve), ("constant", try! ROC.curve(scores: [0, 0, 0], labels: [true, false, true]).get())])
        let learning = LineChart(
            frame: ChartFrame(title: "learning", xLabel: "steps", yLabel: "return <mean>"),
            series: [LineSeries(name: "DQN & ELLM", points: (0..<50).map { ChartPoint(Double($0) * 1000, sin(Double($0) / 8)) },
                                band: (0..<50).map { BandPoint(x: Double($0) * 1000, lower: sin(Double($0) / 8) - 0.2, upper: sin(Double($0) / 8) + 0.2) }),
                     LineSeries(name: "random", points: [ChartPoint(0, 0), ChartPoint(1, .nan), ChartPoint(2, 1)], dashed: true, markers: true)])
        let bars = GroupedBarChart(
            frame: ChartFrame(title: "metrics", yLabel: "value"), seriesNames: ["sbert", "bm25 <x>"],
            groups: [BarGroup(label: "HR@10", bars: [BarValue(.value(0.4), interval: ConfidenceInterval(lower: 0.35, upper: 0.45, level: 0.95)), BarValue(.undefined(reason: "no users"))]),
                     BarGroup(label: "Spearman", bars: [BarValue(.value(-0.1)), BarValue(.value(0.2))])])
        let dist = DistributionChart(frame: ChartFrame(title: "reward per rating", xLabel: "rating", yLabel: "reward"),
                                     groups: (1...5).map { r in DistributionGroup(label: "\(r)", values: r == 2 ? [] : (0..<200).map { _ in Double(r) * 0.1 + g.nextGaussian() * 0.05 }) })
        let constant = DistributionChart(frame: ChartFrame(), groups: [DistributionGroup(label: "all zero", values: [0, 0, 0])])
        let hist = HistogramChart(frame: ChartFrame(title: "hist"), series: [DistributionGroup(label: "a", values: [1, 2, 2, 3]), DistributionGroup(label: "b", values: [])], normalised: true)
        return [roc.svg(), learning.svg(), bars.svg(), dist.svg(), constant.svg(), hist.svg()]
    }

    @Test func everyChartIsWellFormedXML() {
        for svg in charts() {
            let r = XMLCheck.check(svg)
            #expect(r.ok, "parse error \(r.error ?? "") in\n\(svg.prefix(400))")
            #expect(r.elements.first == "svg")
            #expect(!svg.contains("nan") && !svg.contains("inf"), "non-finite coordinate leaked")
        }
        let roc = charts()[0]
        #expect(roc.contains("AUC &lt;0.5&gt; &amp; &quot;quotes&quot;"))
        #expect(!roc.contains("\u{1}"))
        #expect(charts()[2].contains(">n/a<"))
    }

    @Test func niceTicks() {
        let s = NiceScale(minimum: 0.013, maximum: 0.87)
        #expect(s.lower == 0 && abs(s.upper - 1) < 1e-12 && abs(s.step - 0.2) < 1e-12)
        #expect(s.ticks.count == 6)
        let c = NiceScale(minimum: 3, maximum: 3)
        #expect(c.lower < 3 && c.upper > 3)
        #expect(NumberFormat.fixed(-0.0004, digits: 3) == "0.000")
        #expect(NumberFormat.fixed(2.9996, digits: 3) == "3.000")
        #expect(NumberFormat.fixed(-12.345, digits: 1) == "-12.3")
    }
}

@Suite struct TableTests {
    var table: ReportTable {
        ReportTable(header: ["metric", "Spearman", "AUC", "n"], rows: [
            ["sbert, cosine", .estimateWithInterval(.value(0.41234), .interval(ConfidenceInterval(lower: 0.38, upper: 0.44, level: 0.95)), digits: 3),
             .estimate(.value(0.7), digits: 3), .integer(812)],
            ["random", .estimate(.undefined(reason: "x is constant"), digits: 3), .estimate(.undefined(reason: "no positive labels"), digits: 3), .integer(3)],
            ["popularity | \"pop\"", .estimate(.undefined(reason: "x is constant"), digits: 3), .number(.nan, digits: 2), .integer(10)],
        ])
    }

    @Test func markdownUsesFootnotesNeverZeroOrNaN() {
        let md = MarkdownTable.render(table)
        #expect(md.contains("| sbert, cosine | 0.412 [0.380, 0.440] | 0.700 | 812 |"))
        #expect(md.contains("n/a[1]") && md.contains("n/a[2]") && md.contains("n/a[3]"))
        #expect(md.contains("[1] undefined: x is constant"))
        #expect(md.contains("popularity \\| \"pop\""))
        #expect(!md.lowercased().contains("nan |") && !md.contains("| 0.000 |"))
        #expect(md.contains("|:---|---:|---:|---:|"))
    }

    @Test func textTableAlignsColumns() {
        let t = TextTable.render(table)
        let lines = t.split(separator: "\n").map(String.init)
        #expect(lines[1].allSatisfy { $0 == "-" || $0 == " " })
        #expect(t.contains("undefined (x is constant)"))
        // Right-aligned numeric column: every row's "n" column ends at the same offset.
        let ends = lines.prefix(5).filter { !$0.hasPrefix("-") }.map(\.count)
        #expect(Set(ends).count == 1, "\(t)")
    }

    @Test func csvQuotingRoundTrips() {
        let rows = [["plain", "with,comma", "with \"quote\"", "multi\nline", "crlf\r\nline", "", " spaced "],
                    ["ünïcödé", "😀", "a,\"b\"\n", "0.5", "-", "x", "y"]]
        for ending in ["\r\n", "\n"] {
            let w = CSVWriter(lineEnding: ending)
            let doc = w.document(header: ["a", "b", "c", "d", "e", "f", "g"], rows: rows)
            let back = CSVReader.parse(doc)
            #expect(back == [["a", "b", "c", "d", "e", "f", "g"]] + rows)
        }
        #expect(CSVWriter.field("a\"b") == "\"a\"\"b\"")
        #expect(CSVWriter.field("ab") == "ab")
        let csv = CSVWriter().document(table)
        #expect(csv.contains("undefined (no positive labels)"))
        #expect(CSVReader.parse(csv)[1][0] == "sbert, cosine")
    }

    @Test func htmlReportIsSelfContainedWithInlineSVG() {
        var r = HTMLReport(title: "validate-rewards <ml-100k>")
        r.section("Correlations & AUC")
        r.paragraph("Held-out ratings >= 4 count as liked.")
        r.table(table, caption: "Global statistics")
        let svgs = ChartTests().charts()
        for (i, s) in svgs.enumerated() { r.figure(svg: s, caption: "figure \(i)") }
        r.preformatted("{\"seed\": 1, \"metrics\": [\"a<b\"]}", heading: "Configuration")
        let html = r.render()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<title>validate-rewards &lt;ml-100k&gt;</title>"))
        for s in svgs { #expect(html.contains(s)) }
        #expect(html.contains("Figure 6."))
        #expect(html.contains("n/a<sup>1</sup>") && html.contains("<li>undefined: x is constant</li>"))
        #expect(html.contains("&quot;a&lt;b&quot;"))
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        #expect(!html.contains("<script") && !html.contains("<link"))
    }
}
