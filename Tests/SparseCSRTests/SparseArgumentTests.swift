import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Testing

/// Bad arguments: the status each gets, and outputs left untouched.
@Suite("Sparse kernels reject bad arguments without touching outputs")
struct SparseArgumentTests {
    let lib: KernelLibrary
    init() throws { lib = try SparseFixtures.library(SparseFixtures.runnableISAs.first!, .defaults) }

    // A valid 3 x 4 matrix.
    let rp: [Int64] = [0, 2, 2, 4]
    let ci: [Int64] = [0, 3, 1, 2]
    let va: [Double] = [1, 2, 3, 4]

    func spmv(_ nrows: Int64, _ ncols: Int64, _ rp: [Int64]?, _ ci: [Int64]?, _ va: [Double]?,
              x: [Double]?, y: inout [Double], nullY: Bool = false) -> Int32 {
        func ptr<T>(_ a: [T]?) -> UnsafePointer<T>? { a.map { UnsafePointer($0.withUnsafeBufferPointer { $0.baseAddress! }) } }
        return withExtendedLifetime((rp, ci, va, x)) {
            y.withUnsafeMutableBufferPointer { yp in
                lib.dcsrSpmv(nrows, ncols, ptr(rp), ptr(ci), ptr(va), 1, ptr(x), 0, nullY ? nil : yp.baseAddress)
            }
        }
    }

    @Test("SpMV: each bad argument gets its status and y stays as it was")
    func spmvBadArguments() {
        let x: [Double] = [1, 1, 1, 1]
        let sentinel: [Double] = [7, 7, 7]
        let cases: [(String, Int64, Int64, [Int64]?, [Int64]?, [Double]?, [Double]?, Bool, Int32)] = [
            ("negative nrows", -1, 4, rp, ci, va, x, false, 1),
            ("negative ncols", 3, -4, rp, ci, va, x, false, 1),
            ("NULL row_ptr", 3, 4, nil, ci, va, x, false, 1),
            ("row_ptr[0] != 0", 3, 4, [1, 2, 2, 4], ci, va, x, false, 1),
            ("negative nnz", 3, 4, [0, 2, 2, -4], ci, va, x, false, 1),
            ("NULL col_idx", 3, 4, rp, nil, va, x, false, 1),
            ("NULL val", 3, 4, rp, ci, nil, x, false, 1),
            ("NULL x", 3, 4, rp, ci, va, nil, false, 1),
            ("NULL y", 3, 4, rp, ci, va, x, true, 1),
            ("entries but no columns", 3, 0, rp, ci, va, x, false, 1),
            ("nrows + 1 overflows", Int64.max, 4, rp, ci, va, x, false, 2),
            ("x bytes overflow", 3, Int64.max / 4, rp, ci, va, x, false, 2),
        ]
        for (name, m, n, r, c, v, xx, nullY, want) in cases {
            var y = sentinel
            let st = spmv(m, n, r, c, v, x: xx, y: &y, nullY: nullY)
            #expect(st == want, "\(name): status \(st), expected \(want)")
            #expect(y == sentinel, "\(name): y changed")
        }
        var y = sentinel
        #expect(spmv(3, 4, rp, ci, va, x: x, y: &y) == 0 && y == [3, 0, 7])
    }

    @Test("Transpose: each bad argument gets its status and the outputs stay as they were")
    func transposeBadArguments() {
        func run(_ m: Int64, _ n: Int64, _ r: [Int64], _ v: [Double]?, tval: Bool, tcol: Bool = true) -> (Int32, Bool) {
            var trp = [Int64](repeating: -9, count: 5), tci = [Int64](repeating: -9, count: 4), tva = [Double](repeating: -9, count: 4)
            let st = r.withUnsafeBufferPointer { rpp in
                ci.withUnsafeBufferPointer { cip in
                    trp.withUnsafeMutableBufferPointer { a in
                        tci.withUnsafeMutableBufferPointer { b in
                            tva.withUnsafeMutableBufferPointer { c in
                                (v ?? []).withUnsafeBufferPointer { vp in
                                    lib.dcsrTranspose(m, n, rpp.baseAddress, cip.baseAddress, v == nil ? nil : vp.baseAddress,
                                                      a.baseAddress, tcol ? b.baseAddress : nil, tval ? c.baseAddress : nil)
                                }
                            }
                        }
                    }
                }
            }
            let untouched = trp.allSatisfy { $0 == -9 } && tci.allSatisfy { $0 == -9 } && tva.allSatisfy { $0 == -9 }
            return (st, untouched)
        }
        let cases: [(String, Int64, Int64, [Int64], [Double]?, Bool, Bool, Int32)] = [
            ("negative nrows", -3, 4, rp, va, true, true, 1),
            ("row_ptr[0] != 0", 3, 4, [2, 2, 2, 4], va, true, true, 1),
            ("val without t_val", 3, 4, rp, va, false, true, 1),
            ("t_val without val", 3, 4, rp, nil, true, true, 1),
            ("NULL t_col_idx", 3, 4, rp, va, true, false, 1),
            ("ncols + 1 overflows", 3, Int64.max, rp, va, true, true, 2),
        ]
        for (name, m, n, r, v, tval, tcol, want) in cases {
            let (st, untouched) = run(m, n, r, v, tval: tval, tcol: tcol)
            #expect(st == want, "\(name): status \(st), expected \(want)")
            #expect(untouched, "\(name): an output changed")
        }
        #expect(run(3, 4, rp, va, tval: true).0 == 0)
    }

    @Test("bt_csr_check names the first bad position")
    func structureCheck() {
        #expect(libraryCSRCheck(nrows: 3, ncols: 4, rowPtr: rp, colIdx: ci, using: lib) == nil)
        let badColumn = libraryCSRCheck(nrows: 3, ncols: 4, rowPtr: rp, colIdx: [0, 3, 4, 2], using: lib)
        #expect(badColumn?.status == 1 && badColumn?.position == 2)
        let negativeColumn = libraryCSRCheck(nrows: 3, ncols: 4, rowPtr: rp, colIdx: [0, 3, 1, -1], using: lib)
        #expect(negativeColumn?.status == 1 && negativeColumn?.position == 3)
        let firstPointer = libraryCSRCheck(nrows: 3, ncols: 4, rowPtr: [1, 2, 2, 4], colIdx: ci, using: lib)
        #expect(firstPointer?.status == 1 && firstPointer?.position == -1)
        let decreasing = libraryCSRCheck(nrows: 3, ncols: 4, rowPtr: [0, 2, 1, 4], colIdx: ci, using: lib)
        #expect(decreasing?.status == 1 && decreasing?.position == -3) // row_ptr[2] < row_ptr[1]
        #expect(libraryCSRCheck(nrows: Int64.max, ncols: 4, rowPtr: rp, colIdx: ci, using: lib)?.status == 2)
        // The same verdicts as the Swift validation.
        #expect(throws: CSRError.columnOutOfRange(row: 1, position: 2, column: 4, ncols: 4)) {
            try CSRMatrix<Double>(nrows: 3, ncols: 4, rowPtr: [0, 2, 4, 4], colIdx: [0, 3, 4, 2], values: nil)
        }
    }

    @Test("Plans: a bad matrix is refused with its status and the first bad position named; a wrong or missing plan gets BT_EINVAL and y stays as it was; a valid plan matches the hand-computed product")
    func plans() throws {
        typealias Plan = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafeRawPointer?, Int64,
                                         UnsafeMutablePointer<Int32>?) -> OpaquePointer?
        typealias DRun = @convention(c) (OpaquePointer?, Double, UnsafePointer<Double>?, Double, UnsafeMutablePointer<Double>?) -> Int32
        typealias SRun = @convention(c) (OpaquePointer?, Float, UnsafePointer<Float>?, Float, UnsafeMutablePointer<Float>?) -> Int32
        let plan = try #require(lib.symbol("bt_dcsr_plan", as: Plan.self))
        let run = try #require(lib.symbol("bt_dcsr_plan_spmv", as: DRun.self))
        let runS = try #require(lib.symbol("bt_scsr_plan_spmv", as: SRun.self))
        let destroy = try #require(lib.symbol("bt_csr_plan_destroy", as: (@convention(c) (OpaquePointer?) -> Void).self))
        func make(_ m: Int64, _ n: Int64, _ r: [Int64], _ c: [Int64]?, _ v: [Double]?, cap: Int64 = -1) -> (OpaquePointer?, Int32, String) {
            var st: Int32 = -7
            let p = r.withUnsafeBufferPointer { rp in
                withExtendedLifetime((c, v)) {
                    plan(m, n, rp.baseAddress, c?.withUnsafeBufferPointer { $0.baseAddress }, v?.withUnsafeBytes { $0.baseAddress }, cap, &st)
                }
            }
            return (p, st, lib.lastError)
        }
        let cases: [(String, Int64, Int64, [Int64], [Int64]?, [Double]?, Int32, String)] = [
            ("column out of range", 3, 4, rp, [0, 3, 4, 2], va, 1, "col_idx[2] = 4"),
            ("negative column", 3, 4, rp, [0, 3, 1, -1], va, 1, "col_idx[3] = -1"),
            ("decreasing row_ptr", 3, 4, [0, 2, 1, 4], ci, va, 1, "row_ptr[2] = 1"),
            ("row_ptr[0] != 0", 3, 4, [1, 2, 2, 4], ci, va, 1, "arguments"),
            ("NULL val", 3, 4, rp, ci, nil, 1, "arguments"),
            ("nrows + 1 overflows", Int64.max, 4, rp, ci, va, 2, "arguments"),
        ]
        for (name, m, n, r, c, v, want, says) in cases {
            let (p, st, message) = make(m, n, r, c, v)
            #expect(p == nil && st == want && message.contains("bt_dcsr_plan") && message.contains(says),
                    "\(name): status \(st), message '\(message)'")
            destroy(p)
        }
        // A valid plan: 16-bit deltas (every row spans fewer than 65536 columns).
        let (p, st, _) = make(3, 4, rp, ci, va)
        defer { destroy(p) }
        #expect(st == 0 && p != nil)
        let format = lib.symbol("bt_csr_plan_format", as: (@convention(c) (OpaquePointer?) -> Int32).self)
        #expect(format?(p) == 16)
        let x: [Double] = [1, 1, 1, 1]
        var y: [Double] = [7, 7, 7]
        #expect(run(nil, 1, x, 0, &y) == 1 && y == [7, 7, 7])
        #expect(run(p, 1, nil, 0, &y) == 1 && y == [7, 7, 7])
        var yf: [Float] = [7, 7, 7]
        #expect(runS(p, 1, [1, 1, 1, 1], 0, &yf) == 1 && yf == [7, 7, 7], "an f64 plan run as f32")
        #expect(run(p, 2, x, 1, &y) == 0 && y == [13, 7, 21])
        destroy(nil)
    }

    @Test("The int32 entry points: a matrix whose ncols (or, for the transpose, nrows) does not fit int32 gets BT_EOVERFLOW, bad arguments their status, and nothing is written; bt_csr_check_i32 names the first bad position")
    func int32Entries() throws {
        let rp32: [Int32] = [0, 2, 2, 4], ci32: [Int32] = [0, 3, 1, 2]
        let spmv = try #require(lib.symbol("bt_dcsr_spmv_i32", as: KernelLibrary.DCSRSpmvAny.self))
        let transpose = try #require(lib.symbol("bt_dcsr_transpose_i32", as: KernelLibrary.DCSRTransposeAny.self))
        typealias Check = @convention(c) (Int64, Int64, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutablePointer<Int64>?) -> Int32
        let check = try #require(lib.symbol("bt_csr_check_i32", as: Check.self))
        let x: [Double] = [1, 1, 1, 1]
        func runSpmv(_ m: Int64, _ n: Int64, _ r: [Int32]?, _ c: [Int32]?) -> (Int32, [Double]) {
            var y: [Double] = [7, 7, 7]
            let st = y.withUnsafeMutableBufferPointer { yp in
                withExtendedLifetime((r, c)) {
                    spmv(m, n, r?.withUnsafeBytes { $0.baseAddress }, c?.withUnsafeBytes { $0.baseAddress }, va, 1, x, 0, yp.baseAddress)
                }
            }
            return (st, y)
        }
        #expect(runSpmv(3, 4, rp32, ci32) == (0, [3, 0, 7]))
        for (name, m, n, r, c, want) in [("ncols above INT32_MAX", Int64(3), Int64(Int32.max) + 1, rp32, ci32, Int32(2)),
                                         ("negative nrows", -1, 4, rp32, ci32, 1), ("row_ptr[0] != 0", 3, 4, [1, 2, 2, 4], ci32, 1),
                                         ("negative nnz", 3, 4, [0, 2, 2, -4], ci32, 1), ("NULL col_idx", 3, 4, rp32, nil, 1)] as [(String, Int64, Int64, [Int32], [Int32]?, Int32)] {
            let (st, y) = runSpmv(m, n, r, c)
            #expect(st == want && y == [7, 7, 7], "\(name): status \(st), y \(y)")
        }
        func runTranspose(_ m: Int64, _ n: Int64) -> (Int32, [Int32], [Int32], [Double]) {
            var trp = [Int32](repeating: -9, count: 5), tci = [Int32](repeating: -9, count: 4), tva = [Double](repeating: -9, count: 4)
            let st = trp.withUnsafeMutableBytes { a in tci.withUnsafeMutableBytes { b in tva.withUnsafeMutableBufferPointer { c in
                transpose(m, n, rp32.withUnsafeBytes { $0.baseAddress }, ci32.withUnsafeBytes { $0.baseAddress }, va, a.baseAddress, b.baseAddress, c.baseAddress)
            } } }
            return (st, trp, tci, tva)
        }
        let good = runTranspose(3, 4)
        #expect(good.0 == 0 && good.1 == [0, 1, 2, 3, 4] && good.2 == [0, 2, 2, 0] && good.3 == [1, 3, 4, 2])
        for (m, n) in [(Int64(Int32.max) + 1, Int64(4)), (3, Int64(Int32.max) + 1)] {
            let bad = runTranspose(m, n)
            #expect(bad.0 == 2 && bad.1.allSatisfy { $0 == -9 } && bad.2.allSatisfy { $0 == -9 } && bad.3.allSatisfy { $0 == -9 }, "\(m) x \(n): \(bad)")
        }
        var at: Int64 = 0
        let badColumn: [Int32] = [0, 3, 4, 2]
        #expect(check(3, 4, rp32.withUnsafeBytes { $0.baseAddress }, badColumn.withUnsafeBytes { $0.baseAddress }, &at) == 1 && at == 2)
        #expect(check(3, 4, rp32.withUnsafeBytes { $0.baseAddress }, ci32.withUnsafeBytes { $0.baseAddress }, &at) == 0)
    }

    @Test("SpMM: each bad argument gets its status and Y stays as it was; a valid call matches the hand-computed product")
    func spmmArguments() throws {
        typealias Spmm = @convention(c) (Int32, Int64, Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafePointer<Double>?,
                                         Double, UnsafePointer<Double>?, Int64, Double, UnsafeMutablePointer<Double>?, Int64) -> Int32
        let spmm = try #require(lib.symbol("bt_dcsr_spmm", as: Spmm.self))
        // X is 4 x 2 row-major: row c = (c + 1, 10 (c + 1)).
        let x: [Double] = [1, 10, 2, 20, 3, 30, 4, 40]
        func run(_ layout: Int32, _ m: Int64, _ n: Int64, _ k: Int64, _ ldx: Int64, _ ldy: Int64, beta: Double = 0) -> (Int32, [Double]) {
            var y = [Double](repeating: 7, count: 6)
            let st = y.withUnsafeMutableBufferPointer { yp in spmm(layout, m, n, k, rp, ci, va, 1, x, ldx, beta, yp.baseAddress, ldy) }
            return (st, y)
        }
        // A = [1 0 0 2; 0 0 0 0; 0 3 4 0]: A X = [9 90; 0 0; 18 180].
        #expect(run(101, 3, 4, 2, 2, 2) == (0, [9, 90, 0, 0, 18, 180]))
        #expect(run(101, 3, 4, 2, 2, 2, beta: 1) == (0, [16, 97, 7, 7, 25, 187]))
        for (name, layout, k, ldx, ldy, want) in [("layout 7", Int32(7), Int64(2), Int64(2), Int64(2), Int32(1)), ("k < 0", 101, -1, 2, 2, 1),
                                                  ("ldx < k", 101, 2, 1, 2, 1), ("ldy < k", 101, 2, 2, 1, 1),
                                                  ("column-major ldx < ncols", 102, 2, 3, 3, 1), ("column-major ldy < nrows", 102, 2, 4, 2, 1),
                                                  ("X span overflows", 101, 2, Int64.max / 2, 2, 2)] {
            let (st, y) = run(layout, 3, 4, k, ldx, ldy)
            #expect(st == want && y.allSatisfy { $0 == 7 }, "\(name): status \(st), y \(y)")
        }
    }
}
