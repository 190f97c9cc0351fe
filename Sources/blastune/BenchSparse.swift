import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Tuner

extension Bench {
    /// `bench --op spmv|transpose`: our kernels against CSparse, MKL and scipy where present.
    func runSparse(_ op: SparseOp, machine: MachineProfile) throws {
        let (libDir, config, loaded) = try loadLibrary(machine: machine)
        let sources = try matrices.sources()
        let suite = sources.isEmpty ? SparseSuites.bench(op) : sources
        let threadCounts = try threads.map { try parseIntList($0, name: "threads") } ?? Array(Set([1, machine.cores])).sorted()
        let probe = try PeakProbe(isa: config.library.isa)
        var bandwidth: [Int: Double] = [:]
        for t in threadCounts { bandwidth[t] = probe.bandwidth(read: true, threads: t) }
        let peers: SparsePeers?
        do { peers = try SparsePeers() } catch { warn("sparse peers unavailable: \(error)"); peers = nil }
        let bench = SparseBench(library: loaded, peers: peers, bandwidth: bandwidth, useScipy: !noScipy)
        say("machine \(machine.fingerprint): \(machine.cpuModel), \(machine.cores) cores; library \(libDir.path) (\(config.library.isa.rawValue), \(config.origin))")
        say("read bandwidth: " + threadCounts.map { "\(fmt(bandwidth[$0]!)) GB/s on \($0) thread(s)" }.joined(separator: ", "))
        say("peers: CSparse \(peers?.csparsePath ?? "not found"); MKL \(peers?.mklPath ?? "not found"); scipy \(noScipy ? "skipped" : "if python3 has it")")
        var rows: [SparseBenchRow] = []
        for source in suite {
            let a64 = try source.load(Double.self)
            for d in dtypes.selected {
                for t in threadCounts {
                    let r = d == .f64 ? try bench.run(op, a64, name: source.description, threads: t)
                                      : try bench.run(op, a64.converted(to: Float.self), name: source.description, threads: t)
                    rows.append(r)
                    say(Self.describe(r))
                }
            }
        }
        let report = SparseBenchReport(op: op, fingerprint: machine.fingerprint, cpu: machine.cpuModel,
                                       date: ISO8601DateFormatter().string(from: Date()), library: libDir.path, origin: config.origin,
                                       readBandwidth: Dictionary(uniqueKeysWithValues: bandwidth.map { ("\($0.key)", $0.value) }),
                                       peers: ["CSparse": peers?.csparsePath ?? "not found", "MKL": peers?.mklPath ?? "not found"],
                                       rows: rows)
        let names = Array(Set(rows.flatMap { $0.peers.keys })).sorted()
        say(table(["matrix", "dtype", "thr", "ours ms", "GB/s", "%read bw"] + (op == .transpose ? ["fresh ms", "floor ms", "fresh/floor", "pages", "extra MiB"] : []) + names.map { "\($0) x" },
                  rows.map { r in [r.matrix, r.dtype.rawValue, "\(r.threads)", fmt(1e3 * r.ours.median, 2), fmt(r.oursGBps), fmt(100 * r.fractionOfBandwidth)]
                      + (op == .transpose ? [fmt(1e3 * (r.oursFreshOutput?.median ?? 0), 2), fmt(1e3 * (r.freshWriteFloor?.median ?? 0), 2),
                                             fmt((r.oursFreshOutput?.median ?? 0) / (r.freshWriteFloor?.median ?? .nan), 2), r.freshPages ?? "",
                                             r.extraBytes.map { fmt(Double($0) / 1048576) } ?? "?"] : [])
                      + names.map { n in r.peers[n].map { fmt($0.ratio, 2) } ?? "" } }))
        say("(peer x = peer time / ours\(op == .transpose ? " with a fresh output, as the peers allocate theirs; floor: one plain first write of a fresh mapping of the output's size, same pages, same run" : ""))")
        if sources.isEmpty {
            let dir = out.map { URL(fileURLWithPath: $0) } ?? ResultsStore(root: URL(fileURLWithPath: library.results)).directory(for: machine)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for f in try report.write(to: dir) { say("wrote \(f.path)") }
        }
    }

    static func describe(_ r: SparseBenchRow) -> String {
        let peers = r.peers.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt(1e3 * $0.value.seconds, 2)) ms (\(fmt($0.value.ratio, 2))x)" }
        return "\(r.op.rawValue) \(r.matrix) \(r.dtype.rawValue) \(r.threads)t: ours \(fmt(1e3 * r.ours.median, 2)) ms, \(fmt(r.oursGBps)) GB/s "
            + "(\(fmt(100 * r.fractionOfBandwidth))% of read bw)" + (r.oursFreshOutput.map { ", fresh output \(fmt(1e3 * $0.median, 2)) ms" } ?? "")
            + (r.freshWriteFloor.map { " (floor \(fmt(1e3 * $0.median, 2)) ms, \(r.freshPages ?? ""))" } ?? "")
            + (r.oursInt32.map { i in ", int32 indices \(fmt(1e3 * i.median, 2)) ms" + (r.peers["MKL"].map { " (MKL \(fmt($0.seconds / i.median, 2))x)" } ?? "") } ?? "")
            + (peers.isEmpty ? "" : "; " + peers.joined(separator: ", "))
    }
}
