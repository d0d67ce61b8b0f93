/// One (x, y) point of a line series.
public struct ChartPoint: Sendable, Hashable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// A shaded band [lower, upper] at x (a confidence band around a learning curve).
public struct BandPoint: Sendable, Hashable {
    public var x: Double
    public var lower: Double
    public var upper: Double
    public init(x: Double, lower: Double, upper: Double) { self.x = x; self.lower = lower; self.upper = upper }
}

/// A named line, optionally with a shaded band. Non-finite points are skipped (they break the line).
public struct LineSeries: Sendable, Hashable {
    public var name: String
    public var points: [ChartPoint]
    public var band: [BandPoint]
    public var dashed: Bool
    public var markers: Bool

    public init(name: String, points: [ChartPoint], band: [BandPoint] = [], dashed: Bool = false, markers: Bool = false) {
        self.name = name; self.points = points; self.band = band; self.dashed = dashed; self.markers = markers
    }
}

/// A multi-series line chart: ROC curves, threshold sweeps, learning curves with CI bands.
public struct LineChart: Sendable {
    public var frame: ChartFrame
    public var series: [LineSeries]
    /// Fixed axis ranges (e.g. 0...1 for ROC); nil fits the data with nice ticks.
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Draws the y = x chance diagonal (ROC plots).
    public var chanceDiagonal: Bool
    /// Puts the legend in the bottom-right corner, where ROC curves rarely pass.
    public var legendAtBottom: Bool

    public init(frame: ChartFrame, series: [LineSeries], xRange: ClosedRange<Double>? = nil,
                yRange: ClosedRange<Double>? = nil, chanceDiagonal: Bool = false, legendAtBottom: Bool = false) {
        self.frame = frame; self.series = series; self.xRange = xRange; self.yRange = yRange
        self.chanceDiagonal = chanceDiagonal; self.legendAtBottom = legendAtBottom
    }

    /// A ROC chart with fixed unit axes and the chance diagonal.
    public static func roc(title: String, curves: [(name: String, curve: ROCCurve)]) -> LineChart {
        LineChart(frame: ChartFrame(width: 480, height: 440, title: title, xLabel: "False positive rate", yLabel: "True positive rate"),
                  series: curves.map { c in
                      LineSeries(name: "\(c.name) (AUC \(NumberFormat.fixed(c.curve.auc, digits: 3)))",
                                 points: c.curve.points.map { ChartPoint($0.falsePositiveRate, $0.truePositiveRate) })
                  },
                  xRange: 0...1, yRange: 0...1, chanceDiagonal: true, legendAtBottom: true)
    }

    public func svg() -> String {
        var c = SVGCanvas(frame)
        let xs = series.flatMap { $0.points.map(\.x) + $0.band.map(\.x) }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map(\.y) + $0.band.flatMap { [$0.lower, $0.upper] } }.filter(\.isFinite)
        let sx = xRange.map { NiceScale(minimum: $0.lowerBound, maximum: $0.upperBound) }
            ?? NiceScale(minimum: xs.min() ?? 0, maximum: xs.max() ?? 1)
        let sy = yRange.map { NiceScale(minimum: $0.lowerBound, maximum: $0.upperBound) }
            ?? NiceScale(minimum: ys.min() ?? 0, maximum: ys.max() ?? 1)
        c.yAxis(sy)
        c.xAxis(sx)
        func px(_ x: Double) -> Double { sx.map(x, frame.plotLeft, frame.plotRight) }
        func py(_ y: Double) -> Double { sy.map(y, frame.plotBottom, frame.plotTop) }
        if chanceDiagonal {
            let lo = max(sx.lower, sy.lower), hi = min(sx.upper, sy.upper)
            c.line(px(lo), py(lo), px(hi), py(hi), stroke: "#999999", dash: "4 4")
        }
        for (i, s) in series.enumerated() {
            let band = s.band.filter { $0.x.isFinite && $0.lower.isFinite && $0.upper.isFinite }
            if !band.isEmpty {
                let upper = band.map { (px($0.x), py($0.upper)) }
                let lower = band.reversed().map { (px($0.x), py($0.lower)) }
                c.polygon(upper + lower, fill: ChartPalette.color(i), opacity: 0.18)
            }
        }
        for (i, s) in series.enumerated() {
            let color = ChartPalette.color(i)
            // A non-finite point splits the line instead of drawing to a bogus coordinate.
            var run: [(Double, Double)] = []
            for p in s.points {
                if p.x.isFinite && p.y.isFinite { run.append((px(p.x), py(p.y))) } else {
                    c.polyline(run, stroke: color, dash: s.dashed ? "6 4" : nil); run = []
                }
            }
            c.polyline(run, stroke: color, dash: s.dashed ? "6 4" : nil)
            if s.markers {
                for p in s.points where p.x.isFinite && p.y.isFinite { c.circle(px(p.x), py(p.y), r: 3, fill: color) }
            }
        }
        c.legend(series.enumerated().map { ($0.element.name, ChartPalette.color($0.offset)) }, bottom: legendAtBottom)
        c.decorations()
        return c.render(description: "line chart")
    }
}

/// One bar: an estimate with an optional interval (error bar).
public struct BarValue: Sendable, Hashable {
    public var value: Estimate
    public var interval: ConfidenceInterval?
    public init(_ value: Estimate, interval: ConfidenceInterval? = nil) { self.value = value; self.interval = interval }
}

/// A category on the x axis with one bar per series.
public struct BarGroup: Sendable, Hashable {
    public var label: String
    public var bars: [BarValue]
    public init(label: String, bars: [BarValue]) { self.label = label; self.bars = bars }
}

/// Grouped bars with error bars (metric comparison across methods). Undefined values draw no bar
/// but an "n/a" mark, so a missing value is never mistaken for 0.
public struct GroupedBarChart: Sendable {
    public var frame: ChartFrame
    public var seriesNames: [String]
    public var groups: [BarGroup]
    public var yRange: ClosedRange<Double>?

    public init(frame: ChartFrame, seriesNames: [String], groups: [BarGroup], yRange: ClosedRange<Double>? = nil) {
        self.frame = frame; self.seriesNames = seriesNames; self.groups = groups; self.yRange = yRange
    }

    public func svg() -> String {
        var c = SVGCanvas(frame)
        var vals: [Double] = [0]
        for g in groups {
            for b in g.bars {
                if let v = b.value.value, v.isFinite { vals.append(v) }
                if let ci = b.interval, ci.lower.isFinite, ci.upper.isFinite { vals += [ci.lower, ci.upper] }
            }
        }
        let sy = yRange.map { NiceScale(minimum: $0.lowerBound, maximum: $0.upperBound) }
            ?? NiceScale(minimum: vals.min()!, maximum: vals.max()!)
        c.yAxis(sy)
        let plotW = frame.plotRight - frame.plotLeft
        let groupW = plotW / Double(max(1, groups.count))
        let nSeries = max(1, seriesNames.count, groups.map(\.bars.count).max() ?? 1)
        let barW = groupW * 0.8 / Double(nSeries)
        func py(_ y: Double) -> Double { sy.map(min(max(y, sy.lower), sy.upper), frame.plotBottom, frame.plotTop) }
        let zero = py(0)
        for (gi, g) in groups.enumerated() {
            let gx = frame.plotLeft + Double(gi) * groupW + groupW * 0.1
            for (bi, b) in g.bars.enumerated() {
                let x = gx + Double(bi) * barW
                let color = ChartPalette.color(bi)
                guard let v = b.value.value, v.isFinite else {
                    c.text("n/a", x + barW / 2, zero - 4, size: 10, fill: "#888")
                    continue
                }
                let y = py(v)
                c.rect(x + 1, min(y, zero), barW - 2, abs(zero - y), fill: color)
                if let ci = b.interval, ci.lower.isFinite, ci.upper.isFinite {
                    let xm = x + barW / 2
                    c.line(xm, py(ci.lower), xm, py(ci.upper), stroke: "#222", width: 1.5)
                    c.line(xm - barW / 5, py(ci.lower), xm + barW / 5, py(ci.lower), stroke: "#222", width: 1.5)
                    c.line(xm - barW / 5, py(ci.upper), xm + barW / 5, py(ci.upper), stroke: "#222", width: 1.5)
                }
            }
            c.text(g.label, frame.plotLeft + (Double(gi) + 0.5) * groupW, frame.plotBottom + 18, size: 11)
        }
        c.line(frame.plotLeft, zero, frame.plotRight, zero, stroke: "#444")
        c.legend(seriesNames.enumerated().map { ($0.element, ChartPalette.color($0.offset)) })
        c.decorations()
        return c.render(description: "bar chart")
    }
}

/// The values of one group (e.g. the rewards of all held-out pairs rated 4).
public struct DistributionGroup: Sendable, Hashable {
    public var label: String
    public var values: [Double]
    public init(label: String, values: [Double]) { self.label = label; self.values = values }
}

/// Per-group distributions drawn as a mirrored histogram ("violin-ish", no kernel bandwidth to
/// choose) with a box plot inside: quartiles, whiskers to the furthest point within 1.5 IQR,
/// a diamond at the mean, and n under each group. Empty groups say "n = 0".
public struct DistributionChart: Sendable {
    public var frame: ChartFrame
    public var groups: [DistributionGroup]
    public var bins: Int
    public var yRange: ClosedRange<Double>?

    public init(frame: ChartFrame, groups: [DistributionGroup], bins: Int = 24, yRange: ClosedRange<Double>? = nil) {
        self.frame = frame; self.groups = groups; self.bins = max(1, bins); self.yRange = yRange
        // Room for the "n = …" line between the group labels and the axis title.
        self.frame.marginBottom = max(frame.marginBottom, 62)
    }

    public func svg() -> String {
        var c = SVGCanvas(frame)
        let all = groups.flatMap(\.values).filter(\.isFinite)
        let sy = yRange.map { NiceScale(minimum: $0.lowerBound, maximum: $0.upperBound) }
            ?? NiceScale(minimum: all.min() ?? 0, maximum: all.max() ?? 1)
        c.yAxis(sy)
        c.line(frame.plotLeft, frame.plotBottom, frame.plotRight, frame.plotBottom, stroke: "#444")
        func py(_ y: Double) -> Double { sy.map(y, frame.plotBottom, frame.plotTop) }
        let slot = (frame.plotRight - frame.plotLeft) / Double(max(1, groups.count))
        let binW = (sy.upper - sy.lower) / Double(bins)
        for (gi, g) in groups.enumerated() {
            let cx = frame.plotLeft + (Double(gi) + 0.5) * slot
            let v = g.values.filter(\.isFinite).sorted()
            c.text(g.label, cx, frame.plotBottom + 16, size: 11)
            c.text("n = \(v.count)", cx, frame.plotBottom + 30, size: 10, fill: "#666")
            guard !v.isEmpty else { continue }
            let color = ChartPalette.color(gi)
            var counts = [Int](repeating: 0, count: bins)
            for x in v { counts[min(bins - 1, max(0, Int((x - sy.lower) / binW)))] += 1 }
            let maxCount = Double(counts.max() ?? 1)
            let half = slot * 0.42
            for (b, n) in counts.enumerated() where n > 0 {
                let w = half * Double(n) / maxCount
                let y0 = py(sy.lower + Double(b + 1) * binW), y1 = py(sy.lower + Double(b) * binW)
                c.rect(cx - w, y0, 2 * w, y1 - y0, fill: color, opacity: 0.35)
            }
            let q1 = sortedQuantile(v, 0.25), med = sortedQuantile(v, 0.5), q3 = sortedQuantile(v, 0.75)
            let iqr = q3 - q1
            let loW = v.first { $0 >= q1 - 1.5 * iqr } ?? v[0]
            let hiW = v.last { $0 <= q3 + 1.5 * iqr } ?? v[v.count - 1]
            let bw = min(24, slot * 0.18)
            c.line(cx, py(loW), cx, py(q1), stroke: "#222")
            c.line(cx, py(q3), cx, py(hiW), stroke: "#222")
            c.line(cx - bw / 2, py(loW), cx + bw / 2, py(loW), stroke: "#222")
            c.line(cx - bw / 2, py(hiW), cx + bw / 2, py(hiW), stroke: "#222")
            c.rect(cx - bw, py(q3), 2 * bw, py(q1) - py(q3), fill: "#ffffff", stroke: "#222", opacity: 0.85)
            c.line(cx - bw, py(med), cx + bw, py(med), stroke: "#222", width: 2)
            let mean = v.reduce(0, +) / Double(v.count)
            let my = py(mean)
            c.body.append("<polygon points=\"\(SVGCanvas.n(cx)),\(SVGCanvas.n(my - 4)) \(SVGCanvas.n(cx + 4)),\(SVGCanvas.n(my)) \(SVGCanvas.n(cx)),\(SVGCanvas.n(my + 4)) \(SVGCanvas.n(cx - 4)),\(SVGCanvas.n(my))\" fill=\"\(color)\" stroke=\"#222\"/>")
        }
        c.decorations()
        return c.render(description: "distribution chart")
    }
}

/// Histograms of one or more samples on shared bins, drawn as translucent overlaid bars.
public struct HistogramChart: Sendable {
    public var frame: ChartFrame
    public var series: [DistributionGroup]
    public var bins: Int
    /// Normalise each series to proportions so samples of different sizes compare.
    public var normalised: Bool

    public init(frame: ChartFrame, series: [DistributionGroup], bins: Int = 30, normalised: Bool = false) {
        self.frame = frame; self.series = series; self.bins = max(1, bins); self.normalised = normalised
    }

    public func svg() -> String {
        var c = SVGCanvas(frame)
        let all = series.flatMap(\.values).filter(\.isFinite)
        let lo = all.min() ?? 0, hi = all.max() ?? 1
        let width = hi > lo ? (hi - lo) / Double(bins) : 1
        var heights: [[Double]] = []
        for s in series {
            var h = [Double](repeating: 0, count: bins)
            let v = s.values.filter(\.isFinite)
            for x in v { h[min(bins - 1, Int((x - lo) / width))] += 1 }
            if normalised && !v.isEmpty { h = h.map { $0 / Double(v.count) } }
            heights.append(h)
        }
        let sx = NiceScale(minimum: lo, maximum: hi > lo ? hi : lo + 1)
        let sy = NiceScale(minimum: 0, maximum: heights.flatMap { $0 }.max() ?? 1)
        c.yAxis(sy)
        c.xAxis(sx)
        for (i, h) in heights.enumerated() {
            for (b, v) in h.enumerated() where v > 0 {
                let x0 = sx.map(lo + Double(b) * width, frame.plotLeft, frame.plotRight)
                let x1 = sx.map(lo + Double(b + 1) * width, frame.plotLeft, frame.plotRight)
                let y = sy.map(v, frame.plotBottom, frame.plotTop)
                c.rect(x0, y, x1 - x0, frame.plotBottom - y, fill: ChartPalette.color(i), opacity: 0.45)
            }
        }
        c.legend(series.enumerated().map { ($0.element.label, ChartPalette.color($0.offset)) })
        c.decorations()
        return c.render(description: "histogram")
    }
}
