/// Mean of a metric across independent runs (seeds) with a Student-t confidence interval:
/// mean ± t_{1−α/2, n−1} · s / √n. With 3–10 seeds the normal 1.96 would understate the width
/// by 10–120 %, hence the exact t quantile.
public struct SeedSummary: Sendable, Hashable, Codable {
    public var count: Int
    public var mean: Estimate
    /// Sample standard deviation (n − 1 denominator); undefined for n < 2.
    public var standardDeviation: Estimate
    public var interval: IntervalEstimate

    public init(_ values: [Double], level: Double = 0.95) {
        precondition(level > 0 && level < 1)
        count = values.count
        if values.isEmpty || values.contains(where: { !$0.isFinite }) {
            let r = values.isEmpty ? "no runs" : "non-finite value among runs"
            mean = .undefined(reason: r); standardDeviation = .undefined(reason: r)
            interval = .undefined(reason: r)
            return
        }
        let n = Double(values.count)
        let m = values.reduce(0, +) / n
        mean = .value(m)
        guard values.count >= 2 else {
            standardDeviation = .undefined(reason: "one run")
            interval = .undefined(reason: "one run: no spread to estimate")
            return
        }
        let s = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
        standardDeviation = .value(s)
        let half = StudentT.quantile(1 - (1 - level) / 2, df: n - 1) * s / n.squareRoot()
        interval = .interval(ConfidenceInterval(lower: m - half, upper: m + half, level: level))
    }
}
