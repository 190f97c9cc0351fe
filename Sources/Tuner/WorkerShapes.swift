import COpenBLAS
import Foundation
import KernelSpec

/// Column-major operands of one exact shape (tight leading dimensions, the shape's
/// transposes), random in [-0.5, 0.5), with a C for the candidate and one for the peers.
final class ExactShapeOperands {
    let dtype: DType
    let dims: (m: Int, n: Int, k: Int, transA: Bool, transB: Bool)
    let lda: Int, ldb: Int, ldc: Int
    let a: UnsafeMutableRawPointer, b: UnsafeMutableRawPointer, c: UnsafeMutableRawPointer, cPeer: UnsafeMutableRawPointer
    var cCount: Int { dims.m * dims.n }

    init(_ dtype: DType, _ shape: GemmShapeKey) {
        self.dtype = dtype
        dims = shape.columnMajor
        lda = dims.transA ? dims.k : dims.m
        ldb = dims.transB ? dims.n : dims.k
        ldc = dims.m
        var rng = SplitMix64(seed: shape.dispatchKey)
        func make(_ count: Int) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: count * Int(dtype.size), alignment: 64)
            for i in 0..<count {
                let v = rng.nextUnit() - 0.5
                if dtype == .f32 { p.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self) } else { p.storeBytes(of: v, toByteOffset: i * 8, as: Double.self) }
            }
            return p
        }
        a = make(dims.m * dims.k); b = make(dims.k * dims.n); c = make(dims.m * dims.n); cPeer = make(dims.m * dims.n)
    }

    deinit { a.deallocate(); b.deallocate(); c.deallocate(); cPeer.deallocate() }

    /// OpenBLAS's C = A B (alpha 1, beta 0) into `cPeer`.
    func openblas() {
        let (m, n, k) = (Int32(dims.m), Int32(dims.n), Int32(dims.k))
        let ta = dims.transA ? CblasTrans : CblasNoTrans, tb = dims.transB ? CblasTrans : CblasNoTrans
        if dtype == .f32 {
            cblas_sgemm(CblasColMajor, ta, tb, m, n, k, 1, a.assumingMemoryBound(to: Float.self), Int32(lda),
                        b.assumingMemoryBound(to: Float.self), Int32(ldb), 0, cPeer.assumingMemoryBound(to: Float.self), Int32(ldc))
        } else {
            cblas_dgemm(CblasColMajor, ta, tb, m, n, k, 1, a.assumingMemoryBound(to: Double.self), Int32(lda),
                        b.assumingMemoryBound(to: Double.self), Int32(ldb), 0, cPeer.assumingMemoryBound(to: Double.self), Int32(ldc))
        }
    }

    /// Largest |C - C_peer| over the bound k * eps * max|C_peer| (<= 1: right).
    func errorOverBound() -> Double {
        var diff = 0.0, scale = 0.0
        for i in 0..<cCount {
            let x = dtype == .f32 ? Double(c.load(fromByteOffset: i * 4, as: Float.self)) : c.load(fromByteOffset: i * 8, as: Double.self)
            let y = dtype == .f32 ? Double(cPeer.load(fromByteOffset: i * 4, as: Float.self)) : cPeer.load(fromByteOffset: i * 8, as: Double.self)
            if !x.isFinite { return .infinity }
            diff = max(diff, abs(x - y)); scale = max(scale, abs(y))
        }
        let eps = dtype == .f32 ? Double(Float.ulpOfOne) : Double.ulpOfOne
        return diff / (4 * Double(dims.k + 2) * eps * max(scale, 1e-30))
    }
}

extension WorkerService {
    /// Checks and times the exact-shape candidates of a `shapes` request with every peer.
    func shapes(_ req: WorkerRequest) -> WorkerResponse {
        guard let shape = req.exactShape else { return WorkerResponse(error: "shapes request without a shape") }
        guard let h = dlopen(req.library, RTLD_NOW | RTLD_LOCAL) else {
            return WorkerResponse(error: "cannot load \(req.library): \(dlerror().map { String(cString: $0) } ?? "")")
        }
        openblas_set_num_threads(1)
        let peers = GemmPeer.discover()
        for p in peers { p.setThreads(1) }
        let o = ExactShapeOperands(req.dtype, shape)
        o.openblas()
        typealias SFn = @convention(c) (Float, UnsafeRawPointer, Int64, UnsafeRawPointer, Int64, Float, UnsafeMutableRawPointer, Int64) -> Int32
        typealias DFn = @convention(c) (Double, UnsafeRawPointer, Int64, UnsafeRawPointer, Int64, Double, UnsafeMutableRawPointer, Int64) -> Int32
        var runs: [() -> Void] = []
        var usable: [Int] = []
        var failures = [String?](repeating: nil, count: req.candidates)
        let (lda, ldb, ldc) = (Int64(o.lda), Int64(o.ldb), Int64(o.ldc))
        for i in 0..<req.candidates {
            guard let sym = dlsym(h, "bt_shapecand_\(i)") else { failures[i] = "missing bt_shapecand_\(i)"; continue }
            let run: () -> Void
            if req.dtype == .f32 {
                let f = unsafeBitCast(sym, to: SFn.self)
                run = { _ = f(1, o.a, lda, o.b, ldb, 0, o.c, ldc) }
            } else {
                let f = unsafeBitCast(sym, to: DFn.self)
                run = { _ = f(1, o.a, lda, o.b, ldb, 0, o.c, ldc) }
            }
            memset(o.c, 0xFF, o.cCount * Int(req.dtype.size)) // NaN: beta 0 must not read C
            run()
            let e = o.errorOverBound()
            if !(e <= 1) { failures[i] = "error \(e) times the bound against OpenBLAS"; continue }
            runs.append(run); usable.append(i)
        }
        var names: [String] = []
        let dims = o.dims
        let plain = GemmShape(m: dims.m, n: dims.n, k: dims.k)
        runs.append(o.openblas); names.append("OpenBLAS")
        if !dims.transA && !dims.transB {
            for p in peers where p.name != "OpenBLAS" {
                if req.dtype == .f32 {
                    runs.append { p.gemm(plain, o.a.assumingMemoryBound(to: Float.self), o.b.assumingMemoryBound(to: Float.self), o.cPeer.assumingMemoryBound(to: Float.self)) }
                } else {
                    runs.append { p.gemm(plain, o.a.assumingMemoryBound(to: Double.self), o.b.assumingMemoryBound(to: Double.self), o.cPeer.assumingMemoryBound(to: Double.self)) }
                }
                names.append(p.name)
            }
            if let x = XsmmPeer.load(), let kern = x.kernel(req.dtype, plain) {
                runs.append { x.run(kern, req.dtype, o.a, o.b, o.cPeer) }
                names.append(x.name)
            }
        }
        let stats = req.timer.timer.compareAll(runs)
        var out = WorkerResponse()
        out.candidateGflops = [Double](repeating: 0, count: req.candidates)
        for (j, i) in usable.enumerated() { out.candidateGflops[i] = plain.flops / stats[j].median / 1e9 }
        for (j, name) in names.enumerated() { out.namedPeerGflops[name] = plain.flops / stats[usable.count + j].median / 1e9 }
        out.candidateFailures = failures
        return out
    }
}
