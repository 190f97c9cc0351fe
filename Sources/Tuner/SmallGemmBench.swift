import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels

/// One small shape on one thread: ours through a plan and through `bt_?gemm`, against every
/// peer (GFLOPS, medians of interleaved samples).
public struct SmallGemmRow: Codable, Sendable {
    public var dtype: DType
    public var shape: GemmShape
    public var plan: Double
    public var call: Double
    public var peers: [String: Double]
    public var bestPeer: String
    /// The plan's speed over the best peer's.
    public var ratio: Double
    /// The widest interquartile spread of the contenders, over their medians.
    public var spread: Double
    /// Largest |ours - OpenBLAS| over max |OpenBLAS|, through the plan.
    public var relativeError: Double
}

/// What a call costs beyond its arithmetic: nanoseconds per call of a 1 x 1 x 1 product.
public struct CallCost: Codable, Sendable {
    public var dtype: DType
    public var planNs: Double
    public var callNs: Double
    public var peersNs: [String: Double]
}

/// One strided batch of equal cubes: ours (`bt_?gemm_batch_strided`) against loops of each
/// peer's calls (and MKL's own batch call when present).
public struct BatchRow: Codable, Sendable {
    public var dtype: DType
    public var n: Int
    public var batch: Int
    public var threads: Int
    public var ours: Double
    public var peers: [String: Double]
    public var spread: Double
}

/// `bench --op gemm-small` and `--op gemm-batch`: the report.
public struct SmallGemmReport: Codable, Sendable {
    public var fingerprint: String
    public var cpu: String
    public var isa: ISA
    public var date: String
    public var library: String
    public var peerConfigurations: [String: String]
    public var callCosts: [CallCost]
    public var rows: [SmallGemmRow]
    public var batches: [BatchRow]

    public init(fingerprint: String, cpu: String, isa: ISA, date: String, library: String, peerConfigurations: [String: String],
                callCosts: [CallCost], rows: [SmallGemmRow], batches: [BatchRow]) {
        self.fingerprint = fingerprint; self.cpu = cpu; self.isa = isa; self.date = date; self.library = library
        self.peerConfigurations = peerConfigurations; self.callCosts = callCosts; self.rows = rows; self.batches = batches
    }

    var csv: String {
        let names = Array(Set(rows.flatMap { $0.peers.keys } + batches.flatMap { $0.peers.keys })).sorted()
        var lines = ["kind,dtype,m,n,k,batch,threads,ours_plan_gflops,ours_call_gflops," + names.map { "\($0)_gflops" }.joined(separator: ",")]
        for r in rows {
            lines.append((["small", r.dtype.rawValue, "\(r.shape.m)", "\(r.shape.n)", "\(r.shape.k)", "1", "1", String(format: "%.3f", r.plan), String(format: "%.3f", r.call)]
                          + names.map { r.peers[$0].map { String(format: "%.3f", $0) } ?? "" }).joined(separator: ","))
        }
        for b in batches {
            lines.append((["batch", b.dtype.rawValue, "\(b.n)", "\(b.n)", "\(b.n)", "\(b.batch)", "\(b.threads)", String(format: "%.3f", b.ours), ""]
                          + names.map { b.peers[$0].map { String(format: "%.3f", $0) } ?? "" }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `<name>.json`, `<name>.csv` and, with gnuplot, `<name>.png` into `dir` atomically.
    public func write(to dir: URL, name: String) throws -> [URL] {
        try writeReport(self, csv: csv, name: name, to: dir) { try plot(into: $0, name: name) }
    }

    /// GFLOPS per shape (small rows) or per size and thread count (batches), one curve per contender.
    func plot(into dir: URL, name: String) throws -> URL? {
        guard let gnuplot = Gnuplot.path, !(rows.isEmpty && batches.isEmpty) else { return nil }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-plot-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let names = Array(Set(rows.flatMap { $0.peers.keys } + batches.flatMap { $0.peers.keys })).sorted()
        var panels: [(title: String, labels: [String], ours: [String: [Double]], peers: [[Double?]])] = []
        for d in DType.allCases {
            let r = rows.filter { $0.dtype == d }
            if !r.isEmpty {
                panels.append(("\(d.rawValue), small, 1 thread", r.map { "\($0.shape)" }, ["blastune plan": r.map(\.plan), "blastune bt_gemm": r.map(\.call)],
                               names.map { n in r.map { $0.peers[n] } }))
            }
            let b = batches.filter { $0.dtype == d }
            if !b.isEmpty {
                panels.append(("\(d.rawValue), strided batches", b.map { "\($0.n)^3 x\($0.batch) t\($0.threads)" }, ["blastune batch": b.map(\.ours)],
                               names.map { n in b.map { $0.peers[n] } }))
            }
        }
        var script = """
            set terminal pngcairo size 1400,\(420 * ((panels.count + 1) / 2)) font ",10"
            set output '\(work.appendingPathComponent("plot.png").path)'
            set multiplot layout \((panels.count + 1) / 2),2 title "Small and batched GEMM on \(cpu) (\(fingerprint), \(isa.rawValue)): \(peerConfigurations.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", "))" noenhanced
            set ylabel "GFLOPS"
            set key left top
            set grid
            set style data linespoints
            set xtics rotate by -30

            """
        for (i, p) in panels.enumerated() {
            let file = work.appendingPathComponent("\(i).dat")
            let oursNames = p.ours.keys.sorted()
            try p.labels.indices.map { j in
                ([p.labels[j].replacingOccurrences(of: " ", with: "_")] + oursNames.map { "\(p.ours[$0]![j])" } + p.peers.map { $0[j].map { "\($0)" } ?? "NaN" }).joined(separator: " ")
            }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            let curves = (oursNames + names).enumerated().map { "'\(file.path)' using 0:\($0.offset + 2):xtic(1) lw 2 title '\($0.element)'" }
            script += "set title \"\(p.title)\" noenhanced\nplot \(curves.joined(separator: ", \\\n     "))\n"
        }
        script += "unset multiplot\n"
        guard let png = Gnuplot.render(script, in: work, gnuplot: gnuplot) else { return nil }
        let out = dir.appendingPathComponent("\(name).png")
        try AtomicFile.write(png, to: out)
        return out
    }
}

/// Times small and batched GEMM: ours through plans, `bt_?gemm` and strided batches, against
/// OpenBLAS, BLIS and MKL (CBLAS calls, in loops for batches; MKL's own strided batch call
/// when present) and libxsmm's dispatched kernels, interleaved in one process.
public struct SmallGemmBench {
    public let library: KernelLibrary
    public let peers: [GemmPeer]
    public let xsmm: XsmmPeer?
    public var timer: InterleavedTimer

    public init(library: KernelLibrary, peers: [GemmPeer] = GemmPeer.discover(), xsmm: XsmmPeer? = XsmmPeer.load(),
                timer: InterleavedTimer = InterleavedTimer(sampleSeconds: 0.02, samples: 7, maxSamples: 15)) {
        self.library = library; self.peers = peers; self.xsmm = xsmm; self.timer = timer
    }

    /// Every peer's configuration, libxsmm's included.
    public var peerConfigurations: [String: String] {
        var c = Dictionary(uniqueKeysWithValues: peers.map { ($0.name, $0.configuration) })
        if let x = xsmm { c[x.name] = x.configuration }
        return c
    }

    /// Column-major operands of `count` problems m x n x k, tightly strided, random in [-0.5, 0.5).
    final class Batch {
        let dtype: DType, shape: GemmShape, count: Int
        let a: UnsafeMutableRawPointer, b: UnsafeMutableRawPointer, c: UnsafeMutableRawPointer, cRef: UnsafeMutableRawPointer
        var sa: Int { shape.m * shape.k }
        var sb: Int { shape.k * shape.n }
        var sc: Int { shape.m * shape.n }

        init(_ dtype: DType, _ shape: GemmShape, count: Int) {
            self.dtype = dtype; self.shape = shape; self.count = count
            let es = Int(dtype.size)
            var rng = SplitMix64(seed: UInt64(shape.m * 131 + shape.n * 17 + shape.k + count))
            func make(_ elems: Int) -> UnsafeMutableRawPointer {
                let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, elems) * es, alignment: 64)
                for i in 0..<elems {
                    let v = rng.nextUnit() - 0.5
                    if dtype == .f32 { p.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self) } else { p.storeBytes(of: v, toByteOffset: i * 8, as: Double.self) }
                }
                return p
            }
            a = make(shape.m * shape.k * count); b = make(shape.k * shape.n * count)
            c = make(shape.m * shape.n * count); cRef = make(shape.m * shape.n * count)
        }

        func at(_ p: UnsafeMutableRawPointer, _ i: Int, _ stride: Int) -> UnsafeMutableRawPointer { p + i * stride * Int(dtype.size) }

        /// Largest |C - Cref| over max |Cref| over the whole batch.
        func relativeError() -> Double {
            var diff = 0.0, scale = 0.0
            for i in 0..<(sc * count) {
                let x = dtype == .f32 ? Double(c.load(fromByteOffset: i * 4, as: Float.self)) : c.load(fromByteOffset: i * 8, as: Double.self)
                let y = dtype == .f32 ? Double(cRef.load(fromByteOffset: i * 4, as: Float.self)) : cRef.load(fromByteOffset: i * 8, as: Double.self)
                diff = max(diff, abs(x - y)); scale = max(scale, abs(y))
            }
            return scale > 0 ? diff / scale : diff
        }

        deinit { a.deallocate(); b.deallocate(); c.deallocate(); cRef.deallocate() }
    }

    /// Our plan's execute on `o`'s first problem (nil when the library has no plans).
    func planRun(_ o: Batch) -> (run: () -> Void, destroy: () -> Void)? {
        let (plan, st) = library.plan(o.dtype, m: o.shape.m, n: o.shape.n, k: o.shape.k, threads: 1)
        guard st == 0, let plan else { return nil }
        let destroy = { [library] in library.destroy(plan: plan) }
        if o.dtype == .f32, let ex = library.symbol("bt_sgemm_execute", as: KernelLibrary.SGemmExecuteFn.self) {
            let (a, b, c) = (UnsafePointer(o.a.assumingMemoryBound(to: Float.self)), UnsafePointer(o.b.assumingMemoryBound(to: Float.self)), o.c.assumingMemoryBound(to: Float.self))
            return ({ _ = ex(plan, a, b, c) }, destroy)
        }
        if o.dtype == .f64, let ex = library.symbol("bt_dgemm_execute", as: KernelLibrary.DGemmExecuteFn.self) {
            let (a, b, c) = (UnsafePointer(o.a.assumingMemoryBound(to: Double.self)), UnsafePointer(o.b.assumingMemoryBound(to: Double.self)), o.c.assumingMemoryBound(to: Double.self))
            return ({ _ = ex(plan, a, b, c) }, destroy)
        }
        destroy()
        return nil
    }

    /// Our `bt_?gemm` on `o`'s problem `i` (into C).
    func callRun(_ o: Batch, _ i: Int = 0) {
        let (m, n, k) = (Int64(o.shape.m), Int64(o.shape.n), Int64(o.shape.k))
        if o.dtype == .f32 {
            _ = library.sgemm(102, 111, 111, m, n, k, 1, o.at(o.a, i, o.sa).assumingMemoryBound(to: Float.self), m,
                              o.at(o.b, i, o.sb).assumingMemoryBound(to: Float.self), k, 0, o.at(o.c, i, o.sc).assumingMemoryBound(to: Float.self), m)
        } else {
            _ = library.dgemm(102, 111, 111, m, n, k, 1, o.at(o.a, i, o.sa).assumingMemoryBound(to: Double.self), m,
                              o.at(o.b, i, o.sb).assumingMemoryBound(to: Double.self), k, 0, o.at(o.c, i, o.sc).assumingMemoryBound(to: Double.self), m)
        }
    }

    /// A peer's call on `o`'s problem `i` (into the reference C).
    func peerRun(_ p: GemmPeer, _ o: Batch, _ i: Int = 0) {
        if o.dtype == .f32 {
            p.gemm(o.shape, o.at(o.a, i, o.sa).assumingMemoryBound(to: Float.self), o.at(o.b, i, o.sb).assumingMemoryBound(to: Float.self),
                   o.at(o.cRef, i, o.sc).assumingMemoryBound(to: Float.self))
        } else {
            p.gemm(o.shape, o.at(o.a, i, o.sa).assumingMemoryBound(to: Double.self), o.at(o.b, i, o.sb).assumingMemoryBound(to: Double.self),
                   o.at(o.cRef, i, o.sc).assumingMemoryBound(to: Double.self))
        }
    }

    private func setThreads(_ t: Int) {
        library.setNumThreads(t)
        openblas_set_num_threads(Int32(t))
        for p in peers { p.setThreads(t) }
    }

    /// Named operations timed round-robin; GFLOPS of each (median) and the widest spread.
    private func time(_ ops: [(String, () -> Void)], flops: Double) -> (gflops: [String: Double], spread: Double) {
        let stats = timer.compareAll(ops.map(\.1))
        return (Dictionary(uniqueKeysWithValues: zip(ops.map(\.0), stats.map { flops / $0.median / 1e9 })), stats.map(\.spread).max() ?? 0)
    }

    /// One small shape on one thread.
    public func small(_ dtype: DType, _ shape: GemmShape) -> SmallGemmRow? {
        setThreads(1)
        let o = Batch(dtype, shape, count: 1)
        guard let plan = planRun(o) else { return nil }
        defer { plan.destroy() }
        plan.run()
        if let ob = peers.first(where: { $0.name == "OpenBLAS" }) { peerRun(ob, o) }
        let err = o.relativeError()
        var ops: [(String, () -> Void)] = [("plan", plan.run), ("call", { callRun(o) })]
        ops += peers.map { p in (p.name, { peerRun(p, o) }) }
        if let x = xsmm, let kern = x.kernel(dtype, shape) { ops.append((x.name, { x.run(kern, dtype, o.a, o.b, o.cRef) })) }
        let (g, spread) = time(ops, flops: shape.flops)
        var peerG = g
        peerG["plan"] = nil; peerG["call"] = nil
        let best = peerG.max { $0.value < $1.value }
        return SmallGemmRow(dtype: dtype, shape: shape, plan: g["plan"]!, call: g["call"]!, peers: peerG, bestPeer: best?.key ?? "none",
                            ratio: g["plan"]! / (best?.value ?? g["plan"]!), spread: spread, relativeError: err)
    }

    /// Nanoseconds per call of a 1 x 1 x 1 product through each entry point.
    public func callCost(_ dtype: DType) -> CallCost? {
        let shape = GemmShape(m: 1, n: 1, k: 1)
        guard let row = small(dtype, shape) else { return nil }
        let ns = { (g: Double) in shape.flops / g }
        return CallCost(dtype: dtype, planNs: ns(row.plan), callNs: ns(row.call), peersNs: row.peers.mapValues(ns))
    }

    /// A strided batch of `count` n x n x n problems on `threads` threads.
    public func batch(_ dtype: DType, n: Int, count: Int, threads: Int) -> BatchRow? {
        setThreads(threads)
        let shape = GemmShape(m: n, n: n, k: n)
        let o = Batch(dtype, shape, count: count)
        let (N, sa, sb, sc, cnt) = (Int64(n), Int64(o.sa), Int64(o.sb), Int64(o.sc), Int64(count))
        let ours: () -> Void
        if dtype == .f32, let f = library.symbol("bt_sgemm_batch_strided", as: KernelLibrary.SGemmBatchStridedFn.self) {
            let (a, b, c) = (UnsafePointer(o.a.assumingMemoryBound(to: Float.self)), UnsafePointer(o.b.assumingMemoryBound(to: Float.self)), o.c.assumingMemoryBound(to: Float.self))
            ours = { _ = f(102, 111, 111, N, N, N, 1, a, N, sa, b, N, sb, 0, c, N, sc, cnt) }
        } else if dtype == .f64, let f = library.symbol("bt_dgemm_batch_strided", as: KernelLibrary.DGemmBatchStridedFn.self) {
            let (a, b, c) = (UnsafePointer(o.a.assumingMemoryBound(to: Double.self)), UnsafePointer(o.b.assumingMemoryBound(to: Double.self)), o.c.assumingMemoryBound(to: Double.self))
            ours = { _ = f(102, 111, 111, N, N, N, 1, a, N, sa, b, N, sb, 0, c, N, sc, cnt) }
        } else { return nil }
        ours()
        if let ob = peers.first(where: { $0.name == "OpenBLAS" }) { for i in 0..<count { peerRun(ob, o, i) } }
        guard o.relativeError() < (dtype == .f32 ? 1e-4 : 1e-12) else { return nil }
        var ops: [(String, () -> Void)] = [("ours", ours)]
        ops += peers.map { p in ("\(p.name) loop", { for i in 0..<count { peerRun(p, o, i) } }) }
        if let mkl = mklBatchStrided(dtype, o) { ops.append(("MKL batch", mkl)) }
        if threads == 1, let x = xsmm, let kern = x.kernel(dtype, shape) {
            ops.append(("libxsmm loop", { for i in 0..<count { x.run(kern, dtype, o.at(o.a, i, o.sa), o.at(o.b, i, o.sb), o.at(o.cRef, i, o.sc)) } }))
        }
        let (g, spread) = time(ops, flops: shape.flops * Double(count))
        var peerG = g
        peerG["ours"] = nil
        return BatchRow(dtype: dtype, n: n, batch: count, threads: threads, ours: g["ours"]!, peers: peerG, spread: spread)
    }

    /// MKL's `cblas_?gemm_batch_strided` on the batch, when MKL is loaded.
    private func mklBatchStrided(_ dtype: DType, _ o: Batch) -> (() -> Void)? {
        guard peers.contains(where: { $0.name == "MKL" }), let path = SparsePeers.locate(["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"]),
              let h = dlopen(path, RTLD_NOW | RTLD_NOLOAD) else { return nil }
        let (n, sa, sb, sc, cnt) = (Int32(o.shape.m), Int32(o.sa), Int32(o.sb), Int32(o.sc), Int32(o.count))
        typealias SFn = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafeRawPointer, Int32, Int32, UnsafeRawPointer, Int32, Int32, Float, UnsafeMutableRawPointer, Int32, Int32, Int32) -> Void
        typealias DFn = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafeRawPointer, Int32, Int32, UnsafeRawPointer, Int32, Int32, Double, UnsafeMutableRawPointer, Int32, Int32, Int32) -> Void
        if dtype == .f32, let s = dlsym(h, "cblas_sgemm_batch_strided") {
            let f = unsafeBitCast(s, to: SFn.self)
            return { f(102, 111, 111, n, n, n, 1, o.a, n, sa, o.b, n, sb, 0, o.cRef, n, sc, cnt) }
        }
        if dtype == .f64, let s = dlsym(h, "cblas_dgemm_batch_strided") {
            let f = unsafeBitCast(s, to: DFn.self)
            return { f(102, 111, 111, n, n, n, 1, o.a, n, sa, o.b, n, sb, 0, o.cRef, n, sc, cnt) }
        }
        return nil
    }

    /// The small shapes of the bar: cubes 8 to 120 and 33 x 65 x 17.
    public static let smallShapes: [GemmShape] = [8, 16, 23, 32, 50, 64, 96, 120].map { GemmShape(m: $0, n: $0, k: $0) } + [GemmShape(m: 33, n: 65, k: 17)]
    /// The batches of the bar: 10,000 problems at 8, 16 and 32, 1,000 at 64.
    public static let batches: [(n: Int, count: Int)] = [(8, 10_000), (16, 10_000), (32, 10_000), (64, 1_000)]
}
