import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Tuner

/// The operations `bench` and `search` know.
enum Op: String, ExpressibleByArgument, CaseIterable {
    case gemm, spmv, spmm, transpose, lu, cholesky
    case gemmSmall = "gemm-small", gemmBatch = "gemm-batch"
    var sparse: SparseOp? { SparseOp(rawValue: rawValue) }
    /// gemm-small and gemm-batch: plans and batches against the small-GEMM peers (bench only).
    var smallGemm: Bool { self == .gemmSmall || self == .gemmBatch }
    /// LU and Cholesky: benchmarks of a factorization built on the generated GEMM (bench only).
    var factorization: FactorizationKind? { FactorizationKind(rawValue: rawValue) }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the generated kernels against their peers (OpenBLAS; CSparse, MKL, scipy for sparse) in the same process, interleaved.",
        discussion: "--op gemm-small times 1-thread GEMMs of small shapes (cubes 8 to 120 and 33x65x17, or --sizes) through plans and bt_?gemm against OpenBLAS, BLIS, MKL and libxsmm's dispatched kernels, and the call cost of each (a 1x1x1 product). --op gemm-batch times strided batches (10,000 problems of 8^3, 16^3, 32^3, 1,000 of 64^3) against loops of each peer's calls and MKL's batch call. --op lu and --op cholesky time blocked factorizations whose trailing updates go through the generated dgemm (panels through LAPACKE) against LAPACKE_dgetrf / LAPACKE_dpotrf on OpenBLAS, on n x n f64 matrices (--sizes n,...; default 1000,2000,4000,8000), and check both backward errors.")

    @Option(help: "Operation: \(Op.allCases.map(\.rawValue).joined(separator: ", ")).")
    var op: Op

    @OptionGroup var dtypes: DTypeOption

    @Option(help: "Thread counts, comma-separated (default: 1 and the core count).")
    var threads: String?

    @Option(help: "Sizes: n for n x n x n, or MxNxK; comma-separated. Without it: every shape class's benchmark shapes, with a report in Results/. LU and Cholesky: orders n, comma-separated.")
    var sizes: String?

    @Option(help: "LU and Cholesky: panel width (default 256, narrowed for small n).")
    var blockSize: Int?

    @Option(help: "LU and Cholesky: OpenBLAS threads for the panels and triangular solves (default or 0: the thread count being measured).")
    var panelThreads: Int?

    @Option(help: "LU and Cholesky: timed runs of each side (default 15 up to n = 2000, 7 up to 4000, then 3).")
    var samples: Int?

    @OptionGroup var matrices: MatrixOptions

    @Flag(help: "Sparse: skip the scipy peer.")
    var noScipy = false

    @Option(help: "Where the report goes (default: Results/<fingerprint>/, written only for the default sizes).")
    var out: String?

    @Option(help: "Use the built library in this folder instead of building one.")
    var lib: String?

    @OptionGroup var library: LibraryOptions

    func validate() throws {
        if let threads { _ = try parseIntList(threads, name: "threads") }
        try matrices.check(op: op)
        if op.factorization != nil {
            if dtypes.dtype == "f32" { throw ValidationError("--op \(op.rawValue) is f64 only (LAPACKE_dgetrf / dpotrf are its peers)") }
            if let sizes { _ = try Self.parseFactorSizes(sizes) }
            if let blockSize, blockSize < 1 { throw ValidationError("--block-size must be at least 1 (got \(blockSize))") }
            if let panelThreads, panelThreads < 0 || panelThreads > 1024 { throw ValidationError("--panel-threads must be 0 to 1024 (got \(panelThreads))") }
            if let samples, samples < 1 { throw ValidationError("--samples must be at least 1 (got \(samples))") }
        } else {
            if blockSize != nil || samples != nil || panelThreads != nil {
                throw ValidationError("--block-size, --panel-threads and --samples are for --op lu or cholesky")
            }
            if let sizes { _ = try Self.parseShapes(sizes) }
        }
    }

    static func parseShapes(_ s: String) throws -> [GemmShape] {
        try s.split(separator: ",").map { item in
            let dims = item.split(separator: "x").map { Int($0) }
            switch dims.count {
            case 1: if let n = dims[0], n > 0 { return GemmShape(m: n, n: n, k: n) }
            case 3: if let m = dims[0], let n = dims[1], let k = dims[2], m > 0, n > 0, k > 0 { return GemmShape(m: m, n: n, k: k) }
            default: break
            }
            throw ValidationError("--sizes: '\(item)' is not n or MxNxK with positive sizes")
        }
    }

    /// Refuses shapes whose operands would not fit in memory, before allocating anything.
    static func checkMemory(_ shapes: [GemmShape], dtype: DType) throws {
        let available = ProcessMemory.physical
        for s in shapes {
            let (m, n, k) = (Int64(s.m), Int64(s.n), Int64(s.k))
            let elems = try CheckedSize.add(try CheckedSize.add(CheckedSize.mul(m, k, "m x k"), CheckedSize.mul(k, n, "k x n"), "operands"),
                                            CheckedSize.mul(2 * m, n, "2 x m x n"), "operands of \(s)")
            let bytes = try CheckedSize.mul(elems, dtype.size, "bytes of \(s)")
            guard bytes <= available / 2 else {
                throw ValidationError("--sizes: \(s) needs \(bytes >> 20) MiB of \(dtype.rawValue) operands; this machine has \(available >> 20) MiB")
            }
        }
    }

    /// The library to time: --lib, else the configuration the options select, built.
    func loadLibrary(machine: MachineProfile) throws -> (dir: URL, config: KernelsConfig, loaded: KernelLibrary) {
        let libDir: URL
        let config: KernelsConfig
        if let lib {
            libDir = URL(fileURLWithPath: lib)
            let jsonURL = libDir.appendingPathComponent("kernels.json")
            guard let data = FileManager.default.contents(atPath: jsonURL.path) else {
                throw ValidationError("--lib: \(jsonURL.path) not found (a folder written by blastune generate)")
            }
            config = try JSONDecoder().decode(KernelsConfig.self, from: data)
        } else {
            let built = try library.build(machine: machine)
            (config, libDir) = (built.config, built.output.directory)
        }
        return (libDir, config, try KernelLibrary(path: libDir.appendingPathComponent("libkernels.so").path))
    }

    /// Loads the peers at their strongest correct configuration for `isa` kernels (chosen
    /// once per machine and ISA, in Results/<fingerprint>/peers.json): OpenBLAS reads its core
    /// type when the process starts, so the command starts again with the chosen environment.
    func applyPeerConfigurations(isa: ISA, machine: MachineProfile) throws {
        let store = ResultsStore(root: URL(fileURLWithPath: library.results))
        let choice = try PeerCalibration.choice(isa: isa, machine: machine, store: store, worker: [selfExecutable(), "worker"]) { say($0) }
        if !PeerCalibration.isApplied(choice.environment) {
            say("peers for \(isa.rawValue): " + choice.chosen.map { "\($0.candidate.peer) \($0.candidate.label)" }.joined(separator: ", ")
                + (choice.refused.isEmpty ? "" : "; refused: \(choice.refused.joined(separator: ", "))") + " (restarting with them)")
            PeerCalibration.reexec(with: choice.environment)
        }
    }

    func run() throws {
        let machine = MachineProfile.current()
        if let sparse = op.sparse { return try runSparse(sparse, machine: machine) }
        if let kind = op.factorization { return try runFactorization(kind, machine: machine) }
        if op.smallGemm { return try runSmallGemm(machine: machine) }
        let (libDir, config, loaded) = try loadLibrary(machine: machine)
        let isa = config.library.isa
        try applyPeerConfigurations(isa: isa, machine: machine)
        let probe = try PeakProbe(isa: isa)
        let dtypes = self.dtypes.selected
        let threadCounts = try threads.map { try parseIntList($0, name: "threads") } ?? (sizes == nil ? Array(Set([1, machine.cores])).sorted() : [1])
        let work: [(ShapeClass, GemmShape)] = try sizes.map { try Self.parseShapes($0).map { (ShapeClass.of(m: Int64($0.m), n: Int64($0.n), k: Int64($0.k)), $0) } }
            ?? ShapeSuites.tunedClasses.flatMap { c in ShapeSuites.bench(c).map { (c, $0) } }
        for d in dtypes { try Self.checkMemory(work.map(\.1), dtype: d) }
        let bench = GemmBench(library: loaded, timer: sizes == nil ? InterleavedTimer(sampleSeconds: 0.05, samples: 5, maxSamples: 11) : InterleavedTimer())
        let names = bench.peers.map(\.name)
        say("machine \(machine.fingerprint): \(machine.cpuModel), \(machine.cores) cores; library \(libDir.path) (\(isa.rawValue), \(config.origin))")
        for p in bench.peers { say("peer \(p.name): \(p.configuration)") }
        var rows: [BenchRow] = []
        var peaks: [String: Double] = [:]
        for d in dtypes {
            for t in threadCounts {
                let peak = probe.gflops(d, threads: t)
                peaks["\(d.rawValue)-\(t)"] = peak
                say("\(d.rawValue) FMA peak on \(t) thread(s): \(fmt(peak)) GFLOPS (\(probe.accumulators(d)) accumulators)")
                for (cls, shape) in work {
                    let r = bench.run(dtype: d, shape: shape, threads: t, peak: probe.operation(d, threads: t))
                    if r.relativeError > (d == .f32 ? 1e-3 : 1e-10) {
                        warn("\(d.rawValue) \(shape): relative difference from OpenBLAS \(r.relativeError)")
                    }
                    if r.fractionOfPeak > 1.02 || r.peerFractionOfPeak > 1.02 {
                        warn("\(d.rawValue) \(shape) \(t) thread(s): above the FMA peak (ours \(fmt(100 * r.fractionOfPeak))%, \(r.bestPeer) \(fmt(100 * r.peerFractionOfPeak))%): the peak is wrong")
                    }
                    rows.append(BenchRow(dtype: d, shapeClass: cls, shape: shape, threads: t, oursGflops: r.oursGflops,
                                         peers: r.peers.mapValues { shape.flops / $0.median / 1e9 }, bestPeer: r.bestPeer,
                                         peerGflops: r.peerGflops, ratio: r.ratio, peakGflops: r.peakGflops, fractionOfPeak: r.fractionOfPeak,
                                         peerFractionOfPeak: r.peerFractionOfPeak,
                                         spread: ([r.ours] + Array(r.peers.values)).map(\.spread).max() ?? 0))
                }
            }
        }
        say(table(["dtype", "class", "shape", "thr", "ours GF/s"] + names + ["best", "ratio", "peak", "ours %pk", "best %pk", "spread%"],
                  rows.map { r in [r.dtype.rawValue, r.shapeClass.rawValue, "\(r.shape)", "\(r.threads)", fmt(r.oursGflops)]
                                   + names.map { r.peers[$0].map { fmt($0) } ?? "" }
                                   + [r.bestPeer, fmt(r.ratio, 2), fmt(r.peakGflops), fmt(100 * r.fractionOfPeak), fmt(100 * r.peerFractionOfPeak), fmt(100 * r.spread)] }))
        let report = BenchReport(fingerprint: machine.fingerprint, cpu: machine.cpuModel, isa: isa, date: ISO8601DateFormatter().string(from: Date()),
                                 library: libDir.path, origin: config.origin,
                                 peerConfigurations: Dictionary(uniqueKeysWithValues: bench.peers.map { ($0.name, $0.configuration) }), peaks: peaks, rows: rows)
        say("\nper class: our speed over the best peer's on each shape (geometric mean, worst), and over each peer's (geometric mean):")
        say(table(["dtype", "class", "thr", "shapes", "vs best", "worst"] + names.map { "vs \($0)" }, report.summaries.map { s in
            [s.dtype.rawValue, s.shapeClass.rawValue, "\(s.threads)", "\(s.shapes)", fmt(s.geomeanRatio, 2), fmt(s.minRatio, 2)]
                + names.map { s.peerGeomeans[$0].map { fmt($0, 2) } ?? "" } }))
        if sizes == nil {
            let dir = out.map { URL(fileURLWithPath: $0) } ?? ResultsStore(root: URL(fileURLWithPath: library.results)).directory(for: machine)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for f in try report.write(to: dir) { say("wrote \(f.path)") }
        }
    }
}
