/// Emits `kernels.h` (the public C ABI) and `kernels.pc` (pkg-config).
enum HeaderEmitter {
    static func header(version: String) -> String {
        """
        /* kernels.h: the C ABI of a blastune-generated libkernels.so (blastune \(version)).
           All sizes, leading dimensions and indices are int64_t. Every function returns a
           status; on any status other than BT_OK the outputs are untouched. */
        #ifndef BLASTUNE_KERNELS_H
        #define BLASTUNE_KERNELS_H
        #include <stdint.h>
        #ifdef __cplusplus
        extern "C" {
        #endif

        enum { BT_OK = 0, BT_EINVAL = 1, BT_EOVERFLOW = 2, BT_ENOMEM = 3, BT_EUNSUPPORTED = 4 };

        /* A static message for a status. */
        const char *bt_strerror(int status);
        /* The blastune version that generated the library. */
        const char *bt_version(void);
        /* Contents of kernels.json: the kernel specs and the machine they were tuned for (in a
           library of several machines' configurations, the active one's). */
        const char *bt_config_json(void);
        /* One line: the active configuration (a machine's fingerprint or analytical-<isa>), how it
           was made, why it was chosen, and this machine's fingerprint. A library built by
           `blastune generate --machines` holds several configurations and picks one when first
           called: this machine's, else the nearest tuned machine of the best ISA the CPU runs,
           else the analytical model's for that ISA. BLASTUNE_FINGERPRINT=<fingerprint> stands in
           for this machine's (tests). */
        const char *bt_config(void);
        /* Threads for later calls: n > 0 a fixed count, 0 the tuned count for each shape class.
           Either way a call uses at most the online CPUs and one thread per 2^18 flops.
           Initial value from BLASTUNE_NUM_THREADS, else 0. Returns BT_EINVAL for n < 0 or n > 1024. */
        int bt_set_num_threads(int n);
        int bt_get_num_threads(void);

        /* C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T; C is m x n, op(A) m x k, op(B) k x n.
           layout: 101 row-major, 102 column-major; trans: 111 none, 112 transpose, 113 same as 112
           (the CBLAS values). beta == 0 never reads C; alpha == 0 or k == 0 scales C by beta;
           m == 0 or n == 0 does nothing. Bad arguments: BT_EINVAL; size or byte-offset products
           that overflow 64 bits: BT_EOVERFLOW; out of memory: BT_ENOMEM; CPU without the ISA the
           library was built for: BT_EUNSUPPORTED. The CBLAS drop-ins cblas_sgemm and cblas_dgemm
           (standard signatures, from <cblas.h>) are exported too. */
        int bt_sgemm(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                     float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc);
        int bt_dgemm(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                     double alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
                     double beta, double *c, int64_t ldc);

        /* Plans: check once, call many times. bt_sgemm_plan checks a GEMM call without its
           operands (the checks and statuses of bt_sgemm), chooses its kernel and thread count
           (threads: 0 as bt_sgemm would now, bt_set_num_threads's count or the tuned one; n > 0
           at most n; above 1024 BT_EINVAL) and returns a plan, or NULL with the status in
           *status (which may be NULL; BT_OK on success). bt_sgemm_execute(plan, a, b, c) then
           runs it, checking only the plan's tag (NULL or an f64 plan: BT_EINVAL) and the
           operands (NULL where read: BT_EINVAL; past the end of the address space:
           BT_EOVERFLOW). A plan is immutable: any number of threads may execute it at once.
           It lives until bt_plan_destroy (NULL is a no-op), which must not race an execute;
           it holds no pointer to the operands or to the caller's memory. */
        typedef struct bt_gemm_plan bt_gemm_plan;
        bt_gemm_plan *bt_sgemm_plan(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                                    float alpha, int64_t lda, int64_t ldb, float beta, int64_t ldc,
                                    int threads /* 0: the tuned count */, int *status /* may be NULL */);
        bt_gemm_plan *bt_dgemm_plan(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                                    double alpha, int64_t lda, int64_t ldb, double beta, int64_t ldc,
                                    int threads /* 0: the tuned count */, int *status /* may be NULL */);
        int  bt_sgemm_execute(const bt_gemm_plan *plan, const float *a, const float *b, float *c);
        int  bt_dgemm_execute(const bt_gemm_plan *plan, const double *a, const double *b, double *c);
        void bt_plan_destroy(bt_gemm_plan *plan);   /* NULL is a no-op */

        /* Batches of independent GEMMs; threads take whole problems (a tiny problem is never
           split), as many as bt_set_num_threads or the cores allow, one per 2^18 flops at most.
           Everything is checked before anything is written: sizes and leading dimensions as for
           bt_sgemm, batch and group counts >= 0, every operand present where read, every
           batch x stride span inside 64 bits and the address space. A strided C whose |stride_c|
           is smaller than one C matrix (the problems would write each other's C) is refused
           with BT_EINVAL; A and B strides may be 0 or negative. Only BT_ENOMEM, when a kernel
           cannot get its scratch memory, can leave part of a batch computed. On a refusal,
           bt_last_error() names the argument and, for groups, the group. */
        int bt_sgemm_batch_strided(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                                   float alpha, const float *a, int64_t lda, int64_t stride_a,
                                   const float *b, int64_t ldb, int64_t stride_b,
                                   float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch);
        int bt_dgemm_batch_strided(int layout, int transa, int transb, int64_t m, int64_t n, int64_t k,
                                   double alpha, const double *a, int64_t lda, int64_t stride_a,
                                   const double *b, int64_t ldb, int64_t stride_b,
                                   double beta, double *c, int64_t ldc, int64_t stride_c, int64_t batch);
        /* Grouped: group g has group_size[g] problems sharing transa[g] ... ldc[g]; the
           problems' operands a[i], b[i], c[i] are listed group after group. */
        int bt_sgemm_batch(int layout, const int *transa, const int *transb, const int64_t *m, const int64_t *n,
                           const int64_t *k, const float *alpha, const float *const *a, const int64_t *lda,
                           const float *const *b, const int64_t *ldb, const float *beta, float *const *c,
                           const int64_t *ldc, int64_t group_count, const int64_t *group_size);
        int bt_dgemm_batch(int layout, const int *transa, const int *transb, const int64_t *m, const int64_t *n,
                           const int64_t *k, const double *alpha, const double *const *a, const int64_t *lda,
                           const double *const *b, const int64_t *ldb, const double *beta, double *const *c,
                           const int64_t *ldc, int64_t group_count, const int64_t *group_size);
        /* MKL's cblas_sgemm_batch_strided, cblas_dgemm_batch_strided, cblas_sgemm_batch and
           cblas_dgemm_batch (LP64 int sizes, from <mkl.h>) are exported too: MKL code links
           unchanged; their errors go to stderr. */

        /* Why the last refused plan or batch call on this thread was refused ("" if none). */
        const char *bt_last_error(void);

        \(FortranABIEmitter.header)
        /* Sparse matrices in CSR form with 64-bit row pointers and column indices: row_ptr has
           nrows + 1 entries, row_ptr[0] == 0, nnz = row_ptr[nrows], row r's entries are at
           positions row_ptr[r] .. row_ptr[r + 1] - 1 of col_idx and val, columns in 0 .. ncols - 1.
           The kernels check in O(1) what they can (sizes >= 0, pointers present, row_ptr[0] == 0,
           nnz >= 0, byte counts fit in 64 bits) and otherwise trust the structure: check an
           untrusted matrix once with bt_csr_check. Threads as for GEMM; one per 256 KiB moved. */

        /* y = alpha * A * x + beta * y, A nrows x ncols. beta == 0 never reads y; alpha == 0 does
           not read A or x. x (ncols) and y (nrows) must be present when their length is > 0. */
        int bt_scsr_spmv(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                         const float *val, float alpha, const float *x, float beta, float *y);
        int bt_dcsr_spmv(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                         const double *val, double alpha, const double *x, double beta, double *y);

        /* Y = alpha * A * X + beta * Y with X ncols x k and Y nrows x k dense, both in `layout`
           (101 row-major: ldx >= k, ldy >= k; 102 column-major: ldx >= ncols, ldy >= nrows).
           Any k >= 0 (k == 0 does nothing). beta == 0 never reads Y; alpha == 0 does not read A
           or X. Bad layout, k < 0 or a leading dimension too small: BT_EINVAL; spans that do not
           fit 64 bits or the address space: BT_EOVERFLOW; Y untouched on any failure. */
        int bt_scsr_spmm(int layout, int64_t nrows, int64_t ncols, int64_t k, const int64_t *row_ptr,
                         const int64_t *col_idx, const float *val, float alpha, const float *x, int64_t ldx,
                         float beta, float *y, int64_t ldy);
        int bt_dcsr_spmm(int layout, int64_t nrows, int64_t ncols, int64_t k, const int64_t *row_ptr,
                         const int64_t *col_idx, const double *val, double alpha, const double *x, int64_t ldx,
                         double beta, double *y, int64_t ldy);

        /* The CSR of A^T into caller-allocated t_row_ptr[ncols + 1], t_col_idx[nnz], t_val[nnz];
           column indices ascend within each row of A^T and equal entries keep their order
           (stable). val == NULL && t_val == NULL transposes the pattern only. Extra memory is at
           most the larger of the tuned budget and a quarter of the output, whatever ncols and
           the thread count. */
        int bt_scsr_transpose(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                              const float *val, int64_t *t_row_ptr, int64_t *t_col_idx, float *t_val);
        int bt_dcsr_transpose(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                              const double *val, int64_t *t_row_ptr, int64_t *t_col_idx, double *t_val);

        /* Full O(nnz) structure check. BT_OK, or BT_EINVAL with *bad_position (when not NULL) set
           to p >= 0 for the first column index outside 0 .. ncols - 1 at col_idx[p], or to -(i + 1)
           for the first bad row pointer row_ptr[i] (row_ptr[0] != 0, or row_ptr[i] < row_ptr[i - 1]). */
        int bt_csr_check(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                         int64_t *bad_position);

        /* Plans (an inspector, as MKL's mkl_sparse_optimize): bt_dcsr_plan checks the matrix
           once (the checks of bt_csr_check and of bt_dcsr_spmv), picks the tuned kernel for its
           class and keeps the most compact form of its column indices that the matrix allows:
           BT_CSR_RUNS, runs of consecutive columns (when they average at least 6 nonzeros, as
           in bands and dense blocks; 12 bytes per run and 8 per row, 8 per row alone when no row
           has two runs; x is read by plain vector loads), else BT_CSR_INDEX_16, 16-bit deltas from each row's smallest column (every row spans fewer
           than 65536 columns; 2 bytes per nonzero and 8 per row), else BT_CSR_INDEX_32, a 32-bit
           copy (ncols fits int32_t; 4 bytes per nonzero), else BT_CSR_INDEX_64, the caller's
           col_idx as it is. Where each chunk of 64 rows has its entries on at most 64 diagonals
           (column - row) and that moves fewer bytes per product, BT_CSR_DIAGONALS instead: per
           chunk, its diagonals and a copy of its values on each (zeros where a diagonal has no
           entry, one bit per row that has one; no column index: stencils, bands), exact where x is infinite or NaN
           off the matrix's entries. Else, where rows of about equal length make it move no
           more bytes, BT_CSR_SLICES: sliced ELLPACK, rows in slices of one vector's lanes,
           entry j of each row of a slice side by side (32-bit columns and a copy of the values,
           padded to the slice's longest row; x by gathers, masked past each row's end: random
           rows of equal length; not on the portable ISA). max_bytes caps that copy (negative: no cap; 0: never copy).
           Returns the plan, or NULL with the status in *status (may be NULL; BT_OK on success)
           and the reason in bt_last_error(), which names the first bad row pointer or column
           index. The plan keeps row_ptr and val (and col_idx in BT_CSR_INDEX_64): they must
           stay valid and unchanged until bt_csr_plan_destroy (NULL is a no-op).
           bt_dcsr_plan_spmv(plan, alpha, x, beta, y) computes y = alpha * A * x + beta * y as
           bt_dcsr_spmv would (NULL or an f32 plan: BT_EINVAL). A plan is immutable: any number
           of threads may run it at once. bt_csr_plan_bytes is all the memory a plan holds;
           bt_csr_plan_format its form. */
        enum { BT_CSR_INDEX_64 = 64, BT_CSR_INDEX_32 = 32, BT_CSR_INDEX_16 = 16, BT_CSR_RUNS = 1, BT_CSR_DIAGONALS = 2, BT_CSR_SLICES = 3 };
        typedef struct bt_csr_plan bt_csr_plan;
        bt_csr_plan *bt_scsr_plan(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                                  const float *val, int64_t max_bytes, int *status);
        bt_csr_plan *bt_dcsr_plan(int64_t nrows, int64_t ncols, const int64_t *row_ptr, const int64_t *col_idx,
                                  const double *val, int64_t max_bytes, int *status);
        int bt_scsr_plan_spmv(const bt_csr_plan *plan, float alpha, const float *x, float beta, float *y);
        int bt_dcsr_plan_spmv(const bt_csr_plan *plan, double alpha, const double *x, double beta, double *y);
        int64_t bt_csr_plan_bytes(const bt_csr_plan *plan);
        int bt_csr_plan_format(const bt_csr_plan *plan);
        void bt_csr_plan_destroy(bt_csr_plan *plan);

        /* The same with 32-bit row pointers and column indices (scipy's int32 arrays as they are;
           sizes stay int64_t). A matrix whose ncols (or, for the transpose, nrows) does not fit
           int32_t is refused with BT_EOVERFLOW; nnz fits by construction. Same checks, same
           statuses, nothing written on failure. */
        int bt_scsr_spmv_i32(int64_t nrows, int64_t ncols, const int32_t *row_ptr, const int32_t *col_idx,
                             const float *val, float alpha, const float *x, float beta, float *y);
        int bt_dcsr_spmv_i32(int64_t nrows, int64_t ncols, const int32_t *row_ptr, const int32_t *col_idx,
                             const double *val, double alpha, const double *x, double beta, double *y);
        int bt_scsr_transpose_i32(int64_t nrows, int64_t ncols, const int32_t *row_ptr, const int32_t *col_idx,
                                  const float *val, int32_t *t_row_ptr, int32_t *t_col_idx, float *t_val);
        int bt_dcsr_transpose_i32(int64_t nrows, int64_t ncols, const int32_t *row_ptr, const int32_t *col_idx,
                                  const double *val, int32_t *t_row_ptr, int32_t *t_col_idx, double *t_val);
        int bt_csr_check_i32(int64_t nrows, int64_t ncols, const int32_t *row_ptr, const int32_t *col_idx,
                             int64_t *bad_position);

        #ifdef __cplusplus
        }
        #endif
        #endif

        """
    }

    /// pkg-config metadata for a library installed in `directory`.
    static func pkgConfig(directory: String, version: String, openMP: Bool) -> String {
        """
        # The tuned sgemm_/dgemm_ in front of a full BLAS (every other routine from it):
        #   cc prog.o -Wl,--no-as-needed $(pkg-config --libs kernels) -Wl,--as-needed -lopenblas
        # Under a program already built: LD_PRELOAD=$(pkg-config --variable=preload kernels) ./prog
        # (with OpenBLAS underneath, OPENBLAS_NUM_THREADS=1 keeps its idle threads off our cores).
        prefix=\(directory)
        libdir=${prefix}
        includedir=${prefix}
        preload=${libdir}/libkernels.so

        Name: kernels
        Description: blastune-generated GEMM and sparse kernels
        Version: \(version)
        Libs: -L${libdir} -Wl,-rpath,${libdir} -lkernels
        Libs.private: \(openMP ? "-fopenmp" : "")
        Cflags: -I${includedir}

        """
    }

    /// `kernelsConfig.cmake`: `find_package(kernels)` with this folder on `CMAKE_PREFIX_PATH`
    /// gives the imported target `kernels::kernels` (the library and kernels.h).
    static func cmakeConfig(directory: String, version: String) -> String {
        """
        # blastune-generated kernels \(version): find_package(kernels) gives kernels::kernels.
        if(NOT TARGET kernels::kernels)
          add_library(kernels::kernels SHARED IMPORTED)
          set_target_properties(kernels::kernels PROPERTIES
            IMPORTED_LOCATION "\(directory)/libkernels.so"
            IMPORTED_SONAME "libkernels.so"
            INTERFACE_INCLUDE_DIRECTORIES "\(directory)")
        endif()
        # In front of a full BLAS: target_link_libraries(app PRIVATE "-Wl,--no-as-needed" kernels::kernels "-Wl,--as-needed" BLAS::BLAS)
        # gives sgemm_/dgemm_ from here and every other routine from the BLAS; kernels_PRELOAD is
        # the file to LD_PRELOAD under a program already built.
        set(kernels_PRELOAD "\(directory)/libkernels.so")
        set(kernels_VERSION "\(version)")
        set(kernels_FOUND TRUE)

        """
    }

    /// `kernelsConfigVersion.cmake`: any requested version up to this one is compatible.
    static func cmakeConfigVersion(version: String) -> String {
        """
        set(PACKAGE_VERSION "\(version)")
        if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
          set(PACKAGE_VERSION_COMPATIBLE FALSE)
        else()
          set(PACKAGE_VERSION_COMPATIBLE TRUE)
          if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
            set(PACKAGE_VERSION_EXACT TRUE)
          endif()
        endif()

        """
    }
}
