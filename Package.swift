// swift-tools-version: 6.2
import PackageDescription

// Strict settings for every Swift target: `any` for existentials, and members visible only from imported modules.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-audit-log",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AuditLog", targets: ["AuditLog"]),
        .library(name: "AuditLogServer", targets: ["AuditLogServer", "AuditLogKeys"]),
        .library(name: "AuditLogSampleData", targets: ["AuditLogSampleData"]),
        .executable(name: "auditlog", targets: ["auditlog"]),
        .executable(name: "auditlog-s3", targets: ["auditlog-s3"]),
        .executable(name: "auditlog-serve", targets: ["auditlog-serve"]),
    ],
    dependencies: [
        // The AuditLog library depends on none of these. The tool uses the argument parser; the service
        // (AuditLogServer) uses Hummingbird, service lifecycle, logging and metrics with a Prometheus exporter.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
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
        // SHA-256 with the x86 SHA extensions, one or two messages at a time: Swift cannot emit those instructions;
        // see Sources/CSHA256/sha256.c.
        .target(name: "CSHA256"),
        // A copy out of a memory-mapped segment that reports SIGBUS (a file truncated under the mapping, a failing
        // disk) as an error: Swift cannot catch a signal; see Sources/CGuardedCopy/guarded_copy.c.
        .target(name: "CGuardedCopy"),
        // The LZ4 decoder for a block's first records, which refuses offset-0 matches as it decodes (liblz4 decodes
        // them); see Sources/CLZ4Decode/lz4decode.c.
        .target(name: "CLZ4Decode"),
        .target(
            name: "AuditLog",
            dependencies: ["CLZ4", "CCrypto", "CCRC32C", "CSHA256", "CLZ4Decode", "CGuardedCopy"],
            // Crash points and I/O faults for the tests exist in debug builds only (Internal/FaultInjection.swift).
            swiftSettings: strictSettings + [.define("AUDITLOG_FAULT_INJECTION", .when(configuration: .debug))]
        ),
        // API keys and their permissions: the key file beside the log, shared by the service and `auditlog keys`.
        .target(
            name: "AuditLogKeys",
            dependencies: ["AuditLog"],
            swiftSettings: strictSettings
        ),
        // The HTTP service: routes, authentication, metrics and the audit-log page, mountable in any Hummingbird
        // app.
        .target(
            name: "AuditLogServer",
            dependencies: [
                "AuditLog",
                "AuditLogKeys",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "AuditLogSampleData",
            dependencies: ["AuditLog"],
            swiftSettings: strictSettings
        ),
        // What the two executables share: console output, exit statuses, argument types, the options of `serve`.
        .target(
            name: "AuditLogCommandSupport",
            dependencies: [
                "AuditLog", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The tool's commands, and the two binaries that run them: `auditlog`, with no HTTP stack (quick to
        // start; `auditlog serve` runs `auditlog-serve` in its place), and `auditlog-s3`, which `auditlog` runs in
        // its place for command lines that reach object storage.
        .target(
            name: "AuditLogCommands",
            dependencies: [
                "AuditLog",
                "AuditLogKeys",
                "AuditLogCommandSupport",
                "AuditLogSampleData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "auditlog",
            dependencies: ["AuditLogCommands"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "auditlog-s3",
            dependencies: ["AuditLog", "AuditLogCommands", "AuditLogS3"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "auditlog-serve",
            dependencies: [
                "AuditLog",
                "AuditLogServer",
                "AuditLogCommandSupport",
                "AuditLogS3",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // S3 over HTTP with AWS Signature V4, for archiving sealed segments (no Swift package: OpenSSL's libcrypto
        // for SHA-256, HMAC and MD5).
        .target(
            name: "AuditLogS3",
            dependencies: ["AuditLog", "CCrypto"],
            swiftSettings: strictSettings
        ),
        // The writer the crash-loop tests kill (Tests/AuditLogTests/CrashLoopTests.swift, `make torture`).
        .executableTarget(
            name: "auditlog-torture",
            dependencies: ["AuditLog", "AuditLogSampleData"],
            swiftSettings: strictSettings
        ),
        // What both test targets share: temporary directories, sample events, running the built tools.
        .target(
            name: "AuditLogTestSupport",
            dependencies: ["AuditLog", "AuditLogSampleData"],
            path: "Tests/AuditLogTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AuditLogTests",
            dependencies: ["AuditLog", "AuditLogSampleData", "AuditLogTestSupport"],
            // Published RFC 6962 and C2SP vectors, and a log written in format version 1 (Fixtures/v1-log), read
            // from the source tree by the tests.
            exclude: ["Vectors", "Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AuditLogS3Tests",
            dependencies: ["AuditLog", "AuditLogS3", "AuditLogTestSupport", "CCrypto"],
            // AWS's SigV4 test suite, read from the source tree by the tests.
            exclude: ["Vectors"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AuditLogServerTests",
            dependencies: ["AuditLog", "AuditLogKeys", "AuditLogServer", "AuditLogSampleData", "AuditLogTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
