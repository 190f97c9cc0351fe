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
    func add(_ a: String, _ b: String) -> String { isa == .generic ? "(\(a) + \(b))" : "\(pre)add_\(ps)(\(a), \(b))" }
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

    /// In-register transposes for packing on x86 (AVX2 is enough, so AVX-512 kernels inline
    /// them too): `bt_tr<n>_<ps|pd>(s, ld, d, ldd)` reads an n x n block whose column j is
    /// `s[j ld .. j ld + n)` and writes its row i to `d[i ldd .. i ldd + n)`, so that
    /// `d[i ldd + j] = s[j ld + i]`. Sizes 8 and 4 for f32, 4 and 2 for f64.
    static let x86TransposeHelpers = """
        __attribute__((target("avx2,fma"), unused)) static inline void bt_tr8_ps(const float *s, int64_t ld, float *d, int64_t ldd)
        {
            const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ld), r2 = _mm256_loadu_ps(s + 2 * ld), r3 = _mm256_loadu_ps(s + 3 * ld);
            const __m256 r4 = _mm256_loadu_ps(s + 4 * ld), r5 = _mm256_loadu_ps(s + 5 * ld), r6 = _mm256_loadu_ps(s + 6 * ld), r7 = _mm256_loadu_ps(s + 7 * ld);
            /* Pairs of columns interleaved, then quadruples: element i of columns 0-3 (4-7) in
               u<i % 4>, in the 128-bit half i / 4; the halves are then joined per row. */
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 v0 = _mm256_shuffle_ps(t4, t6, 0x44), v1 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 v2 = _mm256_shuffle_ps(t5, t7, 0x44), v3 = _mm256_shuffle_ps(t5, t7, 0xEE);
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, v0, 0x20));
            _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, v1, 0x20));
            _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, v2, 0x20));
            _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, v3, 0x20));
            _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, v0, 0x31));
            _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, v1, 0x31));
            _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, v2, 0x31));
            _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, v3, 0x31));
        }
        __attribute__((target("avx2,fma"), unused)) static inline void bt_tr4_ps(const float *s, int64_t ld, float *d, int64_t ldd)
        {
            __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + ld), r2 = _mm_loadu_ps(s + 2 * ld), r3 = _mm_loadu_ps(s + 3 * ld);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(d, r0); _mm_storeu_ps(d + ldd, r1); _mm_storeu_ps(d + 2 * ldd, r2); _mm_storeu_ps(d + 3 * ldd, r3);
        }
        __attribute__((target("avx2,fma"), unused)) static inline void bt_tr4_pd(const double *s, int64_t ld, double *d, int64_t ldd)
        {
            const __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ld), r2 = _mm256_loadu_pd(s + 2 * ld), r3 = _mm256_loadu_pd(s + 3 * ld);
            const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
            const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
            _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
            _mm256_storeu_pd(d + ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
            _mm256_storeu_pd(d + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
            _mm256_storeu_pd(d + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
        }
        __attribute__((target("avx2,fma"), unused)) static inline void bt_tr2_pd(const double *s, int64_t ld, double *d, int64_t ldd)
        {
            const __m128d r0 = _mm_loadu_pd(s), r1 = _mm_loadu_pd(s + ld);
            _mm_storeu_pd(d, _mm_unpacklo_pd(r0, r1));
            _mm_storeu_pd(d + ldd, _mm_unpackhi_pd(r0, r1));
        }
        """

    /// A full sliver's transposing copy, `dst[p w + j] = src[j ld + p]` for j < `width` and
    /// p < `count` (C expressions; `src` and `dst` are advanced): on x86, blocks of rows
    /// transposed in registers, the widest transposes first, single elements for the last
    /// columns and rows; elsewhere element by element.
    func transposedCopy(src: String, ld: String, dst: String, count: String, width w: Int) -> String {
        let scalarRow = "for (int64_t j = 0; j < \(w); j++) \(dst)[j] = \(src)[j * \(ld)];"
        guard isa != .generic else {
            return "for (int64_t p = 0; p < \(count); p++, \(src)++, \(dst) += \(w)) { \(scalarRow) }"
        }
        let big = f32 ? 8 : 4, small = big / 2
        var body: [String] = [], j = 0
        while j + big <= w { body.append("bt_tr\(big)_\(ps)(\(src) + \(j) * \(ld), \(ld), \(dst) + \(j), \(w));"); j += big }
        while j + small <= w {
            body.append("bt_tr\(small)_\(ps)(\(src) + \(j) * \(ld), \(ld), \(dst) + \(j), \(w));")
            body.append("bt_tr\(small)_\(ps)(\(src) + \(j) * \(ld) + \(small), \(ld), \(dst) + \(small * w + j), \(w));")
            j += small
        }
        if j < w {
            body.append("for (int64_t i = 0; i < \(big); i++) for (int64_t j = \(j); j < \(w); j++) \(dst)[i * \(w) + j] = \(src)[j * \(ld) + i];")
        }
        return """
            int64_t p = 0;
            for (; p + \(big) <= \(count); p += \(big), \(src) += \(big), \(dst) += \(big * w)) {
            \(body.map { "    " + $0 }.joined(separator: "\n"))
            }
            for (; p < \(count); p++, \(src)++, \(dst) += \(w)) { \(scalarRow) }
            """
    }

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
