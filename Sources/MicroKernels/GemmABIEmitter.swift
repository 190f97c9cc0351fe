import KernelSpec

/// Emits the public GEMM entry points: argument checking, layout handling, dispatch to
/// the variants of ``GemmEmitter``, and the CBLAS drop-ins.
enum GemmABIEmitter {
    /// Argument checking shared by `bt_sgemm`, `bt_dgemm` and the CBLAS entry points.
    static let check = """
        /* ---- GEMM argument checks (CBLAS parameter numbers) ---- */

        static const char *const bt_gemm_param_names[15] = {
            "", "layout", "transa", "transb", "m", "n", "k", "alpha", "a", "lda", "b", "ldb", "beta", "c", "ldc"
        };

        /* The checks of every GEMM argument but the operands' addresses: layout, transposes,
           sizes, leading dimensions, and the bytes each operand spans fitting 64 bits, stored
           in bytes[0..2] for A, B and C (0 for an operand that is not read). Returns a status
           and, when it is not BT_OK, the CBLAS number of the parameter at fault in *bad. */
        static int bt_gemm_check_dims(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
            int alpha_zero, int64_t lda, int64_t ldb, int64_t ldc, int64_t elem, int64_t bytes[3], int *bad)
        {
            const int row = layout == 101, ta = transa != 111, tb = transb != 111;
            *bad = 0;
            bytes[0] = bytes[1] = bytes[2] = 0;
            if (layout != 101 && layout != 102) { *bad = 1; return BT_EINVAL; }
            if (transa < 111 || transa > 113) { *bad = 2; return BT_EINVAL; }
            if (transb < 111 || transb > 113) { *bad = 3; return BT_EINVAL; }
            if (m < 0) { *bad = 4; return BT_EINVAL; }
            if (n < 0) { *bad = 5; return BT_EINVAL; }
            if (k < 0) { *bad = 6; return BT_EINVAL; }
            /* Storage of each operand: `inner` elements contiguous, `outer` of them ld apart. */
            const int64_t a_inner = row ? (ta ? m : k) : (ta ? k : m), a_outer = row ? (ta ? k : m) : (ta ? m : k);
            const int64_t b_inner = row ? (tb ? k : n) : (tb ? n : k), b_outer = row ? (tb ? n : k) : (tb ? k : n);
            const int64_t c_inner = row ? n : m, c_outer = row ? m : n;
            if (lda < (a_inner > 1 ? a_inner : 1)) { *bad = 9; return BT_EINVAL; }
            if (ldb < (b_inner > 1 ? b_inner : 1)) { *bad = 11; return BT_EINVAL; }
            if (ldc < (c_inner > 1 ? c_inner : 1)) { *bad = 14; return BT_EINVAL; }
            if (m == 0 || n == 0) return BT_OK;
            if (!bt_span_bytes(c_inner, c_outer, ldc, elem, &bytes[2])) { *bad = 14; return BT_EOVERFLOW; }
            if (k == 0 || alpha_zero) return BT_OK;
            if (!bt_span_bytes(a_inner, a_outer, lda, elem, &bytes[0])) { *bad = 9; return BT_EOVERFLOW; }
            if (!bt_span_bytes(b_inner, b_outer, ldb, elem, &bytes[1])) { *bad = 11; return BT_EOVERFLOW; }
            return BT_OK;
        }

        /* The operands' part: present where read, inside the address space. */
        static int bt_gemm_check_ptrs(const void *a, const void *b, const void *c, const int64_t bytes[3], int *bad)
        {
            if (bytes[2] == 0) return BT_OK;
            if (!c) { *bad = 13; return BT_EINVAL; }
            if (!bt_fits(c, bytes[2])) { *bad = 14; return BT_EOVERFLOW; }
            if (bytes[0] == 0) return BT_OK;
            if (!a) { *bad = 8; return BT_EINVAL; }
            if (!b) { *bad = 10; return BT_EINVAL; }
            if (!bt_fits(a, bytes[0])) { *bad = 9; return BT_EOVERFLOW; }
            if (!bt_fits(b, bytes[1])) { *bad = 11; return BT_EOVERFLOW; }
            return BT_OK;
        }

        /* Checks every GEMM argument before anything is touched. Returns a status and, when
           it is not BT_OK, the CBLAS number of the parameter at fault in *bad. */
        static int bt_gemm_check(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
            int alpha_zero, const void *a, int64_t lda, const void *b, int64_t ldb,
            const void *c, int64_t ldc, int64_t elem, int *bad)
        {
            int64_t bytes[3];
            const int st = bt_gemm_check_dims(layout, transa, transb, m, n, k, alpha_zero, lda, ldb, ldc, elem, bytes, bad);
            return st != BT_OK ? st : bt_gemm_check_ptrs(a, b, c, bytes, bad);
        }

        static void bt_cblas_error(const char *routine, int bad, int status)
        {
            if (bad > 0 && bad < 15)
                fprintf(stderr, "blastune: %s: parameter %d (%s) had an illegal value: %s\\n",
                        routine, bad, bt_gemm_param_names[bad], bt_strerror(status));
            else
                fprintf(stderr, "blastune: %s: %s\\n", routine, bt_strerror(status));
        }

        """

    /// The argument block a driver's threads share, one type per dtype.
    static func context(dtype: DType) -> String {
        let t = dtype.cType, d = dtype.blasLetter
        return """
            /* ---- \(d)gemm: the arguments a driver's threads share ---- */
            typedef struct {
                int transa, transb;
                int64_t m, n, k, lda, ldb, ldc;
                const \(t) *a, *b;
                \(t) *c;
                \(t) alpha, beta;
                \(t) *scratch;     /* [packed B panel][thread 0 region][thread 1 region]... */
                int64_t panel;     /* elements of the B panel */
                int64_t ablock;    /* elements of the A part of a thread region (then the B edge sliver) */
                int64_t stride;    /* elements of one thread region */
            } bt_\(d)_ctx;

            """
    }

    /// The threads a call of `s` runs on (`request`, else its tuned count unless the caller set one).
    private static func threads(_ s: GemmSpec) -> String {
        "bt_pick_threads(request, \(s.threads), m, n, k, ((m + \(s.mr - 1)) / \(s.mr)) * ((n < \(s.nc) ? (n + \(s.nr - 1)) / \(s.nr) : \(s.nc / s.nr))))"
    }

    /// The choice of the class's variant with its thread count, or of its threaded variant
    /// when the call runs on more than one thread.
    private static func choice(_ d: String, _ plain: (index: Int, variant: GemmVariant),
                               threaded: (index: Int, variant: GemmVariant)?) -> String {
        let choosePlain = "{ *nt = \(threads(plain.variant.spec)); return bt_\(d)\(plain.index)_gemm; }"
        guard let t = threaded else { return choosePlain }
        return """
            {
                    *nt = \(threads(t.variant.spec));
                    if (*nt > 1) return bt_\(d)\(t.index)_gemm; /* threaded blocking */
                    \(choosePlain)
                }
            """
    }

    /// The entry points of one dtype, dispatching each call to the variant of its shape
    /// class (`variants` are indices into the library's variants of this dtype), the
    /// class's threaded variant for calls on more than one thread.
    static func entryPoints(dtype: DType, variants: [(index: Int, variant: GemmVariant)], small: SmallKernelEmitter? = nil,
                            shapes: [ShapeKernelSpec] = []) -> String {
        let t = dtype.cType, d = dtype.blasLetter
        let plain = variants.filter { !$0.variant.threaded }, threadedOnes = variants.filter { $0.variant.threaded }
        let byClass = Dictionary(plain.map { ($0.variant.shapeClass, $0) }, uniquingKeysWith: { a, _ in a })
        let threadedByClass = Dictionary(threadedOnes.map { ($0.variant.shapeClass, $0) }, uniquingKeysWith: { a, _ in a })
        var dispatch: [String] = []
        if !shapes.isEmpty {
            dispatch.append("    { const int s = bt_\(d)_shape_find(transa, transb, m, n, k); if (s >= 0) { (void)request; *nt = 1; return bt_\(d)_shape_kernels[s]; } } /* exact shapes */")
        }
        if let small, !plain.isEmpty {
            dispatch.append("    if (\(small.condition)) { *nt = 1; return \(small.name); } /* small, read in place */")
        }
        if let fallback = byClass[.large] ?? byClass[.any] ?? plain.first {
            for cls in ShapeClass.dispatchOrder where cls != .large {
                if let v = byClass[cls] {
                    dispatch.append("    if (\(cls.cCondition)) /* \(cls.rawValue) */ \(choice(d, v, threaded: threadedByClass[cls]))")
                }
            }
            let cls = fallback.variant.shapeClass
            dispatch.append("    /* \(cls.rawValue) */ \(choice(d, fallback, threaded: threadedByClass[cls]))")
        } else {
            dispatch.append("    (void)m; (void)n; (void)k; (void)request;\n"
                + "    *nt = 1;\n    return NULL; /* no \(dtype.rawValue) kernel in this library */")
        }
        let call = dispatch.joined(separator: "\n")
        return """
            /* ---- \(d)gemm ---- */

            /* C = beta * C for a column-major m x n C; beta == 0 writes zeros without reading. */
            static void bt_\(d)_scale(int64_t m, int64_t n, \(t) beta, \(t) *c, int64_t ldc)
            {
                for (int64_t j = 0; j < n; j++) {
                    \(t) *cj = c + j * ldc;
                    if (beta == 0) for (int64_t i = 0; i < m; i++) cj[i] = 0;
                    else if (beta != 1) for (int64_t i = 0; i < m; i++) cj[i] *= beta;
                }
            }

            /* A variant's column-major driver, for checked arguments with m, n, k > 0 and alpha != 0. */
            typedef int (*bt_\(d)_kernel)(int transa, int transb, int64_t m, int64_t n, int64_t k, \(t) alpha,
                const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc, int nthreads);

            \(ShapeDispatchEmitter(dtype: dtype, specs: shapes).emit())
            /* The kernel of a column-major call's shape class and its thread count in *nt
               (`request` > 0 asks for that many threads); NULL when the library has none. */
            static bt_\(d)_kernel bt_\(d)_select(int transa, int transb, int64_t m, int64_t n, int64_t k, int request, int *nt)
            {
                (void)transa; (void)transb;
            \(call)
            }

            /* Column-major core for checked arguments with m, n, k > 0 and alpha != 0. */
            static int bt_\(d)_run(int transa, int transb, int64_t m, int64_t n, int64_t k, \(t) alpha,
                const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc)
            {
                int nt;
                const bt_\(d)_kernel f = bt_\(d)_select(transa, transb, m, n, k, 0, &nt);
                return f ? f(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nt) : BT_EUNSUPPORTED;
            }

            BT_EXPORT int bt_\(d)gemm(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                \(t) alpha, const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb,
                \(t) beta, \(t) *c, int64_t ldc)
            {
                int bad, st = bt_isa_status();
                if (st != BT_OK) return st;
                st = bt_gemm_check(layout, transa, transb, m, n, k, alpha == 0, a, lda, b, ldb, c, ldc,
                                   (int64_t)sizeof(\(t)), &bad);
                if (st != BT_OK || m == 0 || n == 0) return st;
                const int ta = transa != 111, tb = transb != 111;
                if (layout == 101) {
                    /* Row-major C is column-major C^T = op(B)^T op(A)^T. */
                    if (k == 0 || alpha == 0) { bt_\(d)_scale(n, m, beta, c, ldc); return BT_OK; }
                    return bt_\(d)_run(tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
                }
                if (k == 0 || alpha == 0) { bt_\(d)_scale(m, n, beta, c, ldc); return BT_OK; }
                return bt_\(d)_run(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }

            /* CBLAS drop-in: 32-bit sizes, errors reported on stderr, C untouched on error. */
            BT_EXPORT void cblas_\(d)gemm(int layout, int transa, int transb, int m, int n, int k,
                \(t) alpha, const \(t) *a, int lda, const \(t) *b, int ldb, \(t) beta, \(t) *c, int ldc)
            {
                int bad, st = bt_gemm_check(layout, transa, transb, m, n, k, alpha == 0, a, lda, b, ldb, c, ldc,
                                            (int64_t)sizeof(\(t)), &bad);
                if (st == BT_OK) st = bt_\(d)gemm(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                if (st != BT_OK) bt_cblas_error("cblas_\(d)gemm", bad, st);
            }

            """
    }
}
