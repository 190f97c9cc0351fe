// swift-tools-version:6.0
// A user's package depending on blastune: the Swift APIs of SparseCSR and MicroKernels
// calling a libkernels.so built by `blastune generate`.
import PackageDescription

let package = Package(
    name: "KernelsExample",
    dependencies: [
        // From a clone beside this package; a published copy would be
        // .package(url: "<git URL of blastune>", branch: "main").
        .package(name: "blastune", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "KernelsExample",
            dependencies: [
                .product(name: "MicroKernels", package: "blastune"),
                .product(name: "SparseCSR", package: "blastune"),
            ]
        ),
    ]
)
