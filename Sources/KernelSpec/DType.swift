/// Element type of a kernel.
public enum DType: String, Codable, CaseIterable, Sendable {
    case f32, f64

    /// Bytes per element.
    public var size: Int64 { self == .f32 ? 4 : 8 }
    /// The C type name.
    public var cType: String { self == .f32 ? "float" : "double" }
    /// BLAS prefix letter: `s` or `d`.
    public var blasLetter: String { self == .f32 ? "s" : "d" }
}
