import COpenBLAS
import Foundation
import MicroKernels
import Testing
import Tuner

/// The blocked LU and Cholesky on the generated dgemm, against LAPACKE on OpenBLAS.
@Suite("Blocked factorizations")
struct FactorizationTests {
    /// Orders around and off the panel width, and the panel widths that split them unevenly.
    static let cases: [(n: Int, block: Int)] = [(1, 64), (7, 3), (130, 64), (300, 64), (517, 100)]

    @Test("LU: the factors and pivots of LAPACKE_dgetrf, backward error under 30", arguments: cases)
    func lu(n: Int, block: Int) throws {
        let f = BlockedFactorization(library: try modelLibrary.get(), blockSize: block)
        let a = try SquareMatrix.random(n: n, seed: UInt64(n))
        let ours = try SquareMatrix(n: n), ref = try SquareMatrix(n: n)
        ours.copy(from: a); ref.copy(from: a)
        var p = [Int32](repeating: 0, count: n), q = [Int32](repeating: 0, count: n)
        let info = try p.withUnsafeMutableBufferPointer { try f.lu(ours.storage, n: n, lda: n, pivots: $0.baseAddress!) }
        #expect(info == 0)
        #expect(LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), ref.storage, Int32(n), &q) == 0)
        #expect(p == q)
        #expect(maxRelativeDifference(ours, ref) < 1e-10)
        let residual = try FactorizationCheck.luResidual(original: a, factored: ours, pivots: p)
        #expect(residual < FactorizationBench.residualThreshold, "residual \(residual)")
    }

    @Test("Cholesky: the lower factor of LAPACKE_dpotrf, backward error under 30", arguments: cases)
    func cholesky(n: Int, block: Int) throws {
        let f = BlockedFactorization(library: try modelLibrary.get(), blockSize: block)
        let a = try SquareMatrix.randomSPD(n: n, seed: UInt64(n) + 7)
        let ours = try SquareMatrix(n: n), ref = try SquareMatrix(n: n)
        ours.copy(from: a); ref.copy(from: a)
        try f.cholesky(ours.storage, n: n, lda: n)
        #expect(LAPACKE_dpotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), ref.storage, Int32(n)) == 0)
        #expect(maxRelativeDifference(ours, ref, lowerOnly: true) < 1e-12)
        let residual = try FactorizationCheck.choleskyResidual(original: a, factored: ours)
        #expect(residual < FactorizationBench.residualThreshold, "residual \(residual)")
    }

    @Test("a wrong factor is caught by the residual check")
    func residualCatchesErrors() throws {
        let n = 64
        let a = try SquareMatrix.randomSPD(n: n, seed: 3)
        let f = try SquareMatrix(n: n)
        f.copy(from: a)
        #expect(LAPACKE_dpotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), f.storage, Int32(n)) == 0)
        #expect(try FactorizationCheck.choleskyResidual(original: a, factored: f) < 30)
        f[40, 20] += 1e-9
        #expect(try FactorizationCheck.choleskyResidual(original: a, factored: f) > 1000)
    }

    @Test("a matrix that is not positive definite names its leading minor; a singular one reports LAPACK's info")
    func badMatrices() throws {
        let f = BlockedFactorization(library: try modelLibrary.get(), blockSize: 32)
        let n = 100
        let a = try SquareMatrix(n: n)
        for i in 0..<n { a[i, i] = 1 }
        a[70, 70] = -1
        #expect(throws: FactorizationError("the leading minor of order 71 is not positive definite")) {
            try f.cholesky(a.storage, n: n, lda: n)
        }
        // Column 41 (1-based) is zero: LU completes and reports it, as dgetrf does.
        let s = try SquareMatrix.random(n: n, seed: 5)
        for i in 0..<n { s[i, 40] = 0 }
        var p = [Int32](repeating: 0, count: n)
        #expect(try p.withUnsafeMutableBufferPointer { try f.lu(s.storage, n: n, lda: n, pivots: $0.baseAddress!) } == 41)
    }

    @Test("impossible sizes are refused before anything is touched")
    func badSizes() throws {
        let f = BlockedFactorization(library: try modelLibrary.get())
        let a = try SquareMatrix(n: 4)
        #expect(throws: FactorizationError.self) { try f.cholesky(a.storage, n: 4, lda: 3) }
        #expect(throws: FactorizationError.self) { try f.cholesky(a.storage, n: -1, lda: 1) }
        #expect(throws: FactorizationError.self) { try f.cholesky(a.storage, n: 1 << 40, lda: 1 << 40) }
        #expect(throws: (any Error).self) { _ = try SquareMatrix(n: 1 << 62) }
    }

    @Test("blastune bench --op lu and --op cholesky: report with ratio, residuals and peak fraction")
    func benchCommand() throws {
        let dir = try tempDirectory("factor-bench")
        for op in FactorizationKind.allCases {
            let r = try runCommand([blastuneExecutable, "bench", "--op", op.rawValue, "--sizes", "96,200", "--threads", "1,2",
                                    "--samples", "2", "--block-size", "64", "--out", dir.path])
            #expect(r.status == 0, "\(r.output)")
            let report = try JSONDecoder().decode(FactorizationBenchReport.self,
                                                  from: Data(contentsOf: dir.appendingPathComponent("bench-\(op.rawValue).json")))
            #expect(report.op == op && report.rows.count == 4)
            for row in report.rows {
                #expect(row.oursResidual < 30 && row.peerResidual < 30)
                #expect(row.oursGflops > 0 && row.peerGflops > 0 && row.ratio > 0 && row.fractionOfPeak > 0)
                #expect(abs(row.ratio - row.peer.median / row.ours.median) < 1e-9)
            }
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bench-\(op.rawValue).csv").path))
        }
    }
}

/// max |x - y| / max |y| over the matrix (or its lower triangle).
private func maxRelativeDifference(_ x: SquareMatrix, _ y: SquareMatrix, lowerOnly: Bool = false) -> Double {
    var d = 0.0, s = 0.0
    for j in 0..<x.n {
        for i in (lowerOnly ? j : 0)..<x.n {
            d = max(d, abs(x[i, j] - y[i, j]))
            s = max(s, abs(y[i, j]))
        }
    }
    return s > 0 ? d / s : d
}
