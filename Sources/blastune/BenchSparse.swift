import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Tuner

extension Bench {
    /// `bench --op spmv|spmm|transpose`: our kernels against CSparse, MKL and scipy where
    /// present (SpMM: k = 8 and 32, row-major, against mkl_sparse_?_mm).
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
                let a32 = d == .f32 ? a64.converted(to: Float.self) : nil
                for t in threadCounts {
                    for k in op == .spmm ? [8, 32] : [1] {
                        let r = try a32.map { try bench.run(op, $0, name: source.description, threads: t, k: k) }
                            ?? bench.run(op, a64, name: source.description, threads: t, k: k)
                        rows.append(r)
                        say(Self.describe(r))
                    }
                }
            }
        }
        let report = SparseBenchReport(op: op, fingerprint: machine.fingerprint, cpu: machine.cpuModel,
                                       date: ISO8601DateFormatter().string(from: Date()), library: libDir.path, origin: config.origin,
                                       readBandwidth: Dictionary(uniqueKeysWithValues: bandwidth.map { ("\($0.key)", $0.value) }),
                                       peers: ["CSparse": peers?.csparsePath ?? "not found", "MKL": peers?.mklPath ?? "not found"],
                                       rows: rows)
        let names = Array(Set(rows.flatMap { $0.peers.keys })).sorted()
        let l3 = Double(machine.cache(level: 3)?.sizeBytes ?? 0)
        let spmv = op == .spmv, mkl = rows.contains { $0.peers["MKL"] != nil }
        let head: [String] = ["matrix", "dtype", "thr"] + (op == .spmm ? ["k"] : []) + ["ours ms", "GB/s", "%read bw"]
            + (spmv ? Self.spmvColumns(mkl: mkl) : []) + (op == .transpose ? Self.transposeColumns : []) + names.map { "\($0) x" }
        let body: [[String]] = rows.map { r in
            let lead: [String] = [r.matrix, r.dtype.rawValue, "\(r.threads)"] + (op == .spmm ? ["\(r.k ?? 0)"] : [])
                + [fmt(1e3 * r.ours.median, 2), fmt(r.oursGBps), Self.share(100 * r.fractionOfBandwidth, bytes: r.bytes, l3: l3)]
            let extra: [String] = spmv ? Self.spmvCells(r, mkl: mkl, l3: l3) : op == .transpose ? Self.transposeCells(r) : []
            return lead + extra + names.map { n in r.peers[n].map { fmt($0.ratio, 2) } ?? "" }
        }
        say(table(head, body))
        if spmv { say("(int32: bt_?csr_spmv_i32 on 32-bit copies; plan: bt_?csr_plan_spmv on the 64-bit arrays; plan %bw counts the bytes the plan's form moves; MKL: LP64 handle on the int32 arrays, MKL ILP64: on the 64-bit ones, both optimized)") }
        if body.contains(where: { $0.contains("in L3") }) {
            say("(in L3: the bytes moved fit the \(Int(l3) >> 20) MiB L3, so repeated products run from the cache, not at the memory's read bandwidth: no share of it is given)")
        }
        say("(peer x = peer time / ours\(op == .transpose ? " with a fresh output, as the peers allocate theirs; floor: one plain first write of a fresh mapping of the output's size, same pages, same run" : ""))")
        if sources.isEmpty {
            let dir = out.map { URL(fileURLWithPath: $0) } ?? ResultsStore(root: URL(fileURLWithPath: library.results)).directory(for: machine)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for f in try report.write(to: dir) { say("wrote \(f.path)") }
        }
    }

    static func spmvColumns(mkl: Bool) -> [String] {
        ["int32 ms", "plan ms", "plan %bw", "plan index"] + (mkl ? ["MKL/int32", "MKL/plan"] : [])
    }

    /// The int32 and plan timings, the plan's share of the read bandwidth (counting the bytes
    /// its column form moves) and MKL's (LP64) time over each.
    /// A share of the read bandwidth in percent, or "in L3" when `bytes` fit the L3 (then
    /// repeated runs are served by the cache and the share would mean nothing).
    static func share(_ percent: Double, bytes: Double, l3: Double) -> String {
        bytes <= l3 ? "in L3" : fmt(percent)
    }

    static func spmvCells(_ r: SparseBenchRow, mkl: Bool, l3: Double) -> [String] {
        let ms = { (t: TimingStats?) in t.map { fmt(1e3 * $0.median, 2) } ?? "" }
        let overMKL = { (t: TimingStats?) -> String in
            guard let t, let m = r.peers["MKL"] else { return "" }
            return fmt(m.seconds / t.median, 2)
        }
        let planBw = r.oursPlan.flatMap { t in
            r.planBytes.map { share(100 * r.fractionOfBandwidth * ($0 / r.bytes) * r.ours.median / t.median, bytes: $0, l3: l3) }
        } ?? ""
        return [ms(r.oursInt32), ms(r.oursPlan), planBw, r.planFormat ?? ""] + (mkl ? [overMKL(r.oursInt32), overMKL(r.oursPlan)] : [])
    }

    static let transposeColumns = ["fresh ms", "floor ms", "fresh/floor", "pages", "extra MiB"]

    static func transposeCells(_ r: SparseBenchRow) -> [String] {
        let fresh = r.oursFreshOutput?.median ?? 0, floor = r.freshWriteFloor?.median ?? .nan
        return [fmt(1e3 * fresh, 2), fmt(1e3 * (r.freshWriteFloor?.median ?? 0), 2), fmt(fresh / floor, 2), r.freshPages ?? "",
                r.extraBytes.map { fmt(Double($0) / 1048576) } ?? "?"]
    }

    static func describe(_ r: SparseBenchRow) -> String {
        let peers = r.peers.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt(1e3 * $0.value.seconds, 2)) ms (\(fmt($0.value.ratio, 2))x)" }
        return "\(r.op.rawValue) \(r.matrix) \(r.dtype.rawValue) \(r.threads)t: ours \(fmt(1e3 * r.ours.median, 2)) ms, \(fmt(r.oursGBps)) GB/s "
            + "(\(fmt(100 * r.fractionOfBandwidth))% of read bw)" + (r.oursFreshOutput.map { ", fresh output \(fmt(1e3 * $0.median, 2)) ms" } ?? "")
            + (r.freshWriteFloor.map { " (floor \(fmt(1e3 * $0.median, 2)) ms, \(r.freshPages ?? ""))" } ?? "")
            + (r.k.map { " k \($0)" } ?? "")
            + (r.oursInt32.map { i in ", int32 indices \(fmt(1e3 * i.median, 2)) ms" + (r.peers["MKL"].map { " (MKL \(fmt($0.seconds / i.median, 2))x)" } ?? "") } ?? "")
            + (r.oursPlan.map { i in ", plan (\(r.planFormat ?? "")) \(fmt(1e3 * i.median, 2)) ms" + (r.peers["MKL"].map { " (MKL \(fmt($0.seconds / i.median, 2))x)" } ?? "") } ?? "")
            + (peers.isEmpty ? "" : "; " + peers.joined(separator: ", "))
    }
}
