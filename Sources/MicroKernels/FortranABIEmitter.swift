import KernelSpec

/// Emits the Fortran BLAS ABI of GEMM: `sgemm_` / `dgemm_` with the reference BLAS
/// signature (every argument by pointer, `int` sizes; gfortran's hidden character lengths
/// come after the declared arguments and are simply not read) and the ILP64 twins
/// `sgemm_64_` / `dgemm_64_` (64-bit sizes, as Debian's libblas64 names them).
///
/// Arguments are checked in the reference BLAS's order with its parameter numbers; a bad
/// one goes to the program's own `xerbla_` (`xerbla_64_` for the twins) when one is
/// linked, else the reference message is printed on stderr. Either way C is untouched and
/// the call returns: the program is never stopped by the library.
enum FortranABIEmitter {
    static let common = """
        /* ---- Fortran BLAS ABI: shared ---- */

        /* The program's own error handlers, when it (or a library loaded before this one) has them. */
        extern void xerbla_(const char *srname, const int *info, size_t srname_len) __attribute__((weak));
        extern void xerbla_64_(const char *srname, const int64_t *info, size_t srname_len) __attribute__((weak));

        /* Reports a bad argument of `name` (e.g. "DGEMM") as the reference BLAS does. */
        static void bt_xerbla(const char *name, int info, int ilp64)
        {
            char padded[7];
            snprintf(padded, sizeof padded, "%-6s", name);
            if (ilp64 && xerbla_64_) { const int64_t i = info; xerbla_64_(padded, &i, 6); return; }
            if (!ilp64 && xerbla_) { xerbla_(padded, &info, 6); return; }
            fprintf(stderr, " ** On entry to %s parameter number %2d had an illegal value\\n", name, info);
        }

        /* Calls of the Fortran entries that ran (bad arguments not counted). */
        #define BT_COUNT_FORTRAN 0
        static uint64_t bt_counts[1];
        static inline void bt_count(int which) { __atomic_fetch_add(&bt_counts[which], 1, __ATOMIC_RELAXED); }
        BT_EXPORT uint64_t bt_fortran_calls(void) { return __atomic_load_n(&bt_counts[BT_COUNT_FORTRAN], __ATOMIC_RELAXED); }

        /* BLASTUNE_VERBOSE=1: the count on stderr when the library is unloaded (at exit); in a
           library of several configurations, the dispatcher reports the active one's. */
        #ifndef BT_MULTI_CONFIG
        __attribute__((destructor)) static void bt_report_counts(void)
        {
            const char *v = getenv("BLASTUNE_VERBOSE");
            if (v && *v && strcmp(v, "0") != 0)
                fprintf(stderr, "blastune: %llu Fortran GEMM calls (sgemm_, dgemm_, sgemm_64_, dgemm_64_) ran on the tuned kernels\\n",
                        (unsigned long long)bt_fortran_calls());
        }
        #endif

        /* A transpose character: 0 for N, 1 for T or C (either case), -1 otherwise. */
        static int bt_fortran_trans(const char *c)
        {
            const char x = (char)(*c | 0x20);
            return x == 'n' ? 0 : x == 't' || x == 'c' ? 1 : -1;
        }

        /* The reference BLAS's checks of xGEMM in its order: 0, or the bad parameter's number. */
        static int bt_fortran_gemm_info(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc)
        {
            const int64_t nrowa = ta == 0 ? m : k, nrowb = tb == 0 ? k : n;
            if (ta < 0) return 1;
            if (tb < 0) return 2;
            if (m < 0) return 3;
            if (n < 0) return 4;
            if (k < 0) return 5;
            if (lda < (nrowa > 1 ? nrowa : 1)) return 8;
            if (ldb < (nrowb > 1 ? nrowb : 1)) return 10;
            if (ldc < (m > 1 ? m : 1)) return 13;
            return 0;
        }

        """

    /// `sgemm_`, `sgemm_64_` (or the d twins) on top of `bt_?gemm`.
    static func entryPoints(dtype: DType) -> String {
        let t = dtype.cType, d = dtype.blasLetter, name = "\(d.uppercased())GEMM"
        func entry(_ suffix: String, _ int: String, ilp64: Int) -> String {
            """
            BT_EXPORT void \(d)gemm_\(suffix)(const char *transa, const char *transb, const \(int) *m, const \(int) *n, const \(int) *k,
                const \(t) *alpha, const \(t) *a, const \(int) *lda, const \(t) *b, const \(int) *ldb, const \(t) *beta, \(t) *c, const \(int) *ldc)
            {
                bt_\(d)_fortran(transa, transb, *m, *n, *k, alpha, a, *lda, b, *ldb, beta, c, *ldc, \(ilp64));
            }

            """
        }
        return """
            /* ---- \(d)gemm: Fortran BLAS ABI ---- */

            static void bt_\(d)_fortran(const char *transa, const char *transb, int64_t m, int64_t n, int64_t k, const \(t) *alpha,
                const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, const \(t) *beta, \(t) *c, int64_t ldc, int ilp64)
            {
                const int ta = bt_fortran_trans(transa), tb = bt_fortran_trans(transb);
                const int info = bt_fortran_gemm_info(ta, tb, m, n, k, lda, ldb, ldc);
                if (info) { bt_xerbla("\(name)", info, ilp64); return; }
                bt_count(BT_COUNT_FORTRAN);
                /* The reference's quick return: nothing to do, C not even read. */
                if (m == 0 || n == 0 || ((*alpha == 0 || k == 0) && *beta == 1)) return;
                const int st = bt_\(d)gemm(102, ta ? 112 : 111, tb ? 112 : 111, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
                if (st != BT_OK) fprintf(stderr, " ** \(d)gemm_%s: %s; C is untouched\\n", ilp64 ? "64_" : "", bt_strerror(st));
            }

            \(entry("", "int", ilp64: 0))\(entry("64_", "int64_t", ilp64: 1))
            """
    }

    /// The prototypes `kernels.h` declares.
    static let header = """
        /* The Fortran BLAS ABI (reference BLAS signatures, column-major, every argument by
           pointer): what LAPACK, ScaLAPACK, R, Octave and Fortran programs call. transa and
           transb are 'N', 'T' or 'C' in either case; gfortran's hidden character lengths may be
           passed and are ignored. The _64_ twins take 64-bit integers (ILP64, as Debian's
           libblas64). A bad argument is reported as the reference BLAS does, with its parameter
           number: to the program's xerbla_ (xerbla_64_) when it has one, else on stderr as
           " ** On entry to DGEMM parameter number  8 had an illegal value"; C is untouched and
           the call returns (the program is not stopped). bt_fortran_calls() counts the calls
           that ran (BLASTUNE_VERBOSE=1 prints the count at exit): a way to check that a program
           linked or LD_PRELOADed in front of another BLAS really calls these. */
        uint64_t bt_fortran_calls(void);
        void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                    const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
                    const float *beta, float *c, const int *ldc);
        void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                    const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
                    const double *beta, double *c, const int *ldc);
        void sgemm_64_(const char *transa, const char *transb, const int64_t *m, const int64_t *n, const int64_t *k,
                       const float *alpha, const float *a, const int64_t *lda, const float *b, const int64_t *ldb,
                       const float *beta, float *c, const int64_t *ldc);
        void dgemm_64_(const char *transa, const char *transb, const int64_t *m, const int64_t *n, const int64_t *k,
                       const double *alpha, const double *a, const int64_t *lda, const double *b, const int64_t *ldb,
                       const double *beta, double *c, const int64_t *ldc);

        """
}
