import KernelSpec

/// Emits the CSR inspector: `bt_?csr_plan` checks a 64-bit CSR matrix once (the work of
/// `bt_csr_check`), picks the tuned SpMV variant for its class, and keeps the most compact
/// form of its column indices that the matrix allows and the caller's byte cap admits:
/// runs of consecutive columns (a start and a length per run, when runs average at least
/// 6 nonzeros: bands, dense blocks; only a start per row when no row has two), else 16-bit deltas from each row's smallest column
/// (every row spans fewer than 65536 columns), else a 32-bit copy (ncols fits int32_t),
/// else the caller's own array. `bt_?csr_plan_spmv` runs it through the SpMV kernels of
/// that form (``SpmvEmitter``: the runs kernel, or index `.d16`, `.c32` or `.i64`).
enum CSRPlanEmitter {
    /// The plan type and what both dtypes share.
    static let common = """
        /* ---- CSR plans: shared ---- */

        #define BT_CSR_PLAN_S 0x5343u /* a plan's tag: which dtype's plan_spmv it belongs to */
        #define BT_CSR_PLAN_D 0x4443u
        #define BT_DIA_ROWS 64   /* rows per chunk of a plan by diagonals (one bit each in a uint64_t) */
        #define BT_DIA_MAX 64    /* the most diagonals of one chunk such a plan keeps */

        struct bt_csr_plan {
            unsigned tag;
            int format;           /* BT_CSR_INDEX_64, _32, _16, BT_CSR_RUNS or BT_CSR_DIAGONALS */
            int variant;          /* the tuned SpMV variant of the matrix's class */
            int64_t nrows, ncols, nnz;
            const int64_t *rp;    /* the caller's arrays */
            const int64_t *ci;
            const void *val;
            void *packed;         /* the compressed column indices (int32_t or uint16_t), or NULL */
            int64_t *base;        /* 16-bit deltas: per row, the column they count from */
            int64_t nruns;        /* runs: per row the first run (nrows + 1), per run its column and length; */
            int64_t *run_ptr, *run_col;
            int32_t *run_len;
            int single;           /* or, when no row has two runs, only run_col, per row */
            int64_t *dptr;        /* diagonals: per chunk of BT_DIA_ROWS rows, its first diagonal (nchunks + 1); */
            int64_t *doff;        /* per diagonal of a chunk, its offset (column - row, ascending in the chunk), */
            void *dval;           /* the chunk's values on it (BT_DIA_ROWS, zero where none) */
            uint64_t *dmask;      /* and a bit per row that has an entry there */
            int64_t *sptr;        /* slices of BT_?_SELL_C rows: where each starts (nslices + 1), */
            int32_t *slen;        /* each row's length, */
            int32_t *scol;        /* per slice, entry j of each of its rows side by side: columns */
            void *sval;           /* and values (zero past a row's end) */
            int64_t bytes;        /* everything the plan holds */
        };

        BT_EXPORT int64_t bt_csr_plan_bytes(const bt_csr_plan *plan) { return plan ? plan->bytes : 0; }

        BT_EXPORT int bt_csr_plan_format(const bt_csr_plan *plan) { return plan ? plan->format : 0; }

        BT_EXPORT void bt_csr_plan_destroy(bt_csr_plan *plan)
        {
            if (!plan) return;
            plan->tag = 0;
            free(plan->packed);
            free(plan->base);
            free(plan->run_ptr);
            free(plan->run_col);
            free(plan->run_len);
            free(plan->dptr);
            free(plan->doff);
            free(plan->dval);
            free(plan->dmask);
            free(plan->sptr);
            free(plan->slen);
            free(plan->scol);
            free(plan->sval);
            free(plan);
        }

        /* One pass over a 64-bit CSR matrix: the checks of bt_csr_check (row pointers first),
           whether every row spans fewer than 65536 columns, and how many runs of consecutive
           columns the rows hold (a run ends at INT32_MAX nonzeros), and how many diagonals (column
           minus row) the chunks of BT_DIA_ROWS rows hold in all (*ndiag; -1 when a chunk has
           more than BT_DIA_MAX). Sets the refusal's detail. */
        static int bt_csr_inspect(const char *routine, int64_t nrows, int64_t ncols, const int64_t *rp, const int64_t *ci,
                                  int *narrow, int64_t *nruns, int *single, int64_t *ndiag)
        {
            int64_t offs[BT_DIA_MAX], cells = 0;
            int nd = 0;
            int64_t runs = 0;
            int one = 1;
            for (int64_t r = 0; r < nrows; r++) {
                if (rp[r + 1] < rp[r]) {
                    snprintf(bt_error_text, sizeof bt_error_text, "%s: row_ptr[%lld] = %lld is below row_ptr[%lld] = %lld",
                             routine, (long long)(r + 1), (long long)rp[r + 1], (long long)r, (long long)rp[r]);
                    return BT_EINVAL;
                }
            }
            int fits = 1;
            for (int64_t r = 0; r < nrows; r++) {
                int64_t lo = INT64_MAX, hi = -1, len = 0;
                const int64_t before = runs;
                if (r % BT_DIA_ROWS == 0 && nd >= 0) { cells += nd; nd = 0; }
                int k = 0;
                for (int64_t p = rp[r]; p < rp[r + 1]; p++) {
                    const int64_t c = ci[p];
                    if (nd >= 0 && (uint64_t)c < (uint64_t)ncols) {
                        /* A sorted row meets its diagonals in order: k only moves forward. */
                        const int64_t o = c - r;
                        if (k >= nd || offs[k] > o) k = 0;
                        while (k < nd && offs[k] < o) k++;
                        if (k == nd || offs[k] != o) {
                            if (nd == BT_DIA_MAX) { nd = -1; cells = -1; }
                            else {
                                memmove(offs + k + 1, offs + k, (size_t)(nd - k) * sizeof *offs);
                                offs[k] = o;
                                nd++;
                            }
                        }
                    }
                    if (p == rp[r] || c != ci[p - 1] + 1 || len == INT32_MAX) { runs++; len = 0; }
                    len++;
                    if ((uint64_t)c >= (uint64_t)ncols) {
                        snprintf(bt_error_text, sizeof bt_error_text, "%s: col_idx[%lld] = %lld is outside 0 .. %lld",
                                 routine, (long long)p, (long long)c, (long long)(ncols - 1));
                        return BT_EINVAL;
                    }
                    lo = c < lo ? c : lo;
                    hi = c > hi ? c : hi;
                }
                if (hi >= 0 && hi - lo > 65535) fits = 0;
                if (runs - before > 1) one = 0;
            }
            *narrow = fits;
            *nruns = runs;
            *single = one;
            *ndiag = nd >= 0 ? cells + nd : -1;
            return BT_OK;
        }

        /* The diagonals (column - row) of chunk ch of a plan by diagonals, ascending, into offs
           (room for BT_DIA_MAX, which the inspection guaranteed); returns their count. */
        static int bt_dia_offsets(const bt_csr_plan *g, int64_t ch, int64_t *offs)
        {
            const int64_t *rp = g->rp, *ci = g->ci;
            const int64_t r1 = g->nrows - ch * BT_DIA_ROWS < BT_DIA_ROWS ? g->nrows : (ch + 1) * BT_DIA_ROWS;
            int nd = 0;
            for (int64_t r = ch * BT_DIA_ROWS; r < r1; r++) {
                int k = 0;
                for (int64_t p = rp[r]; p < rp[r + 1]; p++) {
                    const int64_t o = ci[p] - r;
                    if (k >= nd || offs[k] > o) k = 0;
                    while (k < nd && offs[k] < o) k++;
                    if ((k == nd || offs[k] != o) && nd < BT_DIA_MAX) {
                        memmove(offs + k + 1, offs + k, (size_t)(nd - k) * sizeof *offs);
                        offs[k] = o;
                        nd++;
                    }
                }
            }
            return nd;
        }

        /* The width of slice s of `lanes` rows: its longest row. */
        static inline int64_t bt_slice_width(const int64_t *rp, int64_t nrows, int64_t lanes, int64_t s)
        {
            int64_t w = 0;
            for (int64_t r = s * lanes; r < nrows && r < (s + 1) * lanes; r++) w = rp[r + 1] - rp[r] > w ? rp[r + 1] - rp[r] : w;
            return w;
        }

        /* Fills the compressed column indices of the plan's format. */
        static void bt_csr_pack(bt_csr_plan *g)
        {
            const int64_t *rp = g->rp, *ci = g->ci;
            if (g->format == BT_CSR_RUNS && g->single) {
                for (int64_t r = 0; r < g->nrows; r++) g->run_col[r] = rp[r] < rp[r + 1] ? ci[rp[r]] : 0;
                return;
            }
            if (g->format == BT_CSR_RUNS) {
                int64_t q = 0;
                for (int64_t r = 0; r < g->nrows; r++) {
                    g->run_ptr[r] = q;
                    for (int64_t p = rp[r]; p < rp[r + 1]; p++) {
                        if (p == rp[r] || ci[p] != ci[p - 1] + 1 || g->run_len[q - 1] == INT32_MAX) {
                            g->run_col[q] = ci[p];
                            g->run_len[q++] = 1;
                        } else {
                            g->run_len[q - 1]++;
                        }
                    }
                }
                g->run_ptr[g->nrows] = q;
                return;
            }
            if (g->format == BT_CSR_INDEX_32) {
                int32_t *out = (int32_t *)g->packed;
        #ifdef _OPENMP
        #pragma omp parallel for schedule(static) if (g->nnz > (1 << 20))
        #endif
                for (int64_t p = 0; p < g->nnz; p++) out[p] = (int32_t)ci[p];
                return;
            }
            uint16_t *out = (uint16_t *)g->packed;
        #ifdef _OPENMP
        #pragma omp parallel for schedule(static) if (g->nnz > (1 << 20))
        #endif
            for (int64_t r = 0; r < g->nrows; r++) {
                int64_t lo = rp[r] < rp[r + 1] ? INT64_MAX : 0;
                for (int64_t p = rp[r]; p < rp[r + 1]; p++) lo = ci[p] < lo ? ci[p] : lo;
                g->base[r] = lo;
                for (int64_t p = rp[r]; p < rp[r + 1]; p++) out[p] = (uint16_t)(ci[p] - lo);
            }
        }

        """

    /// `bt_?csr_plan` and `bt_?csr_plan_spmv` of one dtype over `variants` (the SpMV
    /// variants in dispatch order, as ``SpmvEmitter`` numbers them).
    static func entryPoints(dtype: DType, variants: [(SparseClass, SpmvSpec)]) -> String {
        let t = dtype.cType, l = dtype.blasLetter, tag = dtype == .f32 ? "BT_CSR_PLAN_S" : "BT_CSR_PLAN_D"
        // The entry point's dispatch: the first variant whose class condition holds.
        let fallback = variants.firstIndex { $0.0 == .any || $0.0 == .long } ?? max(variants.count - 1, 0)
        let choose = (["variant = \(fallback);"] + variants.indices.prefix(fallback).reversed().map {
            "if (\(variants[$0].0.cCondition)) variant = \($0);"
        }).joined(separator: "\n    ")
        let threads = variants.map { String($0.1.threads) }.joined(separator: ", ")
        func runs(_ index: CSRIndex) -> String {
            variants.indices.map { "case \($0): return bt_\(l)\(index.suffix)_spmv_run_\($0)(&g);" }.joined(separator: "\n            ")
        }
        return """
            /* ---- \(dtype.rawValue) CSR plans ---- */

            /* The tuned thread count of each SpMV variant (for the runs kernel). */
            static const int bt_\(l)_spmv_threads[] = { \(threads.isEmpty ? "0" : threads) };

            BT_EXPORT bt_csr_plan *bt_\(l)csr_plan(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                const \(t) *val, int64_t max_bytes, int *status)
            {
                static const char *const routine = "bt_\(l)csr_plan";
                int64_t nnz = 0;
                int narrow = 0, variant = 0, single = 0;
                int64_t nruns = 0, ndiag = -1;
                bt_csr_plan *g = NULL;
                int st = bt_csr_args(nrows, ncols, row_ptr, col_idx, val, 1, sizeof(\(t)), &nnz);
                if (st != BT_OK) { bt_refuse(st, routine, -1, 0, "arguments"); goto done; }
                if ((st = bt_csr_inspect(routine, nrows, ncols, row_ptr, col_idx, &narrow, &nruns, &single, &ndiag)) != BT_OK) goto done;
                if (!(g = (bt_csr_plan *)calloc(1, sizeof *g))) { st = bt_refuse(BT_ENOMEM, routine, -1, 0, "the plan"); goto done; }
                g->nrows = nrows; g->ncols = ncols; g->nnz = nnz;
                g->rp = row_ptr; g->ci = col_idx; g->val = val;
                g->format = BT_CSR_INDEX_64;
                g->bytes = (int64_t)sizeof *g;
                {
                    /* The most compact form the matrix allows within the cap (negative: no cap). */
                    const int64_t d16 = nnz * 2 + nrows * 8, c32 = nnz * 4, rb = single ? nrows * 8 : (nrows + 1) * 8 + nruns * 12;
                    const int fmt = nnz == 0 ? BT_CSR_INDEX_64
                        : nnz >= 6 * nruns && (max_bytes < 0 || rb <= max_bytes) ? BT_CSR_RUNS
                        : narrow && (max_bytes < 0 || d16 <= max_bytes) ? BT_CSR_INDEX_16
                        : ncols <= INT32_MAX && (max_bytes < 0 || c32 <= max_bytes) ? BT_CSR_INDEX_32 : BT_CSR_INDEX_64;
                    /* By diagonals when that streams fewer bytes than the form above with the
                       values and row pointers (and fits the cap): a copy of the values, no index. */
                    const int64_t nch = (nrows + BT_DIA_ROWS - 1) / BT_DIA_ROWS;
                    int64_t dia = -1;
                    if (nnz > 0 && ndiag > 0 && __builtin_mul_overflow(ndiag, BT_DIA_ROWS * (int64_t)sizeof(\(t)) + 16, &dia)) dia = -1;
                    if (dia >= 0) dia += (nch + 1) * 8;
                    const double streamed = (double)nnz * sizeof(\(t)) + (double)(nrows + 1) * 8
                        + (fmt == BT_CSR_RUNS ? (double)rb : fmt == BT_CSR_INDEX_16 ? (double)d16 : fmt == BT_CSR_INDEX_32 ? (double)c32 : (double)nnz * 8);
                    /* In slices of one vector's rows (sliced ELLPACK) when that streams no more: a
                       copy of the values with 32-bit columns, padded to each slice's longest row. */
                    const int64_t lanes = BT_\(l.uppercased())_SELL_C, nsl = lanes > 0 ? (nrows + lanes - 1) / lanes : 0;
                    int64_t sell = -1;
                    if (lanes > 0 && nnz > 0 && ncols <= INT32_MAX) {
                        int64_t padded = 0, longest = 0;
                        int over = 0;
                        for (int64_t sl = 0; sl < nsl && !over; sl++) {
                            const int64_t w = bt_slice_width(row_ptr, nrows, lanes, sl);
                            int64_t wl = 0;
                            over = __builtin_mul_overflow(w, lanes, &wl) || __builtin_add_overflow(padded, wl, &padded);
                            longest = w > longest ? w : longest;
                        }
                        if (!over && longest <= INT32_MAX && !__builtin_mul_overflow(padded, (int64_t)sizeof(\(t)) + 4, &sell)) sell += (nsl + 1) * 8 + nsl * lanes * 4;
                        else sell = -1;
                    }
                    const int by_dia = dia >= 0 && (double)dia <= streamed && (max_bytes < 0 || dia <= max_bytes);
                    if (!by_dia && sell >= 0 && (double)sell <= streamed && (max_bytes < 0 || sell <= max_bytes)) {
                        const int64_t cells = sell - (nsl + 1) * 8 - nsl * lanes * 4;
                        const size_t padded = (size_t)(cells / ((int64_t)sizeof(\(t)) + 4));
                        g->sptr = (int64_t *)malloc((size_t)(nsl + 1) * 8);
                        g->slen = (int32_t *)malloc((size_t)(nsl * lanes) * 4);
                        g->scol = (int32_t *)bt_aligned_alloc(padded * 4 + 64);
                        g->sval = bt_aligned_alloc(padded * sizeof(\(t)) + 64);
                        if (!g->sptr || !g->slen || !g->scol || !g->sval) {
                            bt_csr_plan_destroy(g);
                            g = NULL;
                            st = bt_refuse(BT_ENOMEM, routine, -1, 0, "the slices");
                            goto done;
                        }
                        memset(g->scol, 0, padded * 4);
                        memset(g->sval, 0, padded * sizeof(\(t)));
                        g->format = BT_CSR_SLICES;
                        g->bytes += sell;
                        bt_\(l)_sell_pack(g);
                    } else if (by_dia) {
                        const size_t cells = (size_t)ndiag;
                        g->dptr = (int64_t *)malloc((size_t)(nch + 1) * 8);
                        g->doff = (int64_t *)malloc(cells * 8);
                        g->dval = bt_aligned_alloc(cells * BT_DIA_ROWS * sizeof(\(t)));
                        g->dmask = (uint64_t *)calloc(cells, sizeof(uint64_t));
                        if (!g->dptr || !g->doff || !g->dval || !g->dmask) {
                            bt_csr_plan_destroy(g);
                            g = NULL;
                            st = bt_refuse(BT_ENOMEM, routine, -1, 0, "the values by diagonal");
                            goto done;
                        }
                        memset(g->dval, 0, cells * BT_DIA_ROWS * sizeof(\(t)));
                        g->format = BT_CSR_DIAGONALS;
                        g->bytes += dia;
                        bt_\(l)_dia_pack(g);
                    } else if (fmt == BT_CSR_RUNS) {
                        g->single = single;
                        g->run_ptr = single ? NULL : (int64_t *)malloc((size_t)(nrows + 1) * 8);
                        g->run_col = (int64_t *)malloc((size_t)(single ? nrows : nruns) * 8);
                        g->run_len = single ? NULL : (int32_t *)malloc((size_t)nruns * 4);
                        if ((!single && (!g->run_ptr || !g->run_len)) || !g->run_col) {
                            bt_csr_plan_destroy(g);
                            g = NULL;
                            st = bt_refuse(BT_ENOMEM, routine, -1, 0, "the runs of columns");
                            goto done;
                        }
                        g->format = fmt;
                        g->nruns = nruns;
                        g->bytes += rb;
                        bt_csr_pack(g);
                    } else if (fmt != BT_CSR_INDEX_64) {
                        g->packed = malloc((size_t)(fmt == BT_CSR_INDEX_16 ? nnz * 2 : c32));
                        g->base = fmt == BT_CSR_INDEX_16 ? (int64_t *)malloc((size_t)(nrows > 0 ? nrows : 1) * 8) : NULL;
                        if (!g->packed || (fmt == BT_CSR_INDEX_16 && !g->base)) {
                            bt_csr_plan_destroy(g);
                            g = NULL;
                            st = bt_refuse(BT_ENOMEM, routine, -1, 0, "the compressed column indices");
                            goto done;
                        }
                        g->format = fmt;
                        g->bytes += fmt == BT_CSR_INDEX_16 ? d16 : c32;
                        bt_csr_pack(g);
                    }
                }
                \(choose)
                g->variant = variant;
                g->tag = \(tag);
            done:
                if (status) *status = st;
                return g;
            }

            BT_EXPORT int bt_\(l)csr_plan_spmv(const bt_csr_plan *plan, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                if (!plan || plan->tag != \(tag)) return BT_EINVAL;
                const int64_t nrows = plan->nrows;
                const int st = bt_\(l)_spmv_xy(nrows, plan->ncols, plan->nnz, alpha, x, beta, y);
                if (st != BT_OK) return st == BT_SPMV_DONE ? BT_OK : st;
                switch (plan->format) {
                case BT_CSR_SLICES:
                    return bt_\(l)_sell_run(plan, bt_\(l)_spmv_threads[plan->variant], alpha, x, beta, y);
                case BT_CSR_DIAGONALS:
                    return bt_\(l)_dia_run(plan, bt_\(l)_spmv_threads[plan->variant], alpha, x, beta, y);
                case BT_CSR_RUNS: {
                    const bt_\(l)_runs_ctx g = { .nrows = nrows, .nnz = plan->nnz, .rp = plan->rp, .run_ptr = plan->run_ptr,
                                              .run_col = plan->run_col, .run_len = plan->run_len, .single = plan->single, .va = (const \(t) *)plan->val,
                                              .x = x, .alpha = alpha, .beta = beta, .y = y };
                    return bt_\(l)_runs_run(&g, bt_\(l)_spmv_threads[plan->variant], plan->nruns);
                }
                case BT_CSR_INDEX_16: {
                    bt_\(l)_d16_spmv_ctx g = { .nrows = nrows, .nnz = plan->nnz, .rp = plan->rp, .ci = (const uint16_t *)plan->packed,
                                           .base = plan->base, .va = (const \(t) *)plan->val, .x = x, .alpha = alpha, .beta = beta, .y = y };
                    switch (plan->variant) {
                    \(runs(.d16))
                    }
                    break;
                }
                case BT_CSR_INDEX_32: {
                    bt_\(l)_c32_spmv_ctx g = { .nrows = nrows, .nnz = plan->nnz, .rp = plan->rp, .ci = (const int32_t *)plan->packed,
                                           .va = (const \(t) *)plan->val, .x = x, .alpha = alpha, .beta = beta, .y = y };
                    switch (plan->variant) {
                    \(runs(.c32))
                    }
                    break;
                }
                default: {
                    bt_\(l)_spmv_ctx g = { .nrows = nrows, .nnz = plan->nnz, .rp = plan->rp, .ci = plan->ci,
                                       .va = (const \(t) *)plan->val, .x = x, .alpha = alpha, .beta = beta, .y = y };
                    switch (plan->variant) {
                    \(runs(.i64))
                    }
                    break;
                }
                }
                return BT_EINVAL; /* a plan of another library's variants */
            }

            """
    }
}
