import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

extension Bench {
    /// `bench --op gemm-small|gemm-batch`: plans, `bt_?gemm` and strided batches against the
    /// small-GEMM peers; the report goes to Results/<fingerprint>/bench-<op>.* for the default sizes.
    func runSmallGemm(machine: MachineProfile) throws {
        let (libDir, config, loaded) = try loadLibrary(machine: machine)
        let isa = config.library.isa
        try applyPeerConfigurations(isa: isa, machine: machine)
        let bench = SmallGemmBench(library: loaded)
        say("machine \(machine.fingerprint): \(machine.cpuModel), \(machine.cores) cores; library \(libDir.path) (\(isa.rawValue), \(config.origin))")
        for (name, c) in bench.peerConfigurations.sorted(by: { $0.key < $1.key }) { say("peer \(name): \(c)") }
        if bench.xsmm == nil { say("libxsmm: not installed (scripts/setup.sh installs libxsmm-dev), not compared") }
        let names = Array(Set(bench.peers.map(\.name) + (bench.xsmm.map { [$0.name] } ?? []))).sorted()
        var rows: [SmallGemmRow] = [], costs: [CallCost] = [], batches: [BatchRow] = []
        if op == .gemmSmall {
            let shapes = try sizes.map(Self.parseShapes) ?? SmallGemmBench.smallShapes
            for d in dtypes.selected {
                if let c = bench.callCost(d) { costs.append(c) }
                for s in shapes {
                    guard let r = bench.small(d, s) else { throw ValidationError("\(d.rawValue) \(s): the library refused a plan") }
                    if r.relativeError > (d == .f32 ? 1e-4 : 1e-12) { warn("\(d.rawValue) \(s): relative difference from OpenBLAS \(r.relativeError)") }
                    rows.append(r)
                }
            }
            say("call cost (ns per 1x1x1 call, each through one Swift closure call):")
            say(table(["dtype", "plan", "bt_gemm"] + names, costs.map { c in
                [c.dtype.rawValue, fmt(c.planNs), fmt(c.callNs)] + names.map { c.peersNs[$0].map { fmt($0) } ?? "" } }))
            say(table(["dtype", "shape", "plan GF/s", "bt_gemm GF/s"] + names + ["best", "plan/best", "spread%"], rows.map { r in
                [r.dtype.rawValue, "\(r.shape)", fmt(r.plan), fmt(r.call)] + names.map { r.peers[$0].map { fmt($0) } ?? "" }
                    + [r.bestPeer, fmt(r.ratio, 2), fmt(100 * r.spread)] }))
            for d in dtypes.selected {
                let mine = rows.filter { $0.dtype == d }
                guard !mine.isEmpty else { continue }
                let per = names.map { n -> String in
                    let ratios = mine.compactMap { r in r.peers[n].map { r.plan / $0 } }
                    return ratios.isEmpty ? "" : "\(n) \(fmt(exp(ratios.map(log).reduce(0, +) / Double(ratios.count)), 2))"
                }.filter { !$0.isEmpty }
                say("\(d.rawValue): plan over each peer, geometric mean: " + per.joined(separator: ", ")
                    + "; worst plan/best \(fmt(mine.map(\.ratio).min() ?? 0, 2))")
            }
        } else {
            let threadCounts = try threads.map { try parseIntList($0, name: "threads") } ?? Array(Set([1, machine.cores])).sorted()
            let work = try sizes.map { try Self.parseShapes($0).map { (n: $0.m, count: max(1, $0.k)) } } ?? SmallGemmBench.batches
            for d in dtypes.selected {
                for (n, count) in work {
                    for t in threadCounts {
                        guard let b = bench.batch(d, n: n, count: count, threads: t) else {
                            throw ValidationError("\(d.rawValue) batch of \(count) x \(n)^3: ours did not run or differs from OpenBLAS")
                        }
                        batches.append(b)
                    }
                }
            }
            let peerNames = Array(Set(batches.flatMap { $0.peers.keys })).sorted()
            say(table(["dtype", "n", "batch", "thr", "ours GF/s"] + peerNames + ["ours/OpenBLAS", "vs 1 thread", "spread%"], batches.map { b in
                let one = batches.first { $0.dtype == b.dtype && $0.n == b.n && $0.batch == b.batch && $0.threads == 1 }
                return [b.dtype.rawValue, "\(b.n)", "\(b.batch)", "\(b.threads)", fmt(b.ours)] + peerNames.map { b.peers[$0].map { fmt($0) } ?? "" }
                    + [b.peers["OpenBLAS loop"].map { fmt(b.ours / $0, 2) } ?? "", one.map { fmt(b.ours / $0.ours, 2) } ?? "", fmt(100 * b.spread)] }))
        }
        if sizes == nil {
            let report = SmallGemmReport(fingerprint: machine.fingerprint, cpu: machine.cpuModel, isa: isa, date: ISO8601DateFormatter().string(from: Date()),
                                         library: libDir.path, peerConfigurations: bench.peerConfigurations, callCosts: costs, rows: rows, batches: batches)
            let dir = out.map { URL(fileURLWithPath: $0) } ?? ResultsStore(root: URL(fileURLWithPath: library.results)).directory(for: machine)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for f in try report.write(to: dir, name: "bench-\(op.rawValue)") { say("wrote \(f.path)") }
        }
    }
}
