import KernelSpec

/// Emits the CSR SpMV kernels of one dtype: a row kernel and a threaded driver per
/// matrix-class variant, and the `bt_scsr_spmv` / `bt_dcsr_spmv` entry point.
///
/// A row is summed in `unroll` vector accumulators over chunks of as many nonzeros as a
/// vector register holds 64-bit column indices (8 on AVX-512, 4 on AVX2, 1 portable), x
/// loaded by gather or by scalar loads; rows shorter than `shortRow` and row tails run a
/// scalar loop. Threads take merge-path or equal-nonzero row shares.
struct SpmvEmitter {
    let dtype: DType
    let isa: ISA
    var index: CSRIndex = .i64

    private var t: String { dtype.cType }
    private var l: String { dtype.blasLetter }
    /// The prefix of internal names: dtype letter and index suffix.
    private var n: String { l + index.suffix }
    /// Row pointer and column index types.
    private var rt: String { index.rowType }
    private var ct: String { index.colType }
    private var ctx: String { "bt_\(n)_spmv_ctx" }

    /// Nonzeros per chunk: the 64-bit indices one vector register holds (as many 32-bit
    /// ones are loaded in half a register).
    private var chunk: Int { isa == .avx512 ? 8 : isa == .avx2 ? 4 : 1 }

    /// C spellings of the chunk operations.
    private struct Ops {
        var vtype: String, zero: String, loadVal: (String) -> String, gather: (String) -> String
        var scalarSet: (String) -> String, fma: (String, String, String) -> String
        var add: (String, String) -> String, reduce: (String) -> String
    }

    /// The chunk's column indices as 32-bit lanes for a gather: `n` of them (4 or 8) at ci + p.
    private func index32(_ p: String, _ n: Int) -> String {
        switch (index, n) {
        case (.d16, 8): "_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(ci + \(p))))"
        case (.d16, _): "_mm_cvtepu16_epi32(_mm_loadl_epi64((const __m128i *)(ci + \(p))))"
        case (_, 8): "_mm256_loadu_si256((const __m256i *)(ci + \(p)))"
        default: "_mm_loadu_si128((const __m128i *)(ci + \(p)))"
        }
    }

    private var ops: Ops {
        let f32 = dtype == .f32, wide = index == .i64
        func set(_ fn: String, _ n: Int) -> (String) -> String {
            { p in "\(fn)(" + (0..<n).reversed().map { "x[ci[\(p) + \($0)]]" }.joined(separator: ", ") + ")" }
        }
        switch (isa, f32) {
        case (.avx512, false):
            return Ops(vtype: "__m512d", zero: "_mm512_setzero_pd()", loadVal: { "_mm512_loadu_pd(va + \($0))" },
                       gather: { wide ? "_mm512_i64gather_pd(_mm512_loadu_si512((const void *)(ci + \($0))), x, 8)"
                                     : "_mm512_i32gather_pd(\(index32($0, 8)), x, 8)" },
                       scalarSet: set("_mm512_set_pd", 8), fma: { "_mm512_fmadd_pd(\($0), \($1), \($2))" },
                       add: { "_mm512_add_pd(\($0), \($1))" }, reduce: { "_mm512_reduce_add_pd(\($0))" })
        case (.avx512, true):
            return Ops(vtype: "__m256", zero: "_mm256_setzero_ps()", loadVal: { "_mm256_loadu_ps(va + \($0))" },
                       gather: { wide ? "_mm512_i64gather_ps(_mm512_loadu_si512((const void *)(ci + \($0))), x, 4)"
                                     : "_mm256_i32gather_ps(x, \(index32($0, 8)), 4)" },
                       scalarSet: set("_mm256_set_ps", 8), fma: { "_mm256_fmadd_ps(\($0), \($1), \($2))" },
                       add: { "_mm256_add_ps(\($0), \($1))" }, reduce: { "bt_hsum_m256(\($0))" })
        case (.avx2, false):
            return Ops(vtype: "__m256d", zero: "_mm256_setzero_pd()", loadVal: { "_mm256_loadu_pd(va + \($0))" },
                       gather: { wide ? "_mm256_i64gather_pd(x, _mm256_loadu_si256((const __m256i *)(ci + \($0))), 8)"
                                     : "_mm256_i32gather_pd(x, \(index32($0, 4)), 8)" },
                       scalarSet: set("_mm256_set_pd", 4), fma: { "_mm256_fmadd_pd(\($0), \($1), \($2))" },
                       add: { "_mm256_add_pd(\($0), \($1))" }, reduce: { "bt_hsum_m256d(\($0))" })
        case (.avx2, true):
            return Ops(vtype: "__m128", zero: "_mm_setzero_ps()", loadVal: { "_mm_loadu_ps(va + \($0))" },
                       gather: { wide ? "_mm256_i64gather_ps(x, _mm256_loadu_si256((const __m256i *)(ci + \($0))), 4)"
                                     : "_mm_i32gather_ps(x, \(index32($0, 4)), 4)" },
                       scalarSet: set("_mm_set_ps", 4), fma: { "_mm_fmadd_ps(\($0), \($1), \($2))" },
                       add: { "_mm_add_ps(\($0), \($1))" }, reduce: { "bt_hsum_m128(\($0))" })
        case (.generic, _):
            return Ops(vtype: t, zero: "(\(t))0", loadVal: { "va[\($0)]" }, gather: { "x[ci[\($0)]]" },
                       scalarSet: { "x[ci[\($0)]]" }, fma: { "(\($0) * \($1) + \($2))" },
                       add: { "(\($0) + \($1))" }, reduce: { $0 })
        }
    }

    /// Horizontal sums the x86 row kernels use (once per library).
    static func helpers(isa: ISA) -> String {
        let vectors = DType.allCases.map(vectorChecks).joined(separator: "\n")
        guard isa != .generic else { return vectors }
        let target = VectorOps.targetAttribute(isa)
        return vectors + """
            /* ---- horizontal sums for the SpMV row kernels; tail masks for the runs kernel ---- */
            __attribute__((unused)) static const int32_t bt_tail_mask32[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
            __attribute__((unused)) static const int64_t bt_tail_mask64[8] = { -1, -1, -1, -1, 0, 0, 0, 0 };
            \(target) __attribute__((unused)) static inline float bt_hsum_m128(__m128 v)
            {
                v = _mm_add_ps(v, _mm_movehl_ps(v, v));
                v = _mm_add_ss(v, _mm_movehdup_ps(v));
                return _mm_cvtss_f32(v);
            }
            \(target) __attribute__((unused)) static inline float bt_hsum_m256(__m256 v)
            {
                return bt_hsum_m128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
            }
            \(target) __attribute__((unused)) static inline double bt_hsum_m256d(__m256d v)
            {
                __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
                return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
            }

            """
    }

    /// The context type, the variants and, for the index widths of entry points, the entry
    /// point (a plan's forms are run by ``CSRPlanEmitter``).
    func emit(variants: [(SparseClass, SpmvSpec)]) -> String {
        var parts = ["""
            /* ---- \(dtype.rawValue) CSR SpMV, \(rt) row pointers, \(ct) column indices ---- */
            typedef struct {
                int64_t nrows, nnz;
                const \(rt) *rp;
                const \(ct) *ci;
                const int64_t *base; /* 16-bit deltas: per row, the column they count from */
                const \(t) *va, *x;
                \(t) alpha, beta;
                \(t) *y;
                int64_t *carry_row; /* per thread: the row its share ends inside, or -1 */
                \(t) *carry;        /* per thread: its partial sum of that row */
                int merge;
            } \(ctx);

            """]
        for (i, v) in variants.enumerated() { parts.append(variant(v.1, index: i)) }
        if CSRIndex.entryPoints.contains(index) { parts.append(entry(variants)) }
        return parts.joined(separator: "\n")
    }

    private func variant(_ spec: SpmvSpec, index v: Int) -> String {
        let o = ops, u = spec.unroll, c = chunk, w = u * c
        let target = VectorOps.targetAttribute(isa)
        let load: (String) -> String = spec.loads == .gather ? o.gather : o.scalarSet
        let accs = (0..<u).map { "acc\($0)" }
        let body = (0..<u).map { k in "acc\(k) = \(o.fma(o.loadVal("p + \(k * c)"), load("p + \(k * c)"), "acc\(k)"));" }
            .joined(separator: "\n            ")
        let prefetch = spec.prefetch == 0 ? "" : """
                    if (p + \(spec.prefetch + w) <= lim) {
                        for (int q = 0; q < \(w); q++) __builtin_prefetch(x + ci[p + \(spec.prefetch) + q], 0, 3);
                    }
            """
        let sum = accs.dropFirst().reduce("acc0") { o.add($0, $1) }
        return """
            /* \(spec.summary) */
            \(target) __attribute__((always_inline)) static inline \(t) bt_\(n)_spmv_dot_\(v)(const \(ct) *restrict ci, const \(t) *restrict va,
                const \(t) *restrict x, int64_t p, int64_t p1, int64_t lim)
            {
                \(t) s = 0;
                (void)lim;
                if (p1 - p >= \(max(spec.shortRow, w))) {
                    \(o.vtype) \(accs.map { "\($0) = \(o.zero)" }.joined(separator: ", "));
                    for (; p + \(w) <= p1; p += \(w)) {
            \(prefetch)
                        \(body)
                    }
                    for (; p + \(c) <= p1; p += \(c)) acc0 = \(o.fma(o.loadVal("p"), load("p"), "acc0"));
                    s = \(o.reduce(sum));
                }
                /* Short rows and tails: two chains, so that consecutive FMAs do not wait on each other. */
                \(t) s0 = 0, s1 = 0;
                for (; p + 2 <= p1; p += 2) {
                    s0 += va[p] * x[ci[p]];
                    s1 += va[p + 1] * x[ci[p + 1]];
                }
                if (p < p1) s0 += va[p] * x[ci[p]];
                return s + (s0 + s1);
            }

            \(target) static void bt_\(n)_spmv_work_\(v)(\(ctx) *g, int tid, int nth)
            {
                const \(rt) *rp = g->rp;
                int64_t i0, j0, i1, j1;
                if (g->merge) {
                    const int64_t total = g->nrows + g->nnz;
                    bt_merge_path\(index.rowSuffix)(rp, g->nrows, g->nnz, bt_share(total, tid, nth), &i0, &j0);
                    bt_merge_path\(index.rowSuffix)(rp, g->nrows, g->nnz, bt_share(total, tid + 1, nth), &i1, &j1);
                } else {
                    i0 = tid == 0 ? 0 : bt_row_at_least\(index.rowSuffix)(rp, g->nrows, bt_share(g->nnz, tid, nth));
                    i1 = tid + 1 == nth ? g->nrows : bt_row_at_least\(index.rowSuffix)(rp, g->nrows, bt_share(g->nnz, tid + 1, nth));
                    j0 = rp[i0];
                    j1 = rp[i1];
                }
                const \(t) alpha = g->alpha, beta = g->beta;
                \(t) *restrict y = g->y;
                int64_t r = i0;
                if (r < i1 && rp[r] < j0) { /* the first row began in the previous share */
                    const \(t) s = bt_\(n)_spmv_dot_\(v)(g->ci, g->va, \(xAt("r")), j0, rp[r + 1], g->nnz);
                    y[r] = beta == 0 ? alpha * s : alpha * s + beta * y[r];
                    r++;
                }
                if (beta == 0) {
                    for (; r < i1; r++) y[r] = alpha * bt_\(n)_spmv_dot_\(v)(g->ci, g->va, \(xAt("r")), rp[r], rp[r + 1], g->nnz);
                } else {
                    for (; r < i1; r++) y[r] = alpha * bt_\(n)_spmv_dot_\(v)(g->ci, g->va, \(xAt("r")), rp[r], rp[r + 1], g->nnz) + beta * y[r];
                }
                const int64_t from = i1 < g->nrows && rp[i1] > j0 ? rp[i1] : j0;
                if (i1 < g->nrows && j1 > from) {
                    g->carry_row[tid] = i1;
                    g->carry[tid] = bt_\(n)_spmv_dot_\(v)(g->ci, g->va, \(xAt("i1")), from, j1, g->nnz);
                } else {
                    g->carry_row[tid] = -1;
                }
            }

            static int bt_\(n)_spmv_run_\(v)(\(ctx) *g)
            {
                const int nth = bt_pick_sparse_threads(\(spec.threads), (double)g->nnz * \(Int64(index.colBytes) + dtype.size) + (double)g->nrows * \(Int64(index.rowBytes) + dtype.size + (index == .d16 ? 8 : 0)));
                g->merge = \(spec.partition == .merge ? 1 : 0);
                if (nth == 1) {
                    int64_t row = -1;
                    \(t) part = 0;
                    g->carry_row = &row;
                    g->carry = &part;
                    bt_\(n)_spmv_work_\(v)(g, 0, 1);
                    return BT_OK;
                }
                int owned = 0;
                char *mem = (char *)bt_scratch((size_t)nth * (sizeof(int64_t) + sizeof(\(t))), &owned);
                if (!mem) return BT_ENOMEM;
                g->carry_row = (int64_t *)mem;
                g->carry = (\(t) *)(mem + (size_t)nth * sizeof(int64_t));
                int used = 1;
            #ifdef _OPENMP
            #pragma omp parallel num_threads(nth)
                {
                    const int n = omp_get_num_threads();
                    bt_\(n)_spmv_work_\(v)(g, omp_get_thread_num(), n);
            #pragma omp single
                    used = n;
                }
            #else
                bt_\(n)_spmv_work_\(v)(g, 0, 1);
            #endif
                /* Rows split between threads: each share's partial sum, in order. */
                for (int k = 0; k < used; k++) {
                    if (g->carry_row[k] >= 0) g->y[g->carry_row[k]] += g->alpha * g->carry[k];
                }
                if (owned) bt_aligned_free(mem);
                return BT_OK;
            }

            """
    }

    /// The kernel of a plan's runs form (``CSRPlanEmitter``): each row's nonzeros as runs of
    /// consecutive columns (a start column and a length per run), so that x is read by plain
    /// vector loads, no index per nonzero. Rows go to threads in equal shares of nonzeros.
    func runsKernel() -> String {
        let target = VectorOps.targetAttribute(isa), rctx = "bt_\(l)_runs_ctx"
        let f32 = dtype == .f32
        // Full-width vectors (512 bits on AVX-512), the tail of a run in one masked load.
        let lanes: Int, vtype: String, zero: String, load: (String) -> String, fma: (String, String, String) -> String
        let tail: String, reduce: String
        switch isa {
        case .avx512:
            lanes = f32 ? 16 : 8
            let sfx = f32 ? "ps" : "pd"
            vtype = f32 ? "__m512" : "__m512d"; zero = "_mm512_setzero_\(sfx)()"
            load = { "_mm512_loadu_\(sfx)(\($0))" }; fma = { "_mm512_fmadd_\(sfx)(\($0), \($1), \($2))" }
            tail = """
                if (i < n) {
                                const \(f32 ? "__mmask16" : "__mmask8") m = (\(f32 ? "__mmask16" : "__mmask8"))((1u << (n - i)) - 1);
                                acc1 = _mm512_fmadd_\(sfx)(_mm512_maskz_loadu_\(sfx)(m, v + i), _mm512_maskz_loadu_\(sfx)(m, xa + i), acc1);
                            }
                """
            reduce = "_mm512_reduce_add_\(sfx)(_mm512_add_\(sfx)(acc0, acc1))"
        case .avx2:
            lanes = f32 ? 8 : 4
            let sfx = f32 ? "ps" : "pd"
            vtype = f32 ? "__m256" : "__m256d"; zero = "_mm256_setzero_\(sfx)()"
            load = { "_mm256_loadu_\(sfx)(\($0))" }; fma = { "_mm256_fmadd_\(sfx)(\($0), \($1), \($2))" }
            // The mask: the last (n - i) of `lanes` all-ones lanes followed by zeros.
            let table = f32 ? "bt_tail_mask32 + 8 - (n - i)" : "bt_tail_mask64 + 4 - (n - i)"
            tail = """
                if (i < n) {
                                const __m256i m = _mm256_loadu_si256((const __m256i *)(\(table)));
                                acc1 = _mm256_fmadd_\(sfx)(_mm256_maskload_\(sfx)(v + i, m), _mm256_maskload_\(sfx)(xa + i, m), acc1);
                            }
                """
            reduce = f32 ? "bt_hsum_m256(_mm256_add_ps(acc0, acc1))" : "bt_hsum_m256d(_mm256_add_pd(acc0, acc1))"
        case .generic:
            lanes = 1; vtype = t; zero = "(\(t))0"
            load = { "(*(\($0)))" }; fma = { "(\($0) * \($1) + \($2))" }
            tail = ""
            reduce = "(acc0 + acc1)"
        }
        let c = lanes
        let o = (vtype: vtype, zero: zero)
        // One run: v[0 .. n) times xa[0 .. n).
        let runBody = """
            int64_t i = 0;
                                for (; i + \(2 * c) <= n; i += \(2 * c)) {
                                    acc0 = \(fma(load("v + i"), load("xa + i"), "acc0"));
                                    acc1 = \(fma(load("v + i + \(c)"), load("xa + i + \(c)"), "acc1"));
                                }
                                if (i + \(c) <= n) { acc0 = \(fma(load("v + i"), load("xa + i"), "acc0")); i += \(c); }
                                \(tail)
            """
        return """
            /* ---- \(dtype.rawValue) CSR SpMV over runs of consecutive columns ---- */
            typedef struct {
                int64_t nrows, nnz;
                const int64_t *rp, *run_ptr, *run_col;
                const int32_t *run_len;
                int single;          /* every row one run: run_col per row, no run_ptr or run_len */
                const \(t) *va, *x;
                \(t) alpha, beta;
                \(t) *y;
            } \(rctx);

            \(target) static void bt_\(l)_runs_work(const \(rctx) *g, int tid, int nth)
            {
                const int64_t *rp = g->rp, *run_ptr = g->run_ptr, *run_col = g->run_col;
                const int32_t *run_len = g->run_len;
                const \(t) *restrict va = g->va, *restrict x = g->x;
                \(t) *restrict y = g->y;
                const \(t) alpha = g->alpha, beta = g->beta;
                const int64_t r0 = tid == 0 ? 0 : bt_row_at_least(rp, g->nrows, bt_share(g->nnz, tid, nth));
                const int64_t r1 = tid + 1 == nth ? g->nrows : bt_row_at_least(rp, g->nrows, bt_share(g->nnz, tid + 1, nth));
                for (int64_t r = r0; r < r1; r++) {
                    \(o.vtype) acc0 = \(o.zero), acc1 = \(o.zero);
                    if (g->single) {
                        const \(t) *restrict v = va + rp[r], *restrict xa = x + run_col[r];
                        const int64_t n = rp[r + 1] - rp[r];
                        \(runBody)
                    } else {
                        int64_t p = rp[r];
                        for (int64_t q = run_ptr[r]; q < run_ptr[r + 1]; q++) {
                            const \(t) *restrict v = va + p, *restrict xa = x + run_col[q];
                            const int64_t n = run_len[q];
                            \(runBody)
                            p += n;
                        }
                    }
                    const \(t) s = \(reduce);
                    y[r] = beta == 0 ? alpha * s : alpha * s + beta * y[r];
                }
            }

            static int bt_\(l)_runs_run(const \(rctx) *g, int tuned_threads, int64_t nruns)
            {
                const int nth = bt_pick_sparse_threads(tuned_threads, (double)g->nnz * \(dtype.size) + (double)nruns * 12 + (double)g->nrows * \(16 + dtype.size));
            #ifdef _OPENMP
                if (nth > 1) {
            #pragma omp parallel num_threads(nth)
                    bt_\(l)_runs_work(g, omp_get_thread_num(), omp_get_num_threads());
                    return BT_OK;
                }
            #endif
                (void)nth;
                bt_\(l)_runs_work(g, 0, 1);
                return BT_OK;
            }

            """
    }

    /// x as the kernel of `row` indexes it: offset by the row's base column for 16-bit deltas.
    private func xAt(_ row: String) -> String { index == .d16 ? "g->x + g->base[\(row)]" : "g->x" }

    /// `bt_?_spmv_xy`: the checks of x and y that every SpMV entry point (plain, int32, plan)
    /// makes after its matrix's, then the calls with nothing to multiply: BT_OK to go on, a
    /// status to return, or BT_SPMV_DONE when y was only scaled by beta (or is empty).
    static func vectorChecks(_ dtype: DType) -> String {
        let t = dtype.cType, l = dtype.blasLetter
        return """
            #ifndef BT_SPMV_DONE
            #define BT_SPMV_DONE (-1)
            #endif
            static int bt_\(l)_spmv_xy(int64_t nrows, int64_t ncols, int64_t nnz, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                if ((nrows > 0 && !y) || (ncols > 0 && !x)) return BT_EINVAL;
                if (!bt_span_ok(x, ncols, 1, ncols, sizeof(\(t))) || !bt_span_ok(y, nrows, 1, nrows, sizeof(\(t)))) return BT_EOVERFLOW;
                const int st = bt_isa_status();
                if (st != BT_OK) return st;
                if (nrows == 0) return BT_SPMV_DONE;
                if (alpha == 0 || nnz == 0) {
                    for (int64_t r = 0; r < nrows; r++) y[r] = beta == 0 ? 0 : beta * y[r];
                    return BT_SPMV_DONE;
                }
                return BT_OK;
            }

            """
    }

    private func entry(_ variants: [(SparseClass, SpmvSpec)]) -> String {
        let dispatch = variants.enumerated().map { i, v in
            v.0 == .any || v.0 == .long ? "return bt_\(n)_spmv_run_\(i)(&g);"
                : "if (\(v.0.cCondition)) return bt_\(n)_spmv_run_\(i)(&g);"
        }.joined(separator: "\n        ")
        return """
            BT_EXPORT int bt_\(l)csr_spmv\(index.suffix)(int64_t nrows, int64_t ncols, const \(rt) *row_ptr, const \(ct) *col_idx,
                const \(t) *val, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                int64_t nnz = 0;
                int st = bt_csr_args\(index.suffix)(nrows, ncols, row_ptr, col_idx, val, 1, sizeof(\(t)), &nnz);
                if (st != BT_OK) return st;
                if ((st = bt_\(l)_spmv_xy(nrows, ncols, nnz, alpha, x, beta, y)) != BT_OK) return st == BT_SPMV_DONE ? BT_OK : st;
                \(ctx) g = { .nrows = nrows, .nnz = nnz, .rp = row_ptr, .ci = col_idx, .va = val, .x = x, .alpha = alpha, .beta = beta, .y = y };
                \(dispatch)
            }

            """
    }
}
