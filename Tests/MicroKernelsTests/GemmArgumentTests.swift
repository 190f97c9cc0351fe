import Foundation
import KernelSpec
import MicroKernels
import Testing

/// Every bad argument gets its status and leaves C untouched, for both dtypes.
@Suite("GEMM bad arguments")
struct GemmArgumentTests {
    struct Bad: Sendable, CustomTestStringConvertible {
        var what: String
        var layout: Int32 = 102, ta: Int32 = 111, tb: Int32 = 111
        var m: Int64 = 4, n: Int64 = 4, k: Int64 = 4
        var lda: Int64 = 4, ldb: Int64 = 4, ldc: Int64 = 4
        var nullA = false, nullB = false, nullC = false
        var want: Int32
        var testDescription: String { what }
    }

    static let cases: [Bad] = [
        Bad(what: "unknown layout", layout: 100, want: 1),
        Bad(what: "layout 0", layout: 0, want: 1),
        Bad(what: "unknown transa", ta: 110, want: 1),
        Bad(what: "unknown transb", tb: 114, want: 1),
        Bad(what: "negative m", m: -1, want: 1),
        Bad(what: "negative n", n: -5, want: 1),
        Bad(what: "negative k", k: Int64.min, want: 1),
        Bad(what: "lda below m (column-major)", lda: 3, want: 1),
        Bad(what: "lda below k (column-major, A transposed)", ta: 112, m: 2, lda: 3, want: 1),
        Bad(what: "lda below k (row-major)", layout: 101, lda: 3, want: 1),
        Bad(what: "ldb below k (column-major)", ldb: 3, want: 1),
        Bad(what: "ldb below n (row-major)", layout: 101, ldb: 3, want: 1),
        Bad(what: "ldc below m", ldc: 3, want: 1),
        Bad(what: "ldc below n (row-major)", layout: 101, n: 5, ldb: 5, want: 1),
        Bad(what: "ld zero with empty dimension", m: 0, lda: 0, want: 1),
        Bad(what: "NULL C", nullC: true, want: 1),
        Bad(what: "NULL A", nullA: true, want: 1),
        Bad(what: "NULL B", nullB: true, want: 1),
        Bad(what: "C span overflows 64 bits", ldc: Int64.max / 2, want: 2),
        Bad(what: "C byte count overflows 64 bits", ldc: Int64.max / 6, want: 2),
        Bad(what: "A span overflows 64 bits", lda: Int64.max / 3, want: 2),
        Bad(what: "B span overflows 64 bits", ldb: Int64.max / 3, want: 2),
        Bad(what: "m at Int64.max", m: Int64.max, lda: Int64.max, ldc: Int64.max, want: 2),
    ]

    @Test("bt_sgemm / bt_dgemm reject bad arguments with C untouched", arguments: cases)
    func rejects(_ bad: Bad) throws {
        let (_, lib) = try Fixtures.library(Fixtures.machine.bestISA, .analytical)
        var a = [Float](repeating: 1, count: 64), b = a, c = (0..<64).map(Float.init)
        let keep = c
        let st = a.withUnsafeMutableBufferPointer { ap in b.withUnsafeMutableBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            lib.sgemm(bad.layout, bad.ta, bad.tb, bad.m, bad.n, bad.k, 1, bad.nullA ? nil : UnsafePointer(ap.baseAddress), bad.lda,
                      bad.nullB ? nil : UnsafePointer(bp.baseAddress), bad.ldb, 0, bad.nullC ? nil : cp.baseAddress, bad.ldc)
        } } }
        #expect(st == bad.want, "\(bad.what): got \(st) (\(lib.strerror(st)))")
        #expect(c == keep)
        var ad = [Double](repeating: 1, count: 64), bd = ad, cd = (0..<64).map(Double.init)
        let keepd = cd
        let std = ad.withUnsafeMutableBufferPointer { ap in bd.withUnsafeMutableBufferPointer { bp in cd.withUnsafeMutableBufferPointer { cp in
            lib.dgemm(bad.layout, bad.ta, bad.tb, bad.m, bad.n, bad.k, 1, bad.nullA ? nil : UnsafePointer(ap.baseAddress), bad.lda,
                      bad.nullB ? nil : UnsafePointer(bp.baseAddress), bad.ldb, 1, bad.nullC ? nil : cp.baseAddress, bad.ldc)
        } } }
        #expect(std == bad.want)
        #expect(cd == keepd)
    }

    @Test("empty and trivial calls follow BLAS semantics")
    func semantics() throws {
        let (_, lib) = try Fixtures.library(Fixtures.machine.bestISA, .analytical)
        var c: [Float] = [1, 2, 3, 4]
        // m == 0: nothing happens, even with NULL operands.
        #expect(lib.sgemm(102, 111, 111, 0, 2, 2, 1, nil, 1, nil, 2, 0, &c, 1) == 0)
        #expect(c == [1, 2, 3, 4])
        // alpha == 0: C = beta * C, A and B not needed.
        #expect(lib.sgemm(102, 111, 111, 2, 2, 2, 0, nil, 2, nil, 2, 3, &c, 2) == 0)
        #expect(c == [3, 6, 9, 12])
        // k == 0 with beta == 0: C = 0 whatever it held.
        c = [.nan, .infinity, 1, 2]
        #expect(lib.sgemm(101, 111, 111, 2, 2, 0, 1, nil, 1, nil, 2, 0, &c, 2) == 0)
        #expect(c == [0, 0, 0, 0])
        // Hand-checked 2x2: [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50] (row-major).
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        #expect(lib.sgemm(101, 111, 111, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2) == 0)
        #expect(c == [19, 22, 43, 50])
        // Transposed A in column-major: A^T B with A = [1 3; 2 4] stored column-major is the same product.
        #expect(lib.sgemm(102, 112, 111, 2, 2, 2, 1, [1, 2, 3, 4], 2, [5, 7, 6, 8], 2, 0, &c, 2) == 0)
        #expect(c == [19, 43, 22, 50])
    }

    @Test("thread count: bad values rejected, set values read back")
    func threads() throws {
        let (_, lib) = try Fixtures.library(Fixtures.machine.bestISA, .analytical)
        #expect(lib.setNumThreads(-1) == 1)
        #expect(lib.setNumThreads(1025) == 1)
        #expect(lib.setNumThreads(3) == 0)
        #expect(lib.numThreads == 3)
        #expect(lib.setNumThreads(0) == 0)
        #expect(lib.numThreads == 0)
        #expect(lib.strerror(2).contains("overflow"))
        #expect(lib.version == blastuneVersion)
        let cfg = try JSONDecoder().decode(KernelsConfig.self, from: Data(lib.configJSON.utf8))
        #expect(cfg.fingerprint == Fixtures.machine.fingerprint)
    }
}
