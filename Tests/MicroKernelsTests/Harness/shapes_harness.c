/* Exact-shape kernels of a generated library against a naive reference, built with kernels.c
   under -fsanitize=address,undefined by the test suite. Each argument names a shape
   ("f32:23x23x23:col:n:t"); the harness runs it and its neighbours (one more row, column or
   K step, which go to the class kernels) through bt_?gemm, cblas_?gemm and a plan, with
   tight and padded leading dimensions and several alpha and beta (beta 0 with NaN in C).
   Guard zones around every operand must stay untouched.
   Prints "shapes: N passed, N failed" and exits non-zero on any failure. */
#include "kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CBLAS drop-ins (declared by <cblas.h>, which the harness does not include). */
void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
void cblas_dgemm(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);

static int passed, failed;
#define GUARD 16
#define SENTINEL 1234.5

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (double)(rng >> 11) * 0x1p-53 - 0.5; }

static long at(int row, long i, long j, long ld) { return row ? i * ld + j : i + j * ld; }

/* One call of shape m x n x k through entry point `via` (0: bt_gemm, 1: cblas, 2: plan). */
static void run(int f64, int row, int ta, int tb, long m, long n, long k, long pad, double alpha, double beta, int via)
{
    const int lay = row ? 101 : 102, tra = ta ? 112 : 111, trb = tb ? 112 : 111;
    const long ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    const long lda = (row ? ac : ar) + pad, ldb = (row ? bc : br) + pad, ldc = (row ? n : m) + pad;
    const long asz = (row ? ar : ac) * lda, bsz = (row ? br : bc) * ldb, csz = (row ? m : n) * ldc;
    double *a = malloc(sizeof(double) * asz), *b = malloc(sizeof(double) * bsz), *c = malloc(sizeof(double) * csz),
           *ref = malloc(sizeof(double) * csz);
    for (long i = 0; i < asz; i++) a[i] = urand();
    for (long i = 0; i < bsz; i++) b[i] = urand();
    for (long i = 0; i < csz; i++) c[i] = beta == 0 ? NAN : urand();
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            double s = 0;
            for (long q = 0; q < k; q++) s += a[ta ? at(row, q, i, lda) : at(row, i, q, lda)] * b[tb ? at(row, j, q, ldb) : at(row, q, j, ldb)];
            const long x = at(row, i, j, ldc);
            ref[x] = alpha * s + (beta == 0 ? 0 : beta * c[x]);
        }
    /* The operands in the dtype, each between guard zones. */
    const size_t es = f64 ? 8 : 4;
    char *A = malloc(es * (asz + 2 * GUARD)), *B = malloc(es * (bsz + 2 * GUARD)), *C = malloc(es * (csz + 2 * GUARD));
#define FILL(P, SRC, N) for (long i = 0; i < (N) + 2 * GUARD; i++) { const double v = i < GUARD || i >= (N) + GUARD ? SENTINEL : SRC[i - GUARD]; \
        if (f64) ((double *)P)[i] = v; else ((float *)P)[i] = (float)v; }
    FILL(A, a, asz) FILL(B, b, bsz) FILL(C, c, csz)
    int st = 0;
    if (f64) {
        const double *pa = (const double *)A + GUARD, *pb = (const double *)B + GUARD;
        double *pc = (double *)C + GUARD;
        if (via == 0) st = bt_dgemm(lay, tra, trb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        else if (via == 1) cblas_dgemm(lay, tra, trb, (int)m, (int)n, (int)k, alpha, pa, (int)lda, pb, (int)ldb, beta, pc, (int)ldc);
        else {
            bt_gemm_plan *p = bt_dgemm_plan(lay, tra, trb, m, n, k, alpha, lda, ldb, beta, ldc, 0, &st);
            if (p) st = bt_dgemm_execute(p, pa, pb, pc);
            bt_plan_destroy(p);
        }
    } else {
        const float *pa = (const float *)A + GUARD, *pb = (const float *)B + GUARD;
        float *pc = (float *)C + GUARD;
        if (via == 0) st = bt_sgemm(lay, tra, trb, m, n, k, (float)alpha, pa, lda, pb, ldb, (float)beta, pc, ldc);
        else if (via == 1) cblas_sgemm(lay, tra, trb, (int)m, (int)n, (int)k, (float)alpha, pa, (int)lda, pb, (int)ldb, (float)beta, pc, (int)ldc);
        else {
            bt_gemm_plan *p = bt_sgemm_plan(lay, tra, trb, m, n, k, (float)alpha, lda, ldb, (float)beta, ldc, 0, &st);
            if (p) st = bt_sgemm_execute(p, pa, pb, pc);
            bt_plan_destroy(p);
        }
    }
    double worst = 0, scale = 0;
    int guards = 1;
    for (long i = 0; i < csz + 2 * GUARD; i++) {
        const double v = f64 ? ((double *)C)[i] : (double)((float *)C)[i];
        if (i < GUARD || i >= csz + GUARD) { guards &= v == SENTINEL; continue; }
        const long x = i - GUARD;
        const long r = row ? x / ldc : x % ldc, col = row ? x % ldc : x / ldc;
        const int inside = row ? (r < m && col < n) : (r < m && col < n);
        const double want = inside ? ref[x] : c[x];
        if (isnan(v) && !isnan(want)) { worst = INFINITY; continue; }
        if (!inside && !(v == (f64 ? want : (double)(float)want) || (isnan(v) && isnan(want)))) { worst = INFINITY; continue; }
        if (inside) { worst = fmax(worst, fabs(v - want)); scale = fmax(scale, fabs(want)); }
    }
    const double tol = (f64 ? 1e-13 : 2e-5) * (double)(k + 2) * fmax(scale, 1);
    const int ok = st == 0 && guards && worst <= tol;
    if (ok) passed++;
    else if (++failed <= 25)
        fprintf(stderr, "FAIL %s %s %c%c %ldx%ldx%ld pad %ld alpha %g beta %g via %d: status %d, guards %d, error %g (tol %g)\n",
                f64 ? "f64" : "f32", row ? "row" : "col", ta ? 't' : 'n', tb ? 't' : 'n', m, n, k, pad, alpha, beta, via, st, guards, worst, tol);
    free(a); free(b); free(c); free(ref); free(A); free(B); free(C);
}

int main(int argc, char **argv)
{
    static const double scalars[][2] = { { 1, 0 }, { -0.5, 2 }, { 2, 1 } };
    for (int i = 1; i < argc; i++) {
        char dt[8], lay[8], ta, tb;
        long m, n, k;
        if (sscanf(argv[i], "%7[^:]:%ldx%ldx%ld:%7[^:]:%c:%c", dt, &m, &n, &k, lay, &ta, &tb) != 7) {
            fprintf(stderr, "bad shape argument %s\n", argv[i]);
            return 2;
        }
        const int f64 = strcmp(dt, "f64") == 0, row = strcmp(lay, "row") == 0;
        const long shapes[4][3] = { { m, n, k }, { m + 1, n, k }, { m, n + 1, k }, { m, n, k + 1 } };
        for (int s = 0; s < 4; s++)
            for (long pad = 0; pad <= 3; pad += 3)
                for (int x = 0; x < 3; x++)
                    for (int via = 0; via < 3; via++)
                        run(f64, row, ta == 't', tb == 't', shapes[s][0], shapes[s][1], shapes[s][2], pad, scalars[x][0], scalars[x][1], via);
    }
    printf("shapes: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
