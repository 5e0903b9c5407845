// swift-tools-version: 6.0
import PackageDescription

// libFuzzer harnesses for the parsers of swift-audit-log, kept out of the main package: the executable only links
// with `-sanitize=fuzzer` (it hands control to libFuzzer's driver), and the harnesses reach the library's internal
// decoders through `@testable import`, which needs a debug build. `make fuzz` builds and runs them (README,
// "Reliability"); `auditlog-fuzz --help` lists the targets.
let package = Package(
    name: "swift-audit-log-fuzz",
    dependencies: [
        .package(name: "swift-audit-log", path: "../")
    ],
    targets: [
        // The entry point of libFuzzer's driver (compiler-rt), declared for Swift.
        .target(name: "CLibFuzzer"),
        // liblz4 (the system library), the reference for the library's own LZ4 decoder.
        .systemLibrary(name: "CLZ4Reference"),
        .target(
            name: "FuzzTargets",
            dependencies: [
                "CLZ4Reference",
                .product(name: "AuditLog", package: "swift-audit-log"),
                .product(name: "AuditLogSampleData", package: "swift-audit-log"),
            ]
        ),
        .executableTarget(name: "auditlog-fuzz", dependencies: ["CLibFuzzer", "FuzzTargets"]),
    ]
)
