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
        /* Contents of kernels.json: the kernel specs and the machine they were tuned for. */
        const char *bt_config_json(void);
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

        #ifdef __cplusplus
        }
        #endif
        #endif

        """
    }

    /// pkg-config metadata for a library installed in `directory`.
    static func pkgConfig(directory: String, version: String, openMP: Bool) -> String {
        """
        prefix=\(directory)
        libdir=${prefix}
        includedir=${prefix}

        Name: kernels
        Description: blastune-generated GEMM and sparse kernels
        Version: \(version)
        Libs: -L${libdir} -Wl,-rpath,${libdir} -lkernels
        Libs.private: \(openMP ? "-fopenmp" : "")
        Cflags: -I${includedir}

        """
    }
}
