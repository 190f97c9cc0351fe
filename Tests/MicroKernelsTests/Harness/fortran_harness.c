/* The Fortran BLAS ABI of a generated library (sgemm_, dgemm_ and the _64_ twins) against a
   naive reference, built with kernels.c under -fsanitize=address,undefined by the test suite.
     fortran_harness check   every transpose character, alpha and beta, padded leading
                             dimensions, guard zones; prints "fortran: N passed, N failed"
     fortran_harness bad     every bad argument: the reference parameter number reaches
                             xerbla_ (xerbla_64_), C untouched; built with -DNO_XERBLA the
                             library prints the reference message on stderr instead */
#include "kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;
#define GUARD 8
#define SENTINEL 1234.5

static void check(int ok, const char *what)
{
    if (ok) { passed++; return; }
    if (++failed <= 25) fprintf(stderr, "FAIL %s\n", what);
}

#ifndef NO_XERBLA
static char last_name[8];
static long long last_info;
static int xerbla_calls;
void xerbla_(const char *srname, const int *info, size_t len)
{
    snprintf(last_name, sizeof last_name, "%.*s", (int)(len < 7 ? len : 7), srname);
    last_info = *info;
    xerbla_calls++;
}
void xerbla_64_(const char *srname, const int64_t *info, size_t len)
{
    snprintf(last_name, sizeof last_name, "%.*s", (int)(len < 7 ? len : 7), srname);
    last_info = *info + 1000; /* tells the ILP64 handler apart */
    xerbla_calls++;
}
#endif

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (double)(rng >> 11) * 0x1p-53 - 0.5; }

/* One call; variant 0: sgemm_, 1: dgemm_, 2: sgemm_64_, 3: dgemm_64_. Returns whether C
   matches the reference (or, with expect_untouched, is bit for bit what it was). */
static int call(int variant, char ta, char tb, long m, long n, long k, long lda, long ldb, long ldc, double alpha, double beta,
                int expect_untouched)
{
    const int f64 = variant & 1;
    const int tA = ta != 'n' && ta != 'N', tB = tb != 'n' && tb != 'N';
    const long acols = tA ? m : k, bcols = tB ? k : n;
    const long asz = (lda > 0 ? lda : 1) * (acols > 0 ? acols : 1), bsz = (ldb > 0 ? ldb : 1) * (bcols > 0 ? bcols : 1);
    const long csz = (ldc > 0 ? ldc : 1) * (n > 0 ? n : 1);
    double *a = malloc(sizeof(double) * asz), *b = malloc(sizeof(double) * bsz), *c = malloc(sizeof(double) * csz), *ref = malloc(sizeof(double) * csz);
    for (long i = 0; i < asz; i++) a[i] = urand();
    for (long i = 0; i < bsz; i++) b[i] = urand();
    for (long i = 0; i < csz; i++) c[i] = beta == 0 ? NAN : urand();
    memcpy(ref, c, sizeof(double) * csz);
    if (!expect_untouched)
        for (long j = 0; j < n; j++)
            for (long i = 0; i < m; i++) {
                double s = 0;
                for (long q = 0; q < k; q++) s += a[tA ? q + i * lda : i + q * lda] * b[tB ? j + q * ldb : q + j * ldb];
                ref[i + j * ldc] = alpha * s + (beta == 0 ? 0 : beta * c[i + j * ldc]);
            }
    const size_t es = f64 ? 8 : 4;
    char *A = malloc(es * (asz + 2 * GUARD)), *B = malloc(es * (bsz + 2 * GUARD)), *C = malloc(es * (csz + 2 * GUARD));
#define FILL(P, SRC, N) for (long i = 0; i < (N) + 2 * GUARD; i++) { const double v = i < GUARD || i >= (N) + GUARD ? SENTINEL : SRC[i - GUARD]; \
        if (f64) ((double *)P)[i] = v; else ((float *)P)[i] = (float)v; }
    FILL(A, a, asz) FILL(B, b, bsz) FILL(C, c, csz)
    const int im = (int)m, in = (int)n, ik = (int)k, ia = (int)lda, ib = (int)ldb, ic = (int)ldc;
    const int64_t lm = m, ln = n, lk = k, la = lda, lb = ldb, lc = ldc;
    const float fa = (float)alpha, fb = (float)beta;
    switch (variant) {
    case 0: sgemm_(&ta, &tb, &im, &in, &ik, &fa, (float *)A + GUARD, &ia, (float *)B + GUARD, &ib, &fb, (float *)C + GUARD, &ic); break;
    case 1: dgemm_(&ta, &tb, &im, &in, &ik, &alpha, (double *)A + GUARD, &ia, (double *)B + GUARD, &ib, &beta, (double *)C + GUARD, &ic); break;
    case 2: sgemm_64_(&ta, &tb, &lm, &ln, &lk, &fa, (float *)A + GUARD, &la, (float *)B + GUARD, &lb, &fb, (float *)C + GUARD, &lc); break;
    default: dgemm_64_(&ta, &tb, &lm, &ln, &lk, &alpha, (double *)A + GUARD, &la, (double *)B + GUARD, &lb, &beta, (double *)C + GUARD, &lc); break;
    }
    int ok = 1;
    double worst = 0, scale = 1;
    for (long i = 0; i < csz + 2 * GUARD; i++) {
        const double v = f64 ? ((double *)C)[i] : (double)((float *)C)[i];
        if (i < GUARD || i >= csz + GUARD) { ok &= v == SENTINEL; continue; }
        const long x = i - GUARD;
        const int inside = !expect_untouched && x % ldc < m && x / ldc < n;
        const double want = inside ? ref[x] : (f64 ? c[x] : (double)(float)c[x]);
        if (!inside) { ok &= (isnan(v) && isnan(want)) || v == want; continue; }
        if (!isfinite(v)) { ok = 0; continue; }
        worst = fmax(worst, fabs(v - want)); scale = fmax(scale, fabs(want));
    }
    ok &= worst <= (f64 ? 1e-13 : 2e-5) * (double)(k + 2) * scale;
    free(a); free(b); free(c); free(ref); free(A); free(B); free(C);
    return ok;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "check";
    static const char *names[] = { "sgemm_", "dgemm_", "sgemm_64_", "dgemm_64_" };
    char what[160];
    if (strcmp(mode, "check") == 0) {
        static const char trans[] = "nNtTcC";
        static const long shapes[][3] = { { 1, 1, 1 }, { 7, 5, 3 }, { 17, 33, 9 }, { 64, 64, 64 }, { 130, 70, 40 }, { 3, 200, 150 } };
        static const double scalars[][2] = { { 1, 0 }, { -0.5, 2 }, { 2, 1 }, { 0, 0.5 } };
        for (int v = 0; v < 4; v++)
            for (int s = 0; s < 6; s++)
                for (int t = 0; t < 6; t++) {
                    const char ta = trans[t], tb = trans[(t * 5 + s) % 6];
                    const long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], pad = t % 3;
                    const int tA = ta != 'n' && ta != 'N', tB = tb != 'n' && tb != 'N';
                    const double *sc = scalars[(s + t) % 4];
                    snprintf(what, sizeof what, "%s %c%c %ldx%ldx%ld pad %ld alpha %g beta %g", names[v], ta, tb, m, n, k, pad, sc[0], sc[1]);
                    check(call(v, ta, tb, m, n, k, (tA ? k : m) + pad, (tB ? n : k) + pad, m + pad, sc[0], sc[1], 0), what);
                }
        /* The reference's quick return: alpha 0 (or k 0) with beta 1 leaves C as it was. */
        for (int v = 0; v < 4; v++) {
            check(call(v, 'N', 'N', 5, 4, 3, 5, 3, 5, 0, 1, 1), "alpha 0, beta 1: C untouched");
            check(call(v, 'N', 'N', 5, 4, 0, 5, 1, 5, 2, 1, 1), "k 0, beta 1: C untouched");
        }
        printf("fortran: %d passed, %d failed (%llu calls counted)\n", passed, failed, (unsigned long long)bt_fortran_calls());
        return failed != 0;
    }
    /* Bad arguments: the reference parameter number, in the reference order. */
    struct { char ta, tb; long m, n, k, lda, ldb, ldc; int info; } bad[] = {
        { 'x', 'N', 2, 2, 2, 2, 2, 2, 1 },  { 'N', 'q', 2, 2, 2, 2, 2, 2, 2 },  { 'N', 'N', -1, 2, 2, 2, 2, 2, 3 },
        { 'N', 'N', 2, -1, 2, 2, 2, 2, 4 }, { 'N', 'N', 2, 2, -1, 2, 2, 2, 5 }, { 'N', 'N', 4, 2, 2, 3, 2, 4, 8 },
        { 'T', 'N', 4, 2, 3, 2, 3, 4, 8 },  { 'N', 'N', 2, 2, 3, 2, 2, 2, 10 }, { 'N', 'T', 2, 5, 3, 2, 4, 2, 10 },
        { 'N', 'N', 3, 2, 2, 3, 2, 2, 13 }, { 'x', 'q', -1, 2, 2, 0, 0, 0, 1 }, { 'N', 'N', 0, 0, 0, 0, 1, 1, 8 },
    };
    const int count = (int)(sizeof bad / sizeof bad[0]);
    for (int v = 0; v < 4; v++)
        for (int i = 0; i < count; i++) {
#ifndef NO_XERBLA
            const int before = xerbla_calls;
#endif
            snprintf(what, sizeof what, "%s bad case %d (parameter %d): C untouched", names[v], i, bad[i].info);
            check(call(v, bad[i].ta, bad[i].tb, bad[i].m, bad[i].n, bad[i].k, bad[i].lda, bad[i].ldb, bad[i].ldc, 1, 1, 1), what);
#ifndef NO_XERBLA
            const long long want = bad[i].info + (v >= 2 ? 1000 : 0);
            snprintf(what, sizeof what, "%s bad case %d: xerbla got %s %lld, want %s %lld", names[v], i, last_name, last_info,
                     v & 1 ? "DGEMM " : "SGEMM ", want);
            check(xerbla_calls == before + 1 && last_info == want && strcmp(last_name, v & 1 ? "DGEMM " : "SGEMM ") == 0, what);
#endif
        }
    printf("fortran bad: %d passed, %d failed (%llu calls counted)\n", passed, failed, (unsigned long long)bt_fortran_calls());
    return failed != 0;
}
