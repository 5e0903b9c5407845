// swift-tools-version: 6.0
import PackageDescription

// Strict settings for every Swift target: `any` for existentials, and members visible only from imported modules.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-audit-log",
    products: [
        .library(name: "AuditLog", targets: ["AuditLog"]),
        .library(name: "AuditLogSampleData", targets: ["AuditLogSampleData"]),
        .executable(name: "auditlog", targets: ["auditlog"]),
    ],
    dependencies: [
        // Used by the command-line tool only; the AuditLog library depends on no Swift package.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Hardware CRC-32C (SSE4.2): the one thing Swift cannot express; see Sources/CCRC32C/crc32c.c.
        .target(name: "CCRC32C"),
        .target(
            name: "AuditLog",
            dependencies: ["CLZ4", "CCrypto", "CCRC32C"],
            // Crash points and I/O faults for the tests exist in debug builds only (Internal/FaultInjection.swift).
            swiftSettings: strictSettings + [.define("AUDITLOG_FAULT_INJECTION", .when(configuration: .debug))]
        ),
        .target(
            name: "AuditLogSampleData",
            dependencies: ["AuditLog"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "auditlog",
            dependencies: [
                "AuditLog",
                "AuditLogSampleData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The writer the crash-loop tests kill (Tests/AuditLogTests/CrashLoopTests.swift, `make torture`).
        .executableTarget(
            name: "auditlog-torture",
            dependencies: ["AuditLog", "AuditLogSampleData"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AuditLogTests",
            dependencies: ["AuditLog", "AuditLogSampleData"],
            // Published RFC 6962 and C2SP vectors, read from the source tree by the tests.
            exclude: ["Vectors"],
            swiftSettings: strictSettings
        ),
    ]
)
