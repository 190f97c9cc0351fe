import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

struct Machine: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this machine's profile, fingerprint, measured FMA peak and memory bandwidth.")

    @Flag(help: "Skip measuring the FMA peak and the bandwidth.")
    var noPeak = false

    @Option(help: "Instruction set of the FMA probe: auto (the best this CPU has), avx512, avx2 or generic.")
    var isa: ISAChoice = .auto

    @Option(help: "A generated library's folder: print which of its configurations is active here and why (bt_config()), and stop.")
    var library: String?

    func run() throws {
        if let library {
            let lib = try KernelLibrary(path: URL(fileURLWithPath: library).appendingPathComponent("libkernels.so").path)
            guard let active = lib.activeConfiguration else { throw ValidationError("\(library): a library without bt_config(); generate it again") }
            print(active)
            return
        }
        let m = MachineProfile.current()
        print("fingerprint  \(m.fingerprint)")
        print("cpu          \(m.cpuModel) (\(m.vendor), family \(m.family) model \(m.model)), \(m.cores) cores")
        print("isa          best \(m.bestISA.rawValue); flags \(m.flags.joined(separator: " "))")
        for c in m.caches { print("L\(c.level)           \(c.sizeBytes >> 10) KiB, \(c.ways)-way, \(c.lineBytes) B lines, \(c.sets) sets") }
        if noPeak { return }
        let probeISA = isa.isa ?? m.bestISA
        guard m.supports(probeISA) else { throw ValidationError("--isa \(probeISA.rawValue): this CPU lacks it") }
        let probe = try PeakProbe(isa: probeISA)
        for d in DType.allCases {
            let rates = probe.rates(d).map { "\($0.accumulators): \(fmt($0.gflops))" }.joined(separator: ", ")
            let peaks = Set([1, m.cores]).sorted().map { "\(fmt(probe.gflops(d, threads: $0))) GFLOPS on \($0) thread(s)" }
            print("\(d.rawValue) peak     \(peaks.joined(separator: ", ")) (\(probeISA.rawValue), \(probe.accumulators(d)) accumulators; 1 thread by count: \(rates))")
        }
        for read in [true, false] {
            let bw = Set([1, m.cores]).sorted().map { "\(fmt(probe.bandwidth(read: read, threads: $0))) GB/s on \($0) thread(s)" }
            print("\(read ? "read " : "triad") bw     \(bw.joined(separator: ", "))")
        }
    }
}
