import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels
import SparseCSR

/// The GEMM reproductions: sizes, leading dimensions and flat offsets past 2^31 and 2^32.
enum DenseRepro {
    static let rowMajor: Int32 = 101, colMajor: Int32 = 102, noTrans: Int32 = 111, trans: Int32 = 112

    /// `bt_sgemm` or `bt_dgemm` by `T`.
    static func gemm<T: CSRScalar>(_ lib: KernelLibrary, _ layout: Int32, _ ta: Int32, _ tb: Int32, _ m: Int64, _ n: Int64, _ k: Int64,
                                   _ alpha: T, _ a: UnsafePointer<T>, _ lda: Int64, _ b: UnsafePointer<T>, _ ldb: Int64,
                                   _ beta: T, _ c: UnsafeMutablePointer<T>, _ ldc: Int64) -> Int32 {
        if T.self == Float.self {
            return lib.sgemm(layout, ta, tb, m, n, k, Float(alpha), UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                             UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb, Float(beta),
                             UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc)
        }
        return lib.dgemm(layout, ta, tb, m, n, k, Double(alpha), UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                         UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb, Double(beta),
                         UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc)
    }

    static func name<T>(_: T.Type) -> String { T.self == Float.self ? "sgemm" : "dgemm" }

    /// A small integer value for position (i, j): sums of products stay exact in f32.
    static func value<T: CSRScalar>(_ i: Int64, _ j: Int64, _ salt: Int64) -> T { T((i &* 7 &+ j &* 3 &+ salt) % 5 - 2) }

    /// A dense operand in lazily committed memory: `outer` vectors of `inner` elements, `ld` apart,
    /// filled with ``value(_:_:_:)`` of (inner index, outer index).
    final class Operand<T: CSRScalar> {
        let memory: LazyMemory
        let inner: Int64, outer: Int64, ld: Int64
        var pointer: UnsafeMutablePointer<T> { memory.pointer() }

        init(inner: Int64, outer: Int64, ld: Int64, salt: Int64, what: String) throws {
            let span = try CheckedSize.matrixSpan(rows: inner, cols: outer, ld: ld, what)
            memory = try LazyMemory(bytes: Int(try CheckedSize.mul(span, Int64(MemoryLayout<T>.size), what)), hugePages: false)
            self.inner = inner; self.outer = outer; self.ld = ld
            let p: UnsafeMutablePointer<T> = memory.pointer()
            for o in 0..<outer { for i in 0..<inner { p[Int(o * ld + i)] = value(i, o, salt) } }
        }

        subscript(i: Int64, o: Int64) -> T { pointer[Int(o * ld + i)] }
    }

    /// C = alpha op(A) op(B) + beta C through huge leading dimensions, every entry checked
    /// against a plain triple loop; `layout` decides which index is the flat one.
    static func hugeLeadingDimensions<T: CSRScalar>(_ ctx: ReproContext, _: T.Type, layout: Int32, m: Int64, n: Int64, k: Int64,
                                                     ld: Int64, ldb: Int64? = nil, threads: [Int]) throws -> String {
        let row = layout == rowMajor
        // Storage (inner x outer) of each operand in this layout, no transposes.
        let a = try Operand<T>(inner: row ? k : m, outer: row ? m : k, ld: ld, salt: 1, what: "A")
        let b = try Operand<T>(inner: row ? n : k, outer: row ? k : n, ld: ldb ?? ld, salt: 2, what: "B")
        func aAt(_ i: Int64, _ p: Int64) -> T { row ? a[p, i] : a[i, p] }
        func bAt(_ p: Int64, _ j: Int64) -> T { row ? b[j, p] : b[p, j] }
        for t in threads {
            let c = try Operand<T>(inner: row ? n : m, outer: row ? m : n, ld: ld, salt: 3, what: "C")
            try ctx.request(threads: t)
            let st = gemm(ctx.library, layout, noTrans, noTrans, m, n, k, T(1), a.pointer, ld, b.pointer, b.ld, T(2), c.pointer, ld)
            try ctx.expectOK(st, "\(name(T.self))(m=\(m), n=\(n), k=\(k), ld=\(ld))")
            for i in 0..<m {
                for j in 0..<n {
                    var want: T = 2 * (row ? value(j, i, 3) : value(i, j, 3))
                    for p in 0..<k { want += aAt(i, p) * bAt(p, j) }
                    let got = row ? c[j, i] : c[i, j]
                    let offset = row ? i * ld + j : j * ld + i
                    try expect(got == want, "\(name(T.self)) \(row ? "row" : "column")-major ld=\(ld): C(\(i),\(j)) at flat offset \(offset) is \(got), expected \(want)")
                }
            }
        }
        let last = row ? (m - 1) * ld + n - 1 : (n - 1) * ld + m - 1
        return "\(name(T.self)) \(row ? "row" : "column")-major m=\(m) n=\(n) k=\(k) lda=ldc=\(ld) ldb=\(b.ld), threads \(threads): all \(m * n) entries exact (last offset \(last))"
    }

    /// Case `dense-flat-index-2^31`.
    static func flatIndex(_ ctx: ReproContext) throws -> [String] {
        let threads = ctx.threadCounts([1, 2])
        let ld: Int64 = (1 << 31) + 64   // column 1 starts past 2^31, column 2 past 2^32
        var checks: [String] = []
        for layout in [colMajor, rowMajor] {
            let (m, n): (Int64, Int64) = layout == colMajor ? (1000, 3) : (3, 1000)
            checks.append(try hugeLeadingDimensions(ctx, Float.self, layout: layout, m: m, n: n, k: 3, ld: ld, threads: threads))
            checks.append(try hugeLeadingDimensions(ctx, Double.self, layout: layout, m: m, n: n, k: 3, ld: ld, threads: threads))
        }
        if ctx.scale == .full { checks.append(try choleskyScale(ctx, threads: threads)) }
        return checks
    }

    /// The scipy scale: n = ld = 46341, so i + j * ld passes 2^31 in a dense C (8 GiB, all written).
    static func choleskyScale(_ ctx: ReproContext, threads: [Int]) throws -> String {
        let n: Int64 = 46341
        let a = try Operand<Float>(inner: n, outer: 1, ld: n, salt: 1, what: "A")
        let b = try Operand<Float>(inner: 1, outer: n, ld: 1, salt: 2, what: "B")
        for t in threads {
            let c = try LazyMemory(bytes: Int(n * n) * 4)
            let cp: UnsafeMutablePointer<Float> = c.pointer()
            try ctx.request(threads: t)
            try ctx.expectOK(gemm(ctx.library, colMajor, noTrans, noTrans, n, n, 1, Float(1), a.pointer, n, b.pointer, 1, Float(0), cp, n),
                             "sgemm(m=n=ldc=\(n), k=1)")
            for j in 0..<n {
                let bj = b[0, j]
                for i in 0..<n where cp[Int(j * n + i)] != a[i, 0] * bj {
                    throw ReproFailure("sgemm n=ldc=\(n): C(\(i),\(j)) at flat offset \(j * n + i) is \(cp[Int(j * n + i)]), expected \(a[i, 0] * bj)")
                }
            }
        }
        return "sgemm m=n=ldc=\(n) k=1 (C of \(n * n) elements, offsets to \(n * n - 1) > 2^31), threads \(threads): every entry exact"
    }

    /// Case `gemm-m-over-2^31`: m = 2^31 + 1, n = k = 1.
    static func mOver2to31(_ ctx: ReproContext) throws -> [String] {
        var checks: [String] = []
        checks.append(try longM(ctx, Float.self, aliased: ctx.scale == .ci))
        checks.append(try longM(ctx, Double.self, aliased: true))
        return checks
    }

    static let window = 64 << 20

    /// One long-m GEMM: A holds zeros (untouched pages) except planted values near both
    /// ends; C is real memory (`aliased` false) or private at both ends with a repeated
    /// window between (see ``LazyMemory/init(bytes:head:tail:window:)``).
    static func longM<T: CSRScalar>(_ ctx: ReproContext, _: T.Type, aliased: Bool) throws -> String {
        let m: Int64 = (1 << 31) + 1
        let bytes = Int(m) * MemoryLayout<T>.size
        let a = try LazyMemory(bytes: bytes)
        let ap: UnsafeMutablePointer<T> = a.pointer()
        let edge = Int64(window / MemoryLayout<T>.size)   // elements in each private end
        let planted: [Int64] = [0, 1, 17, edge - 1, m - edge, (1 << 31) - 1, 1 << 31]   // all in the private ends
        for (n, i) in planted.enumerated() { ap[Int(i)] = T(n + 1) }
        let c = aliased ? try LazyMemory(bytes: bytes, head: window, tail: window, window: window) : try LazyMemory(bytes: bytes)
        let cp: UnsafeMutablePointer<T> = c.pointer()
        // NaN everywhere a correct call must write (the window once covers the whole middle).
        let size = Int64(MemoryLayout<T>.size), lo = Int64(c.aliased.lowerBound) / size, hi = Int64(c.aliased.upperBound) / size
        let marked = c.aliased.isEmpty ? [0..<m] : [0..<lo, lo..<min(lo + Int64(window) / size, hi), hi..<m]
        for r in marked { fill(cp + Int(r.lowerBound), count: Int(r.count), with: T.nan) }
        var b: T = 3
        try ctx.request(threads: 0)
        try ctx.expectOK(gemm(ctx.library, colMajor, noTrans, noTrans, m, 1, 1, T(2), ap, m, &b, 1, T(0), cp, m), "\(name(T.self))(m=2^31+1, n=k=1)")
        ProcessMemory.sampleProportional()
        // C = 6 A: the planted values, and zeros everywhere else (compared a block at a time).
        for (n, i) in planted.enumerated() where cp[Int(i)] != T(6 * (n + 1)) {
            throw ReproFailure("\(name(T.self)) m=2^31+1: C[\(i)] is \(cp[Int(i)]), expected \(6 * (n + 1))")
        }
        let block = 1 << 16
        var start: Int64 = 0
        while start < m {
            let count = Int(min(Int64(block), m - start))
            if !isZero(cp + Int(start), count: count) {
                for i in start..<start + Int64(count) where cp[Int(i)] != 6 * ap[Int(i)] {
                    throw ReproFailure("\(name(T.self)) m=2^31+1: C[\(i)] is \(cp[Int(i)]), expected \(6 * ap[Int(i)])")
                }
            }
            start += Int64(count)
        }
        return "\(name(T.self)) m=2^31+1 n=k=1: all \(m) elements of C right (planted values at \(planted.map(String.init).joined(separator: ", ")) exact, the last at 2^31)"
            + (aliased ? "; C's middle shares one \(window >> 20) MiB window" : "")
    }

    /// Sets `count` elements at `p` to `value` (memcpy doubling: fast in unoptimized builds too).
    static func fill<T>(_ p: UnsafeMutablePointer<T>, count: Int, with value: T) {
        guard count > 0 else { return }
        p.initialize(to: value)
        var done = 1
        while done < count {
            let n = min(done, count - done)
            memcpy(p + done, p, n * MemoryLayout<T>.stride)
            done += n
        }
    }

    /// Whether `count` elements at `p` are all bits zero (memcmp against a zero block).
    static func isZero<T>(_ p: UnsafePointer<T>, count: Int) -> Bool {
        let bytes = count * MemoryLayout<T>.stride
        var at = 0
        while at < bytes {
            let n = min(zeros.count, bytes - at)
            let same = zeros.withUnsafeBytes { memcmp(UnsafeRawPointer(p) + at, $0.baseAddress!, n) == 0 }
            if !same { return false }
            at += n
        }
        return true
    }

    private static let zeros = [UInt8](repeating: 0, count: 1 << 20)

    /// Case `openblas-mnk-threading`: m = n = k past the cube root of 2^31 and of 2^32, against OpenBLAS.
    static func mnkProduct(_ ctx: ReproContext) throws -> [String] {
        var checks: [String] = []
        for n in [1291, 1626] as [Int64] {
            for t in ctx.threadCounts([1, 2]) {
                checks.append(try againstOpenBLAS(ctx, Float.self, n: n, threads: t))
                checks.append(try againstOpenBLAS(ctx, Double.self, n: n, threads: t))
            }
        }
        return checks
    }

    static func againstOpenBLAS<T: CSRScalar>(_ ctx: ReproContext, _: T.Type, n: Int64, threads: Int) throws -> String {
        let count = Int(n * n)
        let a = (0..<count).map { value(Int64($0) % n, Int64($0) / n, 1) as T }
        let b = (0..<count).map { value(Int64($0) % n, Int64($0) / n, 2) as T }
        var c = [T](repeating: T.nan, count: count), ref = [T](repeating: T.nan, count: count)
        try ctx.request(threads: threads)
        let st = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            gemm(ctx.library, colMajor, noTrans, noTrans, n, n, n, T(1), ap.baseAddress!, n, bp.baseAddress!, n, T(0), cp.baseAddress!, n)
        } } }
        try ctx.expectOK(st, "\(name(T.self))(m=n=k=\(n))")
        let ni = Int32(n)
        if T.self == Float.self {
            a.withUnsafeBytes { ap in b.withUnsafeBytes { bp in ref.withUnsafeMutableBytes { rp in
                cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1, ap.baseAddress!.assumingMemoryBound(to: Float.self), ni,
                            bp.baseAddress!.assumingMemoryBound(to: Float.self), ni, 0, rp.baseAddress!.assumingMemoryBound(to: Float.self), ni)
            } } }
        } else {
            a.withUnsafeBytes { ap in b.withUnsafeBytes { bp in ref.withUnsafeMutableBytes { rp in
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1, ap.baseAddress!.assumingMemoryBound(to: Double.self), ni,
                            bp.baseAddress!.assumingMemoryBound(to: Double.self), ni, 0, rp.baseAddress!.assumingMemoryBound(to: Double.self), ni)
            } } }
        }
        if let i = (0..<count).first(where: { c[$0] != ref[$0] }) {
            throw ReproFailure("\(name(T.self)) m=n=k=\(n), \(threads) threads: C[\(i)] is \(c[i]), OpenBLAS gives \(ref[i])")
        }
        return "\(name(T.self)) m=n=k=\(n) (m*n*k = \(n * n * n)), \(threads == 0 ? "default" : String(threads)) threads: equal to OpenBLAS in every entry"
    }

    /// Case `libxsmm-ld-16bit`: leading dimensions above 65535, and byte strides above 2 GiB.
    static func wideLeadingDimensions(_ ctx: ReproContext) throws -> [String] {
        let threads = ctx.threadCounts([1, 2])
        return [
            try hugeLeadingDimensions(ctx, Float.self, layout: colMajor, m: 64, n: 64, k: 64, ld: 65537, threads: threads),
            try hugeLeadingDimensions(ctx, Double.self, layout: colMajor, m: 64, n: 64, k: 64, ld: 65536 + 64, threads: threads),
            try hugeLeadingDimensions(ctx, Double.self, layout: colMajor, m: 24, n: 8, k: 8, ld: (1 << 28) + 8, threads: threads),
        ]
    }

    /// Case `openblas-gemv-m-4194305`: a GEMV-shaped GEMM with m = 4,194,305.
    static func longGemv(_ ctx: ReproContext) throws -> [String] {
        let threads = ctx.threadCounts([1, 2])
        return [
            try hugeLeadingDimensions(ctx, Float.self, layout: colMajor, m: 4_194_305, n: 1, k: 2, ld: 4_194_305, threads: threads),
            try hugeLeadingDimensions(ctx, Double.self, layout: colMajor, m: 4_194_305, n: 1, k: 2, ld: 4_194_305, threads: threads),
            try hugeLeadingDimensions(ctx, Float.self, layout: rowMajor, m: 1, n: 4_194_305, k: 2, ld: 4_194_305, threads: threads),
            // gemv_t, where the report crashed: y = A^T x with A 4,194,305 x 2 (long k; f64 keeps the sums exact).
            try hugeLeadingDimensions(ctx, Double.self, layout: rowMajor, m: 2, n: 1, k: 4_194_305, ld: 4_194_305, ldb: 1, threads: threads),
        ]
    }
}
