import KernelSpec

/// Emits the CSR SpMM of one dtype, `bt_scsr_spmm` / `bt_dcsr_spmm`: Y = alpha A X + beta Y
/// with X (ncols x k) and Y (nrows x k) dense, row- or column-major.
///
/// Each row of A is read once per block of `spmmBlock` columns of X and Y, whose sums stay
/// in registers (a constant-size accumulator array the compiler vectorizes on the library's
/// ISA); row-major blocks load contiguous pieces of X's rows, column-major ones gather one
/// element per column. Threads take rows by equal shares of nonzeros. The matrix classes and
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

    private func variant(_ spec: SpmvSpec, index v: Int) -> String {
        let kb = spec.spmmBlock
        let target = VectorOps.targetAttribute(isa)
        return """
            /* \(spec.summary): \(kb) columns per pass over a row */
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
                    for (; j0 + \(kb) <= k; j0 += \(kb)) {
                        \(t) acc[\(kb)] = { 0 };
                        if (g->row_major) {
                            for (int64_t p = rp[r]; p < rp[r + 1]; p++) {
                                const \(t) a = va[p];
                                const \(t) *restrict xp = x + ci[p] * xr + j0;
                                for (int q = 0; q < \(kb); q++) acc[q] += a * xp[q];
                            }
                        } else {
                            for (int64_t p = rp[r]; p < rp[r + 1]; p++) {
                                const \(t) a = va[p];
                                const \(t) *restrict xp = x + ci[p] + j0 * xs;
                                for (int q = 0; q < \(kb); q++) acc[q] += a * xp[q * xs];
                            }
                        }
                        \(t) *restrict yp = y + r * yr + j0 * ys;
                        if (beta == 0) { for (int q = 0; q < \(kb); q++) yp[q * ys] = alpha * acc[q]; }
                        else { for (int q = 0; q < \(kb); q++) yp[q * ys] = alpha * acc[q] + beta * yp[q * ys]; }
                    }
                    /* The last columns, fewer than a block. */
                    for (int64_t j = j0; j < k; j++) {
                        \(t) s = 0;
                        for (int64_t p = rp[r]; p < rp[r + 1]; p++) s += va[p] * x[ci[p] * xr + j * xs];
                        \(t) *yp = y + r * yr + j * ys;
                        *yp = beta == 0 ? alpha * s : alpha * s + beta * *yp;
                    }
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
