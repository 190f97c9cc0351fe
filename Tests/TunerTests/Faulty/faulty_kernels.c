/* A stand-in libkernels.so for fault-injection tests: the ABI of a generated library,
   with GEMM entry points that misbehave as FAULT says: 1 crash (a store through NULL), 2 hang,
   3 wrong result (C left at zero), 4 BT_EUNSUPPORTED. The sparse entry points do the same. */
#include <stdint.h>
#include <string.h>

#define API __attribute__((visibility("default")))

static int fault(void)
{
    if (FAULT == 1) *(volatile int *)(uintptr_t)0 = 1;
    if (FAULT == 2) for (volatile int spin = 1; spin;) {}
    return FAULT == 4 ? 4 : 0;
}

API const char *bt_strerror(int s) { return s ? "fault" : "success"; }
API const char *bt_version(void) { return "faulty"; }
API const char *bt_config_json(void) { return "{}"; }
API int bt_set_num_threads(int n) { return n < 0; }
API int bt_get_num_threads(void) { return 1; }
API int bt_sgemm(int l, int ta, int tb, int64_t m, int64_t n, int64_t k, float al, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float be, float *c, int64_t ldc)
{
    (void)l; (void)ta; (void)tb; (void)k; (void)al; (void)a; (void)lda; (void)b; (void)ldb; (void)be;
    for (int64_t j = 0; j < n; j++) memset(c + j * ldc, 0, sizeof(float) * (size_t)m);
    return fault();
}
API int bt_dgemm(int l, int ta, int tb, int64_t m, int64_t n, int64_t k, double al, const double *a, int64_t lda,
                 const double *b, int64_t ldb, double be, double *c, int64_t ldc)
{
    (void)l; (void)ta; (void)tb; (void)k; (void)al; (void)a; (void)lda; (void)b; (void)ldb; (void)be;
    for (int64_t j = 0; j < n; j++) memset(c + j * ldc, 0, sizeof(double) * (size_t)m);
    return fault();
}
API void cblas_sgemm(void) {}
API void cblas_dgemm(void) {}
/* Sparse entry points: y and the transpose left at zero, then the fault. */
API int bt_scsr_spmv(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, const float *v, float al, const float *x, float be, float *y)
{
    (void)n; (void)rp; (void)ci; (void)v; (void)al; (void)x; (void)be;
    memset(y, 0, sizeof(float) * (size_t)m);
    return fault();
}
API int bt_dcsr_spmv(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, const double *v, double al, const double *x, double be, double *y)
{
    (void)n; (void)rp; (void)ci; (void)v; (void)al; (void)x; (void)be;
    memset(y, 0, sizeof(double) * (size_t)m);
    return fault();
}
API int bt_scsr_transpose(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, const float *v, int64_t *trp, int64_t *tci, float *tv)
{
    (void)m; (void)ci; (void)v; (void)tci; (void)tv; (void)rp;
    memset(trp, 0, sizeof(int64_t) * (size_t)(n + 1));
    return fault();
}
API int bt_dcsr_transpose(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, const double *v, int64_t *trp, int64_t *tci, double *tv)
{
    (void)m; (void)ci; (void)v; (void)tci; (void)tv; (void)rp;
    memset(trp, 0, sizeof(int64_t) * (size_t)(n + 1));
    return fault();
}
API int bt_csr_check(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, int64_t *bad)
{
    (void)m; (void)n; (void)rp; (void)ci; if (bad) *bad = 0;
    return 0;
}
