/// Plain Swift SpMV and transpose: the independent references the generated kernels are
/// tested against. Accumulation is in Double.
public enum ReferenceKernels {
    /// y = alpha * A * x + beta * y; with beta == 0, y is not read (NaN in y does not propagate).
    public static func spmv<T: CSRScalar>(_ a: CSRMatrix<T>, alpha: T, x: [T], beta: T, y: inout [T]) {
        precondition(x.count == Int(a.ncols) && y.count == Int(a.nrows), "x and y must match A's shape")
        for r in 0..<Int(a.nrows) {
            var s = 0.0
            for p in Int(a.rowPtr[r])..<Int(a.rowPtr[r + 1]) {
                s += Double(a.values?[p] ?? 1) * Double(x[Int(a.colIdx[p])])
            }
            y[r] = beta == 0 ? T(Double(alpha) * s) : T(Double(alpha) * s + Double(beta) * Double(y[r]))
        }
    }

    /// The CSR of A^T, column indices ascending within each row (a stable counting sort).
    public static func transpose<T: CSRScalar>(_ a: CSRMatrix<T>) -> CSRMatrix<T> {
        var ptr = [Int64](repeating: 0, count: Int(a.ncols) + 1)
        for c in a.colIdx { ptr[Int(c) + 1] += 1 }
        for c in 0..<Int(a.ncols) { ptr[c + 1] += ptr[c] }
        var next = ptr
        var idx = [Int64](repeating: 0, count: a.colIdx.count)
        var val: [T]? = a.values.map { [T](repeating: 0, count: $0.count) }
        for r in 0..<Int(a.nrows) {
            for p in Int(a.rowPtr[r])..<Int(a.rowPtr[r + 1]) {
                let c = Int(a.colIdx[p])
                let at = Int(next[c])
                next[c] += 1
                idx[at] = Int64(r)
                if let v = a.values { val![at] = v[p] }
            }
        }
        // Valid by construction.
        return try! CSRMatrix(nrows: a.ncols, ncols: a.nrows, rowPtr: ptr, colIdx: idx, values: val)
    }
}
