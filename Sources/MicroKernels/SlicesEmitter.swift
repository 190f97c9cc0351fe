import KernelSpec

/// Emits, for one dtype, the pieces of a CSR plan kept in slices (`BT_CSR_SLICES`, sliced
/// ELLPACK): rows in slices of one vector's lanes, the entries of a slice column by column
/// (entry j of each of its rows side by side, 32-bit columns, a slice as wide as its longest
/// row, padding zero), each row's length beside. A vector of rows then takes entry j of
/// each at once, x by one gather masked by the lengths (padding reads nothing, so an
/// infinite x cannot reach y through it), with no per-row reduction: what random rows of
/// equal length need. The lanes are `lanes(isa, dtype)`; the portable path has none.
struct SlicesEmitter {
    let dtype: DType
    let isa: ISA

    /// Rows per slice (0: no slices on this ISA).
    var lanes: Int { isa == .generic ? 0 : isa.lanes(dtype) }

    /// `BT_?_SELL_C`, `bt_?_sell_pack` and `bt_?_sell_run`.
    func emit() -> String {
        let t = dtype.cType, l = dtype.blasLetter, c = lanes, size = dtype.size
        guard c > 0 else {
            return """
                /* ---- \(dtype.rawValue) CSR plans in slices: none on the portable path ---- */
                #define BT_\(l.uppercased())_SELL_C 0
                static void bt_\(l)_sell_pack(bt_csr_plan *g) { (void)g; }
                static int bt_\(l)_sell_run(const bt_csr_plan *g, int tuned_threads, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
                {
                    (void)g; (void)tuned_threads; (void)alpha; (void)x; (void)beta; (void)y;
                    return BT_EINVAL;
                }

                """
        }
        return """
            /* ---- \(dtype.rawValue) CSR plans in slices of \(c) rows ---- */
            #define BT_\(l.uppercased())_SELL_C \(c)

            /* Fills g->sptr (from the row lengths), g->slen, g->scol and g->sval (zeroed). */
            static void bt_\(l)_sell_pack(bt_csr_plan *g)
            {
                const int64_t *rp = g->rp, *ci = g->ci;
                const \(t) *val = (const \(t) *)g->val;
                \(t) *sv = (\(t) *)g->sval;
                const int64_t ns = (g->nrows + \(c - 1)) / \(c);
                g->sptr[0] = 0;
                for (int64_t s = 0; s < ns; s++) g->sptr[s + 1] = g->sptr[s] + bt_slice_width(rp, g->nrows, \(c), s) * \(c);
            #ifdef _OPENMP
            #pragma omp parallel for schedule(static) if (g->nnz > (1 << 20))
            #endif
                for (int64_t s = 0; s < ns; s++) {
                    const int64_t b = g->sptr[s];
                    for (int lane = 0; lane < \(c); lane++) {
                        const int64_t r = s * \(c) + lane;
                        const int64_t n = r < g->nrows ? rp[r + 1] - rp[r] : 0;
                        g->slen[s * \(c) + lane] = (int32_t)n;
                        for (int64_t j = 0; j < n; j++) {
                            g->scol[b + j * \(c) + lane] = (int32_t)ci[rp[r] + j];
                            sv[b + j * \(c) + lane] = val[rp[r] + j];
                        }
                    }
                }
            }

            \(VectorOps.targetAttribute(isa)) static void bt_\(l)_sell_slice(const bt_csr_plan *g, int64_t s, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                const int64_t b = g->sptr[s], w = (g->sptr[s + 1] - b) / \(c);
                const int32_t *sc = g->scol + b;
                const \(t) *sv = (const \(t) *)g->sval + b;
                \(body(c: c, size: Int(size)))
            }

            /* y = alpha A x + beta y, slice by slice, in equal shares of slices per thread. */
            static int bt_\(l)_sell_run(const bt_csr_plan *g, int tuned_threads, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                const int64_t ns = (g->nrows + \(c - 1)) / \(c);
                const int nth = bt_pick_sparse_threads(tuned_threads, (double)g->sptr[ns] * \(size + 4) + (double)g->nrows * \(2 * size + 4));
            #ifdef _OPENMP
            #pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
            #endif
                for (int64_t s = 0; s < ns; s++) bt_\(l)_sell_slice(g, s, alpha, x, beta, y);
                (void)nth;
                return BT_OK;
            }

            """
    }

    /// One slice: two accumulators over its columns, the gather of column j masked to the
    /// rows longer than j, then y for the slice's rows (the last slice's through a mask).
    private func body(c: Int, size: Int) -> String {
        let f32 = dtype == .f32, t = dtype.cType
        let vt: String, zero: String, loadv: (String) -> String, fma: (String, String, String) -> String
        let setup: String, gather: (String) -> String, finish: String
        switch isa {
        case .avx512:
            let sfx = f32 ? "ps" : "pd", mt = f32 ? "__mmask16" : "__mmask8"
            vt = f32 ? "__m512" : "__m512d"; zero = "_mm512_setzero_\(sfx)()"
            loadv = { "_mm512_loadu_\(sfx)(\($0))" }; fma = { "_mm512_fmadd_\(sfx)(\($0), \($1), \($2))" }
            // Lengths in 16 int32 lanes (f64: the upper 8 zero).
            setup = f32 ? "const __m512i len = _mm512_loadu_si512((const void *)(g->slen + s * 16));"
                : "const __m512i len = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(g->slen + s * 8)));"
            gather = { j in
                let m = "(\(mt))_mm512_cmpgt_epi32_mask(len, _mm512_set1_epi32((int)(\(j))))"
                return f32 ? "_mm512_mask_i32gather_ps(_mm512_setzero_ps(), \(m), _mm512_loadu_si512((const void *)(sc + (\(j)) * 16)), x, 4)"
                    : "_mm512_mask_i32gather_pd(_mm512_setzero_pd(), \(m), _mm256_loadu_si256((const __m256i *)(sc + (\(j)) * 8)), x, 8)"
            }
            let m = "(\(mt))(s * \(c) + \(c) <= g->nrows ? \(f32 ? "0xFFFF" : "0xFF") : (1u << (g->nrows - s * \(c))) - 1)"
            finish = """
                const \(mt) keep = \(m);
                    const \(vt) r = _mm512_mul_\(sfx)(_mm512_set1_\(sfx)(alpha), _mm512_add_\(sfx)(a0, a1));
                    _mm512_mask_storeu_\(sfx)(y + s * \(c), keep, beta == 0 ? r : _mm512_fmadd_\(sfx)(_mm512_set1_\(sfx)(beta), _mm512_maskz_loadu_\(sfx)(keep, y + s * \(c)), r));
                """
        case .avx2:
            let sfx = f32 ? "ps" : "pd"
            vt = f32 ? "__m256" : "__m256d"; zero = "_mm256_setzero_\(sfx)()"
            loadv = { "_mm256_loadu_\(sfx)(\($0))" }; fma = { "_mm256_fmadd_\(sfx)(\($0), \($1), \($2))" }
            setup = f32 ? "const __m256i len = _mm256_loadu_si256((const __m256i *)(g->slen + s * 8));"
                : "const __m128i len = _mm_loadu_si128((const __m128i *)(g->slen + s * 4));"
            gather = { j in
                f32 ? "_mm256_mask_i32gather_ps(_mm256_setzero_ps(), x, _mm256_loadu_si256((const __m256i *)(sc + (\(j)) * 8)), _mm256_castsi256_ps(_mm256_cmpgt_epi32(len, _mm256_set1_epi32((int)(\(j))))), 4)"
                    : "_mm256_mask_i32gather_pd(_mm256_setzero_pd(), x, _mm_loadu_si128((const __m128i *)(sc + (\(j)) * 4)), _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_cmpgt_epi32(len, _mm_set1_epi32((int)(\(j)))))), 8)"
            }
            finish = """
                \(t) out[\(c)];
                    _mm256_storeu_\(sfx)(out, _mm256_add_\(sfx)(a0, a1));
                    for (int64_t i = 0; i < \(c) && s * \(c) + i < g->nrows; i++) {
                        const int64_t r = s * \(c) + i;
                        y[r] = beta == 0 ? alpha * out[i] : alpha * out[i] + beta * y[r];
                    }
                """
        case .generic:
            return ""
        }
        return """
            \(setup)
                \(vt) a0 = \(zero), a1 = \(zero);
                int64_t j = 0;
                for (; j + 2 <= w; j += 2) {
                    a0 = \(fma(loadv("sv + j * \(c)"), gather("j"), "a0"));
                    a1 = \(fma(loadv("sv + (j + 1) * \(c)"), gather("j + 1"), "a1"));
                }
                if (j < w) a0 = \(fma(loadv("sv + j * \(c)"), gather("j"), "a0"));
                \(finish)
            """
    }
}
