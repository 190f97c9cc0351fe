/// Element types a CSR matrix can hold.
public protocol CSRScalar: BinaryFloatingPoint & Sendable {}
extension Float: CSRScalar {}
extension Double: CSRScalar {}

/// A CSR structure that is not one, with what is wrong and where.
public enum CSRError: Error, Equatable, CustomStringConvertible, Sendable {
    case negativeDimension(rows: Int64, cols: Int64)
    case rowPointerCount(expected: Int64, found: Int)
    case firstRowPointer(Int64)
    case decreasingRowPointer(row: Int64, from: Int64, to: Int64)
    case nnzMismatch(rowPointerEnd: Int64, columnIndices: Int)
    case valueCount(expected: Int, found: Int)
    case columnOutOfRange(row: Int64, position: Int64, column: Int64, ncols: Int64)
    case overflow(String)

    public var description: String {
        switch self {
        case .negativeDimension(let r, let c): return "negative dimension: \(r) x \(c)"
        case .rowPointerCount(let e, let f): return "row_ptr has \(f) entries; nrows + 1 = \(e) expected"
        case .firstRowPointer(let v): return "row_ptr[0] is \(v); it must be 0"
        case .decreasingRowPointer(let r, let a, let b): return "row_ptr decreases at row \(r): row_ptr[\(r)] = \(a) > row_ptr[\(r + 1)] = \(b)"
        case .nnzMismatch(let e, let n): return "row_ptr[nrows] = \(e) but there are \(n) column indices"
        case .valueCount(let e, let f): return "\(f) values for \(e) nonzeros"
        case .columnOutOfRange(let r, let p, let c, let n): return "column index \(c) at position \(p) (row \(r)) is outside 0 ..< \(n)"
        case .overflow(let what): return "size overflow: \(what) does not fit in 64 bits"
        }
    }
}

/// A sparse matrix in compressed sparse row form with 64-bit row pointers and column
/// indices. Construction validates the whole structure; `values == nil` is a pattern.
public struct CSRMatrix<T: CSRScalar>: Sendable, Equatable {
    public let nrows: Int64
    public let ncols: Int64
    public let rowPtr: [Int64]
    public let colIdx: [Int64]
    public let values: [T]?
    /// Every row's column indices ascend (duplicates allowed).
    public let sortedRows: Bool
    /// Every row's column indices ascend strictly (sorted, no duplicates).
    public let uniqueRows: Bool

    public var nnz: Int64 { Int64(colIdx.count) }

    /// Validates and wraps CSR arrays: `rowPtr[0] == 0`, non-decreasing,
    /// `rowPtr[nrows] == colIdx.count`, one value per index, every column in range.
    public init(nrows: Int64, ncols: Int64, rowPtr: [Int64], colIdx: [Int64], values: [T]?) throws(CSRError) {
        guard nrows >= 0, ncols >= 0 else { throw .negativeDimension(rows: nrows, cols: ncols) }
        let (expected, o) = nrows.addingReportingOverflow(1)
        guard !o else { throw .overflow("nrows + 1") }
        guard Int64(rowPtr.count) == expected else { throw .rowPointerCount(expected: expected, found: rowPtr.count) }
        guard rowPtr[0] == 0 else { throw .firstRowPointer(rowPtr[0]) }
        guard rowPtr[Int(nrows)] == Int64(colIdx.count) else { throw .nnzMismatch(rowPointerEnd: rowPtr[Int(nrows)], columnIndices: colIdx.count) }
        if let values, values.count != colIdx.count { throw .valueCount(expected: colIdx.count, found: values.count) }
        // Row pointers first (so that every row's range lies inside colIdx), then columns.
        for r in 0..<Int(nrows) where rowPtr[r] > rowPtr[r + 1] {
            throw .decreasingRowPointer(row: Int64(r), from: rowPtr[r], to: rowPtr[r + 1])
        }
        var sorted = true, unique = true
        for r in 0..<Int(nrows) {
            let (lo, hi) = (rowPtr[r], rowPtr[r + 1])
            var prev: Int64 = -1
            for p in Int(lo)..<Int(hi) {
                let c = colIdx[p]
                guard c >= 0 && c < ncols else { throw .columnOutOfRange(row: Int64(r), position: Int64(p), column: c, ncols: ncols) }
                if c < prev { sorted = false; unique = false } else if c == prev { unique = false }
                prev = c
            }
        }
        self.nrows = nrows; self.ncols = ncols; self.rowPtr = rowPtr; self.colIdx = colIdx; self.values = values
        sortedRows = sorted
        uniqueRows = unique
    }

    /// Builds a CSR matrix from coordinates (0-based). Duplicates are summed and every row
    /// comes out sorted; pattern entries (`values == nil`) are merged.
    public init(nrows: Int64, ncols: Int64, rows: [Int64], cols: [Int64], values: [T]?) throws(CSRError) {
        guard rows.count == cols.count, values == nil || values!.count == rows.count else {
            throw .valueCount(expected: rows.count, found: values?.count ?? cols.count)
        }
        guard nrows >= 0, ncols >= 0 else { throw .negativeDimension(rows: nrows, cols: ncols) }
        var counts = [Int64](repeating: 0, count: Int(nrows) + 1)
        for (i, r) in rows.enumerated() {
            guard r >= 0 && r < nrows else { throw .columnOutOfRange(row: r, position: Int64(i), column: cols[i], ncols: ncols) }
            guard cols[i] >= 0 && cols[i] < ncols else { throw .columnOutOfRange(row: r, position: Int64(i), column: cols[i], ncols: ncols) }
            counts[Int(r) + 1] += 1
        }
        for r in 0..<Int(nrows) { counts[r + 1] += counts[r] }
        var next = counts
        var ci = [Int64](repeating: 0, count: rows.count)
        var vv: [T]? = values.map { [T](repeating: 0, count: $0.count) }
        for i in rows.indices {
            let at = Int(next[Int(rows[i])])
            next[Int(rows[i])] += 1
            ci[at] = cols[i]
            if let values { vv![at] = values[i] }
        }
        CSRCompaction.sortAndSumInPlace(nrows: nrows, rowPtr: &counts, colIdx: &ci, values: &vv)
        try self.init(nrows: nrows, ncols: ncols, rowPtr: counts, colIdx: ci, values: vv)
    }

    /// Row-length statistics: min, max, mean and skew (max over mean).
    public var rowStats: (min: Int64, max: Int64, mean: Double, skew: Double) {
        guard nrows > 0 else { return (0, 0, 0, 0) }
        var lo = Int64.max, hi: Int64 = 0
        for r in 0..<Int(nrows) { let l = rowPtr[r + 1] - rowPtr[r]; lo = Swift.min(lo, l); hi = Swift.max(hi, l) }
        let mean = Double(nnz) / Double(nrows)
        return (lo, hi, mean, mean > 0 ? Double(hi) / mean : 0)
    }

    /// The smallest index width (32 or 64 bits) that holds every row pointer and column index.
    public var indexBitsNeeded: Int { (nnz <= Int64(Int32.max) && ncols <= Int64(Int32.max) && nrows <= Int64(Int32.max)) ? 32 : 64 }
}

extension CSRMatrix {
    /// The same structure with values converted to `U`.
    public func converted<U: CSRScalar>(to _: U.Type) -> CSRMatrix<U> {
        CSRMatrix<U>(trusted: nrows, ncols, rowPtr, colIdx, values.map { $0.map { U($0) } }, sorted: sortedRows, unique: uniqueRows)
    }

    /// The 1 x n matrix holding every column once, value f(j) at column j (built without a
    /// per-entry check: the structure is valid by construction).
    public static func fullRow(_ n: Int64, value: (Int64) -> T) -> CSRMatrix<T> {
        let count = Int(n)
        let ci = [Int64](unsafeUninitializedCapacity: count) { b, c in for i in 0..<count { b[i] = Int64(i) }; c = count }
        let va = [T](unsafeUninitializedCapacity: count) { b, c in for i in 0..<count { b[i] = value(Int64(i)) }; c = count }
        return CSRMatrix(trusted: 1, n, [0, n], ci, va, sorted: true, unique: true)
    }
}
