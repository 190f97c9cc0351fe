/// One exact GEMM call shape a caller makes often: `MxNxK[:layout:transa:transb]`, with
/// layout `col` (default) or `row` and each transpose `n` (default) or `t`.
public struct GemmShapeKey: Codable, Hashable, Sendable, CustomStringConvertible, Comparable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var rowMajor: Bool
    public var transA: Bool
    public var transB: Bool

    public init(m: Int, n: Int, k: Int, rowMajor: Bool = false, transA: Bool = false, transB: Bool = false) {
        self.m = m; self.n = n; self.k = k; self.rowMajor = rowMajor; self.transA = transA; self.transB = transB
    }

    /// Parses `MxNxK` or `MxNxK:layout:ta:tb` (`col`/`row`, `n`/`t`).
    public init(parsing text: String) throws(SpecValidationError) {
        let t = String(String(text.drop(while: \.isWhitespace).reversed()).drop(while: \.isWhitespace).reversed())
        let parts = t.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let dims = parts[0].lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard dims.count == 3, let m = dims[0], let n = dims[1], let k = dims[2] else {
            throw SpecValidationError(field: "shape '\(t)'", reason: "expected MxNxK[:col|row:n|t:n|t], e.g. 23x23x23 or 8x16x4:row:t:n")
        }
        guard parts.count == 1 || parts.count == 4 else {
            throw SpecValidationError(field: "shape '\(t)'", reason: "give all three of layout, transa and transb (e.g. \(parts[0]):col:n:t)")
        }
        var row = false, ta = false, tb = false
        if parts.count == 4 {
            switch parts[1].lowercased() {
            case "col", "c": row = false
            case "row", "r": row = true
            default: throw SpecValidationError(field: "shape '\(t)'", reason: "layout '\(parts[1])' is neither col nor row")
            }
            func trans(_ s: String) throws(SpecValidationError) -> Bool {
                switch s.lowercased() {
                case "n": return false
                case "t": return true
                default: throw SpecValidationError(field: "shape '\(t)'", reason: "transpose '\(s)' is neither n nor t")
                }
            }
            ta = try trans(parts[2]); tb = try trans(parts[3])
        }
        self.init(m: m, n: n, k: k, rowMajor: row, transA: ta, transB: tb)
        try validate()
    }

    /// The largest m, n or k a specialised kernel takes.
    public static let maxDim = 256

    public func validate() throws(SpecValidationError) {
        for (name, v) in [("m", m), ("n", n), ("k", k)] where !(1...Self.maxDim).contains(v) {
            throw SpecValidationError(field: "shape \(self).\(name)", reason: "\(v) is outside 1...\(Self.maxDim) (specialised kernels are for small shapes)")
        }
    }

    public var description: String {
        rowMajor || transA || transB ? "\(m)x\(n)x\(k):\(rowMajor ? "row" : "col"):\(transA ? "t" : "n"):\(transB ? "t" : "n")" : "\(m)x\(n)x\(k)"
    }

    /// The column-major call the library runs for it: a row-major C = op(A) op(B) is the
    /// column-major C^T = op(B)^T op(A)^T.
    public var columnMajor: (m: Int, n: Int, k: Int, transA: Bool, transB: Bool) {
        rowMajor ? (n, m, k, transB, transA) : (m, n, k, transA, transB)
    }

    /// The 64-bit key of the column-major call that the generated dispatch hashes.
    public var dispatchKey: UInt64 {
        let c = columnMajor
        return UInt64(c.m) | UInt64(c.n) << 16 | UInt64(c.k) << 32 | (c.transA ? 1 << 48 : 0) | (c.transB ? 1 << 49 : 0)
    }

    public static func < (a: GemmShapeKey, b: GemmShapeKey) -> Bool { a.description < b.description }
}

/// A kernel for one exact shape: sizes known at compile time, the register tile, the K
/// unroll, packing and the tile order are what the search moves.
public struct ShapeKernelSpec: Codable, Hashable, Sendable {
    /// The order the C tiles are computed in.
    public enum Order: String, Codable, Sendable, CaseIterable {
        /// Column blocks outer, row blocks inner (B's columns stay hot).
        case columns
        /// Row blocks outer (A's rows stay hot).
        case rows
    }

    public var dtype: DType
    /// The library's ISA.
    public var isa: ISA
    public var shape: GemmShapeKey
    /// The vector registers' ISA: the library's, or AVX2 (256-bit) in an AVX-512 library.
    public var vectorISA: ISA
    /// Vectors of rows per C tile.
    public var rowVectors: Int
    /// Columns per C tile.
    public var columns: Int
    /// K iterations unrolled (0: all of K).
    public var kUnroll: Int
    /// Copy op(A) into a contiguous column-major buffer first (always when A is transposed).
    public var packA: Bool
    public var order: Order

    public init(dtype: DType, isa: ISA, shape: GemmShapeKey, vectorISA: ISA? = nil, rowVectors: Int = 1, columns: Int = 4,
                kUnroll: Int = 1, packA: Bool = false, order: Order = .columns) {
        self.dtype = dtype; self.isa = isa; self.shape = shape; self.vectorISA = vectorISA ?? isa
        self.rowVectors = rowVectors; self.columns = columns; self.kUnroll = kUnroll
        self.packA = packA || shape.columnMajor.transA; self.order = order
    }

    /// The most columns of a C tile (one row vector of 16 columns keeps 16 FMA chains in
    /// flight, what two pipes of latency 4 need, where M is a single vector).
    public static let maxColumns = 16
    /// The largest packed A buffer (on the stack of the calling thread).
    public static let maxPackBytes = 32 << 10
    /// The largest K a kernel may unroll entirely.
    public static let maxFullUnroll = 64

    /// Rows of C per tile.
    public var tileRows: Int { rowVectors * vectorISA.lanes(dtype) }

    public func validate() throws(SpecValidationError) {
        try shape.validate()
        let allowed: [ISA] = isa == .avx512 ? [.avx512, .avx2] : [isa]
        guard allowed.contains(vectorISA) else {
            throw SpecValidationError(field: "vectorISA", reason: "\(vectorISA.rawValue) vectors in a \(isa.rawValue) library")
        }
        guard (1...4).contains(rowVectors), (1...Self.maxColumns).contains(columns) else {
            throw SpecValidationError(field: "tile", reason: "\(rowVectors) vectors x \(columns) columns (1-4 x 1-\(Self.maxColumns))")
        }
        if isa != .generic, rowVectors * columns + rowVectors + 2 > vectorISA.registerCount {
            throw SpecValidationError(field: "tile", reason: "\(rowVectors)x\(columns) needs more than the \(vectorISA.registerCount) vector registers")
        }
        guard [0, 1, 2, 4, 8].contains(kUnroll) else { throw SpecValidationError(field: "kUnroll", reason: "\(kUnroll) is not 0, 1, 2, 4 or 8") }
        if shape.columnMajor.transA && !packA { throw SpecValidationError(field: "packA", reason: "a transposed A must be packed") }
        let c = shape.columnMajor
        let lanes = isa == .generic ? 1 : vectorISA.lanes(dtype)
        if packA && (c.m + lanes - 1) / lanes * lanes * c.k * Int(dtype.size) > Self.maxPackBytes {
            throw SpecValidationError(field: "packA", reason: "A of \(c.m)x\(c.k) exceeds the \(Self.maxPackBytes >> 10) KiB pack buffer")
        }
        if kUnroll == 0 && c.k > Self.maxFullUnroll {
            throw SpecValidationError(field: "kUnroll", reason: "unrolling all of K spells out more than \(Self.maxFullUnroll) steps")
        }
    }

    public var summary: String {
        "\(vectorISA.rawValue) \(tileRows)x\(columns) ku\(kUnroll == 0 ? "all" : "\(kUnroll)")\(packA ? " packA" : "") \(order.rawValue)"
    }
}
