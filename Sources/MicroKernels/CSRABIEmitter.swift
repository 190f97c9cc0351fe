import KernelSpec

/// Emits what the sparse kernels share: the O(1) argument checks, the full structure
/// check `bt_csr_check`, the thread choice and the row search helpers.
enum CSRABIEmitter {
    static let common = """
        /* ---- CSR: argument checks, structure check, threads ---- */

        /* BLASTUNE_EXACT_THREADS=1 makes the sparse kernels use exactly the requested thread
           count (tests use it to run 64 partitions on a small machine). */
        static int bt_exact_threads(void)
        {
            static int cached = -1;
            int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
            if (v < 0) {
                const char *env = getenv("BLASTUNE_EXACT_THREADS");
                v = env && env[0] == '1';
                __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
            }
            return v;
        }

        /* Threads for a sparse call moving `bytes`: the caller's request, else the tuned count,
           else the cores; at most the cores and one thread per 256 KiB moved. */
        static int bt_pick_sparse_threads(int tuned, double bytes)
        {
            int want = bt_get_num_threads();
            if (want == 0) want = tuned;
            const int cpus = bt_cpu_count();
            if (want == 0) want = cpus;
        #ifndef _OPENMP
            return 1;
        #endif
            if (bt_exact_threads() && bt_get_num_threads() > 0) return bt_get_num_threads();
            const double by_work = bytes / 262144.0;
            if ((double)want > by_work) want = by_work < 1 ? 1 : (int)by_work;
            if (want > cpus) want = cpus;
            return want < 1 ? 1 : want;
        }

        /* floor(total * t / parts) without overflow. */
        static inline int64_t bt_share(int64_t total, int64_t t, int64_t parts)
        {
            return (int64_t)((__int128)total * t / parts);
        }

        static int bt_ceil_log2(int64_t x) { int b = 0; while (b < 62 && ((int64_t)1 << b) < x) b++; return b; }

        """

    /// What depends on the index type: the O(1) argument checks, `bt_csr_check[_i32]` and
    /// the row searches over row pointers of that type.
    static func indexed(_ index: CSRIndex) -> String {
        let x = index.cType, sfx = index.suffix, w = index.bytes
        let fits = index == .i64 ? "" : """
                if (ncols > INT32_MAX) return BT_EOVERFLOW; /* a column index must fit int32_t */
            """
        return """
            /* ---- CSR with \(x) indices: argument checks, structure check, row searches ---- */

            /* The O(1) checks every CSR entry point makes: sizes >= 0, row_ptr present,
               row_ptr[0] == 0, nnz = row_ptr[nrows] >= 0, col_idx (and val when need_val) present
               when nnz > 0, and every array's byte count fits in 64 bits and in the address space. */
            static int bt_csr_args\(sfx)(int64_t nrows, int64_t ncols, const \(x) *row_ptr, const \(x) *col_idx,
                                   const void *val, int need_val, int64_t elem, int64_t *nnz_out)
            {
                if (nrows < 0 || ncols < 0 || !row_ptr) return BT_EINVAL;
            \(fits)
                if (nrows == INT64_MAX || !bt_span_ok(row_ptr, nrows + 1, 1, nrows + 1, \(w))) return BT_EOVERFLOW;
                if (row_ptr[0] != 0) return BT_EINVAL;
                const int64_t nnz = row_ptr[nrows];
                if (nnz < 0) return BT_EINVAL;
                if (nnz > 0 && (!col_idx || (need_val && !val))) return BT_EINVAL;
                if (nnz > 0 && ncols == 0) return BT_EINVAL; /* entries but no column for them */
                if (!bt_span_ok(col_idx, nnz, 1, nnz, \(w)) || (val && !bt_span_ok(val, nnz, 1, nnz, elem))) return BT_EOVERFLOW;
                *nnz_out = nnz;
                return BT_OK;
            }

            BT_EXPORT int bt_csr_check\(sfx)(int64_t nrows, int64_t ncols, const \(x) *row_ptr, const \(x) *col_idx,
                                       int64_t *bad_position)
            {
                int64_t nnz;
                if (bad_position) *bad_position = 0;
                if (nrows < 0 || ncols < 0 || !row_ptr) return BT_EINVAL;
                if (nrows == INT64_MAX || !bt_span_ok(row_ptr, nrows + 1, 1, nrows + 1, \(w))) return BT_EOVERFLOW;
                /* Row pointers first, so that every row's range lies inside col_idx. */
                if (row_ptr[0] != 0) { if (bad_position) *bad_position = -1; return BT_EINVAL; }
                for (int64_t r = 0; r < nrows; r++) {
                    if (row_ptr[r + 1] < row_ptr[r]) { if (bad_position) *bad_position = -(r + 2); return BT_EINVAL; }
                }
                nnz = row_ptr[nrows];
                if (nnz > 0 && !col_idx) return BT_EINVAL;
                if (!bt_span_ok(col_idx, nnz, 1, nnz, \(w))) return BT_EOVERFLOW;
                for (int64_t p = 0; p < nnz; p++) {
                    if ((uint64_t)(int64_t)col_idx[p] >= (uint64_t)ncols) { if (bad_position) *bad_position = p; return BT_EINVAL; }
                }
                return BT_OK;
            }

            /* The row holding nonzero p: the largest r < nrows with row_ptr[r] <= p (p < nnz). */
            __attribute__((unused)) static int64_t bt_row_of\(sfx)(const \(x) *rp, int64_t nrows, int64_t p)
            {
                int64_t lo = 0, hi = nrows - 1;
                while (lo < hi) {
                    const int64_t mid = lo + (hi - lo + 1) / 2;
                    if (rp[mid] <= p) lo = mid; else hi = mid - 1;
                }
                return lo;
            }

            /* The first row r with row_ptr[r] >= p (nrows when none). */
            __attribute__((unused)) static int64_t bt_row_at_least\(sfx)(const \(x) *rp, int64_t nrows, int64_t p)
            {
                int64_t lo = 0, hi = nrows;
                while (lo < hi) {
                    const int64_t mid = lo + (hi - lo) / 2;
                    if (rp[mid] < p) lo = mid + 1; else hi = mid;
                }
                return lo;
            }

            /* The merge-path coordinate (row, nonzero) on diagonal d of rows x nonzeros. */
            __attribute__((unused)) static void bt_merge_path\(sfx)(const \(x) *rp, int64_t nrows, int64_t nnz, int64_t d, int64_t *row, int64_t *nz)
            {
                int64_t lo = d > nnz ? d - nnz : 0, hi = d < nrows ? d : nrows;
                while (lo < hi) {
                    const int64_t mid = lo + (hi - lo) / 2;
                    if (rp[mid + 1] <= d - mid - 1) lo = mid + 1; else hi = mid;
                }
                *row = lo;
                *nz = d - lo;
            }

            """
    }
}

/// The integer types of CSR row pointers and column indices a kernel reads: int64_t (the
/// plain entry points), int32_t (the `_i32` ones, scipy's default), and the two compressed
/// forms a plan (``CSRPlanEmitter``) may keep of a 64-bit matrix: 32-bit column indices, or
/// 16-bit deltas from a per-row base column, both beside the caller's 64-bit row pointers.
enum CSRIndex: CaseIterable {
    case i64, i32, c32, d16
    /// The index widths of public entry points (rows and columns alike).
    static let entryPoints: [CSRIndex] = [.i64, .i32]
    /// The forms a plan keeps.
    static let planned: [CSRIndex] = [.c32, .d16]

    var rowType: String { self == .i32 ? "int32_t" : "int64_t" }
    var colType: String {
        switch self { case .i64: "int64_t"; case .i32, .c32: "int32_t"; case .d16: "uint16_t" }
    }
    /// The type of an entry point's indices (rows and columns alike).
    var cType: String { rowType }
    /// The suffix of entry points and internal names.
    var suffix: String {
        switch self { case .i64: ""; case .i32: "_i32"; case .c32: "_c32"; case .d16: "_d16" }
    }
    /// The suffix of the helpers over row pointers (row searches, argument checks).
    var rowSuffix: String { self == .i32 ? "_i32" : "" }
    var rowBytes: Int { self == .i32 ? 4 : 8 }
    var colBytes: Int {
        switch self { case .i64: 8; case .i32, .c32: 4; case .d16: 2 }
    }
    /// Bytes of an entry point's index (rows and columns alike).
    var bytes: Int { rowBytes }
}
