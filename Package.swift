// swift-tools-version: 6.2
// The package follows the pipeline of the library: data -> reasoning -> embedding -> distances
// -> rewards -> agents/simulation -> evaluation -> command-line tools. Lower layers never
// import higher ones; Docs/ARCHITECTURE.md draws the graph. Every target declares exactly the
// modules it imports (Notebooks-as-Scripts/check-imports.py checks it).
//
// Tools version 6.2 or newer is what lets another package depend on this one through a versioned
// URL: older manifests make SwiftPM refuse the unsafeFlags below in a versioned dependency
// (swift-package-manager PR #8951). Notebooks-as-Scripts/check-consumer.sh proves it.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// Hot loops that BLAS cannot take (softmax, layer norm, GELU, parsing) need release speed even in
// debug test runs of the numerics targets; -O keeps them from being ~350x slower than release.
let numericFlags: [SwiftSetting] = strict + [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "RationaleRec",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RecData", targets: ["RecData"]),
        .library(name: "RecReasoning", targets: ["RecReasoning"]),
        .library(name: "RecNumerics", targets: ["RecNumerics"]),
        .library(name: "RecEmbedding", targets: ["RecEmbedding"]),
        .library(name: "RecDistances", targets: ["RecDistances"]),
        .library(name: "RecRewards", targets: ["RecRewards"]),
        .library(name: "RecEvaluation", targets: ["RecEvaluation"]),
        .library(name: "RecValidation", targets: ["RecValidation"]),
        // The command types and their shared options: a dependent package runs
        // `ValidateRewardsCommand.main(adding: [MyMetric()])` (Docs/metrics.md).
        .library(name: "RecCLI", targets: ["RecCLI"]),
        .executable(name: "rec-data", targets: ["rec-data"]),
        .executable(name: "rec-train", targets: ["rec-train"]),
        .executable(name: "validate-rewards", targets: ["validate-rewards"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        // HTTP for model servers: corelibs URLSession spins a core while it waits (Docs/benchmarks.md).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // MARK: Shared support (no domain knowledge): progress lines, seeded RNG, hashing, byte I/O.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .target(name: "RecKit",
                dependencies: ["CZlib",
                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOHTTP1", package: "swift-nio")],
                swiftSettings: numericFlags),

        // MARK: 1. Data: SQLite ratings store, importers, splits, synthetic world.
        .target(
            name: "RecData",
            dependencies: [
                "RecKit",
                .product(name: "GRDB", package: "GRDB.swift"),
                // Raw sqlite3_bind_* on the import hot path, where GRDB's statement API cost more per row
                // when the importer was written (that measurement was never committed; no figure is claimed).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: numericFlags
        ),

        // MARK: 2. Reasoning: user profiles -> rationales (LLM backends, offline aspect reasoner, store).
        .target(name: "RecReasoning", dependencies: ["RecData", "RecKit", .product(name: "GRDB", package: "GRDB.swift")],
                swiftSettings: strict),

        // MARK: 3. Numerics (OpenBLAS) and embedding (SentenceBERT in Swift).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "RecNumerics", dependencies: ["CBLAS"], swiftSettings: numericFlags),
        .target(name: "RecEmbedding",
                dependencies: ["RecNumerics", "RecKit", "RecData", .product(name: "GRDB", package: "GRDB.swift")],
                swiftSettings: numericFlags),

        // MARK: 4. Distances between rationales and item descriptions; 5. rewards built on them.
        .target(name: "RecDistances", dependencies: ["RecNumerics", "RecKit"], swiftSettings: numericFlags),
        .target(name: "RecRewards",
                dependencies: ["RecDistances", "RecEmbedding", "RecData", "RecNumerics", "RecKit"],
                swiftSettings: numericFlags),

        // MARK: 6. Agents and simulation: neural-network core, DQN, user simulator, baselines.
        // C for the vector loops Swift leaves scalar with the default x86-64 target (Adam, ReLU,
        // masked argmax, state features): multiversioned AVX-512/AVX2/baseline, picked at load time;
        // no FMA contraction, so results round as the plain formulas do. Only RecNN links it.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]),
        .target(name: "RecNN", dependencies: ["CKernels", "RecNumerics", "RecKit"], swiftSettings: numericFlags),
        .target(name: "RecAgents",
                dependencies: ["RecNN", "RecRewards", "RecDistances", "RecEmbedding", "RecData", "RecNumerics", "RecKit"],
                swiftSettings: numericFlags),

        // MARK: 7. Evaluation: statistics (correlations, AUC, NDCG, bootstrap, paired tests) and reports.
        .target(name: "RecEvaluation", dependencies: ["RecKit"], swiftSettings: numericFlags),

        // Reward validation against held-out ratings: metrics x statistics x reports.
        .target(name: "RecValidation",
                dependencies: ["RecRewards", "RecDistances", "RecEvaluation", "RecData", "RecNumerics", "RecKit"],
                swiftSettings: numericFlags),

        // MARK: Command-line tools.
        // Shared by the three tools: --db, the error path, encoder construction, typed option values,
        // and the validate-rewards command itself (a library, so dependents can add metrics to it).
        .target(
            name: "RecCLI",
            dependencies: ["RecValidation", "RecRewards", "RecDistances", "RecEmbedding", "RecReasoning", "RecData", "RecNumerics", "RecKit",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI/RecCLI",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "rec-data",
            dependencies: [
                "RecCLI", "RecData", "RecReasoning", "RecEmbedding", "RecDistances", "RecRewards", "RecNN", "RecNumerics", "RecKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CLI/rec-data",
            swiftSettings: strict
        ),

        .executableTarget(
            name: "validate-rewards",
            dependencies: ["RecCLI"],
            path: "Sources/CLI/validate-rewards",
            swiftSettings: strict
        ),
        // Report writing (tables, charts) lives here, not in RecAgents: evaluation is the layer above agents.
        .executableTarget(
            name: "rec-train",
            dependencies: ["RecCLI", "RecAgents", "RecNN", "RecEmbedding", "RecReasoning", "RecData",
                           "RecEvaluation", "RecNumerics", "RecKit",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI/rec-train",
            swiftSettings: strict
        ),

        // MARK: Notebooks as scripts (runnable examples).
        .executableTarget(
            name: "notebook-custom-metric",
            dependencies: ["RecCLI", "RecDistances", "RecNumerics"],
            path: "Notebooks-as-Scripts/custom-metric",
            swiftSettings: strict
        ),

        // MARK: Benchmarks (executables that print figures; never timed unit tests).
        .executableTarget(
            name: "bench-import",
            dependencies: ["RecData", "RecKit",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Benchmarks/bench-import",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "bench-similarity",
            dependencies: ["RecDistances", "RecNumerics", "RecKit",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Benchmarks/bench-similarity",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "bench-dqn",
            dependencies: ["RecAgents", "RecNN", "RecData", "RecNumerics", "RecKit"],
            path: "Sources/Benchmarks/bench-dqn",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "bench-http",
            dependencies: ["RecKit"],
            path: "Sources/Benchmarks/bench-http",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "bench-encoder",
            dependencies: ["RecEmbedding", "RecNumerics", "RecKit",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Benchmarks/bench-encoder",
            swiftSettings: strict
        ),

        // MARK: Tests.
        // A real HTTP/1.1 server on loopback for tests of the OpenAI-compatible clients.
        .target(name: "LoopbackHTTP", path: "Tests/Support/LoopbackHTTP", swiftSettings: strict),
        .testTarget(name: "RecKitTests", dependencies: ["RecKit"], swiftSettings: strict),
        .testTarget(name: "RecDataTests", dependencies: ["RecData", "RecKit", .product(name: "GRDB", package: "GRDB.swift")],
                    swiftSettings: strict),
        .testTarget(name: "RecNumericsTests", dependencies: ["RecNumerics", "RecKit"], swiftSettings: strict),
        .testTarget(name: "RecEmbeddingTests", dependencies: ["RecEmbedding", "RecNumerics", "RecData", "RecKit", "RecNN", "LoopbackHTTP"],
                    swiftSettings: strict),
        .testTarget(name: "RecReasoningTests", dependencies: ["RecReasoning", "RecData", "RecKit", "LoopbackHTTP",
                                                             .product(name: "GRDB", package: "GRDB.swift")],
                    swiftSettings: strict),
        .testTarget(name: "RecDistancesTests", dependencies: ["RecDistances", "RecRewards", "RecNumerics", "RecKit"],
                    swiftSettings: strict),
        .testTarget(name: "RecAgentsTests", dependencies: ["RecAgents", "RecNN", "RecNumerics", "RecDistances", "RecData", "RecKit"],
                    swiftSettings: strict),
        .testTarget(name: "RecEvaluationTests", dependencies: ["RecEvaluation", "RecKit"], exclude: ["Fixtures"],
                    swiftSettings: strict),
        .testTarget(name: "RecValidationTests",
                    dependencies: ["RecValidation", "RecRewards", "RecDistances", "RecEvaluation", "RecData", "RecNumerics", "RecKit"],
                    swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: [.product(name: "GRDB", package: "GRDB.swift"), "LoopbackHTTP"],
                    swiftSettings: strict),
    ]
)
