import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

extension Bench {
    /// The default matrix orders of `bench --op lu|cholesky`.
    static let factorSizes = [1000, 2000, 4000, 8000]

    /// Parses `--sizes` for a factorization: positive orders whose work matrices fit in memory.
    static func parseFactorSizes(_ s: String) throws -> [Int] {
        let sizes = try parseIntList(s, name: "sizes")
        let available = ProcessMemory.physical
        for n in sizes {
            guard n >= 1, n <= Int(Int32.max) else { throw ValidationError("--sizes: \(n) is not an order from 1 to \(Int32.max) (LAPACK's 32-bit sizes)") }
            // The original, the work copy and two residual matrices.
            let bytes = try CheckedSize.product([4, Int64(n), Int64(n), 8], "bytes of four \(n) x \(n) f64 matrices")
            guard bytes <= available / 2 else {
                throw ValidationError("--sizes: n = \(n) needs \(bytes >> 20) MiB (four \(n) x \(n) f64 matrices); this machine has \(available >> 20) MiB")
            }
        }
        return sizes
    }

    /// `bench --op lu|cholesky`: the blocked factorization on the generated dgemm against LAPACKE on OpenBLAS.
    func runFactorization(_ kind: FactorizationKind, machine: MachineProfile) throws {
        // OpenMP threads that spin after each GEMM would take the cores from the LAPACKE
        // panels between them (measured: 5x slower at n = 517 on 2 cores). Unless the user
        // chose a policy, they sleep instead; libgomp reads this when the library loads.
        if getenv("OMP_WAIT_POLICY") == nil && getenv("GOMP_SPINCOUNT") == nil { setenv("OMP_WAIT_POLICY", "passive", 0) }
        let (libDir, config, loaded) = try loadLibrary(machine: machine)
        let sizes = try sizes.map(Self.parseFactorSizes) ?? Self.factorSizes
        let threadCounts = try threads.map { try parseIntList($0, name: "threads") } ?? Array(Set([1, machine.cores])).sorted()
        let probe = try PeakProbe(isa: config.library.isa)
        var bench = FactorizationBench(factorization: BlockedFactorization(library: loaded, blockSize: blockSize ?? 256), samples: samples)
        say("machine \(machine.fingerprint): \(machine.cpuModel), \(machine.cores) cores; library \(libDir.path) (\(config.library.isa.rawValue), \(config.origin))")
        say("\(kind.rawValue): panels by LAPACKE, trailing updates by bt_dgemm; peer \(kind.peerFunction) on \(openblasConfig())")
        var rows: [FactorizationBenchRow] = []
        var peaks: [String: Double] = [:]
        let header = ["op", "n", "thr", "panel", "ours GF/s", "OpenBLAS", "ratio", "ours %pk", "OB %pk", "spread%", "residual", "OB resid"]
        func line(_ r: FactorizationBenchRow) -> [String] {
            [r.op.rawValue, "\(r.n)", "\(r.threads)", "\(r.panelWidth)", fmt(r.oursGflops), fmt(r.peerGflops), fmt(r.ratio, 2),
             fmt(100 * r.fractionOfPeak), fmt(100 * r.peerFractionOfPeak), fmt(100 * max(r.ours.spread, r.peer.spread)),
             String(format: "%.2e", r.oursResidual), String(format: "%.2e", r.peerResidual)]
        }
        for t in threadCounts {
            let peak = probe.gflops(.f64, threads: t)
            peaks["\(t)"] = peak
            say("f64 FMA peak on \(t) thread(s): \(fmt(peak)) GFLOPS")
            bench.factorization.panelThreads = panelThreads.map { $0 == 0 ? t : $0 } ?? t
            for n in sizes {
                let r = try bench.run(kind, n: n, threads: t, peakGflops: peak)
                rows.append(r)
                say(line(r).joined(separator: "  "))
            }
        }
        say(table(header, rows.map(line)))
        let report = FactorizationBenchReport(op: kind, fingerprint: machine.fingerprint, cpu: machine.cpuModel,
                                              date: ISO8601DateFormatter().string(from: Date()), library: libDir.path,
                                              openblasVersion: openblasConfig(), peaks: peaks, rows: rows)
        say("\nper thread count (geometric mean and worst of OpenBLAS time / ours):")
        say(table(["thr", "sizes", "geomean", "worst"], report.summaries.map { s in
            ["\(s.threads)", "\(rows.filter { $0.threads == s.threads }.count)", fmt(s.geomean, 2), fmt(s.worst, 2)] }))
        guard self.sizes == nil || out != nil else { return }
        let dir = out.map { URL(fileURLWithPath: $0) } ?? ResultsStore(root: URL(fileURLWithPath: library.results)).directory(for: machine)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in try report.write(to: dir) { say("wrote \(f.path)") }
    }
}
