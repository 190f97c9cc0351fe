import Foundation
import KernelSpec
import MicroKernels

/// `Results/<fingerprint>/bench-<op>.{json,csv,png}`: the sparse kernels against the peers.
public struct SparseBenchReport: Codable, Sendable {
    public var op: SparseOp
    public var fingerprint: String
    public var cpu: String
    public var date: String
    public var library: String
    public var origin: String
    /// Measured read bandwidth (GB/s) by thread count.
    public var readBandwidth: [String: Double]
    public var peers: [String: String]
    public var rows: [SparseBenchRow]

    public init(op: SparseOp, fingerprint: String, cpu: String, date: String, library: String, origin: String,
                readBandwidth: [String: Double], peers: [String: String], rows: [SparseBenchRow]) {
        self.op = op; self.fingerprint = fingerprint; self.cpu = cpu; self.date = date; self.library = library
        self.origin = origin; self.readBandwidth = readBandwidth; self.peers = peers; self.rows = rows
    }

    var peerNames: [String] { Array(Set(rows.flatMap { $0.peers.keys })).sorted() }

    public var csv: String {
        let names = peerNames
        var lines = [(["matrix", "class", "dtype", "threads", "nrows", "ncols", "nnz", "ours_seconds", "ours_gbps", "fraction_of_read_bandwidth",
                       "ours_fresh_output_seconds", "fresh_write_floor_seconds", "fresh_pages", "ours_int32_seconds", "ours_plan_seconds", "plan_format", "k", "extra_bytes", "output_bytes"] + names.flatMap { ["\($0)_seconds", "\($0)_ratio"] }).joined(separator: ",")]
        for r in rows {
            var f: [String] = [r.matrix, r.matrixClass.rawValue, r.dtype.rawValue, "\(r.threads)", "\(r.nrows)", "\(r.ncols)", "\(r.nnz)"]
            f += [String(format: "%.6f", r.ours.median), String(format: "%.2f", r.oursGBps), String(format: "%.3f", r.fractionOfBandwidth)]
            f.append(r.oursFreshOutput.map { String(format: "%.6f", $0.median) } ?? "")
            f.append(r.freshWriteFloor.map { String(format: "%.6f", $0.median) } ?? "")
            f.append(r.freshPages ?? "")
            f.append(r.oursInt32.map { String(format: "%.6f", $0.median) } ?? "")
            f.append(r.oursPlan.map { String(format: "%.6f", $0.median) } ?? "")
            f.append(r.planFormat ?? "")
            f.append(r.k.map { String($0) } ?? "")
            f.append(r.extraBytes.map { String($0) } ?? "")
            f.append(r.outputBytes.map { String($0) } ?? "")
            for n in names {
                if let p = r.peers[n] { f += [String(format: "%.6f", p.seconds), String(format: "%.3f", p.ratio)] } else { f += ["", ""] }
            }
            lines.append(f.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes JSON, CSV and (with gnuplot) the plot into `dir`, each atomically.
    public func write(to dir: URL) throws -> [URL] {
        try writeReport(self, csv: csv, name: "bench-\(op.rawValue)", to: dir, plot: plot)
    }

    /// GB/s (minimum bytes over time) per benchmark, ours and each peer, against the
    /// measured read bandwidth. Nil without gnuplot.
    func plot(into dir: URL) throws -> URL? {
        guard let gnuplot = Gnuplot.path, !rows.isEmpty else { return nil }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-plot-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let names = peerNames
        let data = work.appendingPathComponent("bars.dat")
        let lines = rows.map { r -> String in
            let label = "\(r.matrix) \(r.dtype.rawValue) \(r.threads)t".replacingOccurrences(of: " ", with: "\\n")
            let ours = op == .transpose ? r.bytes / (r.oursFreshOutput?.median ?? r.ours.median) / 1e9 : r.oursGBps
            return "\"\(label)\" \(ours) " + names.map { n in r.peers[n].map { "\($0.gbps)" } ?? "0" }.joined(separator: " ")
        }
        try lines.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        let bw = readBandwidth.values.max() ?? 0
        let cols = (["blastune"] + names).enumerated().map { i, n in
            "'\(data.path)' using \(i + 2):xtic(1) title '\(n)'"
        }.joined(separator: ", ")
        let script = """
            set terminal pngcairo size \(max(900, 140 * rows.count)),600 font ",9"
            set output '\(work.appendingPathComponent("plot.png").path)'
            set title "CSR \(op.rawValue) on \(cpu) (\(fingerprint)): GB/s counting the minimum bytes moved"
            set style data histograms
            set style histogram clustered gap 1
            set style fill solid 0.8 border -1
            set ylabel "GB/s"
            set yrange [0:\(bw * 1.15)]
            set key left top
            set grid ytics
            plot \(cols), \(bw) with lines dt 2 lc rgb 'black' title sprintf('read bandwidth %.0f GB/s (2 threads)', \(bw))

            """
        guard let png = Gnuplot.render(script, in: work, gnuplot: gnuplot) else { return nil }
        let out = dir.appendingPathComponent("bench-\(op.rawValue).png")
        try AtomicFile.write(png, to: out)
        return out
    }
}
