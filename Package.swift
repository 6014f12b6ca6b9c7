// swift-tools-version:6.1
import PackageDescription

/// One settings list for every Swift target (swift-nio, swift-log).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "HromadaLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "admin", targets: ["admin"]),
        .library(name: "Events", targets: ["Events"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Workers", targets: ["Workers"]),
        .library(name: "Rendering", targets: ["Rendering"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // (resolved for Hummingbird already; named because the service sets headers by name)
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // (already resolved for Hummingbird; named because Service imports NIOCore itself)
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The PostgreSQL backend's driver.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // zstd through the system's libzstd (Debian: libzstd-dev).
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // CRC32C (Castagnoli) with the SSE4.2 instruction where the CPU has it.
        .target(name: "CCRC32C"),
        // UTF-8 validation with AVX2 where the CPU has it (no SIMD validator is packaged here).
        .target(name: "CUTF8"),
        .target(
            name: "Events",
            dependencies: [
                "CZstd", "CCRC32C", "CUTF8",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Projections",
            dependencies: [
                "Events",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Workers",
            dependencies: [
                "Events", "Projections",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Text for people (tables, history sentences) and the documents behind `--json`: values
        // in, strings out, shared by the command line and the web service.
        .target(
            name: "Rendering",
            dependencies: ["Events", "Projections"],
            swiftSettings: swiftSettings
        ),
        // `admin serve`: the read models over HTTP (Hummingbird 2), run beside the workers.
        .target(
            name: "Service",
            dependencies: [
                "Events", "Projections", "Workers", "Rendering",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // The log on PostgreSQL (`--store postgres://…`): the same lines, chain and promises as
        // the file store, through postgres-nio, behind the same protocols (LogWriting, LogReading).
        .target(
            name: "PostgresStore",
            dependencies: [
                "Events",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DemoHistory",
            dependencies: ["Events"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "admin",
            dependencies: [
                "Events", "Projections", "Workers", "Rendering", "DemoHistory", "Service", "PostgresStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the test targets share: the repository's paths and sample history, temporary
        // folders, the `admin` binary as a child process, an in-memory event source. Not a product.
        .target(
            name: "TestSupport",
            dependencies: [
                "Events", "Projections", "PostgresStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "EventsTests", dependencies: ["Events", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ProjectionsTests", dependencies: ["Events", "Projections", "Rendering", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "RenderingTests", dependencies: ["Events", "Projections", "Rendering", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "WorkersTests",
            dependencies: [
                "Events", "Projections", "Workers", "DemoHistory", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "AdminTests", dependencies: ["Events", "TestSupport"], swiftSettings: swiftSettings),
        // The web service's parts that need no server: the cache of answers.
        .testTarget(name: "ServiceTests", dependencies: ["Service", "Events", "Projections"], swiftSettings: swiftSettings),
        // The log's promises, one set of tests run against every store backend.
        .testTarget(name: "StoreContractTests", dependencies: ["Events", "PostgresStore", "TestSupport"], swiftSettings: swiftSettings),
    ]
)
