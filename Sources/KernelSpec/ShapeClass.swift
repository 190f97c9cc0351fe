/// The classes of GEMM shapes that are tuned separately and dispatched to at run time.
///
/// Classes are decided on the column-major problem the kernel computes (a row-major call
/// C = A B is computed as C^T = B^T A^T, so its M and N swap). The first that matches wins:
/// tall-skinny, small, small K, skinny M, skinny N, large; `any` is the fallback kernel a
/// library always has.
public enum ShapeClass: String, Codable, CaseIterable, Sendable {
    case any
    /// All dimensions >= 512 (and any shape no other class takes).
    case large
    /// All dimensions <= 128.
    case small
    /// M <= 64, N and K large.
    case skinnyM
    /// N <= 64, M and K large.
    case skinnyN
    /// K <= 64, M and N large.
    case smallK
    /// M >= 20000, N and K <= 64.
    case tallSkinny

    /// The class of an `m x n x k` column-major problem.
    public static func of(m: Int64, n: Int64, k: Int64) -> ShapeClass {
        if m >= 20000 && n <= 64 && k <= 64 { return .tallSkinny }
        if m <= 128 && n <= 128 && k <= 128 { return .small }
        if k <= 64 { return .smallK }
        if m <= 64 { return .skinnyM }
        if n <= 64 { return .skinnyN }
        return .large
    }

    /// The C condition for this class on `m`, `n`, `k` (see ``of(m:n:k:)``), in dispatch order.
    public var cCondition: String {
        switch self {
        case .tallSkinny: "m >= 20000 && n <= 64 && k <= 64"
        case .small: "m <= 128 && n <= 128 && k <= 128"
        case .smallK: "k <= 64"
        case .skinnyM: "m <= 64"
        case .skinnyN: "n <= 64"
        case .large, .any: "1"
        }
    }

    /// The tuned classes in dispatch order.
    public static let dispatchOrder: [ShapeClass] = [.tallSkinny, .small, .smallK, .skinnyM, .skinnyN, .large]
}

/// One GEMM kernel of a generated library and the shapes it serves.
public struct GemmVariant: Codable, Hashable, Sendable {
    public var shapeClass: ShapeClass
    public var spec: GemmSpec
    /// Serves the class's calls that run on more than one thread (blocking tuned at the
    /// class's thread count, where the shared caches and memory favour other block sizes);
    /// a class's unthreaded variant serves the rest. Written to JSON only when true.
    public var threaded: Bool

    public init(shapeClass: ShapeClass = .any, spec: GemmSpec, threaded: Bool = false) {
        self.shapeClass = shapeClass
        self.spec = spec
        self.threaded = threaded
    }

    private enum CodingKeys: String, CodingKey { case shapeClass, spec, threaded }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(shapeClass: try c.decode(ShapeClass.self, forKey: .shapeClass), spec: try c.decode(GemmSpec.self, forKey: .spec),
                  threaded: try c.decodeIfPresent(Bool.self, forKey: .threaded) ?? false)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shapeClass, forKey: .shapeClass)
        try c.encode(spec, forKey: .spec)
        if threaded { try c.encode(threaded, forKey: .threaded) }
    }
}

/// Everything a generated library is built from: the GEMM variants per dtype, and the
/// SpMV and transpose variants per matrix class (defaults when none are given).
public struct LibrarySpec: Codable, Hashable, Sendable {
    /// The ISA every kernel of the library uses.
    public var isa: ISA
    public var gemm: [GemmVariant]
    public var spmv: [SparseVariant<SpmvSpec>]
    public var transpose: [SparseVariant<TransposeSpec>]
    /// Kernels specialised to exact shapes, dispatched before the classes.
    public var shapes: [ShapeKernelSpec]

    public init(isa: ISA, gemm: [GemmVariant], spmv: [SparseVariant<SpmvSpec>] = [],
                transpose: [SparseVariant<TransposeSpec>] = [], shapes: [ShapeKernelSpec] = []) {
        self.isa = isa
        self.gemm = gemm
        self.spmv = spmv
        self.transpose = transpose
        self.shapes = shapes
    }

    private enum CodingKeys: String, CodingKey { case isa, gemm, spmv, transpose, shapes }

    /// Decodes a library spec; the sparse and shape lists are optional.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(isa: try c.decode(ISA.self, forKey: .isa), gemm: try c.decode([GemmVariant].self, forKey: .gemm),
                  spmv: try c.decodeIfPresent([SparseVariant<SpmvSpec>].self, forKey: .spmv) ?? [],
                  transpose: try c.decodeIfPresent([SparseVariant<TransposeSpec>].self, forKey: .transpose) ?? [],
                  shapes: try c.decodeIfPresent([ShapeKernelSpec].self, forKey: .shapes) ?? [])
    }

    /// Encodes the library spec; the shape list only when it has kernels.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(isa, forKey: .isa)
        try c.encode(gemm, forKey: .gemm)
        try c.encode(spmv, forKey: .spmv)
        try c.encode(transpose, forKey: .transpose)
        if !shapes.isEmpty { try c.encode(shapes, forKey: .shapes) }
    }

    /// The specialised kernels of `dtype` that calls are dispatched to (the first per call shape).
    public func servingShapes(_ dtype: DType) -> [ShapeKernelSpec] {
        var seen = Set<UInt64>()
        return shapes.filter { $0.dtype == dtype && seen.insert($0.shape.dispatchKey).inserted }
    }

    /// The SpMV kernels of `dtype` per class in dispatch order, the default spec as fallback.
    public func servingSpmv(_ dtype: DType) -> [(SparseClass, SpmvSpec)] {
        spmv.filter { $0.spec.dtype == dtype }.serving(SpmvSpec(dtype: dtype, isa: isa))
    }

    /// The transpose configurations per class in dispatch order, the default as fallback.
    public func servingTranspose() -> [(SparseClass, TransposeSpec)] { transpose.serving(TransposeSpec(isa: isa)) }

    /// The variants of `dtype` that calls are dispatched to: per class the first unthreaded
    /// one and the first threaded one; `any` only when there is no `large` kernel (the
    /// fallback for every shape). A threaded variant without an unthreaded one of its class
    /// serves none.
    public func servingVariants(_ dtype: DType) -> [GemmVariant] {
        struct Key: Hashable { var shapeClass: ShapeClass; var threaded: Bool }
        var seen = Set<Key>()
        var mine = gemm.filter { $0.spec.dtype == dtype && seen.insert(Key(shapeClass: $0.shapeClass, threaded: $0.threaded)).inserted }
        mine = mine.filter { !$0.threaded || seen.contains(Key(shapeClass: $0.shapeClass, threaded: false)) }
        return mine.contains(where: { $0.shapeClass == .large && !$0.threaded }) ? mine.filter { $0.shapeClass != .any } : mine
    }

    /// Validates every variant and checks that each dtype it has has a fallback kernel for
    /// every shape (an `any` or a `large` variant) and that all variants use the library's
    /// ISA. A dtype with no kernel at all is allowed (the tuner builds single-dtype
    /// candidates): its entry points return BT_EUNSUPPORTED.
    public func validate() throws(SpecValidationError) {
        guard !gemm.isEmpty else { throw SpecValidationError(field: "gemm", reason: "no kernels") }
        for (i, v) in gemm.enumerated() {
            do { try v.spec.validate() } catch {
                throw SpecValidationError(field: "gemm[\(i)].\(error.field)", reason: error.reason)
            }
            guard v.spec.isa == isa else {
                throw SpecValidationError(field: "gemm[\(i)].isa", reason: "\(v.spec.isa.rawValue) differs from the library's ISA \(isa.rawValue)")
            }
        }
        for d in DType.allCases where gemm.contains(where: { $0.spec.dtype == d })
            && !gemm.contains(where: { $0.spec.dtype == d && !$0.threaded && ($0.shapeClass == .any || $0.shapeClass == .large) }) {
            throw SpecValidationError(field: "gemm", reason: "no \(d.rawValue) fallback kernel (shape class 'any' or 'large')")
        }
        for (i, s) in shapes.enumerated() {
            do { try s.validate() } catch { throw SpecValidationError(field: "shapes[\(i)].\(error.field)", reason: error.reason) }
            guard s.isa == isa else { throw SpecValidationError(field: "shapes[\(i)].isa", reason: "\(s.isa.rawValue) differs from the library's ISA \(isa.rawValue)") }
            guard gemm.contains(where: { $0.spec.dtype == s.dtype }) else {
                throw SpecValidationError(field: "shapes[\(i)]", reason: "no \(s.dtype.rawValue) class kernels to go with it")
            }
        }
        for (i, v) in spmv.enumerated() {
            do { try v.spec.validate() } catch { throw SpecValidationError(field: "spmv[\(i)].\(error.field)", reason: error.reason) }
            guard v.spec.isa == isa else { throw SpecValidationError(field: "spmv[\(i)].isa", reason: "\(v.spec.isa.rawValue) differs from the library's ISA \(isa.rawValue)") }
        }
        for (i, v) in transpose.enumerated() {
            do { try v.spec.validate() } catch { throw SpecValidationError(field: "transpose[\(i)].\(error.field)", reason: error.reason) }
            guard v.spec.isa == isa else { throw SpecValidationError(field: "transpose[\(i)].isa", reason: "\(v.spec.isa.rawValue) differs from the library's ISA \(isa.rawValue)") }
        }
    }
}
