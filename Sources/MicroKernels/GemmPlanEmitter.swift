import KernelSpec

/// Emits GEMM plans (`bt_?gemm_plan`, `bt_?gemm_execute`, `bt_plan_destroy`) and the batched
/// entry points (`bt_?gemm_batch_strided`, `bt_?gemm_batch` and their MKL-named twins), on
/// top of the per-dtype kernel choice of ``GemmABIEmitter``.
enum GemmPlanEmitter {
    /// The plan type, the error detail and what both dtypes share.
    static let common = """
        /* ---- plans and batches: shared ---- */

        #define BT_PLAN_S 0x5350u /* a plan's tag: which execute it belongs to */
        #define BT_PLAN_D 0x4450u

        /* A checked, column-major GEMM call without its operands. */
        struct bt_gemm_plan {
            unsigned tag;
            int action;            /* 0: nothing to do (m or n is 0); 1: C = beta C; 2: the kernel */
            int swap;              /* row-major: the kernel computes C^T = op(B)^T op(A)^T */
            int transa, transb, nthreads;
            int64_t m, n, k, lda, ldb, ldc;
            int64_t bytes[3];      /* what A, B and C span (0: not read) */
            float salpha, sbeta;
            double dalpha, dbeta;
            void (*kernel)(void);  /* bt_s_kernel or bt_d_kernel */
            void (*direct)(void);  /* bt_s_direct or bt_d_direct: the exact shape's kernel, or NULL */
        };

        /* The last refusal's detail on this thread. */
        static __thread char bt_error_text[256];

        BT_EXPORT const char *bt_last_error(void) { return bt_error_text; }

        /* Records why `routine` refused (group < 0: no group; bad: a CBLAS parameter number,
           or a name in `what`) and returns st. */
        static int bt_refuse(int st, const char *routine, int64_t group, int bad, const char *what)
        {
            char where[64] = "";
            if (group >= 0) snprintf(where, sizeof where, " group %lld:", (long long)group);
            const char *name = what ? what : bad > 0 && bad < 15 ? bt_gemm_param_names[bad] : "";
            snprintf(bt_error_text, sizeof bt_error_text, "%s:%s %s%s%s", routine, where, name, *name ? ": " : "", bt_strerror(st));
            return st;
        }

        static bt_gemm_plan *bt_plan_new(const bt_gemm_plan *p, int st, int *status)
        {
            bt_gemm_plan *out = NULL;
            if (st == BT_OK && !(out = (bt_gemm_plan *)malloc(sizeof *out))) st = BT_ENOMEM;
            if (out) *out = *p;
            if (status) *status = st;
            return out;
        }

        BT_EXPORT void bt_plan_destroy(bt_gemm_plan *plan)
        {
            if (!plan) return;
            plan->tag = 0; /* an execute of a destroyed plan that still reads it is refused */
            free(plan);
        }

        /* Bytes the operand at p spans over a batch: [p + lo, p + hi) with lo <= 0 <= hi, or 0
           when they do not fit 64 bits or the address space. */
        static int bt_batch_span(const void *p, int64_t stride, int64_t batch, int64_t elem, int64_t bytes)
        {
            int64_t off;
            if (bytes == 0) return 1;
            if (__builtin_mul_overflow(batch - 1, stride, &off) || __builtin_mul_overflow(off, elem, &off)) return 0;
            const int64_t lo = off < 0 ? off : 0, hi0 = off > 0 ? off : 0;
            int64_t hi;
            if (__builtin_add_overflow(hi0, bytes, &hi)) return 0;
            if (lo < 0 && (uintptr_t)p < (uintptr_t)(-(lo + 1)) + 1) return 0;
            return bt_fits(p, hi);
        }

        /* Threads for a batch of `problems` whole problems and `flops` in all: bt_set_num_threads's
           count, else the cores; at most one per problem and per 2^18 flops. */
        static int bt_batch_threads(int64_t problems, double flops)
        {
            int want = bt_get_num_threads();
            if (want == 0) want = bt_cpu_count();
            const double by_work = flops / 262144.0;
            if ((double)want > by_work) want = by_work < 1 ? 1 : (int)by_work;
            if ((int64_t)want > problems) want = (int)problems;
            return want < 1 ? 1 : want;
        }

        """

    /// Plans and batches of one dtype.
    static func entryPoints(dtype: DType) -> String {
        let t = dtype.cType, d = dtype.blasLetter, tag = dtype == .f32 ? "BT_PLAN_S" : "BT_PLAN_D"
        let alpha = "\(d)alpha", beta = "\(d)beta"
        return """
            /* ---- \(d)gemm plans ---- */

            /* Fills *p for a call (threads: 0 as for bt_\(d)gemm, else that many at most). */
            static int bt_\(d)_plan_fill(bt_gemm_plan *p, int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                \(t) alpha, int64_t lda, int64_t ldb, \(t) beta, int64_t ldc, int threads, int *bad)
            {
                int st = bt_isa_status();
                *bad = 0;
                if (st != BT_OK) return st;
                if (threads < 0 || threads > 1024) return BT_EINVAL;
                memset(p, 0, sizeof *p);
                st = bt_gemm_check_dims(layout, transa, transb, m, n, k, alpha == 0, lda, ldb, ldc, (int64_t)sizeof(\(t)), p->bytes, bad);
                if (st != BT_OK) return st;
                const int row = layout == 101, ta = transa != 111, tb = transb != 111;
                p->tag = \(tag);
                p->swap = row;
                p->transa = row ? tb : ta; p->transb = row ? ta : tb;
                p->m = row ? n : m; p->n = row ? m : n; p->k = k;
                p->lda = row ? ldb : lda; p->ldb = row ? lda : ldb; p->ldc = ldc;
                p->\(alpha) = alpha; p->\(beta) = beta;
                p->action = m == 0 || n == 0 ? 0 : k == 0 || alpha == 0 ? 1 : 2;
                p->nthreads = 1;
                if (p->action == 2) {
                    const bt_\(d)_kernel f = bt_\(d)_select(p->transa, p->transb, p->m, p->n, p->k, threads, &p->nthreads);
                    if (!f) return BT_EUNSUPPORTED;
                    p->kernel = (void (*)(void))f;
                    const int s = bt_\(d)_shape_find(p->transa, p->transb, p->m, p->n, p->k);
                    if (s >= 0) p->direct = (void (*)(void))bt_\(d)_shape_plans[s];
                }
                return BT_OK;
            }

            /* Runs a filled plan on operands whose addresses were checked. */
            static inline int bt_\(d)_plan_run(const bt_gemm_plan *p, const \(t) *a, const \(t) *b, \(t) *c)
            {
                if (p->direct) return ((bt_\(d)_direct)p->direct)(p, a, b, c);
                if (p->action == 0) return BT_OK;
                if (p->action == 1) { bt_\(d)_scale(p->m, p->n, p->\(beta), c, p->ldc); return BT_OK; }
                return ((bt_\(d)_kernel)p->kernel)(p->transa, p->transb, p->m, p->n, p->k, p->\(alpha), p->swap ? b : a, p->lda,
                                                 p->swap ? a : b, p->ldb, p->\(beta), c, p->ldc, p->nthreads);
            }

            BT_EXPORT bt_gemm_plan *bt_\(d)gemm_plan(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                \(t) alpha, int64_t lda, int64_t ldb, \(t) beta, int64_t ldc, int threads, int *status)
            {
                bt_gemm_plan p;
                int bad;
                const int st = bt_\(d)_plan_fill(&p, layout, transa, transb, m, n, k, alpha, lda, ldb, beta, ldc, threads, &bad);
                if (st != BT_OK) bt_refuse(st, "bt_\(d)gemm_plan", -1, bad, threads < 0 || threads > 1024 ? "threads" : NULL);
                return bt_plan_new(&p, st, status);
            }

            BT_EXPORT int bt_\(d)gemm_execute(const bt_gemm_plan *plan, const \(t) *a, const \(t) *b, \(t) *c)
            {
                if (!plan || plan->tag != \(tag)) return BT_EINVAL;
                int bad = 0;
                const int st = bt_gemm_check_ptrs(a, b, c, plan->bytes, &bad);
                return st != BT_OK ? st : bt_\(d)_plan_run(plan, a, b, c);
            }

            /* ---- \(d)gemm batches ---- */

            BT_EXPORT int bt_\(d)gemm_batch_strided(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                \(t) alpha, const \(t) *a, int64_t lda, int64_t stride_a, const \(t) *b, int64_t ldb, int64_t stride_b,
                \(t) beta, \(t) *c, int64_t ldc, int64_t stride_c, int64_t batch)
            {
                static const char *const routine = "bt_\(d)gemm_batch_strided";
                bt_gemm_plan p;
                int bad;
                const int64_t es = (int64_t)sizeof(\(t));
                int st = bt_\(d)_plan_fill(&p, layout, transa, transb, m, n, k, alpha, lda, ldb, beta, ldc, 1, &bad);
                if (st != BT_OK) return bt_refuse(st, routine, -1, bad, NULL);
                if (batch < 0) return bt_refuse(BT_EINVAL, routine, -1, 0, "batch");
                if (batch == 0 || p.action == 0) return BT_OK;
                if (!c) return bt_refuse(BT_EINVAL, routine, -1, 13, NULL);
                int64_t cstep; /* |stride_c| in bytes */
                if (__builtin_mul_overflow(stride_c, stride_c < 0 ? -es : es, &cstep)) cstep = INT64_MAX;
                if (batch > 1 && cstep < p.bytes[2]) return bt_refuse(BT_EINVAL, routine, -1, 0, "stride_c (the C matrices would overlap)");
                if (!bt_batch_span(c, stride_c, batch, es, p.bytes[2])) return bt_refuse(BT_EOVERFLOW, routine, -1, 0, "stride_c");
                if (p.action == 2) {
                    if (!a) return bt_refuse(BT_EINVAL, routine, -1, 8, NULL);
                    if (!b) return bt_refuse(BT_EINVAL, routine, -1, 10, NULL);
                    if (!bt_batch_span(a, stride_a, batch, es, p.bytes[0])) return bt_refuse(BT_EOVERFLOW, routine, -1, 0, "stride_a");
                    if (!bt_batch_span(b, stride_b, batch, es, p.bytes[1])) return bt_refuse(BT_EOVERFLOW, routine, -1, 0, "stride_b");
                }
                const double flops = p.action == 2 ? 2.0 * (double)m * (double)n * (double)k * (double)batch : (double)m * (double)n * (double)batch;
                const int nt = bt_batch_threads(batch, flops);
                /* A and B are stepped only when read (they may be NULL otherwise). */
                const int64_t sa = p.action == 2 ? stride_a : 0, sb = p.action == 2 ? stride_b : 0;
                if (nt == 1) {
                    for (int64_t i = 0; i < batch && st == BT_OK; i++)
                        st = bt_\(d)_plan_run(&p, sa ? a + i * sa : a, sb ? b + i * sb : b, c + i * stride_c);
                    return st;
                }
                int failed = BT_OK;
            #ifdef _OPENMP
            #pragma omp parallel for num_threads(nt) schedule(static)
            #endif
                for (int64_t i = 0; i < batch; i++) {
                    const int s = bt_\(d)_plan_run(&p, sa ? a + i * sa : a, sb ? b + i * sb : b, c + i * stride_c);
                    if (s != BT_OK) __atomic_store_n(&failed, s, __ATOMIC_RELAXED);
                }
                return failed;
            }

            /* The grouped batch behind bt_\(d)gemm_batch (int64_t sizes, lp64 == 0) and
               cblas_\(d)gemm_batch (int sizes, lp64 == 1): every argument of every group and
               every problem's operands are checked before anything is written. */
            static int bt_\(d)_batch(const char *routine, int lp64, int layout, const int *transa, const int *transb,
                const void *m, const void *n, const void *k, const \(t) *alpha, const \(t) *const *a, const void *lda,
                const \(t) *const *b, const void *ldb, const \(t) *beta, \(t) *const *c, const void *ldc,
                int64_t group_count, const void *group_size)
            {
            #define BT_AT(arr, g) (lp64 ? (int64_t)((const int *)(arr))[g] : ((const int64_t *)(arr))[g])
                if (group_count < 0) return bt_refuse(BT_EINVAL, routine, -1, 0, "group_count");
                if (group_count == 0) return BT_OK;
                if (!transa || !transb || !m || !n || !k || !alpha || !lda || !ldb || !beta || !ldc || !group_size)
                    return bt_refuse(BT_EINVAL, routine, -1, 0, "a per-group array is NULL");
                size_t bytes;
                if (bt_mul_size(group_count, (int64_t)sizeof(bt_gemm_plan), &bytes)) return bt_refuse(BT_EOVERFLOW, routine, -1, 0, "group_count");
                bt_gemm_plan *plans = (bt_gemm_plan *)malloc(bytes);
                if (!plans) return bt_refuse(BT_ENOMEM, routine, -1, 0, "plans");
                int st = BT_OK;
                int64_t total = 0, first = 0, g = 0;
                double flops = 0;
                for (g = 0; g < group_count && st == BT_OK; g++) {
                    int bad;
                    const int64_t size = BT_AT(group_size, g);
                    if (size < 0) { st = bt_refuse(BT_EINVAL, routine, g, 0, "group_size"); break; }
                    if (__builtin_add_overflow(total, size, &total)) { st = bt_refuse(BT_EOVERFLOW, routine, g, 0, "group_size"); break; }
                    st = bt_\(d)_plan_fill(&plans[g], layout, transa[g], transb[g], BT_AT(m, g), BT_AT(n, g), BT_AT(k, g),
                                         alpha[g], BT_AT(lda, g), BT_AT(ldb, g), beta[g], BT_AT(ldc, g), 1, &bad);
                    if (st != BT_OK) { bt_refuse(st, routine, g, bad, NULL); break; }
                    const bt_gemm_plan *p = &plans[g];
                    flops += (double)size * (p->action == 2 ? 2.0 * (double)p->m * (double)p->n * (double)p->k : (double)p->m * (double)p->n);
                }
                if (st == BT_OK && total > 0 && (!a || !b || !c)) st = bt_refuse(BT_EINVAL, routine, -1, 0, "a, b or c array is NULL");
                for (g = 0, first = 0; st == BT_OK && g < group_count; first += BT_AT(group_size, g), g++) {
                    for (int64_t i = first; i < first + BT_AT(group_size, g) && st == BT_OK; i++) {
                        int bad = 0;
                        if ((st = bt_gemm_check_ptrs(a[i], b[i], c[i], plans[g].bytes, &bad)) != BT_OK) bt_refuse(st, routine, g, bad, NULL);
                    }
                }
                if (st != BT_OK || total == 0) { free(plans); return st; }
                /* Threads take whole problems, in runs of about equal flops. */
                const int nt = bt_batch_threads(total, flops);
                int failed = BT_OK;
                (void)nt; /* without OpenMP */
            #ifdef _OPENMP
            #pragma omp parallel num_threads(nt) if (nt > 1)
            #endif
                {
                    const int tid = bt_thread_num(), team = bt_team_size();
                    const double lo = flops * tid / team, hi = flops * (tid + 1) / team;
                    double at = 0;
                    int64_t i = 0;
                    for (int64_t h = 0; h < group_count; h++) {
                        const bt_gemm_plan *p = &plans[h];
                        const int64_t size = BT_AT(group_size, h);
                        const double each = p->action == 2 ? 2.0 * (double)p->m * (double)p->n * (double)p->k : (double)p->m * (double)p->n;
                        for (int64_t j = 0; j < size; j++, i++, at += each) {
                            /* A problem belongs to the thread whose share holds its first flop
                               (problems without flops: to the thread of the flop before them). */
                            if (at < lo || (at >= hi && tid + 1 < team)) continue;
                            const int s = bt_\(d)_plan_run(p, a[i], b[i], c[i]);
                            if (s != BT_OK) __atomic_store_n(&failed, s, __ATOMIC_RELAXED);
                        }
                    }
                }
                free(plans);
                return failed;
            #undef BT_AT
            }

            BT_EXPORT int bt_\(d)gemm_batch(int layout, const int *transa, const int *transb, const int64_t *m, const int64_t *n,
                const int64_t *k, const \(t) *alpha, const \(t) *const *a, const int64_t *lda, const \(t) *const *b,
                const int64_t *ldb, const \(t) *beta, \(t) *const *c, const int64_t *ldc, int64_t group_count, const int64_t *group_size)
            {
                return bt_\(d)_batch("bt_\(d)gemm_batch", 0, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                   group_count, group_size);
            }

            /* MKL's names and signatures (LP64 int sizes): errors reported on stderr, nothing written. */
            BT_EXPORT void cblas_\(d)gemm_batch_strided(int layout, int transa, int transb, int m, int n, int k, \(t) alpha,
                const \(t) *a, int lda, int stride_a, const \(t) *b, int ldb, int stride_b, \(t) beta, \(t) *c, int ldc,
                int stride_c, int batch)
            {
                if (bt_\(d)gemm_batch_strided(layout, transa, transb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta,
                                            c, ldc, stride_c, batch) != BT_OK)
                    fprintf(stderr, "blastune: cblas_\(d)gemm_batch_strided: %s\\n", bt_error_text);
            }

            BT_EXPORT void cblas_\(d)gemm_batch(int layout, const int *transa, const int *transb, const int *m, const int *n,
                const int *k, const \(t) *alpha, const \(t) **a, const int *lda, const \(t) **b, const int *ldb,
                const \(t) *beta, \(t) **c, const int *ldc, int group_count, const int *group_size)
            {
                if (bt_\(d)_batch("cblas_\(d)gemm_batch", 1, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                group_count, group_size) != BT_OK)
                    fprintf(stderr, "blastune: %s\\n", bt_error_text);
            }

            """
    }
}
