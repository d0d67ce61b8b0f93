#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Size, margins and labels shared by every chart.
public struct ChartFrame: Sendable, Hashable {
    public var width: Double
    public var height: Double
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var marginTop: Double = 36
    public var marginRight: Double = 28
    public var marginBottom: Double = 48
    public var marginLeft: Double = 60

    public init(width: Double = 640, height: Double = 400, title: String = "", xLabel: String = "", yLabel: String = "") {
        self.width = width; self.height = height; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    var plotLeft: Double { marginLeft }
    var plotRight: Double { width - marginRight }
    var plotTop: Double { marginTop }
    var plotBottom: Double { height - marginBottom }
}

/// An axis range widened to "nice" round ticks (1, 2 or 5 × 10ᵏ; Heckbert 1990).
public struct NiceScale: Sendable, Hashable {
    public let lower: Double
    public let upper: Double
    public let step: Double

    /// A scale covering [minimum, maximum] with about `targetTicks` ticks. A degenerate range is
    /// widened around its value so a constant series still gets an axis.
    public init(minimum: Double, maximum: Double, targetTicks: Int = 6) {
        var lo = minimum, hi = maximum
        if !lo.isFinite || !hi.isFinite { lo = 0; hi = 1 }
        if lo > hi { swap(&lo, &hi) }
        if hi - lo < 1e-12 * max(1, abs(hi)) {
            let pad = abs(lo) > 0 ? abs(lo) * 0.1 : 1
            lo -= pad; hi += pad
        }
        let rough = (hi - lo) / Double(max(1, targetTicks - 1))
        let mag = pow(10, (log10(rough)).rounded(.down))
        let f = rough / mag
        let nice: Double = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
        step = nice * mag
        lower = (lo / step).rounded(.down) * step
        upper = (hi / step).rounded(.up) * step
    }

    /// A fixed scale (e.g. [0, 1] for ROC axes) with the given step.
    public init(lower: Double, upper: Double, step: Double) {
        self.lower = lower; self.upper = upper; self.step = step
    }

    public var ticks: [Double] {
        var out: [Double] = []
        var i = 0
        while true {
            let t = lower + Double(i) * step
            if t > upper + step * 1e-9 { break }
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            i += 1
            if i > 1000 { break }
        }
        return out
    }

    /// Linear map of `v` from this scale onto [from, to].
    func map(_ v: Double, _ from: Double, _ to: Double) -> Double {
        from + (v - lower) / (upper - lower) * (to - from)
    }
}

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
public enum ChartPalette {
    public static let colors = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
    public static func color(_ i: Int) -> String { colors[i % colors.count] }
}

/// Accumulates SVG elements; every piece of text goes through `Markup.escape`.
struct SVGCanvas {
    var body: [String] = []
    let frame: ChartFrame

    init(_ frame: ChartFrame) { self.frame = frame }

    static func n(_ v: Double) -> String { NumberFormat.fixed(v, digits: 2) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil) {
        let d = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body.append("<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\"\(d)/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, opacity: Double = 1) {
        let s = stroke.map { " stroke=\"\($0)\"" } ?? ""
        let o = opacity < 1 ? " fill-opacity=\"\(Self.n(opacity))\"" : ""
        body.append("<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(max(0, w)))\" height=\"\(Self.n(max(0, h)))\" fill=\"\(fill)\"\(s)\(o)/>")
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, stroke: String? = nil) {
        let s = stroke.map { " stroke=\"\($0)\"" } ?? ""
        body.append("<circle cx=\"\(Self.n(x))\" cy=\"\(Self.n(y))\" r=\"\(Self.n(r))\" fill=\"\(fill)\"\(s)/>")
    }

    mutating func polyline(_ pts: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        guard !pts.isEmpty else { return }
        let p = pts.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        let d = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body.append("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\" stroke-linejoin=\"round\"\(d)/>")
    }

    mutating func polygon(_ pts: [(Double, Double)], fill: String, opacity: Double) {
        guard pts.count >= 3 else { return }
        let p = pts.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        body.append("<polygon points=\"\(p)\" fill=\"\(fill)\" fill-opacity=\"\(Self.n(opacity))\" stroke=\"none\"/>")
    }

    mutating func text(_ s: String, _ x: Double, _ y: Double, anchor: String = "middle", size: Double = 12,
                       rotate: Bool = false, weight: String? = nil, fill: String = "#222") {
        let r = rotate ? " transform=\"rotate(-90 \(Self.n(x)) \(Self.n(y)))\"" : ""
        let w = weight.map { " font-weight=\"\($0)\"" } ?? ""
        body.append("<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" text-anchor=\"\(anchor)\" font-size=\"\(Self.n(size))\" fill=\"\(fill)\"\(w)\(r)>\(Markup.escape(s))</text>")
    }

    /// Title and axis labels.
    mutating func decorations() {
        if !frame.title.isEmpty { text(frame.title, frame.width / 2, 22, size: 15, weight: "bold") }
        if !frame.xLabel.isEmpty { text(frame.xLabel, (frame.plotLeft + frame.plotRight) / 2, frame.height - 10) }
        if !frame.yLabel.isEmpty { text(frame.yLabel, 16, (frame.plotTop + frame.plotBottom) / 2, rotate: true) }
    }

    /// Horizontal grid lines and y tick labels.
    mutating func yAxis(_ s: NiceScale) {
        for t in s.ticks {
            let y = s.map(t, frame.plotBottom, frame.plotTop)
            line(frame.plotLeft, y, frame.plotRight, y, stroke: "#e4e4e4")
            text(NumberFormat.tick(t, step: s.step), frame.plotLeft - 6, y + 4, anchor: "end", size: 11)
        }
        line(frame.plotLeft, frame.plotTop, frame.plotLeft, frame.plotBottom, stroke: "#444")
    }

    /// Vertical x tick marks and labels.
    mutating func xAxis(_ s: NiceScale) {
        for t in s.ticks {
            let x = s.map(t, frame.plotLeft, frame.plotRight)
            line(x, frame.plotBottom, x, frame.plotBottom + 5, stroke: "#444")
            text(NumberFormat.tick(t, step: s.step), x, frame.plotBottom + 18, size: 11)
        }
        line(frame.plotLeft, frame.plotBottom, frame.plotRight, frame.plotBottom, stroke: "#444")
    }

    /// A legend box in a corner of the plot area (top right unless `bottom`).
    mutating func legend(_ entries: [(name: String, color: String)], bottom: Bool = false) {
        guard !entries.isEmpty else { return }
        let longest = entries.map { $0.name.count }.max() ?? 0
        let w = Double(min(40, longest)) * 7 + 30, h = Double(entries.count) * 18 + 8
        let x0 = frame.plotRight - w - 6, y0 = bottom ? frame.plotBottom - h - 6 : frame.plotTop + 6
        rect(x0, y0, w, h, fill: "#ffffff", stroke: "#cccccc", opacity: 0.9)
        for (i, e) in entries.enumerated() {
            let y = y0 + 14 + Double(i) * 18
            rect(x0 + 6, y - 9, 14, 10, fill: e.color)
            text(e.name, x0 + 26, y, anchor: "start", size: 11)
        }
    }

    func render(description: String) -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.n(frame.width))\" height=\"\(Self.n(frame.height))\" viewBox=\"0 0 \(Self.n(frame.width)) \(Self.n(frame.height))\" font-family=\"Helvetica, Arial, sans-serif\" role=\"img\">\n"
        out += "<title>\(Markup.escape(frame.title.isEmpty ? description : frame.title))</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(Self.n(frame.width))\" height=\"\(Self.n(frame.height))\" fill=\"#ffffff\"/>\n"
        for b in body { out += b; out += "\n" }
        out += "</svg>\n"
        return out
    }
}

/// Quantiles of a sorted sample with linear interpolation (numpy's default).
func sortedQuantile(_ sorted: [Double], _ p: Double) -> Double {
    BootstrapReplicates.quantile(sorted, p)
}
