import COpenBLAS
import MicroKernels

/// A factorization that could not be completed, naming the step and the reason.
public struct FactorizationError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Blocked right-looking LU and Cholesky factorizations (LAPACK's dgetrf and dpotrf
/// algorithms) of column-major f64 matrices: each panel is factored by LAPACKE, the
/// triangular solve of its row (or column) block by CBLAS `dtrsm`, and the trailing
/// update, where nearly all the flops are, by the generated `bt_dgemm` of a built library.
public struct BlockedFactorization: Sendable {
    public let library: KernelLibrary
    /// Columns per panel.
    public var blockSize: Int
    /// OpenBLAS threads for the panels and triangular solves (the GEMM uses the library's
    /// own count). One by default: on few cores, OpenBLAS workers that spin after a call
    /// would take the cores the GEMM's threads need.
    public var panelThreads: Int

    public init(library: KernelLibrary, blockSize: Int = 256, panelThreads: Int = 1) {
        self.library = library
        self.blockSize = blockSize
        self.panelThreads = panelThreads
    }

    /// Runs `body` with OpenBLAS on `panelThreads` threads, restoring its count after.
    private func withPanelThreads<R>(_ body: () throws(FactorizationError) -> R) throws(FactorizationError) -> R {
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(Int32(max(1, panelThreads)))
        defer { openblas_set_num_threads(saved) }
        return try body()
    }

    /// The panel width this factorization uses for an n x n matrix: `blockSize`, narrowed
    /// for small matrices so that the trailing updates keep most of the work.
    public func panelWidth(n: Int) -> Int { max(1, min(blockSize, max(64, n / 8))) }

    /// Factors the n x n matrix `a` (leading dimension `lda`) in place as P A = L U with
    /// partial pivoting: L unit lower, U upper, `pivots[i]` (1-based, as LAPACK) the row
    /// swapped with row i. Returns 0, or the 1-based column of the first exactly zero
    /// pivot (the factorization is then complete but U is singular), as LAPACK's `info`.
    public func lu(_ a: UnsafeMutablePointer<Double>, n: Int, lda: Int, pivots: UnsafeMutablePointer<Int32>) throws(FactorizationError) -> Int {
        try checkSizes(n: n, lda: lda)
        return try withPanelThreads { () throws(FactorizationError) in try luBlocked(a, n: n, lda: lda, pivots: pivots) }
    }

    private func luBlocked(_ a: UnsafeMutablePointer<Double>, n: Int, lda: Int, pivots: UnsafeMutablePointer<Int32>) throws(FactorizationError) -> Int {
        let nb = panelWidth(n: n)
        var info = 0
        var j = 0
        while j < n {
            let jb = min(nb, n - j), rest = n - j - jb
            let panel = a + j + j * lda
            let r = LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n - j), Int32(jb), panel, Int32(lda), pivots + j)
            if r < 0 { throw FactorizationError("LAPACKE_dgetrf rejected argument \(-r) of the panel at column \(j)") }
            if r > 0 && info == 0 { info = j + Int(r) }
            for i in j..<(j + jb) { pivots[i] += Int32(j) }
            // The panel's row swaps, applied to the columns left and right of it.
            if j > 0 { try laswp(a, columns: j, lda: lda, from: j, to: j + jb, pivots: pivots) }
            if rest > 0 {
                try laswp(a + (j + jb) * lda, columns: rest, lda: lda, from: j, to: j + jb, pivots: pivots)
                // U12 = L11^-1 A12, then A22 -= L21 U12.
                cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasUnit, Int32(jb), Int32(rest), 1,
                            panel, Int32(lda), a + j + (j + jb) * lda, Int32(lda))
                try gemm(.none, .none, m: rest, n: rest, k: jb, a: a + (j + jb) + j * lda, b: a + j + (j + jb) * lda,
                         c: a + (j + jb) + (j + jb) * lda, lda: lda)
            }
            j += jb
        }
        return info
    }

    /// Factors the symmetric positive definite n x n matrix `a` in place as A = L L^T, L
    /// lower; only the lower triangle is read and written (the strict upper triangle is
    /// scratch). Throws when a leading minor is not positive definite.
    public func cholesky(_ a: UnsafeMutablePointer<Double>, n: Int, lda: Int) throws(FactorizationError) {
        try checkSizes(n: n, lda: lda)
        try withPanelThreads { () throws(FactorizationError) in try choleskyBlocked(a, n: n, lda: lda) }
    }

    private func choleskyBlocked(_ a: UnsafeMutablePointer<Double>, n: Int, lda: Int) throws(FactorizationError) {
        let nb = panelWidth(n: n)
        var j = 0
        while j < n {
            let jb = min(nb, n - j), rest = n - j - jb
            let diag = a + j + j * lda
            let r = LAPACKE_dpotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(jb), diag, Int32(lda))
            if r < 0 { throw FactorizationError("LAPACKE_dpotrf rejected argument \(-r) of the block at column \(j)") }
            if r > 0 { throw FactorizationError("the leading minor of order \(j + Int(r)) is not positive definite") }
            if rest > 0 {
                // L21 = A21 L11^-T, then the lower triangle of A22 -= L21 L21^T by block columns.
                let l21 = diag + jb
                cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, Int32(rest), Int32(jb), 1,
                            diag, Int32(lda), l21, Int32(lda))
                let a22 = a + (j + jb) + (j + jb) * lda
                var jj = 0
                while jj < rest {
                    let w = min(nb, rest - jj)
                    try gemm(.none, .transpose, m: rest - jj, n: w, k: jb, a: l21 + jj, b: l21 + jj, c: a22 + jj + jj * lda, lda: lda)
                    jj += w
                }
            }
            j += jb
        }
    }

    private func checkSizes(n: Int, lda: Int) throws(FactorizationError) {
        guard n >= 0, n <= Int(Int32.max) else { throw FactorizationError("n = \(n) is outside 0...\(Int32.max) (LAPACK's 32-bit sizes)") }
        guard lda >= max(1, n), lda <= Int(Int32.max) else { throw FactorizationError("lda = \(lda) must be in max(1, n)...\(Int32.max)") }
        guard blockSize >= 1 else { throw FactorizationError("the block size must be at least 1 (got \(blockSize))") }
    }

    /// Row swaps `from..<to` (0-based rows; pivots 1-based) on `columns` columns at `a`.
    private func laswp(_ a: UnsafeMutablePointer<Double>, columns: Int, lda: Int, from: Int, to: Int,
                       pivots: UnsafeMutablePointer<Int32>) throws(FactorizationError) {
        let r = LAPACKE_dlaswp(LAPACK_COL_MAJOR, Int32(columns), a, Int32(lda), Int32(from + 1), Int32(to), pivots, 1)
        if r != 0 { throw FactorizationError("LAPACKE_dlaswp rejected argument \(-r)") }
    }

    /// C -= op(A) op(B), all at leading dimension `lda`, by the library's `bt_dgemm`.
    private func gemm(_ ta: GemmTranspose, _ tb: GemmTranspose, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Double>, b: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>, lda: Int) throws(FactorizationError) {
        let status = library.dgemm(KernelLibrary.colMajor, ta.cValue, tb.cValue, Int64(m), Int64(n), Int64(k), -1,
                                   a, Int64(lda), b, Int64(lda), 1, c, Int64(lda))
        if status != 0 { throw FactorizationError("bt_dgemm of the trailing update (\(m) x \(n) x \(k)) failed: \(library.strerror(status))") }
    }
}
