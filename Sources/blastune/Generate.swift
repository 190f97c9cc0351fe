import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate and build libkernels.so, kernels.h, kernels.c, kernels.pc and kernels.json into a folder.",
        discussion: "Without --spec the tuned configuration of this machine (Results/) is used when there is one, else the analytical model. CC and CFLAGS are honoured.")

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var library: LibraryOptions

    func run() throws {
        let machine = MachineProfile.current()
        let config = try library.resolve(machine: machine)
        let output = try LibraryBuilder().build(config, into: URL(fileURLWithPath: out))
        print("generated \(output.library.path) (\(config.library.isa.rawValue), \(config.origin) configuration)")
        for v in config.library.gemm { print("  \(v.shapeClass.rawValue)\(v.threaded ? " (threaded)" : ""): \(v.spec.summary)") }
    }
}
