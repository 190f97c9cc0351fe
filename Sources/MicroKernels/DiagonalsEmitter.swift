import KernelSpec

/// Emits, for one dtype, the pieces of a CSR plan kept by diagonals (`BT_CSR_DIAGONALS`):
/// the rows in chunks of `BT_DIA_ROWS` (64), and per chunk and diagonal (column minus row)
/// the chunk's values, zero where the diagonal has no entry, with one bit per row that has
/// one. The matrix streams as one array with no index at all, and x is read by plain vector
/// loads. The bits keep the product exact: x is masked to zero where the matrix has no
/// entry, so an infinite or NaN x there does not reach y, as it would not through CSR.
struct DiagonalsEmitter {
    let dtype: DType
    let isa: ISA

    /// `bt_?_dia_pack` (fills the plan's values and bits) and `bt_?_dia_run` (the SpMV).
    func emit() -> String {
        let t = dtype.cType, l = dtype.blasLetter, size = dtype.size
        let target = VectorOps.targetAttribute(isa)
        return """
            /* ---- \(dtype.rawValue) CSR plans by diagonals ---- */

            /* Fills g->dptr, g->doff, g->dval and g->dmask (dval and dmask zeroed) from the
               caller's arrays: each chunk's diagonals ascending, then its values. Duplicates add up. */
            static void bt_\(l)_dia_pack(bt_csr_plan *g)
            {
                const int64_t *rp = g->rp, *ci = g->ci;
                const \(t) *val = (const \(t) *)g->val;
                \(t) *dv = (\(t) *)g->dval;
                uint64_t *dm = g->dmask;
                const int64_t nch = (g->nrows + BT_DIA_ROWS - 1) / BT_DIA_ROWS;
                g->dptr[0] = 0;
            #ifdef _OPENMP
            #pragma omp parallel for schedule(static) if (g->nnz > (1 << 20))
            #endif
                for (int64_t ch = 0; ch < nch; ch++) {
                    int64_t offs[BT_DIA_MAX];
                    g->dptr[ch + 1] = bt_dia_offsets(g, ch, offs);
                }
                for (int64_t ch = 0; ch < nch; ch++) g->dptr[ch + 1] += g->dptr[ch];
            #ifdef _OPENMP
            #pragma omp parallel for schedule(static) if (g->nnz > (1 << 20))
            #endif
                for (int64_t ch = 0; ch < nch; ch++) {
                    const int64_t base = g->dptr[ch];
                    int64_t *off = g->doff + base;
                    bt_dia_offsets(g, ch, off);
                    const int nd = (int)(g->dptr[ch + 1] - base);
                    const int64_t r1 = g->nrows - ch * BT_DIA_ROWS < BT_DIA_ROWS ? g->nrows : (ch + 1) * BT_DIA_ROWS;
                    for (int64_t r = ch * BT_DIA_ROWS; r < r1; r++) {
                        const int lane = (int)(r - ch * BT_DIA_ROWS);
                        int k = 0;
                        for (int64_t p = rp[r]; p < rp[r + 1]; p++) {
                            const int64_t o = ci[p] - r;
                            if (k >= nd || off[k] > o) k = 0; /* an unsorted row: search again from the first */
                            while (off[k] < o) k++;
                            const size_t at = (size_t)(base + k);
                            dv[at * BT_DIA_ROWS + (size_t)lane] += val[p];
                            dm[at] |= (uint64_t)1 << lane;
                        }
                    }
                }
            }

            /* One chunk anywhere (the first and last, where a diagonal leaves x or the rows
               end): row by row over the entries its bits mark. */
            static void bt_\(l)_dia_chunk(const bt_csr_plan *g, int64_t ch, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                const int64_t base = g->dptr[ch], nd = g->dptr[ch + 1] - base;
                const int64_t r0 = ch * BT_DIA_ROWS, n = g->nrows - r0 < BT_DIA_ROWS ? g->nrows - r0 : BT_DIA_ROWS;
                const \(t) *dv = (const \(t) *)g->dval + (size_t)base * BT_DIA_ROWS;
                const uint64_t *dm = g->dmask + base;
                \(t) acc[BT_DIA_ROWS];
                for (int i = 0; i < BT_DIA_ROWS; i++) acc[i] = 0;
                for (int64_t d = 0; d < nd; d++) {
                    const int64_t o = r0 + g->doff[base + d];
                    for (uint64_t m = dm[d]; m; m &= m - 1) {
                        const int lane = __builtin_ctzll(m);
                        acc[lane] += dv[(size_t)d * BT_DIA_ROWS + (size_t)lane] * x[o + lane];
                    }
                }
                for (int64_t i = 0; i < n; i++) y[r0 + i] = beta == 0 ? alpha * acc[i] : alpha * acc[i] + beta * y[r0 + i];
            }
            \(vectorChunk())
            /* y = alpha A x + beta y over the chunks, in equal shares of chunks per thread. */
            \(target) static int bt_\(l)_dia_run(const bt_csr_plan *g, int tuned_threads, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                const int64_t nch = (g->nrows + BT_DIA_ROWS - 1) / BT_DIA_ROWS;
                const int nth = bt_pick_sparse_threads(tuned_threads, (double)g->dptr[nch] * (BT_DIA_ROWS * \(size) + 16) + (double)g->nrows * \(2 * size));
            #ifdef _OPENMP
            #pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
            #endif
                for (int64_t ch = 0; ch < nch; ch++) {
                    const int64_t r0 = ch * BT_DIA_ROWS, b = g->dptr[ch], e = g->dptr[ch + 1];
                    if (\(isa == .generic ? "0" : "1") && e > b && r0 + g->doff[b] >= 0 && r0 + BT_DIA_ROWS + g->doff[e - 1] <= g->ncols && r0 + BT_DIA_ROWS <= g->nrows)
                        \(isa == .generic ? "bt_\(l)_dia_chunk" : "bt_\(l)_dia_chunk_vec")(g, ch, alpha, x, beta, y);
                    else
                        bt_\(l)_dia_chunk(g, ch, alpha, x, beta, y);
                }
                (void)nth;
                return BT_OK;
            }

            """
    }

    /// A chunk inside x and the rows, in vectors: groups of at most 8 accumulators, each
    /// over every diagonal, x loaded whole and masked by the chunk's bits.
    private func vectorChunk() -> String {
        guard isa != .generic else { return "" }
        let t = dtype.cType, l = dtype.blasLetter, f32 = dtype == .f32
        let ops = VectorOps(isa: isa, dtype: dtype)
        let lanes = ops.lanes, vectors = 64 / lanes, group = min(vectors, 8), passes = vectors / group
        // x at `addr`, lanes whose bit in `bits` (low `lanes` bits) is clear set to zero.
        let masked: (String, String) -> String
        var setup = ""
        switch (isa, f32) {
        case (.avx512, true): masked = { "_mm512_maskz_loadu_ps((__mmask16)(\($0)), \($1))" }
        case (.avx512, false): masked = { "_mm512_maskz_loadu_pd((__mmask8)(\($0)), \($1))" }
        case (_, true):
            setup = "const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);"
            masked = { "_mm256_and_ps(_mm256_loadu_ps(\($1)), _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)((\($0)) & 255)), sel), sel)))" }
        case (_, false):
            setup = "const __m256i sel = _mm256_setr_epi64x(1, 2, 4, 8);"
            masked = { "_mm256_and_pd(_mm256_loadu_pd(\($1)), _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x((long long)((\($0)) & 15)), sel), sel)))" }
        }
        let accs = (0..<group).map { "a\($0)" }
        let fmas = (0..<group).map { k in
            "a\(k) = \(ops.fma(ops.loadu("v + \(k * lanes)"), masked("m >> \(k * lanes)", "xa + \(k * lanes)"), "a\(k)"));"
        }.joined(separator: "\n                ")
        let stores = (0..<group).map { k in
            let at = "y + r0 + h * \(group * lanes) + \(k * lanes)"
            return "\(ops.storeu(at, "beta == 0 ? \(ops.mul("va", "a\(k)")) : \(ops.fma("vb", ops.loadu(at), ops.mul("va", "a\(k)")))"));"
        }.joined(separator: "\n            ")
        return """

            /* One chunk inside x and the rows: \(passes) pass(es) of \(group) vectors over the diagonals. */
            \(VectorOps.targetAttribute(isa)) static void bt_\(l)_dia_chunk_vec(const bt_csr_plan *g, int64_t ch, \(t) alpha, const \(t) *x, \(t) beta, \(t) *y)
            {
                const int64_t base = g->dptr[ch], nd = g->dptr[ch + 1] - base;
                const int64_t r0 = ch * BT_DIA_ROWS, *off = g->doff + base;
                const \(t) *dv = (const \(t) *)g->dval + (size_t)base * BT_DIA_ROWS;
                const uint64_t *dm = g->dmask + base;
                const \(ops.vtype) va = \(ops.set1("alpha")), vb = \(ops.set1("beta"));
                \(setup)
                for (int h = 0; h < \(passes); h++) {
                    \(ops.vtype) \(accs.map { "\($0) = \(ops.zero())" }.joined(separator: ", "));
                    for (int64_t d = 0; d < nd; d++) {
                        const \(t) *v = dv + (size_t)d * BT_DIA_ROWS + h * \(group * lanes);
                        const \(t) *xa = x + (r0 + off[d]) + h * \(group * lanes);
                        const uint64_t m = (dm[d] >> (h * \(group * lanes))) & (\(group * lanes == 64 ? "~(uint64_t)0" : "(((uint64_t)1 << \(group * lanes)) - 1)"));
                        \(fmas)
                    }
                    \(stores)
                }
            }

            """
    }
}
