/// The classes of GEMM shapes that are tuned separately and dispatched to at run time.
public enum ShapeClass: String, Codable, CaseIterable, Sendable {
    /// Every shape: the fallback a library always has.
    case any
}

/// One GEMM kernel of a generated library and the shapes it serves.
public struct GemmVariant: Codable, Hashable, Sendable {
    public var shapeClass: ShapeClass
    public var spec: GemmSpec

    public init(shapeClass: ShapeClass = .any, spec: GemmSpec) {
        self.shapeClass = shapeClass
        self.spec = spec
    }
}

/// Everything a generated library is built from: the GEMM variants per dtype.
public struct LibrarySpec: Codable, Hashable, Sendable {
    /// The ISA every kernel of the library uses.
    public var isa: ISA
    public var gemm: [GemmVariant]

    public init(isa: ISA, gemm: [GemmVariant]) {
        self.isa = isa
        self.gemm = gemm
    }

    /// Validates every variant and checks that each dtype has a kernel for every shape
    /// (an `any` variant) and that all variants use the library's ISA.
    public func validate() throws(SpecValidationError) {
        for (i, v) in gemm.enumerated() {
            do { try v.spec.validate() } catch {
                throw SpecValidationError(field: "gemm[\(i)].\(error.field)", reason: error.reason)
            }
            guard v.spec.isa == isa else {
                throw SpecValidationError(field: "gemm[\(i)].isa", reason: "\(v.spec.isa.rawValue) differs from the library's ISA \(isa.rawValue)")
            }
        }
        for d in DType.allCases where !gemm.contains(where: { $0.spec.dtype == d && $0.shapeClass == .any }) {
            throw SpecValidationError(field: "gemm", reason: "no \(d.rawValue) kernel for shape class 'any'")
        }
    }
}
