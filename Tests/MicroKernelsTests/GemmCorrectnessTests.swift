import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

/// One GEMM call to check: sizes, layout, transposes, scalars, padding of the leading dimensions.
struct GemmCase: CustomStringConvertible {
    var m: Int, n: Int, k: Int
    var layout: Int32 = 102, ta: Int32 = 111, tb: Int32 = 111
    var alpha = 1.0, beta = 0.0
    var pad = 0
    /// Fill C with NaN (only meaningful with beta == 0, which must not read C).
    var nanC = false
    var description: String {
        "m=\(m) n=\(n) k=\(k) layout=\(layout) ta=\(ta) tb=\(tb) alpha=\(alpha) beta=\(beta) pad=\(pad) nanC=\(nanC)"
    }
}

/// Storage of an operand: `inner` contiguous elements, `outer` groups `ld` apart.
private struct Storage {
    let inner: Int, outer: Int, ld: Int
    var count: Int { outer * ld }
}

private let guardCount = 32
private let sentinel = 1234.5

/// Runs `c` through our library and OpenBLAS; returns a failure description or nil.
/// The error bound is norm-wise and grows with k: ||C - Cref||_F <= 4 (k + 2) eps (|alpha| ||A||_F ||B||_F + |beta| ||C0||_F).
/// Guard zones around C and the padding between its rows or columns must stay untouched.
func checkGemm<T: GemmScalar>(_ type: T.Type, _ lib: KernelLibrary, _ c: GemmCase, seed: UInt64, viaCBLAS: Bool = false) -> String? {
    let row = c.layout == 101, tA = c.ta != 111, tB = c.tb != 111
    let (ar, ac) = tA ? (c.k, c.m) : (c.m, c.k)     // stored rows x cols of A
    let (br, bc) = tB ? (c.n, c.k) : (c.k, c.n)
    func storage(_ r: Int, _ cols: Int) -> Storage {
        let inner = row ? cols : r, outer = row ? r : cols
        return Storage(inner: inner, outer: outer, ld: max(1, inner) + c.pad)
    }
    let sa = storage(ar, ac), sb = storage(br, bc), sc = storage(c.m, c.n)
    var rng = SplitMix64(seed: seed)
    let a = (0..<sa.count).map { _ in T(rng.nextUnit() - 0.5) }
    let b = (0..<sb.count).map { _ in T(rng.nextUnit() - 0.5) }
    var cbuf = [T](repeating: T(sentinel), count: sc.count + 2 * guardCount)
    for o in 0..<sc.outer { for i in 0..<sc.inner {
        cbuf[guardCount + o * sc.ld + i] = c.nanC ? T.nan : T(rng.nextUnit() * 2 - 1)
    } }
    var ref = cbuf.map { $0.isNaN ? T(0) : $0 }
    let c0 = ref
    let (alpha, beta) = (T(c.alpha), T(c.beta))
    let status: Int32 = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in cbuf.withUnsafeMutableBufferPointer { cp in
        if viaCBLAS {
            T.cblas(lib, c.layout, c.ta, c.tb, Int32(c.m), Int32(c.n), Int32(c.k), alpha, ap.baseAddress, Int32(sa.ld),
                    bp.baseAddress, Int32(sb.ld), beta, cp.baseAddress! + guardCount, Int32(sc.ld))
            return 0
        }
        return T.ours(lib, c.layout, c.ta, c.tb, Int64(c.m), Int64(c.n), Int64(c.k), alpha, ap.baseAddress, Int64(sa.ld),
                      bp.baseAddress, Int64(sb.ld), beta, cp.baseAddress! + guardCount, Int64(sc.ld))
    } } }
    if status != 0 { return "status \(status) for \(c)" }
    if c.m > 0 && c.n > 0 {
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in ref.withUnsafeMutableBufferPointer { rp in
            T.openblas(c.layout, c.ta, c.tb, Int32(c.m), Int32(c.n), Int32(c.k), alpha, ap.baseAddress, Int32(sa.ld),
                       bp.baseAddress, Int32(sb.ld), beta, rp.baseAddress! + guardCount, Int32(sc.ld))
        } } }
    }
    // Norms over the logical matrices.
    func frob(_ x: [T], _ s: Storage, offset: Int = 0) -> Double {
        var sum = 0.0
        for o in 0..<s.outer { for i in 0..<s.inner { let v = Double(x[offset + o * s.ld + i]); sum += v * v } }
        return sum.squareRoot()
    }
    var diff = 0.0
    for o in 0..<sc.outer { for i in 0..<sc.inner {
        let idx = guardCount + o * sc.ld + i
        let d = Double(cbuf[idx]) - Double(ref[idx])
        if !d.isFinite { return "non-finite result at \(idx - guardCount) for \(c)" }
        diff += d * d
    } }
    let bound = 4 * Double(c.k + 2) * T.epsilon64
        * (abs(c.alpha) * frob(a, sa) * frob(b, sb) + abs(c.beta) * frob(c0, sc, offset: guardCount)) + 1e-30
    if diff.squareRoot() > bound { return "error \(diff.squareRoot()) > bound \(bound) for \(c)" }
    for i in 0..<guardCount where cbuf[i] != T(sentinel) || cbuf[guardCount + sc.count + i] != T(sentinel) {
        return "guard zone of C written for \(c)"
    }
    for o in 0..<sc.outer { for i in sc.inner..<sc.ld where cbuf[guardCount + o * sc.ld + i] != T(sentinel) {
        return "padding of C written at column/row \(o) for \(c)"
    } }
    return nil
}

/// Random cases over sizes that matter to a spec: 0, 1, primes, MR and NR edges, KC and MC edges.
func randomCases(for spec: GemmSpec, count: Int, seed: UInt64) -> [GemmCase] {
    let edges = [0, 1, 2, 3, 7, 13, 31, 61, 127, spec.mr - 1, spec.mr, spec.mr + 1, spec.nr - 1, spec.nr, spec.nr + 1,
                 spec.kc - 1, spec.kc, spec.kc + 1, 2 * spec.kc + 3].filter { $0 >= 0 }
    let big = edges + [spec.mc - 1, spec.mc + 1].filter { $0 >= 0 && $0 <= 1100 }
    var rng = SplitMix64(seed: seed)
    let trans: [Int32] = [111, 112, 113]
    let scalars = [(1.0, 0.0), (1.0, 1.0), (-1.5, 0.5), (0.0, 2.0), (0.7, -1.0), (0.0, 0.0), (2.0, 0.0)]
    return (0..<count).map { i in
        func pick(_ xs: [Int]) -> Int { xs[Int(rng.next() % UInt64(xs.count))] }
        var c = GemmCase(m: pick(i % 5 == 0 ? big : edges), n: pick(edges), k: pick(edges))
        c.layout = rng.next() % 2 == 0 ? 101 : 102
        c.ta = trans[Int(rng.next() % 3)]
        c.tb = trans[Int(rng.next() % 3)]
        (c.alpha, c.beta) = scalars[Int(rng.next() % UInt64(scalars.count))]
        c.pad = rng.next() % 3 == 0 ? 5 : 0
        c.nanC = c.beta == 0 && rng.next() % 2 == 0
        return c
    }
}

struct LibraryUnderTest: CustomTestStringConvertible, Sendable {
    let isa: ISA
    let kind: Fixtures.Kind
    var testDescription: String { "\(isa.rawValue)/\(kind.rawValue)" }
    static var all: [LibraryUnderTest] {
        Fixtures.runnableISAs.flatMap { isa in Fixtures.Kind.allCases.map { LibraryUnderTest(isa: isa, kind: $0) } }
    }
}

@Suite("GEMM correctness against OpenBLAS", .serialized)
struct GemmCorrectnessTests {
    @Test("every backend runs on this machine")
    func backendsPresent() {
        // The development and CI machines have AVX-512: all three backends must be exercised there.
        if Fixtures.machine.supports(.avx512) { #expect(Fixtures.runnableISAs == [.avx512, .avx2, .generic]) }
        #expect(Fixtures.runnableISAs.contains(.generic))
    }

    @Test("randomized shapes, layouts, transposes and scalars", arguments: LibraryUnderTest.all)
    func randomized(_ lut: LibraryUnderTest) throws {
        let (_, lib) = try Fixtures.library(lut.isa, lut.kind)
        lib.setNumThreads(0)
        let specs = Fixtures.config(lut.isa, lut.kind).library.gemm
        var failures: [String] = []
        for (i, c) in randomCases(for: specs.first { $0.spec.dtype == .f32 }!.spec, count: 120, seed: 42).enumerated() {
            if let f = checkGemm(Float.self, lib, c, seed: UInt64(i)) { failures.append("f32 " + f) }
        }
        for (i, c) in randomCases(for: specs.first { $0.spec.dtype == .f64 }!.spec, count: 120, seed: 43).enumerated() {
            if let f = checkGemm(Double.self, lib, c, seed: UInt64(i)) { failures.append("f64 " + f) }
        }
        #expect(failures.isEmpty, "\(failures.count) failures; first: \(failures.prefix(5).joined(separator: "\n"))")
    }

    @Test("skinny, tall and multi-block shapes on 1 and 2 threads", arguments: LibraryUnderTest.all)
    func skinnyAndThreads(_ lut: LibraryUnderTest) throws {
        let (_, lib) = try Fixtures.library(lut.isa, lut.kind)
        let shapes = [(3000, 3, 5), (2, 2500, 70), (5, 7, 1500), (1100, 40, 300), (300, 301, 302), (64, 1, 64), (1, 64, 64), (20001, 5, 7), (700, 90, 33)]
        for threads in [1, 2, 64] {
            #expect(lib.setNumThreads(threads) == 0)
            for (i, (m, n, k)) in shapes.enumerated() {
                let c = GemmCase(m: m, n: n, k: k, layout: i % 2 == 0 ? 102 : 101, ta: i % 3 == 0 ? 112 : 111, alpha: 1.5, beta: 0.5, pad: 1)
                #expect(checkGemm(Float.self, lib, c, seed: UInt64(i)) == nil)
                #expect(checkGemm(Double.self, lib, c, seed: UInt64(i)) == nil)
            }
        }
        lib.setNumThreads(0)
    }

    @Test("beta == 0 never reads C: NaN in C does not propagate", arguments: LibraryUnderTest.all)
    func nanWithBetaZero(_ lut: LibraryUnderTest) throws {
        let (_, lib) = try Fixtures.library(lut.isa, lut.kind)
        for (m, n, k) in [(33, 17, 9), (1, 1, 1), (40, 13, 0)] {
            for alpha in [1.0, 0.0] {
                let c = GemmCase(m: m, n: n, k: k, alpha: alpha, beta: 0, pad: 2, nanC: true)
                #expect(checkGemm(Float.self, lib, c, seed: 1) == nil)
                #expect(checkGemm(Double.self, lib, c, seed: 2) == nil)
            }
        }
    }

    @Test("CBLAS drop-ins compute the same as OpenBLAS", arguments: LibraryUnderTest.all)
    func cblasDropIn(_ lut: LibraryUnderTest) throws {
        let (_, lib) = try Fixtures.library(lut.isa, lut.kind)
        for (i, c) in randomCases(for: Fixtures.config(lut.isa, lut.kind).library.gemm[0].spec, count: 20, seed: 7).enumerated() {
            #expect(checkGemm(Float.self, lib, c, seed: UInt64(i), viaCBLAS: true) == nil)
            #expect(checkGemm(Double.self, lib, c, seed: UInt64(i), viaCBLAS: true) == nil)
        }
    }
}
