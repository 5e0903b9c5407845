// swift-tools-version: 6.1
import PackageDescription

// Benchmarks for swift-audit-log, kept out of the main package so the library and its tests never depend on
// package-benchmark or SQLite.
//
// - `swift run -c release compare` (what `make compare` runs): one table of workloads against SQLite and this
//   machine's physical limits, measured in one run.
// - `swift package benchmark` (package-benchmark): the same engine workloads at a fixed small size, with
//   committed thresholds in Thresholds/ so regressions show (`swift package benchmark thresholds check`).
let package = Package(
    name: "swift-audit-log-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-audit-log", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The peers: SQLite (the table most teams use) and the raw libraries behind our own costs.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CBenchLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CBenchCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "Workloads",
            dependencies: [
                "CSQLite", "CBenchLZ4", "CBenchCrypto",
                .product(name: "AuditLog", package: "swift-audit-log"),
                .product(name: "AuditLogSampleData", package: "swift-audit-log"),
            ]
        ),
        .executableTarget(name: "compare", dependencies: ["Workloads"]),
        .executableTarget(
            name: "AuditLogBenchmarks",
            dependencies: [
                "Workloads",
                .product(name: "AuditLog", package: "swift-audit-log"),
                .product(name: "AuditLogSampleData", package: "swift-audit-log"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AuditLogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
