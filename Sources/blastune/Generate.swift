import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate and build libkernels.so, kernels.h, kernels.c, kernels.pc and kernels.json into a folder.",
        discussion: """
            Without --spec the tuned configuration of this machine (Results/) is used when there is one, else the analytical model. \
            With --machines, one library holds the tuned configuration of every machine named (all: every machine with GEMM results \
            in Results/) and the analytical model's for each ISA; at load time it picks this machine's, else the nearest tuned \
            machine of the best ISA the CPU runs, else the model's for that ISA (bt_config() says which and why). CC and CFLAGS are honoured.
            """)

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var library: LibraryOptions

    @Option(help: "Build one library for several machines: all, or a comma-separated list of fingerprints with results in Results/.")
    var machines: String?

    func validate() throws {
        if machines != nil && (library.spec != nil || library.isa != .auto) {
            throw ValidationError("--machines takes each machine's tuned configuration: it cannot be combined with --spec or --isa")
        }
        if let m = machines, m.split(separator: ",").isEmpty { throw ValidationError("--machines: give all or a list of fingerprints") }
    }

    func run() throws {
        if let machines {
            let list = machines == "all" ? nil : machines.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let configurations = try ConfigResolver.machineConfigurations(results: ResultsStore(root: URL(fileURLWithPath: library.results)),
                                                                          fingerprints: list)
            let output = try LibraryBuilder().buildMulti(configurations, into: URL(fileURLWithPath: out))
            print("generated \(output.library.path) with \(configurations.count) configurations")
            for c in configurations { print("  \(c.name): \(c.config.origin) \(c.config.library.isa.rawValue)") }
            if let lib = try? KernelLibrary(path: output.library.path), let active = lib.activeConfiguration { print("here: \(active)") }
            return
        }
        let machine = MachineProfile.current()
        let config = try library.resolve(machine: machine)
        let output = try LibraryBuilder().build(config, into: URL(fileURLWithPath: out))
        print("generated \(output.library.path) (\(config.library.isa.rawValue), \(config.origin) configuration)")
        for v in config.library.gemm { print("  \(v.shapeClass.rawValue)\(v.threaded ? " (threaded)" : ""): \(v.spec.summary)") }
    }
}
