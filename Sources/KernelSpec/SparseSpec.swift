/// How SpMV splits a matrix between threads.
public enum SpmvPartition: String, Codable, CaseIterable, Sendable {
    /// Whole rows, equal shares of nonzeros (a huge row stays on one thread).
    case rows
    /// Merge-path shares of rows + nonzeros: rows may be split between threads.
    case merge
}

/// How SpMV loads the entries of x a row needs.
public enum GatherMode: String, Codable, CaseIterable, Sendable {
    /// Vector gather instructions.
    case gather
    /// Scalar loads assembled into a vector.
    case scalar
}

/// Configuration of a generated CSR SpMV kernel (y = alpha A x + beta y).
public struct SpmvSpec: Codable, Hashable, Sendable {
    public var dtype: DType
    public var isa: ISA
    /// Threads; 0 lets the library decide (caller's setting, else all cores, capped by work).
    public var threads: Int
    public var partition: SpmvPartition
    /// Independent vector accumulators per row (1 to 8).
    public var unroll: Int
    public var loads: GatherMode
    /// How many nonzeros ahead x is prefetched (0 disables).
    public var prefetch: Int
    /// Rows shorter than this run a scalar loop instead of the vector one.
    public var shortRow: Int
    /// SpMM (the same matrix classes and threads): columns of X and Y summed per pass over a
    /// row, in registers (1 to 64).
    public var spmmBlock: Int

    public init(dtype: DType, isa: ISA, threads: Int = 0, partition: SpmvPartition = .merge, unroll: Int = 2,
                loads: GatherMode = .scalar, prefetch: Int = 0, shortRow: Int = 8, spmmBlock: Int? = nil) {
        self.dtype = dtype; self.isa = isa; self.threads = threads; self.partition = partition
        self.unroll = unroll; self.loads = loads; self.prefetch = prefetch; self.shortRow = shortRow
        self.spmmBlock = spmmBlock ?? Self.defaultSpmmBlock(dtype: dtype, isa: isa)
    }

    /// Four vectors of the ISA (two on the portable path).
    public static func defaultSpmmBlock(dtype: DType, isa: ISA) -> Int {
        isa == .generic ? 2 * isa.lanes(dtype) : min(64, 4 * isa.lanes(dtype))
    }

    private enum CodingKeys: String, CodingKey { case dtype, isa, threads, partition, unroll, loads, prefetch, shortRow, spmmBlock }

    /// Decodes a spec; results made before SpMM existed have no `spmmBlock` and get the default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dtype: try c.decode(DType.self, forKey: .dtype), isa: try c.decode(ISA.self, forKey: .isa),
                  threads: try c.decode(Int.self, forKey: .threads), partition: try c.decode(SpmvPartition.self, forKey: .partition),
                  unroll: try c.decode(Int.self, forKey: .unroll), loads: try c.decode(GatherMode.self, forKey: .loads),
                  prefetch: try c.decode(Int.self, forKey: .prefetch), shortRow: try c.decode(Int.self, forKey: .shortRow),
                  spmmBlock: try c.decodeIfPresent(Int.self, forKey: .spmmBlock))
    }

    public var summary: String {
        "\(dtype.rawValue) \(isa.rawValue) \(partition.rawValue) u\(unroll) \(loads.rawValue) pf\(prefetch) short\(shortRow) mm\(spmmBlock) t\(threads)"
    }

    /// Throws naming the first impossible field.
    public func validate() throws(SpecValidationError) {
        guard (0...1024).contains(threads) else { throw SpecValidationError(field: "threads", reason: "must be 0 to 1024 (got \(threads))") }
        guard (1...8).contains(unroll) else { throw SpecValidationError(field: "unroll", reason: "must be 1 to 8 (got \(unroll))") }
        guard (0...4096).contains(prefetch) else { throw SpecValidationError(field: "prefetch", reason: "must be 0 to 4096 nonzeros (got \(prefetch))") }
        guard (0...1024).contains(shortRow) else { throw SpecValidationError(field: "shortRow", reason: "must be 0 to 1024 (got \(shortRow))") }
        guard (1...64).contains(spmmBlock) else { throw SpecValidationError(field: "spmmBlock", reason: "must be 1 to 64 (got \(spmmBlock))") }
    }
}

/// Algorithm of the CSR transpose.
public enum TransposeAlgorithm: String, Codable, CaseIterable, Sendable {
    /// Per-thread histograms when they fit the budget, else the radix partition.
    case auto
    /// Per-thread column histograms, a scan and a stable scatter (ScanTrans); needs
    /// (threads - 1) x ncols counters, so above the budget the call takes the radix
    /// partition instead.
    case histogram
    /// Partition by the high bits of the column into at most 2^radixBits buckets,
    /// then finish each bucket in cache; memory independent of ncols x threads.
    case radix
}

/// Configuration of the generated CSR transpose (both dtypes and the pattern share it).
public struct TransposeSpec: Codable, Hashable, Sendable {
    public var isa: ISA
    public var threads: Int
    public var algorithm: TransposeAlgorithm
    /// log2 of the most buckets of the radix partition (6 to 14).
    public var radixBits: Int
    /// Most bytes of per-thread counters the histogram algorithm may use.
    public var histogramBudget: Int64

    public init(isa: ISA, threads: Int = 0, algorithm: TransposeAlgorithm = .auto, radixBits: Int = 8,
                histogramBudget: Int64 = 16 << 20) {
        self.isa = isa; self.threads = threads; self.algorithm = algorithm
        self.radixBits = radixBits; self.histogramBudget = histogramBudget
    }

    public var summary: String {
        "\(isa.rawValue) \(algorithm.rawValue) bits\(radixBits) budget\(histogramBudget >> 20)M t\(threads)"
    }

    public func validate() throws(SpecValidationError) {
        guard (0...1024).contains(threads) else { throw SpecValidationError(field: "threads", reason: "must be 0 to 1024 (got \(threads))") }
        guard (6...14).contains(radixBits) else { throw SpecValidationError(field: "radixBits", reason: "must be 6 to 14 (got \(radixBits))") }
        guard (0...(Int64(1) << 40)).contains(histogramBudget) else {
            throw SpecValidationError(field: "histogramBudget", reason: "must be 0 to 2^40 bytes (got \(histogramBudget))")
        }
    }
}

/// Classes of sparse matrices tuned separately, decided in O(1) from the sizes at each call.
public enum SparseClass: String, Codable, CaseIterable, Sendable {
    /// The fallback every library has.
    case any
    /// Fewer nonzeros than rows or columns (1 x N and N x 1 vectors, very sparse graphs).
    case hypersparse
    /// Mean row length below 12 (stencils, meshes).
    case short
    /// Mean row length 12 or more.
    case long

    public static func of(nrows: Int64, ncols: Int64, nnz: Int64) -> SparseClass {
        if nnz < max(nrows, ncols) { return .hypersparse }
        return nnz < 12 * nrows ? .short : .long
    }

    /// The C condition on `nrows`, `ncols`, `nnz` (see ``of(nrows:ncols:nnz:)``), in dispatch order.
    public var cCondition: String {
        switch self {
        case .hypersparse: "nnz < (nrows > ncols ? nrows : ncols)"
        case .short: "nnz / 12 < nrows"
        case .long, .any: "1"
        }
    }

    /// The tuned classes in dispatch order.
    public static let dispatchOrder: [SparseClass] = [.hypersparse, .short, .long]
}

/// One sparse kernel configuration and the matrices it serves.
public struct SparseVariant<Spec: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
    public var matrixClass: SparseClass
    public var spec: Spec
    public init(matrixClass: SparseClass = .any, spec: Spec) { self.matrixClass = matrixClass; self.spec = spec }
}

extension Array {
    /// One variant per class (the first of each), in dispatch order, with the fallback last.
    public func serving<S>(_ fallback: S) -> [(SparseClass, S)] where Element == SparseVariant<S> {
        let specific = SparseClass.dispatchOrder.compactMap { c in first { $0.matrixClass == c }.map { (c, $0.spec) } }
        if specific.contains(where: { $0.0 == .long }) { return specific }
        return specific + [(.any, first { $0.matrixClass == .any }?.spec ?? fallback)]
    }
}
