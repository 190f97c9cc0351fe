import ArgumentParser

@main
struct Blastune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blastune",
        abstract: "Dense and sparse BLAS kernel generator and autotuner.",
        version: blastuneCLIVersion,
        subcommands: [Search.self, Generate.self, Bench.self, Machine.self, CSR.self, Repro.self, Worker.self])
}
