import Foundation
import COpenBLAS
import KernelSpec
import MicroKernels

/// OpenBLAS's configuration string (version, build options, core it picked).
public func openblasConfig() -> String {
    openblas_get_config().map { String(cString: $0) } ?? "unknown"
}

/// A GEMM problem size (column-major, no transposes).
public struct GemmShape: Codable, Hashable, Sendable, CustomStringConvertible {
    public var m: Int
    public var n: Int
    public var k: Int
    public init(m: Int, n: Int, k: Int) { self.m = m; self.n = n; self.k = k }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    public var description: String { "\(m)x\(n)x\(k)" }
}

/// One benchmark measurement: ours against OpenBLAS on one shape.
public struct GemmBenchResult: Codable, Hashable, Sendable {
    public var dtype: DType
    public var shape: GemmShape
    public var threads: Int
    public var ours: TimingStats
    public var peer: TimingStats
    public var oursGflops: Double
    public var peerGflops: Double
    /// Peer time over our time (> 1: we are faster).
    public var ratio: Double
    /// The FMA peak for this dtype and thread count: the fastest of its samples timed in the
    /// same rounds as the two GEMMs.
    public var peakGflops: Double
    /// Our GFLOPS over that peak.
    public var fractionOfPeak: Double
    public var peerFractionOfPeak: Double
    /// Largest |ours - OpenBLAS| over max |OpenBLAS| on the checked run.
    public var relativeError: Double
}

/// Times a loaded library's GEMM against OpenBLAS on the same operands, interleaved.
public struct GemmBench {
    public let library: KernelLibrary
    public var timer: InterleavedTimer

    public init(library: KernelLibrary, timer: InterleavedTimer = InterleavedTimer()) {
        self.library = library
        self.timer = timer
    }

    /// Sets the thread count of both libraries.
    public func setThreads(_ threads: Int) {
        library.setNumThreads(threads)
        openblas_set_num_threads(Int32(threads))
    }

    /// Measures one shape: ours, OpenBLAS and `peak` (one run of the FMA probe for this
    /// dtype and thread count, with its flops) round-robin.
    public func run(dtype: DType, shape: GemmShape, threads: Int, peak: (run: () -> Void, flops: Double)) -> GemmBenchResult {
        setThreads(threads)
        let pair = GemmPair(dtype: dtype, shape: shape)
        defer { pair.free() }
        let lib = library
        _ = pair.ours(lib)
        pair.openblas()
        let err = pair.relativeError()
        let stats = timer.compareAll([{ _ = pair.ours(lib) }, { pair.openblas() }, peak.run])
        let (ours, peer) = (stats[0], stats[1])
        let og = shape.flops / ours.median / 1e9, pg = shape.flops / peer.median / 1e9
        // The fastest probe sample: a disturbance (another runtime's threads still spinning
        // on the second core, a neighbour) only slows it, and a higher peak is the stricter one.
        let pk = peak.flops / stats[2].min / 1e9
        return GemmBenchResult(dtype: dtype, shape: shape, threads: threads, ours: ours, peer: peer,
                               oursGflops: og, peerGflops: pg, ratio: peer.median / ours.median, peakGflops: pk,
                               fractionOfPeak: og / pk, peerFractionOfPeak: pg / pk, relativeError: err)
    }
}

/// One column-major GEMM problem (alpha 1, beta 0, no transposes) on shared operands:
/// our library writes C, OpenBLAS writes a reference C, and the two are compared.
public final class GemmPair: @unchecked Sendable {
    public let dtype: DType
    public let shape: GemmShape
    private let f32: Operands<Float>?
    private let f64: Operands<Double>?

    public init(dtype: DType, shape: GemmShape) {
        self.dtype = dtype
        self.shape = shape
        f32 = dtype == .f32 ? Operands<Float>(m: shape.m, n: shape.n, k: shape.k) : nil
        f64 = dtype == .f64 ? Operands<Double>(m: shape.m, n: shape.n, k: shape.k) : nil
    }

    /// Runs our GEMM; returns its status.
    public func ours(_ lib: KernelLibrary) -> Int32 {
        let (m, n, k) = (Int64(shape.m), Int64(shape.n), Int64(shape.k))
        if let o = f32 { return lib.sgemm(102, 111, 111, m, n, k, 1, o.a, m, o.b, k, 0, o.c, m) }
        let o = f64!
        return lib.dgemm(102, 111, 111, m, n, k, 1, o.a, m, o.b, k, 0, o.c, m)
    }

    /// Runs OpenBLAS's GEMM into the reference C.
    public func openblas() {
        let (m, n, k) = (Int32(shape.m), Int32(shape.n), Int32(shape.k))
        if let o = f32 { cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, o.a, m, o.b, k, 0, o.cRef, m); return }
        let o = f64!
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, o.a, m, o.b, k, 0, o.cRef, m)
    }

    /// Fills our C with NaN (a beta = 0 call must overwrite every element).
    public func poisonC() {
        if let o = f32 { for i in 0..<o.cCount { o.c[i] = .nan } }
        if let o = f64 { for i in 0..<o.cCount { o.c[i] = .nan } }
    }

    /// Largest |ours - OpenBLAS| over max |OpenBLAS|.
    public func relativeError() -> Double { f32?.relativeError() ?? f64!.relativeError() }

    /// ||C - Cref||_F and its bound 4 (k + 2) eps ||A||_F ||B||_F.
    public func normwiseError() -> (diff: Double, bound: Double) {
        f32?.normwiseError(eps: Double(Float.ulpOfOne)) ?? f64!.normwiseError(eps: Double.ulpOfOne)
    }

    public func free() { f32?.free(); f64?.free() }
}

/// Column-major operands for one benchmark, filled with reproducible values in [-0.5, 0.5).
struct Operands<T: BinaryFloatingPoint> {
    let a: UnsafeMutablePointer<T>, b: UnsafeMutablePointer<T>, c: UnsafeMutablePointer<T>, cRef: UnsafeMutablePointer<T>
    let cCount: Int, aCount: Int, bCount: Int, k: Int

    init(m: Int, n: Int, k: Int) {
        var rng = SplitMix64(seed: UInt64(m * 31 + n * 17 + k))
        func make(_ count: Int, random: Bool) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
            for i in 0..<count { p[i] = random ? T(rng.nextUnit() - 0.5) : 0 }
            return p
        }
        a = make(m * k, random: true)
        b = make(k * n, random: true)
        c = make(m * n, random: false)
        cRef = make(m * n, random: false)
        cCount = m * n
        aCount = m * k
        bCount = k * n
        self.k = k
    }

    func relativeError() -> Double {
        var diff = 0.0, scale = 0.0
        for i in 0..<cCount {
            diff = max(diff, abs(Double(c[i]) - Double(cRef[i])))
            scale = max(scale, abs(Double(cRef[i])))
        }
        return scale > 0 ? diff / scale : diff
    }

    /// ||C - Cref||_F and its bound 4 (k + 2) eps ||A||_F ||B||_F (the operands were set with alpha 1, beta 0).
    func normwiseError(eps: Double) -> (diff: Double, bound: Double) {
        func frob(_ p: UnsafeMutablePointer<T>, _ count: Int) -> Double {
            var s = 0.0
            for i in 0..<count { s += Double(p[i]) * Double(p[i]) }
            return s.squareRoot()
        }
        var d = 0.0
        for i in 0..<cCount { let x = Double(c[i]) - Double(cRef[i]); d += x * x }
        return (d.squareRoot(), 4 * Double(k + 2) * eps * frob(a, aCount) * frob(b, bCount))
    }

    func free() { a.deallocate(); b.deallocate(); c.deallocate(); cRef.deallocate() }
}

/// A small, fast, reproducible random generator (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// A uniform double in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// Another BLAS found on the machine (BLIS, MKL), timed through its CBLAS GEMM.
public struct ExtraPeer: @unchecked Sendable {
    public let name: String
    public let sgemm: KernelLibrary.CblasSGemm
    public let dgemm: KernelLibrary.CblasDGemm
    /// Sets the peer's thread count, when it has a call for it.
    public let setThreads: (@convention(c) (Int32) -> Void)?

    /// Libraries looked for, by name and shared object (found as SparsePeers.locate finds them).
    public static let candidates: [(name: String, paths: [String], threads: String)] = [
        ("BLIS", ["libblis.so.4", "libblis.so", "libblis-openmp.so.4", "libblis-pthread.so.4"], "bli_thread_set_num_threads"),
        ("MKL", ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"], "MKL_Set_Num_Threads"),
    ]

    /// The peers installed here. Each is loaded with RTLD_DEEPBIND so that its CBLAS layer
    /// calls its own BLAS, not OpenBLAS's symbols of the same names.
    public static func discover() -> [ExtraPeer] {
        candidates.compactMap { c in
            guard let path = SparsePeers.locate(c.paths),
                  let h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND),
                  let s = dlsym(h, "cblas_sgemm"), let d = dlsym(h, "cblas_dgemm") else { return nil }
            if c.name == "MKL", let layer = dlsym(h, "MKL_Set_Threading_Layer") {
                _ = unsafeBitCast(layer, to: (@convention(c) (Int32) -> Int32).self)(1) // GNU OpenMP, shared with ours
            }
            return ExtraPeer(name: c.name, sgemm: unsafeBitCast(s, to: KernelLibrary.CblasSGemm.self),
                             dgemm: unsafeBitCast(d, to: KernelLibrary.CblasDGemm.self),
                             setThreads: dlsym(h, c.threads).map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) })
        }
    }

    /// GFLOPS of this peer on `shape` at `threads` threads (median, after a warm-up).
    public func gflops(dtype: DType, shape: GemmShape, threads: Int, timer: InterleavedTimer) -> Double {
        setThreads?(Int32(threads))
        let (m, n, k) = (Int32(shape.m), Int32(shape.n), Int32(shape.k))
        let stats: TimingStats
        switch dtype {
        case .f32:
            let ops = Operands<Float>(m: shape.m, n: shape.n, k: shape.k)
            defer { ops.free() }
            let f = sgemm
            stats = timer.time { f(102, 111, 111, m, n, k, 1, ops.a, m, ops.b, k, 0, ops.c, m) }
        case .f64:
            let ops = Operands<Double>(m: shape.m, n: shape.n, k: shape.k)
            defer { ops.free() }
            let f = dgemm
            stats = timer.time { f(102, 111, 111, m, n, k, 1, ops.a, m, ops.b, k, 0, ops.c, m) }
        }
        return shape.flops / stats.median / 1e9
    }
}
