/* A program on a library of several configurations: prints which one it runs (bt_config()
   and the fingerprint in bt_config_json()) and checks the answers of the entry points that
   forward to it (bt_?gemm in both layouts and every transpose, cblas_dgemm, dgemm_, a plan,
   a strided batch, SpMV and the transpose of a CSR matrix) against plain loops.
   Prints "multi harness: N passed, M failed"; exits non-zero on a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

void cblas_dgemm(int layout, int transa, int transb, int m, int n, int k, double alpha, const double *a, int lda,
                 const double *b, int ldb, double beta, double *c, int ldc);
void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c, const int *ldc);

static int passed, failed;

static void expect(int ok, const char *what)
{
    if (ok) passed++; else { failed++; printf("FAILED: %s\n", what); }
}

static double rnd(void) { return (double)rand() / RAND_MAX - 0.5; }

/* C = alpha op(A) op(B) + beta C, column-major indices after the layout swap. */
static void reference(int row, int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                      const double *b, int ldb, double beta, double *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double x = row ? (ta ? a[p * lda + i] : a[i * lda + p]) : (ta ? a[i * lda + p] : a[p * lda + i]);
                double y = row ? (tb ? b[j * ldb + p] : b[p * ldb + j]) : (tb ? b[p * ldb + j] : b[j * ldb + p]);
                s += x * y;
            }
            double *cij = row ? &c[i * ldc + j] : &c[j * ldc + i];
            *cij = alpha * s + (beta == 0 ? 0 : beta * *cij);
        }
}

static double maxdiff(const double *x, const double *y, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs(x[i] - y[i]));
    return d;
}

static void gemms(void)
{
    const int shapes[][3] = { { 1, 1, 1 }, { 7, 5, 3 }, { 33, 17, 29 }, { 64, 70, 65 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int row = 0; row < 2; row++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], ld = 80;
                    double *a = malloc(sizeof(double) * ld * ld), *b = malloc(sizeof(double) * ld * ld);
                    double *c = malloc(sizeof(double) * ld * ld), *r = malloc(sizeof(double) * ld * ld);
                    float *af = malloc(sizeof(float) * ld * ld), *bf = malloc(sizeof(float) * ld * ld), *cf = malloc(sizeof(float) * ld * ld);
                    for (int i = 0; i < ld * ld; i++) {
                        a[i] = rnd(); b[i] = rnd(); c[i] = r[i] = rnd();
                        af[i] = (float)a[i]; bf[i] = (float)b[i]; cf[i] = (float)c[i];
                    }
                    char what[96];
                    snprintf(what, sizeof what, "bt_dgemm %dx%dx%d %s %c%c", m, n, k, row ? "row" : "col", ta ? 'T' : 'N', tb ? 'T' : 'N');
                    int st = bt_dgemm(row ? 101 : 102, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 0.75, a, ld, b, ld, -0.5, c, ld);
                    reference(row, ta, tb, m, n, k, 0.75, a, ld, b, ld, -0.5, r, ld);
                    expect(st == BT_OK && maxdiff(c, r, (size_t)ld * ld) < 1e-12 * (k + 1), what);
                    snprintf(what, sizeof what, "bt_sgemm %dx%dx%d %s %c%c", m, n, k, row ? "row" : "col", ta ? 'T' : 'N', tb ? 'T' : 'N');
                    st = bt_sgemm(row ? 101 : 102, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 0.75f, af, ld, bf, ld, -0.5f, cf, ld);
                    double worst = 0;
                    for (int i = 0; i < ld * ld; i++) worst = fmax(worst, fabs((double)cf[i] - r[i]));
                    expect(st == BT_OK && worst < 1e-5 * (k + 1), what);
                    free(a); free(b); free(c); free(r); free(af); free(bf); free(cf);
                }
}

static void other_entries(void)
{
    enum { M = 37, N = 23, K = 41, B = 5 };
    double a[M * K * B], b[K * N * B], c[M * N * B], r[M * N * B];
    for (int i = 0; i < M * K * B; i++) a[i] = rnd();
    for (int i = 0; i < K * N * B; i++) b[i] = rnd();
    for (int i = 0; i < M * N * B; i++) c[i] = r[i] = rnd();
    cblas_dgemm(102, 111, 111, M, N, K, 1.0, a, M, b, K, 1.0, c, M);
    reference(0, 0, 0, M, N, K, 1.0, a, M, b, K, 1.0, r, M);
    expect(maxdiff(c, r, M * N) < 1e-12 * K, "cblas_dgemm");
    const int m = M, n = N, k = K;
    const double one = 1, zero = 0;
    dgemm_("T", "N", &m, &n, &k, &one, a, &k, b, &k, &zero, c, &m);
    reference(0, 1, 0, M, N, K, 1.0, a, K, b, K, 0.0, r, M);
    expect(maxdiff(c, r, M * N) < 1e-12 * K, "dgemm_");
    int status = -1;
    bt_gemm_plan *plan = bt_dgemm_plan(102, 111, 112, M, N, K, 2.0, M, N, 0.0, M, 0, &status);
    expect(plan && status == BT_OK, "bt_dgemm_plan");
    if (plan) {
        expect(bt_dgemm_execute(plan, a, b, c) == BT_OK, "bt_dgemm_execute status");
        reference(0, 0, 1, M, N, K, 2.0, a, M, b, N, 0.0, r, M);
        expect(maxdiff(c, r, M * N) < 1e-12 * K, "bt_dgemm_execute");
        bt_plan_destroy(plan);
    }
    expect(bt_dgemm_batch_strided(102, 111, 111, M, N, K, 1.0, a, M, M * K, b, K, K * N, 0.0, c, M, M * N, B) == BT_OK, "batch status");
    for (int p = 0; p < B; p++) reference(0, 0, 0, M, N, K, 1.0, a + p * M * K, M, b + p * K * N, K, 0.0, r + p * M * N, M);
    expect(maxdiff(c, r, M * N * B) < 1e-12 * K, "bt_dgemm_batch_strided");
}

static void sparse(void)
{
    /* A 4 x 5 matrix with an empty row. */
    const int64_t rp[] = { 0, 2, 2, 5, 6 }, ci[] = { 0, 3, 1, 2, 4, 4 };
    const double v[] = { 1, 2, 3, 4, 5, 6 }, x[] = { 1, -1, 2, 0.5, 3 };
    double y[] = { 1, 1, 1, 1 }, want[4];
    for (int i = 0; i < 4; i++) {
        double s = 0;
        for (int64_t p = rp[i]; p < rp[i + 1]; p++) s += v[p] * x[ci[p]];
        want[i] = 2 * s + 0.5 * y[i];
    }
    expect(bt_dcsr_spmv(4, 5, rp, ci, v, 2.0, x, 0.5, y) == BT_OK && maxdiff(y, want, 4) < 1e-14, "bt_dcsr_spmv");
    int64_t trp[6], tci[6];
    double tv[6];
    const int64_t wrp[] = { 0, 1, 2, 3, 4, 6 }, wci[] = { 0, 2, 2, 0, 2, 3 };
    const double wv[] = { 1, 3, 4, 2, 5, 6 };
    int ok = bt_dcsr_transpose(4, 5, rp, ci, v, trp, tci, tv) == BT_OK;
    for (int i = 0; i < 6 && ok; i++) ok = trp[i] == wrp[i] && tci[i] == wci[i] && tv[i] == wv[i];
    expect(ok, "bt_dcsr_transpose");
}

int main(void)
{
    const char *json = bt_config_json(), *fp = strstr(json, "\"fingerprint\" : \"");
    printf("config: %s\n", bt_config());
    if (fp) printf("json fingerprint: %.*s\n", (int)strcspn(fp + 17, "\""), fp + 17);
    gemms();
    other_entries();
    sparse();
    printf("multi harness: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
