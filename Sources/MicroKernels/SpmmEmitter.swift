import KernelSpec

/// Emits the CSR SpMM of one dtype, `bt_scsr_spmm` / `bt_dcsr_spmm`: Y = alpha A X + beta Y
/// with X (ncols x k) and Y (nrows x k) dense, row- or column-major.
///
/// Each row of A is read once per block of `spmmBlock` columns of X and Y, whose sums stay
/// in registers (a constant-size accumulator array the compiler vectorizes on the library's
/// ISA), then once per power-of-two block of the remaining columns; row-major blocks load
/// contiguous pieces of X's rows, column-major ones gather one element per column. Threads take rows by equal shares of nonzeros. The matrix classes and
/// thread counts are SpMV's (``SpmvSpec``).
struct SpmmEmitter {
    let dtype: DType
    let isa: ISA

    private var t: String { dtype.cType }
    private var l: String { dtype.blasLetter }
    private var ctx: String { "bt_\(l)_spmm_ctx" }

    func emit(variants: [(SparseClass, SpmvSpec)]) -> String {
        var parts = ["""
            /* ---- \(dtype.rawValue) CSR SpMM ---- */
            typedef struct {
                int64_t nrows, nnz, k, ldx, ldy;
                int row_major;
                const int64_t *rp, *ci;
                const \(t) *va, *x;
                \(t) alpha, beta;
                \(t) *y;
            } \(ctx);

            """]
        for (i, v) in variants.enumerated() { parts.append(variant(v.1, index: i)) }
        parts.append(entry(variants))
        return parts.joined(separator: "\n")
    }

    /// The widths a row's columns are taken in: the register block, then each power of two
    /// below it, at most once each (they cover any remainder).
    static func widths(block kb: Int) -> [Int] {
        [kb] + (0..<7).map { 1 << $0 }.filter { $0 < kb }.reversed()
    }

    /// Vector operations of the library's ISA for the row-major blocks: lanes, type, and
    /// C spellings (nil on the portable path).
    private var vec: (lanes: Int, vtype: String, set1: String, load: (String) -> String, fma: (String, String, String) -> String,
                      mul: (String, String) -> String, store: (String, String) -> String,
                      mask: (Int) -> String, maskLoad: (String) -> String, maskStore: (String, String) -> String)? {
        let f32 = dtype == .f32, sfx = f32 ? "ps" : "pd"
        switch isa {
        case .avx512:
            let mt = f32 ? "__mmask16" : "__mmask8"
            return (f32 ? 16 : 8, f32 ? "__m512" : "__m512d", "_mm512_set1_\(sfx)", { "_mm512_loadu_\(sfx)(\($0))" },
                    { "_mm512_fmadd_\(sfx)(\($0), \($1), \($2))" }, { "_mm512_mul_\(sfx)(\($0), \($1))" },
                    { "_mm512_storeu_\(sfx)(\($0), \($1))" }, { "const \(mt) m = (\(mt))\((1 << $0) - 1)u;" },
                    { "_mm512_maskz_loadu_\(sfx)(m, \($0))" }, { "_mm512_mask_storeu_\(sfx)(\($0), m, \($1))" })
        case .avx2:
            let table = f32 ? "bt_tail_mask32 + 8" : "bt_tail_mask64 + 4"
            return (f32 ? 8 : 4, f32 ? "__m256" : "__m256d", "_mm256_set1_\(sfx)", { "_mm256_loadu_\(sfx)(\($0))" },
                    { "_mm256_fmadd_\(sfx)(\($0), \($1), \($2))" }, { "_mm256_mul_\(sfx)(\($0), \($1))" },
                    { "_mm256_storeu_\(sfx)(\($0), \($1))" }, { "const __m256i m = _mm256_loadu_si256((const __m256i *)(\(table) - \($0)));" },
                    { "_mm256_maskload_\(sfx)(\($0), m)" }, { "_mm256_maskstore_\(sfx)(\($0), m, \($1))" })
        case .generic:
            return nil
        }
    }

    /// Y(r, j0 .. j0 + w) for one row. Row-major: ceil(w / lanes) vector sums, a broadcast of
    /// each value times contiguous loads of X's row (the last vector masked); column-major (and
    /// the portable path): a constant-size array of sums.
    private func block(_ w: Int, variant v: Int) -> String {
        let target = VectorOps.targetAttribute(isa)
        let generic = """
                    for (int64_t p = p0; p < p1; p++) {
                        const \(t) a = va[p];
                        const \(t) *restrict xp = x + ci[p] * xr;
                        for (int q = 0; q < \(w); q++) acc[q] += a * xp[q * xs];
                    }
                    if (beta == 0) { for (int q = 0; q < \(w); q++) yp[q * ys] = alpha * acc[q]; }
                    else { for (int q = 0; q < \(w); q++) yp[q * ys] = alpha * acc[q] + beta * yp[q * ys]; }
            """
        var rowMajor = ""
        if let o = vec {
            let nv = (w + o.lanes - 1) / o.lanes, rem = w % o.lanes
            let ld = { (i: Int, ptr: String) in rem != 0 && i == nv - 1 ? o.maskLoad("\(ptr) + \(i * o.lanes)") : o.load("\(ptr) + \(i * o.lanes)") }
            let st = { (i: Int, val: String) in rem != 0 && i == nv - 1 ? o.maskStore("yp + \(i * o.lanes)", val) : o.store("yp + \(i * o.lanes)", val) }
            let accs = (0..<nv).map { "s\($0)" }
            rowMajor = """
                    if (row_major) {
                        \(rem != 0 ? o.mask(rem) : "")
                        \(o.vtype) \(accs.map { "\($0) = \(o.set1)(0)" }.joined(separator: ", "));
                        for (int64_t p = p0; p < p1; p++) {
                            const \(o.vtype) a = \(o.set1)(va[p]);
                            const \(t) *restrict xp = x + ci[p] * xr;
                            \((0..<nv).map { "s\($0) = \(o.fma("a", ld($0, "xp"), "s\($0)"));" }.joined(separator: "\n                ")) 
                        }
                        const \(o.vtype) va_ = \(o.set1)(alpha);
                        if (beta == 0) {
                            \((0..<nv).map { st($0, o.mul("va_", "s\($0)")) + ";" }.joined(separator: "\n                "))
                        } else {
                            const \(o.vtype) vb_ = \(o.set1)(beta);
                            \((0..<nv).map { st($0, o.fma("vb_", ld($0, "yp"), o.mul("va_", "s\($0)"))) + ";" }.joined(separator: "\n                "))
                        }
                        return;
                    }
            """
        }
        return """
            \(target) __attribute__((always_inline)) static inline void bt_\(l)_spmm_\(v)_w\(w)(const int64_t *restrict ci,
                const \(t) *restrict va, int64_t p0, int64_t p1, const \(t) *restrict x, int64_t xr, int64_t xs, int row_major,
                \(t) *restrict yp, int64_t ys, \(t) alpha, \(t) beta)
            {
            \(rowMajor)
                (void)row_major;
                \(t) acc[\(w)] = { 0 };
            \(generic)
            }

            """
    }

    private func variant(_ spec: SpmvSpec, index v: Int) -> String {
        let kb = spec.spmmBlock, ws = Self.widths(block: kb)
        let target = VectorOps.targetAttribute(isa)
        func call(_ w: Int) -> String {
            "bt_\(l)_spmm_\(v)_w\(w)(ci, va, rp[r], rp[r + 1], x + j0 * xs, xr, xs, g->row_major, y + r * yr + j0 * ys, ys, alpha, beta);"
        }
        let rest = ws.dropFirst().map { "if (j0 + \($0) <= k) { \(call($0)) j0 += \($0); }" }.joined(separator: "\n                    ")
        return ws.map { block($0, variant: v) }.joined() + """
            /* \(spec.summary): \(kb) columns per pass over a row, then blocks of \(ws.dropFirst().map(String.init).joined(separator: ", ")) */
            \(target) static void bt_\(l)_spmm_work_\(v)(const \(ctx) *g, int tid, int nth)
            {
                const int64_t *restrict rp = g->rp, *restrict ci = g->ci;
                const \(t) *restrict va = g->va, *restrict x = g->x;
                \(t) *restrict y = g->y;
                const int64_t k = g->k, ldx = g->ldx, ldy = g->ldy;
                const \(t) alpha = g->alpha, beta = g->beta;
                /* x(c, j) and y(r, j) in either layout */
                const int64_t xs = g->row_major ? 1 : ldx, xr = g->row_major ? ldx : 1;
                const int64_t ys = g->row_major ? 1 : ldy, yr = g->row_major ? ldy : 1;
                const int64_t r0 = tid == 0 ? 0 : bt_row_at_least(rp, g->nrows, bt_share(g->nnz, tid, nth));
                const int64_t r1 = tid + 1 == nth ? g->nrows : bt_row_at_least(rp, g->nrows, bt_share(g->nnz, tid + 1, nth));
                for (int64_t r = r0; r < r1; r++) {
                    int64_t j0 = 0;
                    for (; j0 + \(kb) <= k; j0 += \(kb)) \(call(kb))
                    \(rest)
                }
            }

            static int bt_\(l)_spmm_run_\(v)(const \(ctx) *g)
            {
                const int nth = bt_pick_sparse_threads(\(spec.threads), ((double)g->nnz * \(8 + dtype.size) + (double)g->nrows * 8) + (double)g->k * (double)g->nrows * \(dtype.size));
                if (nth == 1) { bt_\(l)_spmm_work_\(v)(g, 0, 1); return BT_OK; }
            #ifdef _OPENMP
            #pragma omp parallel num_threads(nth)
                bt_\(l)_spmm_work_\(v)(g, omp_get_thread_num(), omp_get_num_threads());
            #else
                bt_\(l)_spmm_work_\(v)(g, 0, 1);
            #endif
                return BT_OK;
            }

            """
    }

    private func entry(_ variants: [(SparseClass, SpmvSpec)]) -> String {
        let dispatch = variants.enumerated().map { i, v in
            v.0 == .any || v.0 == .long ? "return bt_\(l)_spmm_run_\(i)(&g);"
                : "if (\(v.0.cCondition)) return bt_\(l)_spmm_run_\(i)(&g);"
        }.joined(separator: "\n        ")
        return """
            BT_EXPORT int bt_\(l)csr_spmm(int layout, int64_t nrows, int64_t ncols, int64_t k, const int64_t *row_ptr,
                const int64_t *col_idx, const \(t) *val, \(t) alpha, const \(t) *x, int64_t ldx, \(t) beta, \(t) *y, int64_t ldy)
            {
                int64_t nnz = 0;
                if (layout != 101 && layout != 102) return BT_EINVAL;
                if (k < 0) return BT_EINVAL;
                int st = bt_csr_args(nrows, ncols, row_ptr, col_idx, val, 1, sizeof(\(t)), &nnz);
                if (st != BT_OK) return st;
                const int row = layout == 101;
                /* X is ncols x k, Y nrows x k, in the layout given. */
                if (ldx < 1 || ldx < (row ? k : ncols) || ldy < 1 || ldy < (row ? k : nrows)) return BT_EINVAL;
                if ((nrows > 0 && k > 0 && !y) || (ncols > 0 && k > 0 && !x)) return BT_EINVAL;
                if (!bt_span_ok(x, row ? k : ncols, row ? ncols : k, ldx, sizeof(\(t)))
                    || !bt_span_ok(y, row ? k : nrows, row ? nrows : k, ldy, sizeof(\(t)))) return BT_EOVERFLOW;
                if ((st = bt_isa_status()) != BT_OK) return st;
                if (nrows == 0 || k == 0) return BT_OK;
                if (alpha == 0 || nnz == 0) {
                    for (int64_t r = 0; r < nrows; r++)
                        for (int64_t j = 0; j < k; j++) {
                            \(t) *yp = y + (row ? r * ldy + j : j * ldy + r);
                            *yp = beta == 0 ? 0 : beta * *yp;
                        }
                    return BT_OK;
                }
                \(ctx) g = { nrows, nnz, k, ldx, ldy, row, row_ptr, col_idx, val, x, alpha, beta, y };
                \(dispatch)
            }

            """
    }
}
