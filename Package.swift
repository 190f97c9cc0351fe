// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "blastune",
    products: [
        .executable(name: "blastune", targets: ["blastune"]),
        .library(name: "KernelSpec", targets: ["KernelSpec"]),
        .library(name: "MicroKernels", targets: ["MicroKernels"]),
        .library(name: "SparseCSR", targets: ["SparseCSR"]),
        .library(name: "Tuner", targets: ["Tuner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS (CBLAS) and LAPACKE, the peers we measure against and test with.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(name: "KernelSpec"),
        .target(name: "MicroKernels", dependencies: ["KernelSpec"]),
        .target(name: "SparseCSR", dependencies: ["KernelSpec", "MicroKernels"]),
        .target(name: "Tuner", dependencies: ["KernelSpec", "MicroKernels", "SparseCSR", "COpenBLAS"]),
        .executableTarget(
            name: "blastune",
            dependencies: [
                "KernelSpec", "MicroKernels", "SparseCSR", "Tuner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "KernelSpecTests", dependencies: ["KernelSpec"]),
        .testTarget(name: "MicroKernelsTests", dependencies: ["MicroKernels", "KernelSpec", "Tuner", "COpenBLAS"],
                    exclude: ["Harness"]),
        .testTarget(name: "SparseCSRTests", dependencies: ["SparseCSR", "MicroKernels", "KernelSpec", "Tuner"], exclude: ["Harness"]),
        .testTarget(name: "TunerTests", dependencies: ["Tuner", "KernelSpec", "MicroKernels", "SparseCSR", "COpenBLAS"], exclude: ["Faulty"]),
    ]
)
