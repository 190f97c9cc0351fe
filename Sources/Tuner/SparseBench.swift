import Foundation
import KernelSpec
import MicroKernels
import SparseCSR

/// The sparse operations blastune generates.
public enum SparseOp: String, Codable, CaseIterable, Sendable {
    case spmv, transpose
    /// SpMM (`bt_?csr_spmm`, row-major X and Y of k columns): benchmarked, its register
    /// block moved with the SpMV spec rather than searched on its own.
    case spmm

    /// The operations `search` tunes (SpMM's block moves with the SpMV spec).
    public static let searched: [SparseOp] = [.spmv, .transpose]
}

/// One peer's timing of a sparse benchmark.
public struct PeerTiming: Codable, Hashable, Sendable {
    public var seconds: Double
    public var spread: Double
    public var gbps: Double
    /// Peer time over ours (> 1: we are faster).
    public var ratio: Double
    /// How it was measured, when it differs from ours (for example in another process).
    public var note: String?
}

/// One sparse benchmark: our kernel and the peers on one matrix, dtype and thread count.
public struct SparseBenchRow: Codable, Sendable {
    public var op: SparseOp
    public var matrix: String
    public var matrixClass: SparseClass
    public var dtype: DType
    public var threads: Int
    public var nrows: Int64
    public var ncols: Int64
    public var nnz: Int64
    /// SpMM only: the columns of X and Y.
    public var k: Int?
    /// Minimum bytes one call moves (see ``SparseBench/minimumBytes(op:nrows:ncols:nnz:dtype:)``).
    public var bytes: Double
    public var ours: TimingStats
    public var oursGBps: Double
    /// Our GB/s over the measured read bandwidth at this thread count.
    public var fractionOfBandwidth: Double
    /// Transpose only: ours with the output mapped and unmapped in every call, as the peers
    /// allocate theirs (their times include it), with the page advice that measured faster
    /// here (`freshPages`); ratios to the peers use this.
    public var oursFreshOutput: TimingStats?
    /// SpMV only: ours through the int32 entry point (`bt_?csr_spmv_i32`) on 32-bit copies of
    /// the index arrays, when they fit.
    public var oursInt32: TimingStats?
    /// SpMV only: ours through a plan (`bt_?csr_plan`, no byte cap) on the 64-bit arrays, and
    /// the form of column indices it kept ("runs", "16-bit deltas", "32-bit", "64-bit").
    public var oursPlan: TimingStats?
    public var planFormat: String?
    /// The bytes a plan call moves at least: values, row pointers, x and y as a plain call,
    /// and the column form the plan keeps instead of the 64-bit indices.
    public var planBytes: Double?
    /// Transpose only: which pages the fresh output had: "2 MiB advised" (MADV_HUGEPAGE, as
    /// numpy maps large arrays) or "4 KiB" (no advice), whichever was faster in this run.
    public var freshPages: String?
    /// Transpose only: the floor of a fresh output, one plain first write (memset) of a fresh
    /// mapping of the output's size with the same advice, timed in the same run.
    public var freshWriteFloor: TimingStats?
    /// Transpose only: peak extra memory of one call beyond its inputs and outputs.
    public var extraBytes: Int64?
    public var outputBytes: Int64?
    public var peers: [String: PeerTiming]
}

/// Times a library's sparse kernels against the peers installed here, interleaved in one
/// process (scipy, when present, in a python3 process of its own).
public struct SparseBench {
    public let library: KernelLibrary
    public let peers: SparsePeers?
    public var timer: InterleavedTimer
    /// Measured read bandwidth (GB/s) by thread count.
    public var bandwidth: [Int: Double]
    public var useScipy: Bool

    public init(library: KernelLibrary, peers: SparsePeers?, bandwidth: [Int: Double], useScipy: Bool = true,
                timer: InterleavedTimer = InterleavedTimer(sampleSeconds: 0.1, samples: 5, maxSamples: 11, targetSpread: 0.05)) {
        self.library = library; self.peers = peers; self.bandwidth = bandwidth; self.useScipy = useScipy; self.timer = timer
    }

    /// Bytes a call must move at least: SpMV reads the values, column indices, row pointers
    /// and x once and writes y (beta = 0); transpose reads A and writes A^T.
    /// SpMM reads X and writes Y of `k` columns once.
    public static func minimumBytes(op: SparseOp, nrows: Int64, ncols: Int64, nnz: Int64, dtype: DType, k: Int = 1) -> Double {
        let v = Double(dtype.size), nz = Double(nnz), m = Double(nrows), n = Double(ncols)
        switch op {
        case .spmv: return nz * (8 + v) + (m + 1) * 8 + m * v + n * v
        case .spmm: return nz * (8 + v) + (m + 1) * 8 + Double(k) * (m * v + n * v)
        case .transpose: return 2 * nz * (8 + v) + (m + 1) * 8 + (n + 1) * 8
        }
    }

    /// One benchmark row; `k`: SpMM's columns.
    public func run<T: CSRScalar>(_ op: SparseOp, _ a: CSRMatrix<T>, name: String, threads: Int, k: Int = 8) throws -> SparseBenchRow {
        let dtype: DType = T.self == Float.self ? .f32 : .f64
        library.setNumThreads(threads)
        peers?.setMKLThreads(threads)
        defer { library.setNumThreads(0) }
        let bytes = Self.minimumBytes(op: op, nrows: a.nrows, ncols: a.ncols, nnz: a.nnz, dtype: dtype, k: k)
        let va = a.values ?? [T](repeating: 1, count: a.colIdx.count)
        var row = SparseBenchRow(op: op, matrix: name, matrixClass: SparseClass.of(nrows: a.nrows, ncols: a.ncols, nnz: a.nnz),
                                 dtype: dtype, threads: threads, nrows: a.nrows, ncols: a.ncols, nnz: a.nnz, bytes: bytes,
                                 ours: TimingStats([0]), oursGBps: 0, fractionOfBandwidth: 0, peers: [:])
        if op == .spmm { row.k = k }
        // 32-bit copies of the index arrays when they fit (ours through _i32, MKL through LP64).
        let fits32 = a.nnz <= Int64(Int32.max) && a.ncols <= Int64(Int32.max)
        // Buffers of their own: the timed closures hold raw pointers, which would not keep
        // Swift arrays alive.
        let rp32 = UnsafeMutableBufferPointer<Int32>.allocate(capacity: fits32 ? a.rowPtr.count : 0)
        let ci32 = UnsafeMutableBufferPointer<Int32>.allocate(capacity: fits32 ? max(a.colIdx.count, 1) : 0)
        defer { rp32.deallocate(); ci32.deallocate() }
        if fits32 {
            for (i, v) in a.rowPtr.enumerated() { rp32[i] = Int32(truncatingIfNeeded: v) }
            for (i, v) in a.colIdx.enumerated() { ci32[i] = Int32(truncatingIfNeeded: v) }
        }
        let (r32, c32) = (UnsafeRawPointer(rp32.baseAddress), UnsafeRawPointer(ci32.baseAddress))
        var plan: CSRPlan<T>?
        var names: [String] = [], ops: [() -> Void] = []
        var cleanup: [() -> Void] = []
        defer { cleanup.forEach { $0() } }
        try a.rowPtr.withUnsafeBufferPointer { rp in
            try a.colIdx.withUnsafeBufferPointer { ci in
                try va.withUnsafeBufferPointer { vp in
                    let (m, n) = (a.nrows, a.ncols)
                    let rpp = rp.baseAddress, cip = ci.baseAddress
                    let vraw = UnsafeRawPointer(vp.baseAddress)
                    let vd = vraw?.assumingMemoryBound(to: Double.self), vf = vraw?.assumingMemoryBound(to: Float.self)
                    let lib = library
                    switch op {
                    case .spmv:
                        let x = UnsafeMutableRawPointer.allocate(byteCount: Int(max(n, 1)) * 8, alignment: 64)
                        let y = UnsafeMutableRawPointer.allocate(byteCount: Int(max(m, 1)) * 8, alignment: 64)
                        cleanup.append { x.deallocate(); y.deallocate() }
                        for j in 0..<Int(n) { dtype == .f32 ? x.storeBytes(of: Float(j % 7) - 3, toByteOffset: j * 4, as: Float.self)
                                                            : x.storeBytes(of: Double(j % 7) - 3, toByteOffset: j * 8, as: Double.self) }
                        let (xf, xd) = (UnsafePointer(x.assumingMemoryBound(to: Float.self)), UnsafePointer(x.assumingMemoryBound(to: Double.self)))
                        let (yf, yd) = (y.assumingMemoryBound(to: Float.self), y.assumingMemoryBound(to: Double.self))
                        var status: Int32 = 0
                        names.append("ours")
                        ops.append(dtype == .f32 ? { status |= lib.scsrSpmv(m, n, rpp, cip, vf, 1, xf, 0, yf) }
                                                 : { status |= lib.dcsrSpmv(m, n, rpp, cip, vd, 1, xd, 0, yd) })
                        ops[0]()
                        guard status == 0 else { throw KernelStatusError(function: "csr_spmv", status: status, message: lib.strerror(status)) }
                        if fits32 {
                            if dtype == .f32, let f = lib.symbol("bt_scsr_spmv_i32", as: KernelLibrary.SCSRSpmvAny.self) {
                                names.append("ours, int32 indices")
                                ops.append { status |= f(m, n, r32, c32, vf, 1, xf, 0, yf) }
                            } else if dtype == .f64, let f = lib.symbol("bt_dcsr_spmv_i32", as: KernelLibrary.DCSRSpmvAny.self) {
                                names.append("ours, int32 indices")
                                ops.append { status |= f(m, n, r32, c32, vd, 1, xd, 0, yd) }
                            }
                        }
                        if let pl = try? CSRPlan(a, using: lib) {
                            plan = pl
                            let h = pl.handle
                            if dtype == .f32, let f = lib.symbol("bt_scsr_plan_spmv", as: CSRPlan<Float>.SSpmvFn.self) {
                                names.append("ours, plan")
                                ops.append { status |= f(h, 1, xf, 0, yf) }
                            } else if dtype == .f64, let f = lib.symbol("bt_dcsr_plan_spmv", as: CSRPlan<Double>.DSpmvFn.self) {
                                names.append("ours, plan")
                                ops.append { status |= f(h, 1, xd, 0, yd) }
                            }
                        }
                        // MKL's optimized handles: LP64 on the 32-bit arrays (its best: 4-byte
                        // indices), ILP64 on the 64-bit ones.
                        for (peer, wide) in [("MKL", false), ("MKL ILP64", true)] where wide || fits32 {
                            guard let p = peers, p.mklPath != nil,
                                  let h = wide ? p.mklCreate(m, n, rpp, cip, vraw, dtype == .f64 ? 1 : 0, 1, 0, 0)
                                               : p.mklCreate(m, n, r32, c32,
                                                             vraw, dtype == .f64 ? 1 : 0, 1, 0, 1) else { continue }
                            let y2 = UnsafeMutableRawPointer.allocate(byteCount: Int(max(m, 1)) * 8, alignment: 64)
                            cleanup.append { p.mklDestroy(h); y2.deallocate() }
                            names.append(peer)
                            ops.append { _ = p.mklMv(h, dtype == .f64 ? 1 : 0, 1, UnsafeRawPointer(x), 0, y2) }
                        }
                        if let p = peers, p.csparsePath != nil, dtype == .f64, threads == 1, let csc = p.csCsc(m, n, rpp, cip, vd) {
                            let y2 = UnsafeMutablePointer<Double>.allocate(capacity: Int(max(m, 1)))
                            y2.initialize(repeating: 0, count: Int(max(m, 1)))
                            cleanup.append { p.csFree(csc); y2.deallocate() }
                            names.append("CSparse")
                            ops.append { _ = p.csGaxpy(csc, xd, y2) }
                        }
                    case .spmm:
                        // Row-major X (ncols x k) and Y (nrows x k), tight leading dimensions.
                        let vs = Int(dtype.size), kk = Int64(k)
                        let x = UnsafeMutableRawPointer.allocate(byteCount: Int(max(n * kk, 1)) * vs, alignment: 64)
                        let y = UnsafeMutableRawPointer.allocate(byteCount: Int(max(m * kk, 1)) * vs, alignment: 64)
                        let y2 = UnsafeMutableRawPointer.allocate(byteCount: Int(max(m * kk, 1)) * vs, alignment: 64)
                        cleanup.append { x.deallocate(); y.deallocate(); y2.deallocate() }
                        for j in 0..<Int(n * kk) { dtype == .f32 ? x.storeBytes(of: Float(j % 7) - 3, toByteOffset: j * 4, as: Float.self)
                                                                 : x.storeBytes(of: Double(j % 7) - 3, toByteOffset: j * 8, as: Double.self) }
                        var status: Int32 = 0
                        guard let sf = lib.symbol("bt_scsr_spmm", as: KernelLibrary.SCSRSpmm.self),
                              let df = lib.symbol("bt_dcsr_spmm", as: KernelLibrary.DCSRSpmm.self) else {
                            throw KernelStatusError(function: "csr_spmm", status: -1, message: "not in this library")
                        }
                        names.append("ours")
                        ops.append(dtype == .f32
                            ? { status |= sf(101, m, n, kk, rpp, cip, vf, 1, UnsafePointer(x.assumingMemoryBound(to: Float.self)), kk, 0, y.assumingMemoryBound(to: Float.self), kk) }
                            : { status |= df(101, m, n, kk, rpp, cip, vd, 1, UnsafePointer(x.assumingMemoryBound(to: Double.self)), kk, 0, y.assumingMemoryBound(to: Double.self), kk) })
                        ops[0]()
                        guard status == 0 else { throw KernelStatusError(function: "csr_spmm", status: status, message: lib.strerror(status)) }
                        for (peer, wide) in [("MKL", false), ("MKL ILP64", true)] where wide || fits32 {
                            guard let p = peers, p.mklPath != nil,
                                  let h = wide ? p.mklCreate(m, n, rpp, cip, vraw, dtype == .f64 ? 1 : 0, kk, 101, 0)
                                               : p.mklCreate(m, n, r32, c32,
                                                             vraw, dtype == .f64 ? 1 : 0, kk, 101, 1) else { continue }
                            cleanup.append { p.mklDestroy(h) }
                            names.append(peer)
                            ops.append { _ = p.mklMm(h, dtype == .f64 ? 1 : 0, 101, kk, 1, UnsafeRawPointer(x), kk, 0, y2, kk) }
                        }
                    case .transpose:
                        let nz = Int(a.nnz), vs = Int(dtype.size)
                        let trp = UnsafeMutablePointer<Int64>.allocate(capacity: Int(n) + 1)
                        let tci = UnsafeMutablePointer<Int64>.allocate(capacity: max(nz, 1))
                        let tv = UnsafeMutableRawPointer.allocate(byteCount: max(nz, 1) * vs, alignment: 64)
                        trp.initialize(repeating: 0, count: Int(n) + 1); tci.initialize(repeating: 0, count: max(nz, 1))
                        memset(tv, 0, max(nz, 1) * vs)
                        cleanup.append { trp.deallocate(); tci.deallocate(); tv.deallocate() }
                        var status: Int32 = 0
                        let call: (UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>, UnsafeMutableRawPointer) -> Int32 = dtype == .f32
                            ? { lib.scsrTranspose(m, n, rpp, cip, vf, $0, $1, $2.assumingMemoryBound(to: Float.self)) }
                            : { lib.dcsrTranspose(m, n, rpp, cip, vd, $0, $1, $2.assumingMemoryBound(to: Double.self)) }
                        names.append("ours")
                        ops.append { status |= call(trp, tci, tv) }
                        row.extraBytes = ProcessMemory.extra { ops[0]() }
                        row.outputBytes = Int64(n + 1) * 8 + Int64(nz) * Int64(8 + vs)
                        guard status == 0 else { throw KernelStatusError(function: "csr_transpose", status: status, message: lib.strerror(status)) }
                        // Fresh outputs, mapped per call, with and without the advice of 2 MiB pages,
                        // and the floor of each: one plain first write of a fresh mapping that size.
                        let outBytes = (Int(n) + 1) * 8 + max(nz, 1) * (8 + vs)
                        for huge in [true, false] {
                            names.append("ours, fresh output, \(huge ? "2 MiB advised" : "4 KiB")")
                            ops.append {
                                guard let r2 = try? LazyMemory(bytes: (Int(n) + 1) * 8, hugePages: huge), let c2 = try? LazyMemory(bytes: max(nz, 1) * 8, hugePages: huge),
                                      let v2 = try? LazyMemory(bytes: max(nz, 1) * vs, hugePages: huge) else { status = 3; return }
                                status |= call(r2.pointer(), c2.pointer(), v2.base)
                            }
                            names.append("ours, floor, \(huge ? "2 MiB advised" : "4 KiB")")
                            ops.append {
                                guard let f = try? LazyMemory(bytes: outBytes, hugePages: huge) else { status = 3; return }
                                memset(f.base, 1, outBytes)
                            }
                        }
                        if let p = peers, p.mklPath != nil, let h = p.mklCreate(m, n, rpp, cip, vraw, dtype == .f64 ? 1 : 0, 0, 0, 0) {
                            cleanup.append { p.mklDestroy(h) }
                            names.append("MKL")
                            ops.append { _ = p.mklTranspose(h) }
                        }
                        if let p = peers, p.csparsePath != nil, dtype == .f64, threads == 1 {
                            names.append("CSparse")
                            ops.append { _ = p.csTranspose(m, n, rpp, cip, vd, 1) }
                        }
                    }
                }
            }
        }
        let stats = timer.compareAll(ops)
        row.ours = stats[0]
        row.oursGBps = bytes / stats[0].median / 1e9
        row.fractionOfBandwidth = row.oursGBps / (bandwidth[threads] ?? .infinity)
        var base = stats[0].median
        if op == .spmv, let i = names.firstIndex(of: "ours, int32 indices") { row.oursInt32 = stats[i] }
        if op == .spmv, let i = names.firstIndex(of: "ours, plan") {
            row.oursPlan = stats[i]
            row.planFormat = plan.flatMap { $0.format }.map {
                [.runs: "runs", .delta16: "16-bit deltas", .index32: "32-bit", .index64: "64-bit", .diagonals: "diagonals", .slices: "slices"][$0]!
            }
            if let pl = plan {
                // What the plan's form moves in place of the caller's column indices (by
                // diagonals: in place of the values and row pointers too).
                let columns = pl.format == .index64 ? Double(a.nnz) * 8 : Double(pl.bytes)
                let replaced = pl.format == .diagonals || pl.format == .slices ? Double(a.nnz) * Double(8 + dtype.size) + Double(a.nrows + 1) * 8 : Double(a.nnz) * 8
                row.planBytes = bytes - replaced + columns
            }
        }
        withExtendedLifetime(plan) {}
        if op == .transpose {
            // names[1...4]: fresh and floor with 2 MiB pages advised, then with 4 KiB pages.
            let huge = stats[1].median <= stats[3].median
            row.oursFreshOutput = huge ? stats[1] : stats[3]
            row.freshWriteFloor = huge ? stats[2] : stats[4]
            row.freshPages = huge ? "2 MiB advised" : "4 KiB"
            base = row.oursFreshOutput!.median
        }
        for (i, name) in names.enumerated() where name != "ours" && !name.hasPrefix("ours,") {
            row.peers[name] = PeerTiming(seconds: stats[i].median, spread: stats[i].spread, gbps: bytes / stats[i].median / 1e9,
                                         ratio: stats[i].median / base,
                                         note: name == "CSparse" && op == .spmv ? "cs_dl_gaxpy on the CSC form"
                                             : name == "MKL" ? "LP64 handle on int32 arrays, optimized" : name == "MKL ILP64" ? "ILP64 handle on int64 arrays, optimized" : nil)
        }
        if useScipy, threads == 1, op != .spmm, let s = try? ScipyPeer.time(op, a) {
            row.peers["scipy"] = PeerTiming(seconds: s.median, spread: s.spread, gbps: bytes / s.median / 1e9, ratio: s.median / base,
                                            note: "python3 process of its own, not interleaved; its index width as scipy chooses")
        }
        return row
    }
}

/// scipy.sparse timed in a python3 process on the same arrays (written to a temporary folder).
enum ScipyPeer {
    static let script = """
        import json, sys, time
        import numpy as np
        import scipy.sparse as sp
        d, m, n, dt, op = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
        rp = np.fromfile(d + "/rp", dtype=np.int64); ci = np.fromfile(d + "/ci", dtype=np.int64)
        va = np.fromfile(d + "/va", dtype=np.float32 if dt == "f32" else np.float64)
        a = sp.csr_matrix((va, ci, rp), shape=(m, n))
        x = np.ones(n, dtype=va.dtype)
        f = (lambda: a @ x) if op == "spmv" else (lambda: a.tocsc())
        f()
        reps, t0 = 1, time.perf_counter(); f(); one = time.perf_counter() - t0
        reps = max(1, int(0.1 / max(one, 1e-9)))
        ts = []
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(reps): f()
            ts.append((time.perf_counter() - t0) / reps)
        print(json.dumps({"times": ts, "index": str(a.indices.dtype)}))
        """

    static func time<T: CSRScalar>(_ op: SparseOp, _ a: CSRMatrix<T>) throws -> TimingStats? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-scipy-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.rowPtr.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("rp")) }
        try a.colIdx.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("ci")) }
        try (a.values ?? [T](repeating: 1, count: a.colIdx.count)).withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("va")) }
        let py = dir.appendingPathComponent("peer.py")
        try script.write(to: py, atomically: true, encoding: .utf8)
        let r = try runCommand(["python3", py.path, dir.path, "\(a.nrows)", "\(a.ncols)", T.self == Float.self ? "f32" : "f64", op.rawValue])
        guard r.status == 0, let line = r.output.split(separator: "\n").last,
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let times = obj["times"] as? [Double] else { return nil }
        return TimingStats(times)
    }
}
