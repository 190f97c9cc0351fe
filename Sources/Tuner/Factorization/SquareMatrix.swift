import COpenBLAS
import KernelSpec

/// An n x n column-major f64 matrix (leading dimension n) in 64-byte aligned storage it owns.
public final class SquareMatrix: @unchecked Sendable {
    public let n: Int
    public let storage: UnsafeMutablePointer<Double>

    /// Zero-filled. Throws when n x n doubles do not fit a 64-bit size.
    public init(n: Int) throws(SizeOverflowError) {
        let count = try CheckedSize.mul(Int64(max(n, 0)), Int64(max(n, 0)), "n x n elements")
        _ = try CheckedSize.mul(count, 8, "n x n doubles in bytes")
        self.n = n
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(8, Int(count) * 8), alignment: 64)
        storage = raw.initializeMemory(as: Double.self, repeating: 0, count: max(1, Int(count)))
    }

    deinit { storage.deallocate() }

    public var count: Int { n * n }
    public subscript(i: Int, j: Int) -> Double {
        get { storage[i + j * n] }
        set { storage[i + j * n] = newValue }
    }

    /// Copies `other` (same n) into this matrix.
    public func copy(from other: SquareMatrix) {
        precondition(other.n == n)
        storage.update(from: other.storage, count: count)
    }

    /// The 1-norm (largest column sum of magnitudes), by LAPACKE.
    public var norm1: Double {
        n == 0 ? 0 : LAPACKE_dlange(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "1")), Int32(n), Int32(n), storage, Int32(n))
    }

    /// A general matrix with reproducible entries uniform in [-1, 1).
    public static func random(n: Int, seed: UInt64) throws(SizeOverflowError) -> SquareMatrix {
        let m = try SquareMatrix(n: n)
        var rng = SplitMix64(seed: seed)
        for i in 0..<m.count { m.storage[i] = 2 * rng.nextUnit() - 1 }
        return m
    }

    /// A symmetric positive definite matrix: symmetric entries uniform in [-1, 1), plus n on
    /// the diagonal (strictly diagonally dominant, hence SPD).
    public static func randomSPD(n: Int, seed: UInt64) throws(SizeOverflowError) -> SquareMatrix {
        let m = try SquareMatrix(n: n)
        var rng = SplitMix64(seed: seed)
        for j in 0..<n {
            for i in j..<n {
                let v = 2 * rng.nextUnit() - 1
                m[i, j] = v
                m[j, i] = v
            }
            m[j, j] += Double(n)
        }
        return m
    }
}

/// Backward errors of a factorization, computed with OpenBLAS (independent of the generated kernels).
public enum FactorizationCheck {
    /// ||P A - L U||_1 / (||A||_1 n eps) of the LU factors `f` (as `dgetrf` leaves them) of `a`.
    public static func luResidual(original a: SquareMatrix, factored f: SquareMatrix, pivots: UnsafePointer<Int32>) throws -> Double {
        let n = a.n
        guard n > 0 else { return 0 }
        // W = U, then W = L U (L unit lower, held below the diagonal of f).
        let w = try SquareMatrix(n: n)
        for j in 0..<n { for i in 0...j { w[i, j] = f[i, j] } }
        cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasUnit, Int32(n), Int32(n), 1, f.storage, Int32(n), w.storage, Int32(n))
        let pa = try SquareMatrix(n: n)
        pa.copy(from: a)
        _ = LAPACKE_dlaswp(LAPACK_COL_MAJOR, Int32(n), pa.storage, Int32(n), 1, Int32(n), pivots, 1)
        return scaledDifference(pa, w, norm: a.norm1)
    }

    /// ||A - L L^T||_1 / (||A||_1 n eps) of the Cholesky factor held in the lower triangle of `f`.
    public static func choleskyResidual(original a: SquareMatrix, factored f: SquareMatrix) throws -> Double {
        let n = a.n
        guard n > 0 else { return 0 }
        let w = try SquareMatrix(n: n)
        for j in 0..<n { for i in j..<n { w[i, j] = f[i, j] } }
        cblas_dtrmm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, Int32(n), Int32(n), 1, f.storage, Int32(n), w.storage, Int32(n))
        return scaledDifference(a, w, norm: a.norm1)
    }

    /// ||x - y||_1 / (norm n eps); y is overwritten.
    private static func scaledDifference(_ x: SquareMatrix, _ y: SquareMatrix, norm: Double) -> Double {
        for i in 0..<x.count { y.storage[i] -= x.storage[i] }
        let d = y.norm1
        return d.isNaN ? .infinity : d / (max(norm, .leastNormalMagnitude) * Double(x.n) * Double.ulpOfOne)
    }
}
