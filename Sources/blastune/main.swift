import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

struct Blastune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blastune", abstract: "dense and sparse BLAS kernel generator and autotuner",
        subcommands: [Generate.self])
}

struct Generate: ParsableCommand {
    @Option var out: String
    @Option var isa: String = "auto"
    func run() throws {
        let m = MachineProfile.current()
        let isa = isa == "auto" ? m.bestISA : ISA(rawValue: isa)!
        let cfg = KernelsConfig(version: blastuneVersion, machine: m, origin: "analytical", library: AnalyticalModel.librarySpec(isa: isa, machine: m))
        let o = try LibraryBuilder().build(cfg, into: URL(fileURLWithPath: out))
        print(o.library.path)
    }
}
Blastune.main()
