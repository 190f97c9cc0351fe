/* Sanitizer harness for generated GEMM kernels: built together with kernels.c under
   -fsanitize=address,undefined by the test suite.
   Modes:
     edges        edge shapes, all layouts and transposes, against a naive reference,
                  with guard zones around every operand; bad arguments leave C untouched
     cblas-bad    calls cblas_sgemm with lda too small (the caller checks stderr)
     unsupported  expects BT_EUNSUPPORTED (run with BLASTUNE_CPU_MASK set)
   Prints "N passed, N failed" and exits non-zero on any failure. */
#include "kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

static int passed, failed;
#define GUARD 64
#define SENTINEL 1234.5
#define MAX1(x) ((x) > 1 ? (x) : 1)

static void check(int ok, const char *what, long m, long n, long k, int lay, int ta, int tb)
{
    if (ok) { passed++; return; }
    failed++;
    if (failed <= 20) fprintf(stderr, "FAIL %s m=%ld n=%ld k=%ld layout=%d ta=%d tb=%d\n", what, m, n, k, lay, ta, tb);
}

/* Element (i, j) of a matrix of the given storage. */
static long at(int row_major, long i, long j, long ld) { return row_major ? i * ld + j : i + j * ld; }

#define DEFINE_CASE(T, NAME, FN, EPS)                                                              \
static void NAME(long m, long n, long k, int lay, int ta, int tb, T alpha, T beta, long pad)          \
{                                                                                                  \
    const int row = lay == 101;                                                                    \
    const int tA = ta != 111, tB = tb != 111;                                                      \
    /* stored shapes */                                                                            \
    const long ar = tA ? k : m, ac = tA ? m : k, br = tB ? n : k, bc = tB ? k : n;                 \
    const long lda = MAX1(row ? ac : ar) + pad, ldb = MAX1(row ? bc : br) + pad, ldc = MAX1(row ? n : m) + pad; \
    const long asz = (row ? ar : ac) * lda, bsz = (row ? br : bc) * ldb;            \
    const long csz = (row ? m : n) * ldc;                                                          \
    T *abuf = malloc(sizeof(T) * (asz + 2 * GUARD)), *bbuf = malloc(sizeof(T) * (bsz + 2 * GUARD));  \
    T *cbuf = malloc(sizeof(T) * (csz + 2 * GUARD)), *ref = malloc(sizeof(T) * (csz + 1));          \
    T *a = abuf + GUARD, *b = bbuf + GUARD, *c = cbuf + GUARD;                                      \
    for (long i = 0; i < asz + 2 * GUARD; i++) abuf[i] = (T)((i * 7919 % 101) - 50) / 50;           \
    for (long i = 0; i < bsz + 2 * GUARD; i++) bbuf[i] = (T)((i * 104729 % 89) - 44) / 44;          \
    for (long i = 0; i < csz + 2 * GUARD; i++) cbuf[i] = (T)SENTINEL;                               \
    for (long i = 0; i < m; i++)                                                                   \
        for (long j = 0; j < n; j++) c[at(row, i, j, ldc)] = beta == 0 ? (T)NAN : (T)((i + 3 * j) % 7) - 3; \
    double maxerr = 0, scale = 1e-30;                                                              \
    for (long i = 0; i < m; i++)                                                                   \
        for (long j = 0; j < n; j++) {                                                             \
            double s = 0, sa = 0;                                                                  \
            for (long p = 0; p < k; p++) {                                                         \
                double x = tA ? a[at(row, p, i, lda)] : a[at(row, i, p, lda)];                     \
                double y = tB ? b[at(row, j, p, ldb)] : b[at(row, p, j, ldb)];                     \
                s += x * y; sa += fabs(x * y);                                                     \
            }                                                                                      \
            double c0 = beta == 0 ? 0 : c[at(row, i, j, ldc)];                                     \
            ref[at(row, i, j, ldc)] = (T)(alpha * s + beta * c0);                                  \
            double sc = fabs(alpha) * sa + fabs(beta) * fabs(c0);                                  \
            if (sc > scale) scale = sc;                                                            \
        }                                                                                          \
    int st = FN(lay, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);                        \
    check(st == BT_OK, "status", m, n, k, lay, ta, tb);                                            \
    int guards_ok = 1;                                                                             \
    for (long i = 0; i < GUARD; i++)                                                               \
        guards_ok &= cbuf[i] == (T)SENTINEL && cbuf[GUARD + csz + i] == (T)SENTINEL;               \
    for (long i = 0; i < m; i++)                                                                   \
        for (long j = 0; j < n; j++) {                                                             \
            double d = fabs((double)c[at(row, i, j, ldc)] - ref[at(row, i, j, ldc)]);              \
            if (!(d <= maxerr)) maxerr = d; /* NaN propagates into maxerr */                       \
        }                                                                                          \
    /* padding between rows/columns of C is never written */                                       \
    for (long o = 0; o < (row ? m : n); o++)                                                       \
        for (long i = (row ? n : m); i < ldc; i++) guards_ok &= c[o * ldc + i] == (T)SENTINEL;     \
    check(guards_ok, "guard or padding of C written", m, n, k, lay, ta, tb);                       \
    check(maxerr <= 4.0 * (k + 2) * EPS * scale, "error bound", m, n, k, lay, ta, tb);             \
    free(abuf); free(bbuf); free(cbuf); free(ref);                                                 \
}

DEFINE_CASE(float, case_s, bt_sgemm, 1.1920929e-07)
DEFINE_CASE(double, case_d, bt_dgemm, 2.220446049250313e-16)

static void bad_args(void)
{
    float a[64] = {0}, b[64] = {0}, c[64], keep[64];
    for (int i = 0; i < 64; i++) c[i] = keep[i] = (float)i;
    struct { int lay, ta, tb; long m, n, k, lda, ldb, ldc; int want; const char *what; } cases[] = {
        {100, 111, 111, 2, 2, 2, 2, 2, 2, BT_EINVAL, "bad layout"},
        {102, 110, 111, 2, 2, 2, 2, 2, 2, BT_EINVAL, "bad transa"},
        {102, 111, 114, 2, 2, 2, 2, 2, 2, BT_EINVAL, "bad transb"},
        {102, 111, 111, -1, 2, 2, 2, 2, 2, BT_EINVAL, "negative m"},
        {102, 111, 111, 2, -1, 2, 2, 2, 2, BT_EINVAL, "negative n"},
        {102, 111, 111, 2, 2, -1, 2, 2, 2, BT_EINVAL, "negative k"},
        {102, 111, 111, 4, 2, 2, 3, 2, 4, BT_EINVAL, "lda < m"},
        {102, 111, 111, 2, 2, 4, 2, 3, 2, BT_EINVAL, "ldb < k"},
        {102, 111, 111, 4, 2, 2, 4, 2, 3, BT_EINVAL, "ldc < m"},
        {101, 111, 111, 2, 4, 2, 2, 3, 4, BT_EINVAL, "row-major ldb < n"},
        {101, 111, 111, 2, 4, 2, 2, 4, 3, BT_EINVAL, "row-major ldc < n"},
        {102, 112, 111, 4, 2, 3, 2, 3, 4, BT_EINVAL, "transposed lda < k"},
        {102, 111, 111, 2, 3, 2, 2, 2, INT64_MAX / 2, BT_EOVERFLOW, "ldc overflows"},
        {102, 111, 111, 2, 2, 3, INT64_MAX / 2, 3, 2, BT_EOVERFLOW, "lda overflows"},
        {102, 111, 111, 0, 2, 2, 1, 2, 1, BT_OK, "m = 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = bt_sgemm(cases[i].lay, cases[i].ta, cases[i].tb, cases[i].m, cases[i].n, cases[i].k, 1, a,
                          cases[i].lda, b, cases[i].ldb, 0, c, cases[i].ldc);
        int ok = st == cases[i].want && memcmp(c, keep, sizeof c) == 0;
        if (!ok) fprintf(stderr, "FAIL bad args: %s gave %d\n", cases[i].what, st);
        ok ? passed++ : failed++;
    }
    /* NULL C with work to do; NULL A with alpha == 0 is fine (C scaled by beta) */
    int st = bt_sgemm(102, 111, 111, 2, 2, 2, 1, a, 2, b, 2, 0, NULL, 2);
    st == BT_EINVAL ? passed++ : failed++;
    st = bt_sgemm(102, 111, 111, 2, 2, 2, 1, NULL, 2, b, 2, 0, c, 2);
    (st == BT_EINVAL && memcmp(c, keep, sizeof c) == 0) ? passed++ : failed++;
    st = bt_dgemm(102, 111, 111, 2, 2, 2, 0, NULL, 2, NULL, 2, 0, (double *)c, 2);
    (st == BT_OK && ((double *)c)[0] == 0) ? passed++ : failed++;
    (bt_set_num_threads(-1) == BT_EINVAL && bt_set_num_threads(0) == BT_OK) ? passed++ : failed++;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "edges";
    if (strcmp(mode, "cblas-bad") == 0) {
        float a[4] = {0}, b[4] = {0}, c[4] = {1, 2, 3, 4};
        cblas_sgemm(102, 111, 111, 2, 2, 2, 1, a, 1, b, 2, 0, c, 2);
        printf("%d passed, %d failed\n", c[0] == 1 && c[3] == 4, !(c[0] == 1 && c[3] == 4));
        return !(c[0] == 1 && c[3] == 4);
    }
    if (strcmp(mode, "unsupported") == 0) {
        float a[4] = {1, 1, 1, 1}, c[4] = {7, 7, 7, 7};
        int st = bt_sgemm(102, 111, 111, 2, 2, 2, 1, a, 2, a, 2, 0, c, 2);
        int ok = st == BT_EUNSUPPORTED && c[0] == 7;
        printf("%d passed, %d failed\n", ok, !ok);
        return !ok;
    }
    const long dims[] = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 65};
    const int nd = sizeof dims / sizeof dims[0];
    const int tr[3] = {111, 112, 113};
    unsigned seed = 12345;
    for (int iter = 0; iter < 400; iter++) {
        seed = seed * 1103515245u + 12345u;
        long m = dims[(seed >> 8) % nd], n = dims[(seed >> 13) % nd], k = dims[(seed >> 18) % nd];
        int lay = (seed >> 3) & 1 ? 101 : 102, ta = tr[(seed >> 23) % 3], tb = tr[(seed >> 26) % 3];
        long pad = (seed >> 29) & 1 ? 3 : 0;
        double alpha = iter % 7 == 0 ? 0 : iter % 5 == 0 ? -1.5 : 1, beta = iter % 3 == 0 ? 0 : iter % 4 == 0 ? 1 : 0.5;
        if (iter % 2) case_s(m, n, k, lay, ta, tb, (float)alpha, (float)beta, pad);
        else case_d(m, n, k, lay, ta, tb, alpha, beta, pad);
    }
    /* a few larger shapes to cross the KC / MC / NC blocks of the library under test */
    case_s(300, 70, 530, 102, 111, 112, 1, 0.5f, 1);
    case_d(129, 301, 260, 101, 112, 111, -1, 0, 2);
    bt_set_num_threads(2);
    case_s(257, 130, 100, 102, 111, 111, 1, 1, 0);
    case_d(65, 513, 33, 101, 111, 111, 1, 0, 0);
    bt_set_num_threads(0);
    bad_args();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
