import KernelSpec

/// Emits the CSR transpose of one dtype (`bt_scsr_transpose` / `bt_dcsr_transpose`).
///
/// Two algorithms, chosen per call from the class's ``TransposeSpec``:
/// - histogram (ScanTrans): each thread counts the columns of an equal share of the
///   nonzeros, a column-wise scan turns the counts into positions, each thread scatters its
///   share stably. The last thread counts straight into `t_row_ptr`, so one thread needs no
///   memory beyond the output and T threads need (T - 1) x ncols counters; above the budget
///   the call takes the radix partition instead (or, where that cannot run, the histogram on
///   one thread).
/// - radix: the same shares are partitioned by the high bits of the column into at most
///   2^radixBits buckets written straight into the output arrays (row and low column bits
///   packed into one int64), then each bucket (a contiguous range of output positions) is
///   counted and scattered in a per-thread buffer of one bucket. Memory: threads x buckets
///   counters plus one bucket per thread, whatever ncols.
struct TransposeEmitter {
    let dtype: DType
    let isa: ISA
    var index: CSRIndex = .i64

    private var t: String { dtype.cType }
    private var l: String { dtype.blasLetter }
    /// The prefix of internal names: dtype letter and index suffix.
    private var n: String { l + index.suffix }
    private var x: String { index.cType }
    private var ctx: String { "bt_\(n)_tr_ctx" }

    func emit(variants: [(SparseClass, TransposeSpec)]) -> String {
        let dispatch = variants.map { c, s in
            let call = "return bt_\(n)_transpose_run(&g, \(s.threads), \(algorithmNumber(s.algorithm)), \(s.radixBits), (int64_t)\(s.histogramBudget));"
            return c == .any || c == .long ? call : "if (\(c.cCondition)) \(call)"
        }.joined(separator: "\n        ")
        return """
            /* ---- \(dtype.rawValue) CSR transpose, \(x) indices ---- */
            typedef struct {
                int64_t nrows, ncols, nnz;
                const \(x) *rp, *ci;
                const \(t) *va;
                \(x) *trp, *tci;
                \(t) *tva;
                \(x) *cnt;     /* histogram: (threads - 1) x ncols counters */
                int64_t *part;    /* histogram: per-thread column-chunk totals */
                int shift;        /* radix: bucket = column >> shift */
                int64_t nb;       /* radix: buckets */
                int64_t *hist;    /* radix: threads x nb counters, then positions */
                int64_t *bstart;  /* radix: nb + 1 bucket starts */
                int64_t *work;    /* radix: per-thread counters and bucket buffer */
                int64_t stride;   /* radix: int64s per thread in work */
                int64_t next;     /* radix: next bucket to finish */
                int64_t limit;    /* most bytes of extra memory */
                int status;       /* radix: BT_OK, an error, or -1 (over the limit) */
            } \(ctx);

            /* Calls body(r, p) for the nonzeros of share tid of nth, row by row. */
            #define BT_\(n.uppercased())_FOR_SHARE(g, tid, nth, body) do { \\
                const int64_t p0_ = bt_share((g)->nnz, (tid), (nth)), p1_ = bt_share((g)->nnz, (tid) + 1, (nth)); \\
                if (p0_ < p1_) { \\
                    int64_t r = bt_row_of\(index.suffix)((g)->rp, (g)->nrows, p0_), p = p0_; \\
                    while (p < p1_) { \\
                        while ((g)->rp[r + 1] <= p) r++; \\
                        const int64_t e_ = (g)->rp[r + 1] < p1_ ? (g)->rp[r + 1] : p1_; \\
                        for (; p < e_; p++) { body; } \\
                    } \\
                } \\
            } while (0)

            static void bt_\(n)_tr_hist_work(\(ctx) *g, int tid, int nth)
            {
                const int64_t ncols = g->ncols;
                const \(x) *restrict ci = g->ci;
                \(x) *restrict my = tid == nth - 1 ? g->trp + 1 : g->cnt + (size_t)tid * (size_t)ncols;
                memset(my, 0, (size_t)ncols * sizeof(\(x)));
                BT_\(n.uppercased())_FOR_SHARE(g, tid, nth, my[ci[p]]++);
                bt_barrier();
                /* Column-wise scan: positions relative to this thread's chunk of columns. */
                const int64_t c0 = bt_share(ncols, tid, nth), c1 = bt_share(ncols, tid + 1, nth);
                int64_t s = 0;
                for (int64_t j = c0; j < c1; j++) {
                    for (int k = 0; k < nth; k++) {
                        \(x) *c = k == nth - 1 ? g->trp + 1 + j : g->cnt + (size_t)k * (size_t)ncols + j;
                        const int64_t v = *c;
                        *c = (\(x))s;
                        s += v;
                    }
                }
                g->part[tid] = s;
                bt_barrier();
                int64_t base = 0;
                for (int k = 0; k < tid; k++) base += g->part[k];
                if (base != 0) {
                    for (int64_t j = c0; j < c1; j++) {
                        for (int k = 0; k < nth; k++) (k == nth - 1 ? g->trp + 1 + j : g->cnt + (size_t)k * (size_t)ncols + j)[0] += (\(x))base;
                    }
                }
                bt_barrier();
                \(x) *restrict tci = g->tci;
                \(t) *restrict tva = g->tva;
                const \(t) *restrict va = g->va;
                if (va) BT_\(n.uppercased())_FOR_SHARE(g, tid, nth, { const int64_t q = my[ci[p]]++; tci[q] = (\(x))r; tva[q] = va[p]; });
                else BT_\(n.uppercased())_FOR_SHARE(g, tid, nth, { tci[my[ci[p]]++] = (\(x))r; });
            }

            /* Radix partition and bucket finishing, in one parallel region. */
            /* Copies a staged 256-byte block to its (256-byte aligned) place in the output,
               bypassing the cache where the ISA can. */
            \(VectorOps.targetAttribute(isa)) static inline void bt_\(n)_tr_stream256(void *dst, const void *src)
            {
                for (int i = 0; i < 4; i++) {
                    char *d = (char *)dst + 64 * i;
                    const char *s = (const char *)src + 64 * i;
            \(streamBody)
                }
            }

            /* The partition with software write combining: each bucket stages a 256-byte block
               of indices and one of values per thread, and a full block goes out in four
               non-temporal line stores (no read for ownership, no cache pollution, and bursts
               the memory controller can merge); blocks at the ends of a thread's range in a
               bucket, shared with neighbours, are stored entry by entry. */
            \(VectorOps.targetAttribute(isa)) static void bt_\(n)_tr_partition(\(ctx) *g, int tid, int nth, int64_t *restrict h, int64_t *restrict stage)
            {
                const int s = g->shift;
                const int64_t nb = g->nb, mask = ((int64_t)1 << s) - 1;
                const \(x) *restrict ci = g->ci;
                const \(t) *restrict va = g->va;
                \(x) *restrict tci = g->tci;
                \(t) *restrict tva = g->tva;
                enum { IB = 256 / sizeof(\(x)), VL = 256 / sizeof(\(t)) }; /* entries per staged block */
                int64_t *restrict first = stage;                 /* nb: where this thread's range starts */
                \(x) *restrict si = (\(x) *)(stage + (nb + 7) / 8 * 8); /* nb x IB staged indices, 64-byte aligned */
                \(t) *restrict sv = (\(t) *)(si + IB * nb);      /* nb x VL staged values */
                memcpy(first, h, (size_t)nb * sizeof(int64_t));
                BT_\(n.uppercased())_FOR_SHARE(g, tid, nth, {
                    const int64_t c = ci[p]; const int64_t b = c >> s; const int64_t q = h[b]++;
                    const unsigned k = (unsigned)(((uintptr_t)(tci + q) / sizeof(\(x))) & (IB - 1));
                    \(x) *st = si + b * IB;
                    st[k] = (\(x))(r << s | (c & mask));
                    if (k == IB - 1) {
                        if (q - (IB - 1) >= first[b]) bt_\(n)_tr_stream256(tci + q - (IB - 1), st);
                        else for (int64_t j = first[b]; j <= q; j++) tci[j] = st[IB - 1 - (q - j)];
                    }
                    if (va) {
                        const unsigned kv = (unsigned)(((uintptr_t)(tva + q) / sizeof(\(t))) & (VL - 1));
                        \(t) *sw = sv + b * VL;
                        sw[kv] = va[p];
                        if (kv == VL - 1) {
                            if (q - (VL - 1) >= first[b]) bt_\(n)_tr_stream256(tva + q - (VL - 1), sw);
                            else for (int64_t j = first[b]; j <= q; j++) tva[j] = sw[VL - 1 - (q - j)];
                        }
                    }
                });
                /* The last, partial line of each bucket. */
                for (int64_t b = 0; b < nb; b++) {
                    const int64_t e = h[b] - 1;
                    if (e < first[b]) continue;
                    const unsigned k = (unsigned)(((uintptr_t)(tci + e) / sizeof(\(x))) & (IB - 1));
                    if (k != IB - 1) for (int64_t j = e - k > first[b] ? e - k : first[b]; j <= e; j++) tci[j] = si[b * IB + k - (e - j)];
                    if (va) {
                        const unsigned kv = (unsigned)(((uintptr_t)(tva + e) / sizeof(\(t))) & (VL - 1));
                        if (kv != VL - 1) for (int64_t j = e - kv > first[b] ? e - kv : first[b]; j <= e; j++) tva[j] = sv[b * VL + kv - (e - j)];
                    }
                }
            \(isa == .generic ? "" : "    _mm_sfence();")
            }

            static void bt_\(n)_tr_radix_work(\(ctx) *g, int tid, int nth)
            {
                const int s = g->shift;
                const int64_t mask = ((int64_t)1 << s) - 1;
                const \(x) *restrict ci = g->ci;
                const \(t) *restrict va = g->va;
                \(x) *restrict tci = g->tci;
                \(t) *restrict tva = g->tva;
                int64_t *restrict h = g->hist + (size_t)tid * (size_t)g->nb;
                memset(h, 0, (size_t)g->nb * sizeof(int64_t));
                BT_\(n.uppercased())_FOR_SHARE(g, tid, nth, h[ci[p] >> s]++);
                bt_barrier();
                if (tid == 0) {
                    /* Positions in (bucket, thread) order: the partition is stable. Then one
                       buffer per thread: 2^shift counters and the largest bucket. */
                    int64_t run = 0, maxb = 0;
                    for (int64_t b = 0; b < g->nb; b++) {
                        g->bstart[b] = run;
                        for (int k = 0; k < nth; k++) {
                            int64_t *c = g->hist + (size_t)k * (size_t)g->nb + b;
                            const int64_t v = *c;
                            *c = run;
                            run += v;
                        }
                        if (run - g->bstart[b] > maxb) maxb = run - g->bstart[b];
                    }
                    g->bstart[g->nb] = run;
                    size_t bucket, all;
                    if (bt_mul_size(maxb, 8 + (int64_t)sizeof(\(t)), &bucket)) g->status = BT_EOVERFLOW;
                    else {
                        /* the finishing buffers, or the partition's staging lines, whichever is larger */
                        g->stride = (int64_t)(bucket / 8 + 1) + ((int64_t)1 << s);
                        if (g->stride < 65 * g->nb + 8) g->stride = 65 * g->nb + 8;
                        g->stride = (g->stride + 7) / 8 * 8; /* 64-byte aligned per thread */
                        if (bt_mul_size(g->stride, 8 * (int64_t)nth, &all)) g->status = BT_EOVERFLOW;
                        else if ((int64_t)all > g->limit) g->status = -1;
                        else if (!(g->work = (int64_t *)bt_aligned_alloc(all))) g->status = BT_ENOMEM;
                    }
                }
                bt_barrier();
                if (g->status != BT_OK) return; /* nothing written yet */
                /* Partition: (row << shift | low column bits) into the bucket's output range. */
                bt_\(n)_tr_partition(g, tid, nth, h, g->work + (size_t)tid * (size_t)g->stride);
                bt_barrier();
                /* Finish buckets: count the low bits, scan into t_row_ptr, scatter stably. */
                int64_t *restrict cnt = g->work + (size_t)tid * (size_t)g->stride;
                const int64_t w = (int64_t)1 << s;
                int64_t *restrict bufc = cnt + w;
                for (;;) {
                    const int64_t b = __atomic_fetch_add(&g->next, 1, __ATOMIC_RELAXED);
                    if (b >= g->nb) break;
                    const int64_t lo = g->bstart[b], hi = g->bstart[b + 1], c0 = b << s;
                    const int64_t width = g->ncols - c0 < w ? g->ncols - c0 : w;
                    memset(cnt, 0, (size_t)width * sizeof(int64_t));
                    int sorted = 1;
                    int64_t prev = 0;
                    for (int64_t p = lo; p < hi; p++) {
                        const int64_t lc = tci[p] & mask;
                        cnt[lc]++;
                        sorted &= lc >= prev;
                        prev = lc;
                    }
                    int64_t run = lo;
                    for (int64_t j = 0; j < width; j++) {
                        const int64_t v = cnt[j];
                        cnt[j] = run;
                        g->trp[c0 + j] = (\(x))run;
                        run += v;
                    }
                    if (sorted) {
                        for (int64_t p = lo; p < hi; p++) tci[p] >>= s;
                        continue;
                    }
                    \(t) *restrict bufv = (\(t) *)(bufc + (hi - lo));
                    for (int64_t p = lo; p < hi; p++) {
                        const int64_t v = tci[p];
                        const int64_t q = cnt[v & mask]++ - lo;
                        bufc[q] = v >> s;
                        if (va) bufv[q] = tva[p];
                    }
                    \(index == .i64 ? "memcpy(tci + lo, bufc, (size_t)(hi - lo) * sizeof(int64_t));" : "for (int64_t p = lo; p < hi; p++) tci[p] = (\(x))bufc[p - lo];")
                    if (va) memcpy(tva + lo, bufv, (size_t)(hi - lo) * sizeof(\(t)));
                }
            }

            /* Runs body(g, tid, nth) on nth threads. */
            #define BT_\(n.uppercased())_PARALLEL(nth, fn, g) do { \\
                if ((nth) == 1) fn((g), 0, 1); \\
                else { BT_OMP_PARALLEL(nth) fn((g), bt_thread_num(), bt_team_size()); } \\
            } while (0)

            /* Histogram algorithm on nth threads; (nth - 1) x ncols counters. */
            static int bt_\(n)_tr_histogram(\(ctx) *g, int nth)
            {
                size_t cells, bytes;
                if (bt_mul_size(nth - 1, g->ncols, &cells) || bt_mul_size((int64_t)cells, sizeof(\(x)), &bytes)
                    || bt_round_size(&bytes, 8) || bytes > SIZE_MAX - 8 * (size_t)nth) return BT_EOVERFLOW;
                const size_t counters = bytes;
                bytes += 8 * (size_t)nth;
                int owned = 0;
                char *mem = nth == 1 ? NULL : (char *)bt_scratch(bytes, &owned);
                if (nth > 1 && !mem) return BT_ENOMEM;
                int64_t part1 = 0;
                g->cnt = (\(x) *)mem;
                g->part = nth == 1 ? &part1 : (int64_t *)(mem + counters);
                BT_\(n.uppercased())_PARALLEL(nth, bt_\(n)_tr_hist_work, g);
                g->trp[0] = 0;
                if (owned) bt_aligned_free(mem);
                return BT_OK;
            }

            /* Radix algorithm; returns -1 (nothing written) when its buffers would exceed
               g->limit bytes or the row does not fit beside the column bits. */
            static int bt_\(n)_tr_radix(\(ctx) *g, int nth, int bits)
            {
                int s = bt_ceil_log2(g->ncols) - bits;
                if (s < 0) s = 0;
                if (s > 17) s = 17; /* per-thread counters stay <= 1 MiB: more buckets instead */
                if (g->nrows > 0 && ((g->nrows - 1) >> (\(index.bytes * 8 - 2) - s)) != 0) return -1; /* row and low bits in one index */
                g->shift = s;
                g->nb = ((g->ncols - 1) >> s) + 1;
                size_t hbytes;
                if (bt_mul_size(nth + 1, g->nb, &hbytes) || bt_mul_size((int64_t)hbytes + 1, 8, &hbytes)) return BT_EOVERFLOW;
                if ((int64_t)hbytes > g->limit) return -1;
                int64_t *hmem = (int64_t *)bt_aligned_alloc(hbytes);
                if (!hmem) return BT_ENOMEM;
                g->hist = hmem;
                g->bstart = hmem + (size_t)nth * (size_t)g->nb;
                g->limit -= (int64_t)hbytes;
                g->status = BT_OK;
                g->work = NULL;
                g->next = 0;
                BT_\(n.uppercased())_PARALLEL(nth, bt_\(n)_tr_radix_work, g);
                if (g->status == BT_OK) g->trp[g->ncols] = (\(x))g->nnz;
                bt_aligned_free(g->work);
                bt_aligned_free(hmem);
                return g->status;
            }

            /* One row with ascending columns: A^T is one column. t_row_ptr[j] counts the entries
               with column < j, t_col_idx is all zeros and t_val is val: no sort at all. Threads
               take equal ranges of columns. */
            static void bt_\(n)_tr_row_work(\(ctx) *g, int tid, int nth)
            {
                const \(x) *restrict ci = g->ci;
                const int64_t c0 = bt_share(g->ncols, tid, nth), c1 = bt_share(g->ncols, tid + 1, nth);
                int64_t lo = 0, hi = g->nnz;
                while (lo < hi) { const int64_t mid = lo + (hi - lo) / 2; if (ci[mid] < c0) lo = mid + 1; else hi = mid; }
                const int64_t p0 = lo;
                int64_t p = p0;
                \(x) *restrict trp = g->trp;
                for (int64_t j = c0; j < c1; j++) {
                    trp[j] = (\(x))p;
                    while (p < g->nnz && ci[p] == j) p++;
                }
                memset(g->tci + p0, 0, (size_t)(p - p0) * sizeof(\(x)));
                if (g->va) memcpy(g->tva + p0, g->va + p0, (size_t)(p - p0) * sizeof(\(t)));
                if (tid == nth - 1) trp[g->ncols] = (\(x))g->nnz;
            }

            static void bt_\(n)_tr_sorted_work(\(ctx) *g, int tid, int nth)
            {
                const int64_t p0 = bt_share(g->nnz, tid, nth), p1 = bt_share(g->nnz, tid + 1, nth);
                int ok = 1;
                for (int64_t p = p0 > 0 ? p0 : 1; p < p1; p++) ok &= g->ci[p - 1] <= g->ci[p];
                if (!ok) __atomic_store_n(&g->status, 1, __ATOMIC_RELAXED);
            }

            /* Whether the nonzeros keep near the diagonal (scaled to ncols / nrows): in 256 rows
               spread over the matrix, none lies more than BT_TR_LOCAL_BAND columns off. Then the
               histogram's scatter writes a few hundred neighbouring columns at a time, which stay
               in cache, and the radix partition's two extra passes only cost (a band of 27 per row,
               2M rows: 464 ms by radix where a plain scatter takes 186). */
            static int bt_\(n)_tr_local(const \(ctx) *g)
            {
                const int64_t step = g->nrows / 256 > 1 ? g->nrows / 256 : 1;
                const double scale = (double)g->ncols / (double)g->nrows;
                for (int64_t r = 0; r < g->nrows; r += step) {
                    const double d = (double)r * scale;
                    for (int64_t p = (int64_t)g->rp[r]; p < (int64_t)g->rp[r + 1]; p++) {
                        const double off = (double)g->ci[p] - d;
                        if (off > BT_TR_LOCAL_BAND || off < -BT_TR_LOCAL_BAND) return 0;
                    }
                }
                return 1;
            }

            /* algorithm: 0 auto, 1 histogram, 2 radix (TransposeAlgorithm). */
            static int bt_\(n)_transpose_run(\(ctx) *g, int tuned, int algorithm, int bits, int64_t budget)
            {
                const double bytes = (double)g->nnz * (2.0 * sizeof(\(x)) + 2.0 * sizeof(\(t))) + (double)g->ncols * sizeof(\(x));
                const int nth = bt_pick_sparse_threads(tuned, bytes);
                /* Extra memory never above the larger of the budget and a quarter of the output. */
                const double out_bytes = (double)g->ncols * sizeof(\(x)) + (double)g->nnz * (sizeof(\(x)) + (g->va ? sizeof(\(t)) : 0));
                g->limit = budget > out_bytes / 4 ? budget : (int64_t)(out_bytes / 4);
                const int hist_fits = (double)(nth - 1) * (double)g->ncols * sizeof(\(x)) <= (double)budget;
                if (g->nrows == 1) {
                    g->status = 0;
                    BT_\(n.uppercased())_PARALLEL(nth, bt_\(n)_tr_sorted_work, g);
                    if (g->status == 0) {
                        BT_\(n.uppercased())_PARALLEL(nth, bt_\(n)_tr_row_work, g);
                        return BT_OK;
                    }
                }
                int radix = algorithm == 2 || (algorithm == 0 && g->ncols > 16384 && g->nnz > 65536 && !bt_\(n)_tr_local(g));
                if (!radix && !hist_fits && nth > 1) radix = 1; /* rather than a histogram on one thread */
                if (radix) {
                    const int st = bt_\(n)_tr_radix(g, nth, bits);
                    if (st >= 0) return st;
                }
                return bt_\(n)_tr_histogram(g, hist_fits ? nth : 1);
            }

            BT_EXPORT int bt_\(l)csr_transpose\(index.suffix)(int64_t nrows, int64_t ncols, const \(x) *row_ptr, const \(x) *col_idx,
                const \(t) *val, \(x) *t_row_ptr, \(x) *t_col_idx, \(t) *t_val)
            {
                int64_t nnz = 0;
            \(index == .i64 ? "" : "    if (nrows > INT32_MAX) return BT_EOVERFLOW; /* a row of A, a column index of A^T, must fit int32_t */")
                int st = bt_csr_args\(index.suffix)(nrows, ncols, row_ptr, col_idx, val, 0, sizeof(\(t)), &nnz);
                if (st != BT_OK) return st;
                if (!t_row_ptr || (nnz > 0 && (!t_col_idx || (!val) != (!t_val)))) return BT_EINVAL;
                if (ncols == INT64_MAX || !bt_span_ok(t_row_ptr, ncols + 1, 1, ncols + 1, \(index.bytes))
                    || !bt_span_ok(t_col_idx, nnz, 1, nnz, \(index.bytes)) || (t_val && !bt_span_ok(t_val, nnz, 1, nnz, sizeof(\(t)))))
                    return BT_EOVERFLOW;
                if ((st = bt_isa_status()) != BT_OK) return st;
                if (nnz == 0) {
                    memset(t_row_ptr, 0, (size_t)(ncols + 1) * sizeof(\(x)));
                    return BT_OK;
                }
                \(ctx) g;
                memset(&g, 0, sizeof g);
                g.nrows = nrows; g.ncols = ncols; g.nnz = nnz; g.rp = row_ptr; g.ci = col_idx; g.va = val;
                g.trp = t_row_ptr; g.tci = t_col_idx; g.tva = t_val;
                \(dispatch)
            }

            """
    }

    private var streamBody: String {
        switch isa {
        case .avx512: return "        _mm512_stream_si512((__m512i *)d, _mm512_loadu_si512(s));"
        case .avx2: return """
                    _mm256_stream_si256((__m256i *)d, _mm256_loadu_si256((const __m256i *)s));
                    _mm256_stream_si256((__m256i *)d + 1, _mm256_loadu_si256((const __m256i *)s + 1));
            """
        case .generic: return "        memcpy(d, s, 64);"
        }
    }

    private func algorithmNumber(_ a: TransposeAlgorithm) -> Int {
        switch a { case .auto: 0; case .histogram: 1; case .radix: 2 }
    }
}
