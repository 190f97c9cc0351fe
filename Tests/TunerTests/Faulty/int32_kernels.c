/* A libkernels.so as a 32-bit-index library would be: the ABI of a generated library, with
   every size, offset and count narrowed to int as LP64 BLAS and sparse libraries keep them,
   and a transpose that counts columns in a (threads + 1) x ncols x 4-byte buffer sized in
   int (Intel MKL 11.3's arithmetic). Built with -fwrapv, so products wrap as they do in
   practice. The repro tests run the catalog against it and expect its cases to fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define API __attribute__((visibility("default")))

static int requested = 1;

API const char *bt_strerror(int s) { return s ? "error" : "success"; }
API const char *bt_version(void) { return "int32"; }
API const char *bt_config_json(void) { return "{}"; }
API int bt_set_num_threads(int n) { if (n < 0) return 1; requested = n ? n : 1; return 0; }
API int bt_get_num_threads(void) { return requested; }
API void cblas_sgemm(void) {}
API void cblas_dgemm(void) {}
API int bt_csr_check(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, int64_t *bad)
{
    (void)m; (void)n; (void)rp; (void)ci; if (bad) *bad = 0;
    return 0;
}

/* Column-major C = alpha A B + beta C without transposes; row-major as C^T = B^T A^T. */
#define GEMM(T, NAME)                                                                              \
API int NAME(int l, int ta, int tb, int64_t M, int64_t N, int64_t K, T al, const T *a, int64_t LDA,  \
             const T *b, int64_t LDB, T be, T *c, int64_t LDC)                                    \
{                                                                                                  \
    int m = (int)M, n = (int)N, k = (int)K, lda = (int)LDA, ldb = (int)LDB, ldc = (int)LDC;        \
    (void)ta; (void)tb;                                                                            \
    if (l == 101) { const T *t = a; a = b; b = t; int s = m; m = n; n = s; s = lda; lda = ldb; ldb = s; } \
    for (int j = 0; j < n; j++)                                                                    \
        for (int i = 0; i < m; i++) {                                                              \
            T s = 0;                                                                               \
            for (int p = 0; p < k; p++) s += a[i + p * lda] * b[p + j * ldb];                      \
            c[i + j * ldc] = al * s + (be == 0 ? 0 : be * c[i + j * ldc]);                         \
        }                                                                                          \
    return 0;                                                                                      \
}
GEMM(float, bt_sgemm)
GEMM(double, bt_dgemm)

#define SPMV(T, NAME)                                                                              \
API int NAME(int64_t M, int64_t N, const int64_t *rp, const int64_t *ci, const T *v, T al,          \
             const T *x, T be, T *y)                                                               \
{                                                                                                  \
    int m = (int)M; (void)N;                                                                       \
    for (int r = 0; r < m; r++) {                                                                  \
        T s = 0;                                                                                   \
        for (int p = (int)rp[r]; p < (int)rp[r + 1]; p++) s += v[p] * x[(int)ci[p]];               \
        y[r] = al * s + (be == 0 ? 0 : be * y[r]);                                                 \
    }                                                                                              \
    return 0;                                                                                      \
}
SPMV(float, bt_scsr_spmv)
SPMV(double, bt_dcsr_spmv)

#define TRANSPOSE(T, NAME)                                                                         \
API int NAME(int64_t M, int64_t N, const int64_t *rp, const int64_t *ci, const T *v,                \
             int64_t *trp, int64_t *tci, T *tv)                                                    \
{                                                                                                  \
    int m = (int)M, n = (int)N, nth = requested, nnz = (int)rp[m];                                 \
    int bytes = (nth + 1) * n * 4;                 /* the buffer that overflowed */                \
    int *cnt = malloc((size_t)(unsigned)bytes);                                                    \
    memset(cnt, 0, (size_t)(nth + 1) * (size_t)n * 4);                                             \
    for (int p = 0; p < nnz; p++) cnt[n + (int)ci[p]]++;                                           \
    trp[0] = 0;                                                                                    \
    for (int j = 0; j < n; j++) trp[j + 1] = trp[j] + cnt[n + j];                                  \
    for (int j = 0; j < n; j++) cnt[j] = (int)trp[j];                                              \
    for (int r = 0; r < m; r++)                                                                    \
        for (int p = (int)rp[r]; p < (int)rp[r + 1]; p++) {                                        \
            int at = cnt[(int)ci[p]]++;                                                            \
            tci[at] = r;                                                                           \
            if (tv) tv[at] = v[p];                                                                 \
        }                                                                                          \
    free(cnt);                                                                                     \
    return 0;                                                                                      \
}
TRANSPOSE(float, bt_scsr_transpose)
TRANSPOSE(double, bt_dcsr_transpose)
