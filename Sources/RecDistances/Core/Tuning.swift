/// A metric with hyperparameters that a validation sweep may tune.
///
/// Each variant is a complete metric whose `name` spells its settings
/// (`"spec-softmax:temperature=0.05"`), so a sweep's table, its selection record and a later
/// `--metrics` argument all name the same configuration. The registry resolves such names
/// (see `MetricRegistry.metric(named:)`), so a configuration chosen on the validation part is
/// re-run on the test part by name alone.
public protocol TunableDistance: DescriptionDistance {
    /// The configurations to try, the default first.
    var sweepVariants: [any DescriptionDistance] { get }
}

extension DescriptionDistance {
    /// The configurations a sweep tries for this metric: its variants when it is tunable,
    /// otherwise the metric alone.
    public var sweepConfigurations: [any DescriptionDistance] {
        (self as? any TunableDistance)?.sweepVariants ?? [self]
    }
}
