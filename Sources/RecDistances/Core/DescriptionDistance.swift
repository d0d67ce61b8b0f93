import RecNumerics

/// What a metric needs prepared before it can score.
public struct MetricNeeds: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Sentence embeddings of item texts and rationales.
    public static let sentenceEmbeddings = MetricNeeds(rawValue: 1)
    /// Token-level embeddings of item texts and rationales.
    public static let tokenEmbeddings = MetricNeeds(rawValue: 2)
    /// The metric compares items with rationales (false for the no-rationale controls).
    public static let rationales = MetricNeeds(rawValue: 4)
}

/// A similarity between a product description and a user's rationales (or, for control metrics,
/// between the product and the user with no rationale at all).
///
/// Implementations score a batch: the items a user is asked about × that user's rationales, so
/// embedding metrics run as one GEMM per user rather than a loop over pairs. Larger is more similar.
///
/// Adding a metric is one small type conforming to this protocol plus one line in
/// `MetricRegistry.standard` (see `Docs/metrics.md`).
public protocol DescriptionDistance: Sendable {
    /// Registry name, as typed on the command line (`--metrics sbert-cosine,bm25`).
    var name: String { get }
    /// One line saying what it measures.
    var summary: String { get }
    var needs: MetricNeeds { get }
    /// The range scores can take, when bounded; absolute thresholds outside it are rejected.
    var range: ClosedRange<Double>? { get }
    /// Corpus-level preparation (calibration statistics, hubness terms) done once per run.
    func prepared(for context: ScoringContext) throws -> any DescriptionDistance
    /// Similarities of `items` (catalog indices) to each of `user`'s rationales: an
    /// `items.count × max(1, rationales)` matrix. Controls return one column.
    func similarities(items: [Int], user: UserQuery, context: ScoringContext) -> Matrix
    /// The metric's one score of an item for a user, from the item's row of `similarities` (one
    /// value per rationale): ELLM's best similarity, the maximum, unless the metric combines its
    /// rationales its own way (`spec-softmax`). The ELLM reward itself stays per rationale.
    func combinedScore(_ row: [Float], user: UserQuery) -> Float
}

extension DescriptionDistance {
    public func prepared(for context: ScoringContext) throws -> any DescriptionDistance { self }
    public func combinedScore(_ row: [Float], user: UserQuery) -> Float { row.max() ?? 0 }
    public var usesRationales: Bool { needs.contains(.rationales) }
}

/// Why a metric name or a threshold was refused.
public enum MetricError: Error, CustomStringConvertible, Equatable {
    case unknownMetric(String, available: [String])
    case thresholdOutOfRange(metric: String, threshold: Double, range: ClosedRange<Double>)
    case missingInput(metric: String, what: String)

    public var description: String {
        switch self {
        case let .unknownMetric(n, available):
            return "unknown metric '\(n)'; available: \(available.joined(separator: ", "))"
        case let .thresholdOutOfRange(m, t, r):
            return "threshold \(t) is outside the range of metric '\(m)' (\(r.lowerBound)…\(r.upperBound))"
        case let .missingInput(m, what):
            return "metric '\(m)' needs \(what), which this run did not prepare"
        }
    }
}

/// The metrics a run can name.
public struct MetricRegistry: Sendable {
    public private(set) var metrics: [any DescriptionDistance]

    public init(_ metrics: [any DescriptionDistance]) { self.metrics = metrics }

    /// Every metric the library ships.
    public static let standard = MetricRegistry([
        SBERTCosine(),
        SBERTDot(),
        CalibratedCosine(),
        CSLSCosine(),
        BERTScoreF1(),
        MaxSim(),
        TFIDFCosine(),
        BM25(),
        TokenJaccard(),
        LearnedBilinear(),
        SpecificitySoftmax(),
        LexicalSemanticHybrid(),
        CentroidCosine(),
        LearnedControl(.item),
        LearnedControl(.history),
        PopularityScore(),
        RandomScore(),
    ])

    public var names: [String] { metrics.map(\.name) }

    /// Adds (or replaces) a metric.
    public mutating func register(_ metric: any DescriptionDistance) {
        metrics.removeAll { $0.name == metric.name }
        metrics.append(metric)
    }

    /// The metric called `name`, or one of a tunable metric's sweep variants named by its
    /// settings (`"spec-softmax:temperature=0.05"`).
    public func metric(named name: String) throws -> any DescriptionDistance {
        if let m = metrics.first(where: { $0.name == name }) { return m }
        if let base = name.split(separator: ":", maxSplits: 1).first,
           let m = metrics.first(where: { $0.name == String(base) }),
           let v = m.sweepConfigurations.first(where: { $0.name == name }) {
            return v
        }
        throw MetricError.unknownMetric(name, available: names)
    }

    /// Parses "a,b,c" (or "all").
    public func metrics(named list: String) throws -> [any DescriptionDistance] {
        if list == "all" { return metrics }
        return try list.split(separator: ",").map { try metric(named: $0.trimmingCharacters(in: .whitespaces)) }
    }
}
