/* Reference LAPACK's dgetrf_ and dpotrf_ (which call dgemm_) on an n x n matrix, checked by
   their residuals, for the interposition tests: run with libkernels.so linked in front of the
   BLAS or LD_PRELOADed, the tuned dgemm_ serves LAPACK's calls. Prints the residual ratios
   ||P A - L U|| / (n ||A|| eps) and ||A - L L^T|| / (n ||A|| eps), and how many Fortran GEMM
   calls the tuned library served ("none" when it is not loaded).
   Usage: lapack_interpose [n] [seconds: time dgetrf_ only, the best of its runs within that
   time, and check it on a random vector] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (double)(rng >> 11) * 0x1p-53 - 0.5; }

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec; }

static double frob(const double *a, long n) { double s = 0; for (long i = 0; i < n * n; i++) s += a[i] * a[i]; return sqrt(s); }

int main(int argc, char **argv)
{
    const int n = argc > 1 ? atoi(argv[1]) : 300;
    const double seconds = argc > 2 ? atof(argv[2]) : 0;
    const long nn = (long)n * n;
    double *a = malloc(sizeof(double) * nn), *f = malloc(sizeof(double) * nn), *r = malloc(sizeof(double) * nn);
    int *ipiv = malloc(sizeof(int) * n), info = 0;
    for (long i = 0; i < nn; i++) a[i] = urand();
    if (seconds > 0) {
        double best = 1e30;
        const double start = now();
        int runs = 0;
        while (runs < 2 || (now() - start < seconds && runs < 50)) {
            memcpy(f, a, sizeof(double) * nn);
            const double t0 = now();
            dgetrf_(&n, &n, f, &n, ipiv, &info);
            const double t = now() - t0;
            if (t < best) best = t;
            runs++;
        }
        /* The residual on a random vector, O(n^2): ||P A x - L (U x)|| / (n ||A|| ||x|| eps). */
        double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n), *z = malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++) x[i] = urand();
        for (int i = 0; i < n; i++) { double t = 0; for (int j = i; j < n; j++) t += f[i + (long)j * n] * x[j]; y[i] = t; }
        for (int i = 0; i < n; i++) { double t = y[i]; for (int j = 0; j < i; j++) t += f[i + (long)j * n] * y[j]; z[i] = t; }
        for (int i = 0; i < n; i++) { double t = 0; for (int j = 0; j < n; j++) t += a[i + (long)j * n] * x[j]; y[i] = t; }
        for (int i = 0; i < n; i++) if (ipiv[i] - 1 != i) { const double t = y[i]; y[i] = y[ipiv[i] - 1]; y[ipiv[i] - 1] = t; }
        double rn = 0, xn = 0;
        for (int i = 0; i < n; i++) { rn += (y[i] - z[i]) * (y[i] - z[i]); xn += x[i] * x[i]; }
        const double ratio = sqrt(rn) / (n * frob(a, n) * sqrt(xn) * DBL_EPSILON);
        printf("dgetrf n=%d: best %.4f s of %d runs, %.2f GFLOPS (info %d, residual %.3g)\n", n, best, runs,
               2.0 / 3.0 * n * (double)n * n / best / 1e9, info, ratio);
        free(x); free(y); free(z);
        return info == 0 && ratio < 30 ? 0 : 1;
    }
    /* LU: P A = L U; the residual ||P A - L U||_F. */
    memcpy(f, a, sizeof(double) * nn);
    dgetrf_(&n, &n, f, &n, ipiv, &info);
    if (info != 0) { printf("dgetrf info %d\n", info); return 1; }
    memcpy(r, a, sizeof(double) * nn);
    for (int i = 0; i < n; i++) /* row interchanges, in order */
        if (ipiv[i] - 1 != i)
            for (int j = 0; j < n; j++) { const double t = r[i + (long)j * n]; r[i + (long)j * n] = r[ipiv[i] - 1 + (long)j * n]; r[ipiv[i] - 1 + (long)j * n] = t; }
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double s = 0;
            const int lim = i < j ? i : j;
            for (int p = 0; p <= lim; p++) s += (p == i ? 1.0 : f[i + (long)p * n]) * f[p + (long)j * n];
            r[i + (long)j * n] -= s;
        }
    const double lu = frob(r, n) / (n * frob(a, n) * DBL_EPSILON);
    /* Cholesky of A A^T + n I: A = L L^T; the residual ||A - L L^T||_F. */
    double *s = malloc(sizeof(double) * nn);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double t = i == j ? n : 0;
            for (int p = 0; p < n; p++) t += a[i + (long)p * n] * a[j + (long)p * n];
            s[i + (long)j * n] = t;
        }
    memcpy(f, s, sizeof(double) * nn);
    dpotrf_("L", &n, f, &n, &info, 1);
    if (info != 0) { printf("dpotrf info %d\n", info); return 1; }
    for (int j = 0; j < n; j++)
        for (int i = j; i < n; i++) {
            double t = 0;
            for (int p = 0; p <= j; p++) t += f[i + (long)p * n] * f[j + (long)p * n];
            r[i + (long)j * n] = s[i + (long)j * n] - t;
            if (i != j) r[j + (long)i * n] = r[i + (long)j * n];
        }
    const double ch = frob(r, n) / (n * frob(s, n) * DBL_EPSILON);
    uint64_t (*calls)(void) = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "bt_fortran_calls");
    char served[32] = "none";
    if (calls) snprintf(served, sizeof served, "%llu", (unsigned long long)calls());
    printf("lapack n=%d: getrf residual %.3f, potrf residual %.3f (LAPACK's threshold 30); tuned Fortran GEMM calls: %s\n", n, lu, ch, served);
    free(a); free(f); free(r); free(s); free(ipiv);
    return lu < 30 && ch < 30 ? 0 : 1;
}
