import SparseCSR
import Testing

@Suite("CSR structure")
struct CSRMatrixTests {
    func make(_ rows: Int64, _ cols: Int64, _ ptr: [Int64], _ idx: [Int64], _ val: [Double]?) -> CSRError? {
        do { _ = try CSRMatrix(nrows: rows, ncols: cols, rowPtr: ptr, colIdx: idx, values: val); return nil } catch { return error }
    }

    @Test("valid structures, with sorted and unique flags")
    func valid() throws {
        let a = try CSRMatrix<Double>(nrows: 2, ncols: 3, rowPtr: [0, 2, 3], colIdx: [0, 2, 2], values: [1, 2, 3])
        #expect(a.nnz == 3 && a.sortedRows && a.uniqueRows)
        let b = try CSRMatrix<Double>(nrows: 2, ncols: 3, rowPtr: [0, 2, 2], colIdx: [2, 0], values: nil)
        #expect(!b.sortedRows && !b.uniqueRows)
        let c = try CSRMatrix<Float>(nrows: 0, ncols: 0, rowPtr: [0], colIdx: [], values: [])
        #expect(c.nnz == 0)
    }

    @Test("each broken structure says what and where")
    func invalid() {
        #expect(make(-1, 3, [0], [], nil) == .negativeDimension(rows: -1, cols: 3))
        #expect(make(2, 3, [0, 1], [0], nil) == .rowPointerCount(expected: 3, found: 2))
        #expect(make(1, 3, [1, 1], [], nil) == .firstRowPointer(1))
        #expect(make(2, 3, [0, 2, 1], [0], nil) == .decreasingRowPointer(row: 1, from: 2, to: 1))
        #expect(make(2, 3, [0, 1, 2], [0], nil) == .nnzMismatch(rowPointerEnd: 2, columnIndices: 1))
        #expect(make(3, 3, [0, 2, 1, 2], [0, 1], nil) == .decreasingRowPointer(row: 1, from: 2, to: 1))
        #expect(make(2, 3, [0, 1, 2], [0, 3], nil) == .columnOutOfRange(row: 1, position: 1, column: 3, ncols: 3))
        #expect(make(2, 3, [0, 1, 2], [0, -1], nil) == .columnOutOfRange(row: 1, position: 1, column: -1, ncols: 3))
        #expect(make(1, 3, [0, 2], [0, 1], [1]) == .valueCount(expected: 2, found: 1))
        #expect(CSRError.decreasingRowPointer(row: 1, from: 2, to: 1).description == "row_ptr decreases at row 1: row_ptr[1] = 2 > row_ptr[2] = 1")
    }

    @Test("coordinates are sorted per row and duplicates summed")
    func coordinates() throws {
        let a = try CSRMatrix<Double>(nrows: 2, ncols: 4, rows: [1, 0, 1, 0, 1], cols: [3, 2, 0, 2, 3], values: [1, 2, 3, 4, 5])
        #expect(a.rowPtr == [0, 1, 3])
        #expect(a.colIdx == [2, 0, 3])
        #expect(a.values == [6, 3, 6])
        #expect(a.uniqueRows)
    }

    @Test("reference SpMV and transpose (hand-checked)")
    func reference() throws {
        // A = [1 0 2; 0 0 3]
        let a = try CSRMatrix<Double>(nrows: 2, ncols: 3, rowPtr: [0, 2, 3], colIdx: [0, 2, 2], values: [1, 2, 3])
        var y: [Double] = [.nan, .nan]
        ReferenceKernels.spmv(a, alpha: 1, x: [1, 2, 3], beta: 0, y: &y)
        #expect(y == [7, 9])
        y = [1, 1]
        ReferenceKernels.spmv(a, alpha: 2, x: [1, 2, 3], beta: -1, y: &y)
        #expect(y == [13, 17])
        let t = ReferenceKernels.transpose(a)   // A^T = [1 0; 0 0; 2 3]
        #expect(t.nrows == 3 && t.ncols == 2)
        #expect(t.rowPtr == [0, 1, 1, 3] && t.colIdx == [0, 0, 1] && t.values == [1, 2, 3])
        #expect(ReferenceKernels.transpose(t) == a)
    }

    @Test("generators give valid matrices of the stated shapes", arguments: [1, 2])
    func generators(_ seed: Int) {
        let u = CSRGenerators.uniform(Double.self, nrows: 50, ncols: 70, perRow: 4, seed: UInt64(seed))
        #expect(u.nrows == 50 && u.ncols == 70 && u.nnz <= 200 && u.nnz > 150 && u.uniqueRows)
        let r = CSRGenerators.rmat(Float.self, scale: 8, edgeFactor: 8, seed: UInt64(seed))
        #expect(r.nrows == 256 && r.rowStats.skew > 3)   // power law: a few heavy rows
        let s = CSRGenerators.stencil(Double.self, nx: 4, ny: 3)
        #expect(s.nnz == 12 + 2 * (3 * 3 + 4 * 2))     // diagonal + grid edges both ways
        let s3 = CSRGenerators.stencil(Double.self, nx: 3, ny: 3, nz: 3)
        #expect(s3.nrows == 27 && s3.rowStats.max == 7)
        let h = CSRGenerators.hugeRow(Double.self, nrows: 100, ncols: 10_000, hugeRow: 3000, seed: UInt64(seed))
        #expect(h.rowStats.max > 2000)
        let d = CSRGenerators.denseBlocks(Double.self, nblocks: 3, block: 4, seed: UInt64(seed))
        #expect(d.nnz == 48)
        let row = CSRGenerators.hypersparse(Double.self, n: 1_000_000, count: 10, rowVector: true, seed: UInt64(seed))
        #expect(row.nrows == 1 && row.ncols == 1_000_000)
        let col = CSRGenerators.hypersparse(Double.self, n: 1_000_000, count: 10, rowVector: false, seed: UInt64(seed))
        #expect(col.nrows == 1_000_000 && col.ncols == 1 && col.rowStats.min == 0)
        #expect(ReferenceKernels.transpose(ReferenceKernels.transpose(col)) == col)
    }
}
