import COpenBLAS
import Foundation
import MicroKernels

/// The factorizations `blastune bench` times against LAPACKE on OpenBLAS.
public enum FactorizationKind: String, Codable, CaseIterable, Sendable {
    case lu, cholesky

    /// Flops of the factorization of an n x n matrix (the LAPACK counts, leading terms).
    public func flops(n: Int) -> Double {
        let x = Double(n)
        return self == .lu ? 2 * x * x * x / 3 : x * x * x / 3
    }

    /// The LAPACKE function of the peer.
    public var peerFunction: String { self == .lu ? "LAPACKE_dgetrf" : "LAPACKE_dpotrf" }
}

/// One size and thread count: ours against the peer, with both backward errors.
public struct FactorizationBenchRow: Codable, Sendable {
    public var op: FactorizationKind
    public var n: Int
    public var threads: Int
    public var panelWidth: Int
    public var ours: TimingStats
    public var peer: TimingStats
    public var oursGflops: Double
    public var peerGflops: Double
    /// Peer time over our time (> 1: we are faster).
    public var ratio: Double
    public var fractionOfPeak: Double
    public var peerFractionOfPeak: Double
    /// ||P A - L U|| / (||A|| n eps) (Cholesky: ||A - L L^T|| / (||A|| n eps)).
    public var oursResidual: Double
    public var peerResidual: Double
}

/// Times the blocked factorizations of ``BlockedFactorization`` against LAPACKE's on
/// OpenBLAS, interleaved (ours, peer, ours, peer, ...) on fresh copies of the same matrix,
/// after a first untimed run of each whose factors are checked.
public struct FactorizationBench {
    public var factorization: BlockedFactorization
    /// Timed runs of each side; nil: 15 up to n = 2000, 7 up to 4000, then 3.
    public var samples: Int?
    /// The largest backward error accepted (LAPACK's test suite uses 30).
    public static let residualThreshold = 30.0

    /// Idle time before each timed run, so that the worker threads of the side that ran
    /// last (OpenMP's and OpenBLAS's spin for a while after a call) are asleep again.
    public var settleSeconds = 0.1

    public init(factorization: BlockedFactorization, samples: Int? = nil) {
        self.factorization = factorization
        self.samples = samples
    }

    /// Measures `op` on one n x n matrix with `threads` threads in both libraries. Throws
    /// when either side fails or its backward error exceeds ``residualThreshold``.
    public func run(_ op: FactorizationKind, n: Int, threads: Int, peakGflops: Double) throws -> FactorizationBenchRow {
        factorization.library.setNumThreads(threads)
        openblas_set_num_threads(Int32(threads))
        let seed = UInt64(n) &* 0x9e37_79b9 &+ (op == .lu ? 1 : 2)
        let original = try op == .lu ? SquareMatrix.random(n: n, seed: seed) : SquareMatrix.randomSPD(n: n, seed: seed)
        let work = try SquareMatrix(n: n)
        let pivots = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, n))
        defer { pivots.deallocate() }

        func ours() throws -> Double {
            work.copy(from: original)
            settle()
            let t0 = monotonicSeconds()
            if op == .lu { _ = try factorization.lu(work.storage, n: n, lda: n, pivots: pivots) }
            else { try factorization.cholesky(work.storage, n: n, lda: n) }
            return monotonicSeconds() - t0
        }
        func peer() throws -> Double {
            work.copy(from: original)
            settle()
            let t0 = monotonicSeconds()
            let info = op == .lu ? LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), work.storage, Int32(n), pivots)
                : LAPACKE_dpotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), work.storage, Int32(n))
            let t = monotonicSeconds() - t0
            if info < 0 || (op == .cholesky && info > 0) { throw FactorizationError("\(op.peerFunction) returned \(info) for n = \(n)") }
            return t
        }
        func residual(_ who: String) throws -> Double {
            let r = op == .lu ? try FactorizationCheck.luResidual(original: original, factored: work, pivots: pivots)
                : try FactorizationCheck.choleskyResidual(original: original, factored: work)
            guard r <= Self.residualThreshold else {
                throw FactorizationError("\(who) \(op.rawValue) of n = \(n) on \(threads) thread(s): backward error \(r) exceeds \(Self.residualThreshold) (||A|| n eps units)")
            }
            return r
        }

        func settle() { if settleSeconds > 0 { usleep(UInt32(settleSeconds * 1e6)) } }
        _ = try ours()
        let oursResidual = try residual("blastune")
        _ = try peer()
        let peerResidual = try residual("OpenBLAS")
        let count = samples ?? (n <= 2000 ? 15 : n <= 4000 ? 7 : 3)
        var (a, b) = ([Double](), [Double]())
        for _ in 0..<max(1, count) {
            a.append(try ours())
            b.append(try peer())
        }
        let (os, ps) = (TimingStats(a), TimingStats(b))
        let flops = op.flops(n: n)
        let og = flops / os.median / 1e9, pg = flops / ps.median / 1e9
        return FactorizationBenchRow(op: op, n: n, threads: threads, panelWidth: factorization.panelWidth(n: n), ours: os, peer: ps,
                                     oursGflops: og, peerGflops: pg, ratio: ps.median / os.median,
                                     fractionOfPeak: og / peakGflops, peerFractionOfPeak: pg / peakGflops,
                                     oursResidual: oursResidual, peerResidual: peerResidual)
    }
}

/// The report of `blastune bench --op lu|cholesky`, written as JSON, CSV and a plot.
public struct FactorizationBenchReport: Codable, Sendable {
    public var op: FactorizationKind
    public var fingerprint: String
    public var cpu: String
    public var date: String
    public var library: String
    public var openblasVersion: String
    /// f64 FMA peak GFLOPS per thread count.
    public var peaks: [String: Double]
    public var rows: [FactorizationBenchRow]

    public init(op: FactorizationKind, fingerprint: String, cpu: String, date: String, library: String,
                openblasVersion: String, peaks: [String: Double], rows: [FactorizationBenchRow]) {
        self.op = op; self.fingerprint = fingerprint; self.cpu = cpu; self.date = date; self.library = library
        self.openblasVersion = openblasVersion; self.peaks = peaks; self.rows = rows
    }

    /// Geometric mean and worst ratio per thread count.
    public var summaries: [(threads: Int, geomean: Double, worst: Double)] {
        Dictionary(grouping: rows, by: \.threads).keys.sorted().map { t in
            let r = rows.filter { $0.threads == t }.map(\.ratio)
            return (t, geometricMean(r), r.min() ?? 0)
        }
    }

    var csv: String {
        (["op,n,threads,panel,ours_gflops,openblas_gflops,ratio,ours_frac_peak,openblas_frac_peak,ours_spread,openblas_spread,ours_residual,openblas_residual"]
            + rows.map { r in
                "\(r.op.rawValue),\(r.n),\(r.threads),\(r.panelWidth),\(r.oursGflops),\(r.peerGflops),\(r.ratio),\(r.fractionOfPeak),"
                    + "\(r.peerFractionOfPeak),\(r.ours.spread),\(r.peer.spread),\(r.oursResidual),\(r.peerResidual)"
            }).joined(separator: "\n") + "\n"
    }

    /// Writes `bench-<op>.json`, `.csv` and, when gnuplot is installed, `.png` into `dir`.
    public func write(to dir: URL) throws -> [URL] {
        try writeReport(self, csv: csv, name: "bench-\(op.rawValue)", to: dir, plot: plot(into:))
    }

    /// GFLOPS against n, ours and OpenBLAS per thread count, with the peak lines.
    func plot(into dir: URL) throws -> URL? {
        guard let gnuplot = Gnuplot.path else { return nil }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-plot-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var series: [String] = []
        for t in Set(rows.map(\.threads)).sorted() {
            let file = work.appendingPathComponent("t\(t).dat")
            try rows.filter { $0.threads == t }.sorted { $0.n < $1.n }.map { "\($0.n) \($0.oursGflops) \($0.peerGflops)" }
                .joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            series.append("'\(file.path)' using 1:2 with linespoints lw 2 title 'blastune \(t)t'")
            series.append("'\(file.path)' using 1:3 with linespoints lw 2 dt 2 title '\(op.peerFunction) (OpenBLAS) \(t)t'")
            if let p = peaks["\(t)"] { series.append("\(p) with lines lc rgb 'gray' dt 3 title 'f64 FMA peak \(t)t'") }
        }
        let script = """
            set terminal pngcairo size 900,600
            set output '\(work.appendingPathComponent("plot.png").path)'
            set title "\(op == .lu ? "LU (dgetrf)" : "Cholesky (dpotrf)") on \(cpu): blastune GEMM trailing update vs OpenBLAS"
            set xlabel 'n'
            set ylabel 'GFLOPS'
            set key left top
            set yrange [0:*]
            plot \(series.joined(separator: ", \\\n     "))
            """
        guard let png = Gnuplot.render(script, in: work, gnuplot: gnuplot) else { return nil }
        let url = dir.appendingPathComponent("bench-\(op.rawValue).png")
        try AtomicFile.write(png, to: url)
        return url
    }
}
