import ArgumentParser
import RecDistances
import RecNumerics

/// The description-distance metrics the command-line tools can name: the library's standard
/// registry, plus the metrics a downstream package adds with ``MetricExtensibleCommand/main(adding:)``.
///
/// A task-local value rather than a static variable: the registry is bound for the duration of
/// one command's run and is immutable while bound, so there is no global mutable state and two
/// runs in one process (tests) cannot see each other's metrics.
public enum ToolMetrics {
    /// The registry in effect; `MetricRegistry.standard` unless a run bound another.
    @TaskLocal public static var registry: MetricRegistry = .standard
}

/// A command that resolves metric names (`--metrics`, `--list-metrics`, `--baseline`) through
/// ``ToolMetrics/registry``, so a package depending on this library gets the whole command line
/// with its own metrics added:
///
/// ```swift
/// import RecCLI
/// ValidateRewardsCommand.main(adding: [AngularSimilarity()])
/// ```
///
/// `validate-rewards` (`--metrics`) and `rec-train` (`--metric`, the ELLM reward's distance) adopt it.
public protocol MetricExtensibleCommand: ParsableCommand {}

extension MetricExtensibleCommand {
    /// Runs the command with `metrics` added to the standard registry (a metric with a standard
    /// metric's name replaces it), after choosing OpenBLAS's fast kernels. Exits the process on
    /// any error, with the parser's usage message or `error: …` and a non-zero status.
    public static func main(adding metrics: [any DescriptionDistance]) {
        // Re-executes first when OpenBLAS misdetected the CPU (Docs/ARCHITECTURE.md, "BLAS speed").
        BLASRuntime.reexecWithOptimalCoreIfNeeded()
        _ = BLASRuntime.configureFromEnvironment()
        var registry = ToolMetrics.registry
        for m in metrics { registry.register(m) }
        ToolMetrics.$registry.withValue(registry) {
            ParseCheck.exitIfRequested(Self.self)
            Self.main(nil)
        }
    }
}
