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

/// One benchmark measurement: ours against every peer on one shape.
public struct GemmBenchResult: Codable, Hashable, Sendable {
    public var dtype: DType
    public var shape: GemmShape
    public var threads: Int
    public var ours: TimingStats
    /// Each peer's timing, by name.
    public var peers: [String: TimingStats]
    /// The fastest peer on this shape and its timing.
    public var bestPeer: String
    public var peer: TimingStats
    public var oursGflops: Double
    public var peerGflops: Double
    /// The best peer's time over our time (> 1: we are faster).
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

/// Times a loaded library's GEMM against every peer on the same operands, interleaved.
public struct GemmBench {
    public let library: KernelLibrary
    public var timer: InterleavedTimer
    /// The peers timed (OpenBLAS first when installed).
    public let peers: [GemmPeer]

    public init(library: KernelLibrary, timer: InterleavedTimer = InterleavedTimer(), peers: [GemmPeer] = GemmPeer.discover()) {
        self.library = library
        self.timer = timer
        self.peers = peers
    }

    /// Sets the thread count of every library.
    public func setThreads(_ threads: Int) {
        library.setNumThreads(threads)
        openblas_set_num_threads(Int32(threads))
        for p in peers { p.setThreads(threads) }
    }

    /// Measures one shape: ours, each peer and `peak` (one run of the FMA probe for this
    /// dtype and thread count, with its flops) round-robin.
    public func run(dtype: DType, shape: GemmShape, threads: Int, peak: (run: () -> Void, flops: Double)) -> GemmBenchResult {
        setThreads(threads)
        let pair = GemmPair(dtype: dtype, shape: shape)
        defer { pair.free() }
        let lib = library
        _ = pair.ours(lib)
        pair.openblas()
        let err = pair.relativeError()
        let stats = timer.compareAll([{ _ = pair.ours(lib) }] + peers.map { p in { pair.run(p) } } + [peak.run])
        let ours = stats[0]
        let byPeer = Dictionary(uniqueKeysWithValues: zip(peers.map(\.name), stats[1...].prefix(peers.count)))
        let best = byPeer.min { $0.value.median < $1.value.median }
        let peer = best?.value ?? ours
        let og = shape.flops / ours.median / 1e9, pg = shape.flops / peer.median / 1e9
        // The fastest probe sample: a disturbance (another runtime's threads still spinning
        // on the second core, a neighbour) only slows it, and a higher peak is the stricter one.
        let pk = peak.flops / stats[stats.count - 1].min / 1e9
        return GemmBenchResult(dtype: dtype, shape: shape, threads: threads, ours: ours, peers: byPeer, bestPeer: best?.key ?? "none",
                               peer: peer, oursGflops: og, peerGflops: pg, ratio: peer.median / ours.median, peakGflops: pk,
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

    /// Runs `peer`'s GEMM into the reference C (after the check against OpenBLAS).
    public func run(_ peer: GemmPeer) {
        if let o = f32 { peer.gemm(shape, o.a, o.b, o.cRef); return }
        let o = f64!
        peer.gemm(shape, o.a, o.b, o.cRef)
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

    /// ||Cref - A B||_F against a plain loop in double precision, and the bound of ``normwiseError()``:
    /// checks whichever library wrote the reference C.
    public func normwiseErrorOfReference() -> (diff: Double, bound: Double) {
        f32?.referenceError(eps: Double(Float.ulpOfOne), m: shape.m, n: shape.n) ?? f64!.referenceError(eps: Double.ulpOfOne, m: shape.m, n: shape.n)
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

    /// ||Cref - A B||_F with A B summed in double precision by a plain loop, and the bound.
    func referenceError(eps: Double, m: Int, n: Int) -> (diff: Double, bound: Double) {
        var d = 0.0
        for j in 0..<n {
            for i in 0..<m {
                var s = 0.0
                for p in 0..<k { s += Double(a[i + p * m]) * Double(b[p + j * k]) }
                let x = Double(cRef[i + j * m]) - s
                d += x * x
            }
        }
        func frob(_ p: UnsafeMutablePointer<T>, _ count: Int) -> Double {
            (0..<count).reduce(0.0) { $0 + Double(p[$1]) * Double(p[$1]) }.squareRoot()
        }
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
