import Foundation
import KernelSpec
import MicroKernels

/// One benchmarked problem in a report.
public struct BenchRow: Codable, Sendable {
    public var dtype: DType
    public var shapeClass: ShapeClass
    public var shape: GemmShape
    public var threads: Int
    public var oursGflops: Double
    /// Every peer's GFLOPS, by name.
    public var peers: [String: Double]
    /// The fastest peer on this shape, its GFLOPS, and its time over ours.
    public var bestPeer: String
    public var peerGflops: Double
    public var ratio: Double
    /// The FMA peak timed in the same rounds as this row's GEMMs; the fractions are of it.
    public var peakGflops: Double
    public var fractionOfPeak: Double
    public var peerFractionOfPeak: Double
    public var spread: Double

    public init(dtype: DType, shapeClass: ShapeClass, shape: GemmShape, threads: Int, oursGflops: Double, peers: [String: Double],
                bestPeer: String, peerGflops: Double, ratio: Double, peakGflops: Double, fractionOfPeak: Double,
                peerFractionOfPeak: Double, spread: Double) {
        self.dtype = dtype; self.shapeClass = shapeClass; self.shape = shape; self.threads = threads
        self.oursGflops = oursGflops; self.peers = peers; self.bestPeer = bestPeer; self.peerGflops = peerGflops; self.ratio = ratio
        self.peakGflops = peakGflops; self.fractionOfPeak = fractionOfPeak; self.peerFractionOfPeak = peerFractionOfPeak; self.spread = spread
    }

    /// Our speed over `peer`'s (its time over ours), when it was timed.
    public func ratio(to peer: String) -> Double? { peers[peer].map { oursGflops / $0 } }
}

/// Per class, dtype and thread count: the geometric mean and the worst of the ratios to
/// the best peer of each shape, and the geometric mean of the ratios to each peer.
public struct BenchSummary: Codable, Sendable {
    public var dtype: DType
    public var shapeClass: ShapeClass
    public var threads: Int
    public var geomeanRatio: Double
    public var minRatio: Double
    public var shapes: Int
    public var peerGeomeans: [String: Double]
}

/// `Results/<fingerprint>/bench-gemm.{json,csv,png}`: the tuned library against its peers.
public struct BenchReport: Codable, Sendable {
    public var fingerprint: String
    public var cpu: String
    public var isa: ISA
    public var date: String
    public var library: String
    public var origin: String
    /// What each peer ran (``GemmPeer/configuration``), by name.
    public var peerConfigurations: [String: String]
    /// FMA peak GFLOPS by "dtype-threads", measured before the rows of that group (each row
    /// also has the peak timed with it).
    public var peaks: [String: Double]
    public var rows: [BenchRow]

    public init(fingerprint: String, cpu: String, isa: ISA, date: String, library: String, origin: String,
                peerConfigurations: [String: String], peaks: [String: Double], rows: [BenchRow]) {
        self.fingerprint = fingerprint; self.cpu = cpu; self.isa = isa; self.date = date; self.library = library; self.origin = origin
        self.peerConfigurations = peerConfigurations; self.peaks = peaks; self.rows = rows
    }

    /// The peers' names, in ``GemmPeer/names`` order.
    public var peerNames: [String] { GemmPeer.names.filter { peerConfigurations[$0] != nil } }

    public var summaries: [BenchSummary] {
        var out: [BenchSummary] = []
        let groups = Dictionary(grouping: rows) { "\($0.dtype.rawValue)|\($0.shapeClass.rawValue)|\($0.threads)" }
        for (_, g) in groups {
            let r = g.map(\.ratio)
            var each: [String: Double] = [:]
            for p in peerNames { let q = g.compactMap { $0.ratio(to: p) }; if !q.isEmpty { each[p] = geometricMean(q) } }
            out.append(BenchSummary(dtype: g[0].dtype, shapeClass: g[0].shapeClass, threads: g[0].threads,
                                    geomeanRatio: geometricMean(r), minRatio: r.min() ?? 0, shapes: r.count, peerGeomeans: each))
        }
        let order = ShapeSuites.tunedClasses
        return out.sorted { ($0.dtype.rawValue, order.firstIndex(of: $0.shapeClass) ?? 0, $0.threads)
            < ($1.dtype.rawValue, order.firstIndex(of: $1.shapeClass) ?? 0, $1.threads) }
    }

    public var csv: String {
        let names = peerNames
        var lines = [(["dtype", "class", "m", "n", "k", "threads", "ours_gflops", "best_peer", "best_peer_gflops", "ratio_to_best",
                       "peak_gflops", "ours_fraction_of_peak", "best_peer_fraction_of_peak", "spread"]
                      + names.map { "\($0.lowercased())_gflops" }).joined(separator: ",")]
        for r in rows {
            lines.append(([r.dtype.rawValue, r.shapeClass.rawValue, "\(r.shape.m)", "\(r.shape.n)", "\(r.shape.k)", "\(r.threads)",
                           String(format: "%.2f", r.oursGflops), r.bestPeer, String(format: "%.2f", r.peerGflops), String(format: "%.3f", r.ratio),
                           String(format: "%.2f", r.peakGflops), String(format: "%.3f", r.fractionOfPeak), String(format: "%.3f", r.peerFractionOfPeak), String(format: "%.3f", r.spread)]
                          + names.map { r.peers[$0].map { String(format: "%.2f", $0) } ?? "" }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the JSON, the CSV and, when gnuplot is installed, the plot into `dir`
    /// (each file atomically). Returns the files written.
    public func write(to dir: URL) throws -> [URL] {
        try writeReport(self, csv: csv, name: "bench-gemm", to: dir, plot: plot)
    }

    /// GFLOPS against size for the square shapes, ours and each peer, with the peak line:
    /// one panel per dtype and thread count. Nil when gnuplot is not installed.
    func plot(into dir: URL) throws -> URL? {
        guard let gnuplot = Gnuplot.path else { return nil }
        let squares = rows.filter { $0.shape.m == $0.shape.n && $0.shape.n == $0.shape.k }
        let panels = Array(Set(squares.map { "\($0.dtype.rawValue)-\($0.threads)" })).sorted()
        guard !panels.isEmpty else { return nil }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-plot-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var script = """
            set terminal pngcairo size 1400,\(420 * ((panels.count + 1) / 2)) font ",10"
            set output '\(work.appendingPathComponent("plot.png").path)'
            set multiplot layout \((panels.count + 1) / 2),2 title "GEMM on \(cpu) (\(fingerprint), \(isa.rawValue)): blastune vs \(peerNames.map { "\($0) (\(peerConfigurations[$0] ?? ""))" }.joined(separator: ", "))" noenhanced
            set logscale x 2
            set xlabel "n (m = n = k)"
            set ylabel "GFLOPS"
            set key left top
            set grid

            """
        for p in panels {
            let parts = p.split(separator: "-"), dtype = String(parts[0]), threads = Int(parts[1]) ?? 1
            let data = squares.filter { $0.dtype.rawValue == dtype && $0.threads == threads }.sorted { $0.shape.n < $1.shape.n }
            let file = work.appendingPathComponent("\(p).dat")
            let names = peerNames
            try data.map { r in (["\(r.shape.n)", "\(r.oursGflops)"] + names.map { r.peers[$0].map { "\($0)" } ?? "NaN" }).joined(separator: " ") }
                .joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            let peak = peaks[p] ?? 0
            let curves = ["'\(file.path)' using 1:2 with linespoints lw 2 title 'blastune'"]
                + names.enumerated().map { "'\(file.path)' using 1:\($0.offset + 3) with linespoints lw 2 title '\($0.element)'" }
                + ["\(peak) with lines dt 2 lc rgb 'black' title sprintf('FMA peak %.0f', \(peak))"]
            script += """
                set title "\(dtype), \(threads) thread(s)"
                set yrange [0:\(peak * 1.1)]
                plot \(curves.joined(separator: ", \\\n     "))

                """
        }
        script += "unset multiplot\n"
        guard let png = Gnuplot.render(script, in: work, gnuplot: gnuplot) else { return nil }
        let out = dir.appendingPathComponent("bench-gemm.png")
        try AtomicFile.write(png, to: out)
        return out
    }
}

/// Writes `<name>.json` and `<name>.csv` into `dir` atomically, then the plot when `plot`
/// makes one; returns the files written.
func writeReport<R: Encodable>(_ report: R, csv: String, name: String, to dir: URL, plot: (URL) throws -> URL?) throws -> [URL] {
    let store = ResultsStore(root: dir.deletingLastPathComponent())
    let json = dir.appendingPathComponent("\(name).json"), csvURL = dir.appendingPathComponent("\(name).csv")
    try store.writeJSON(report, to: json)
    try AtomicFile.write(Data(csv.utf8), to: csvURL)
    return [json, csvURL] + (try plot(dir).map { [$0] } ?? [])
}

/// Runs gnuplot scripts that write `plot.png` in a work folder.
enum Gnuplot {
    static var path: String? { ["/usr/bin/gnuplot", "/usr/local/bin/gnuplot"].first(where: FileManager.default.isExecutableFile) }

    /// Runs `script` (which must write `<work>/plot.png`); the PNG, or nil on failure.
    static func render(_ script: String, in work: URL, gnuplot: String) -> Data? {
        let scriptURL = work.appendingPathComponent("plot.gp")
        guard (try? script.write(to: scriptURL, atomically: true, encoding: .utf8)) != nil else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gnuplot)
        p.arguments = [scriptURL.path]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? FileManager.default.contents(atPath: work.appendingPathComponent("plot.png").path) : nil
    }
}
