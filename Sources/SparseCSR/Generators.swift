/// Reproducible sparse matrices for tests and benchmarks.
public enum CSRGenerators {
    /// A small, fast, seeded generator (SplitMix64).
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int64) -> Int64 { n <= 0 ? 0 : Int64(next() % UInt64(n)) }
        mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    }

    static func value<T: CSRScalar>(_ rng: inout Rng) -> T { T(rng.unit() * 2 - 1) }

    /// `nrows x ncols` with about `perRow` entries per row at uniformly random columns.
    public static func uniform<T: CSRScalar>(_: T.Type, nrows: Int64, ncols: Int64, perRow: Int64, seed: UInt64 = 1) -> CSRMatrix<T> {
        var rng = Rng(state: seed)
        var rows: [Int64] = [], cols: [Int64] = [], vals: [T] = []
        let total = nrows * perRow
        rows.reserveCapacity(Int(total)); cols.reserveCapacity(Int(total)); vals.reserveCapacity(Int(total))
        if ncols > 0 {
            for r in 0..<nrows { for _ in 0..<perRow { rows.append(r); cols.append(rng.below(ncols)); vals.append(value(&rng)) } }
        }
        return try! CSRMatrix(nrows: nrows, ncols: ncols, rows: rows, cols: cols, values: vals)
    }

    /// A power-law graph: R-MAT with the Graph500 parameters (a, b, c) = (0.57, 0.19, 0.19),
    /// 2^scale vertices and `edgeFactor` edges per vertex.
    public static func rmat<T: CSRScalar>(_: T.Type, scale: Int, edgeFactor: Int64 = 16, seed: UInt64 = 1) -> CSRMatrix<T> {
        var rng = Rng(state: seed)
        let n = Int64(1) << scale, edges = n * edgeFactor
        var rows: [Int64] = [], cols: [Int64] = [], vals: [T] = []
        for _ in 0..<edges {
            var r: Int64 = 0, c: Int64 = 0
            for bit in 0..<scale {
                let u = rng.unit()
                let (rb, cb): (Int64, Int64) = u < 0.57 ? (0, 0) : u < 0.76 ? (0, 1) : u < 0.95 ? (1, 0) : (1, 1)
                r |= rb << bit
                c |= cb << bit
            }
            rows.append(r); cols.append(c); vals.append(value(&rng))
        }
        return try! CSRMatrix(nrows: n, ncols: n, rows: rows, cols: cols, values: vals)
    }

    /// The 5-point Laplacian on an `nx x ny` grid, or the 7-point one on `nx x ny x nz`.
    public static func stencil<T: CSRScalar>(_: T.Type, nx: Int64, ny: Int64, nz: Int64 = 1) -> CSRMatrix<T> {
        let n = nx * ny * nz
        var rows: [Int64] = [], cols: [Int64] = [], vals: [T] = []
        for z in 0..<nz { for y in 0..<ny { for x in 0..<nx {
            let i = (z * ny + y) * nx + x
            rows.append(i); cols.append(i); vals.append(T(nz > 1 ? 6 : 4))
            let nbrs: [(Bool, Int64)] = [(x > 0, i - 1), (x + 1 < nx, i + 1), (y > 0, i - nx), (y + 1 < ny, i + nx),
                                         (z > 0, i - nx * ny), (z + 1 < nz, i + nx * ny)]
            for (ok, j) in nbrs where ok { rows.append(i); cols.append(j); vals.append(-1) }
        } } }
        return try! CSRMatrix(nrows: n, ncols: n, rows: rows, cols: cols, values: vals)
    }

    /// An `n x n` band: `width` consecutive columns per row around the diagonal (shifted
    /// inward at the edges, so every row holds min(width, n)), sorted, random values.
    public static func banded<T: CSRScalar>(_: T.Type, n: Int64, width: Int64, seed: UInt64 = 1) -> CSRMatrix<T> {
        var rng = Rng(state: seed)
        let w = min(width, n)
        var rp: [Int64] = [0], ci: [Int64] = [], vals: [T] = []
        rp.reserveCapacity(Int(n) + 1); ci.reserveCapacity(Int(n * w)); vals.reserveCapacity(Int(n * w))
        for r in 0..<n {
            let first = max(0, min(r - w / 2, n - w))
            for c in first..<(first + w) { ci.append(c); vals.append(value(&rng)) }
            rp.append(Int64(ci.count))
        }
        return try! CSRMatrix(nrows: n, ncols: n, rowPtr: rp, colIdx: ci, values: vals)
    }

    /// One row holding `hugeRow` entries; the other rows hold `perRow` each.
    public static func hugeRow<T: CSRScalar>(_: T.Type, nrows: Int64, ncols: Int64, hugeRow: Int64, perRow: Int64 = 2, seed: UInt64 = 1) -> CSRMatrix<T> {
        var rng = Rng(state: seed)
        var rows: [Int64] = [], cols: [Int64] = [], vals: [T] = []
        for r in 0..<nrows {
            let count = r == nrows / 2 ? hugeRow : perRow
            for _ in 0..<count where ncols > 0 { rows.append(r); cols.append(rng.below(ncols)); vals.append(value(&rng)) }
        }
        return try! CSRMatrix(nrows: nrows, ncols: ncols, rows: rows, cols: cols, values: vals)
    }

    /// Dense `block x block` blocks on the diagonal of an `nblocks * block` square matrix.
    public static func denseBlocks<T: CSRScalar>(_: T.Type, nblocks: Int64, block: Int64, seed: UInt64 = 1) -> CSRMatrix<T> {
        var rng = Rng(state: seed)
        var rows: [Int64] = [], cols: [Int64] = [], vals: [T] = []
        for b in 0..<nblocks { for i in 0..<block { for j in 0..<block {
            rows.append(b * block + i); cols.append(b * block + j); vals.append(value(&rng))
        } } }
        return try! CSRMatrix(nrows: nblocks * block, ncols: nblocks * block, rows: rows, cols: cols, values: vals)
    }

    /// Hypersparse: a `1 x n` row (`rowVector`) or an `n x 1` column with `count` entries.
    public static func hypersparse<T: CSRScalar>(_: T.Type, n: Int64, count: Int64, rowVector: Bool, seed: UInt64 = 1) -> CSRMatrix<T> {
        var rng = Rng(state: seed)
        var rows: [Int64] = [], cols: [Int64] = [], vals: [T] = []
        for _ in 0..<count {
            let at = rng.below(n)
            rows.append(rowVector ? 0 : at); cols.append(rowVector ? at : 0); vals.append(value(&rng))
        }
        return try! CSRMatrix(nrows: rowVector ? 1 : n, ncols: rowVector ? n : 1, rows: rows, cols: cols, values: vals)
    }
}
