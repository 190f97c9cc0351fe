import KernelSpec

/// The C spelling of the vector operations a micro-kernel uses, for one ISA and dtype.
///
/// AVX-512 and AVX2 use Intel intrinsics; the generic backend uses GCC/Clang vector
/// extensions (`vector_size(16)`), which compile to SSE2, NEON or scalar code.
struct VectorOps {
    let isa: ISA
    let dtype: DType

    var lanes: Int { isa.lanes(dtype) }
    private var f32: Bool { dtype == .f32 }
    private var ps: String { f32 ? "ps" : "pd" }
    private var p512: String { "_mm512_" }
    private var p256: String { "_mm256_" }

    /// The C type of one vector.
    var vtype: String {
        switch isa {
        case .avx512: f32 ? "__m512" : "__m512d"
        case .avx2: f32 ? "__m256" : "__m256d"
        case .generic: f32 ? "bt_v4sf" : "bt_v2df"
        }
    }

    private var pre: String { isa == .avx512 ? p512 : p256 }

    func zero() -> String { isa == .generic ? "(\(vtype)){0}" : "\(pre)setzero_\(ps)()" }
    /// Aligned load (packed buffers are 64-byte aligned).
    func load(_ p: String) -> String { isa == .generic ? "*(const \(vtype) *)(\(p))" : "\(pre)load_\(ps)(\(p))" }
    func loadu(_ p: String) -> String { isa == .generic ? "bt_loadu_\(vtype)(\(p))" : "\(pre)loadu_\(ps)(\(p))" }
    func storeu(_ p: String, _ v: String) -> String {
        isa == .generic ? "bt_storeu_\(vtype)(\(p), \(v))" : "\(pre)storeu_\(ps)(\(p), \(v))"
    }
    func set1(_ x: String) -> String { isa == .generic ? "((\(vtype)){0} + (\(x)))" : "\(pre)set1_\(ps)(\(x))" }
    /// `a * b + c`.
    func fma(_ a: String, _ b: String, _ c: String) -> String {
        isa == .generic ? "(\(a) * \(b) + \(c))" : "\(pre)fmadd_\(ps)(\(a), \(b), \(c))"
    }
    func mul(_ a: String, _ b: String) -> String { isa == .generic ? "(\(a) * \(b))" : "\(pre)mul_\(ps)(\(a), \(b))" }

    /// Whether edge tiles use mask registers (AVX-512) instead of a staging tile.
    var hasMasks: Bool { isa == .avx512 }
    var maskType: String { f32 ? "__mmask16" : "__mmask8" }
    func maskzLoadu(_ m: String, _ p: String) -> String { "\(p512)maskz_loadu_\(ps)(\(m), \(p))" }
    func maskStoreu(_ p: String, _ m: String, _ v: String) -> String { "\(p512)mask_storeu_\(ps)(\(p), \(m), \(v))" }

    /// A software prefetch of the byte address `addr` into L1.
    func prefetch(_ addr: String) -> String {
        isa == .generic ? "__builtin_prefetch((const void *)(\(addr)), 0, 3)" : "_mm_prefetch((const char *)(\(addr)), _MM_HINT_T0)"
    }

    /// Declarations the generic backend needs once per file.
    static let genericPrelude = """
        typedef float bt_v4sf __attribute__((vector_size(16)));
        typedef double bt_v2df __attribute__((vector_size(16)));
        __attribute__((unused)) static inline bt_v4sf bt_loadu_bt_v4sf(const float *p) { bt_v4sf v; memcpy(&v, p, sizeof v); return v; }
        __attribute__((unused)) static inline bt_v2df bt_loadu_bt_v2df(const double *p) { bt_v2df v; memcpy(&v, p, sizeof v); return v; }
        __attribute__((unused)) static inline void bt_storeu_bt_v4sf(float *p, bt_v4sf v) { memcpy(p, &v, sizeof v); }
        __attribute__((unused)) static inline void bt_storeu_bt_v2df(double *p, bt_v2df v) { memcpy(p, &v, sizeof v); }
        """

    /// The row masks of AVX-512 edge tiles (broadcast-B kernels use them; a library of
    /// broadcast-A kernels only does not).
    static let avx512MaskHelpers = """
        __attribute__((unused)) static inline __mmask16 bt_mask16(int64_t rows) { return rows >= 16 ? (__mmask16)0xFFFF : rows <= 0 ? (__mmask16)0 : (__mmask16)((1u << rows) - 1); }
        __attribute__((unused)) static inline __mmask8 bt_mask8(int64_t rows) { return rows >= 8 ? (__mmask8)0xFF : rows <= 0 ? (__mmask8)0 : (__mmask8)((1u << rows) - 1); }
        """

    /// The function attribute that enables the ISA for kernel code only, so the rest of
    /// the library (including the CPU check) runs on any x86-64.
    static func targetAttribute(_ isa: ISA) -> String {
        switch isa {
        case .avx512: "__attribute__((target(\"avx512f,avx2,fma\")))"
        case .avx2: "__attribute__((target(\"avx2,fma\")))"
        case .generic: ""
        }
    }
}
