/* Plans and batches of a generated library against a naive reference, built with kernels.c
   under -fsanitize=address,undefined by the test suite. Every operand has guard zones that
   must stay untouched; every refusal must leave C untouched and name its argument.
   Prints "batch: N passed, N failed" and exits non-zero on any failure. */
#include "kernels.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cblas_sgemm_batch_strided(int, int, int, int, int, int, float, const float *, int, int, const float *, int, int,
                               float, float *, int, int, int);
void cblas_dgemm_batch(int, const int *, const int *, const int *, const int *, const int *, const double *,
                       const double **, const int *, const double **, const int *, const double *, double **,
                       const int *, int, const int *);

static int passed, failed;
#define GUARD 32
#define SENTINEL 1234.5

static void check(int ok, const char *what, long a, long b, long c)
{
    if (ok) { passed++; return; }
    failed++;
    if (failed <= 25) fprintf(stderr, "FAIL %s (%ld, %ld, %ld) last error: %s\n", what, a, b, c, bt_last_error());
}

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (double)(rng >> 11) * 0x1p-53 - 0.5; }

/* One GEMM problem's storage (sizes as the caller passes them). */
typedef struct { int lay, ta, tb; long m, n, k, lda, ldb, ldc, asz, bsz, csz; } problem;

static problem make(int lay, int ta, int tb, long m, long n, long k, long pad)
{
    problem p = { lay, ta, tb, m, n, k, 0, 0, 0, 0, 0, 0 };
    const int row = lay == 101, tA = ta != 111, tB = tb != 111;
    const long ar = tA ? k : m, ac = tA ? m : k, br = tB ? n : k, bc = tB ? k : n;
    p.lda = (row ? ac : ar) + pad; if (p.lda < 1) p.lda = 1;
    p.ldb = (row ? bc : br) + pad; if (p.ldb < 1) p.ldb = 1;
    p.ldc = (row ? n : m) + pad; if (p.ldc < 1) p.ldc = 1;
    p.asz = (row ? ar : ac) * p.lda; p.bsz = (row ? br : bc) * p.ldb; p.csz = (row ? m : n) * p.ldc;
    return p;
}

static long at(int row, long i, long j, long ld) { return row ? i * ld + j : i + j * ld; }

/* C = alpha op(A) op(B) + beta C in double precision (beta == 0 ignores C). */
static void reference(const problem *p, double alpha, const double *a, const double *b, double beta, double *c)
{
    const int row = p->lay == 101, tA = p->ta != 111, tB = p->tb != 111;
    for (long i = 0; i < p->m; i++)
        for (long j = 0; j < p->n; j++) {
            double s = 0;
            for (long q = 0; q < p->k; q++)
                s += a[tA ? at(row, q, i, p->lda) : at(row, i, q, p->lda)] * b[tB ? at(row, j, q, p->ldb) : at(row, q, j, p->ldb)];
            double *cij = &c[at(row, i, j, p->ldc)];
            *cij = alpha * s + (beta == 0 ? 0 : beta * *cij);
        }
}

/* Buffers with guard zones before and after: SENTINEL everywhere, the body random. */
#define DEFINE_TYPE(T, P)                                                                              \
static T *P##_alloc(long count, int fill_nan)                                                          \
{                                                                                                      \
    T *x = (T *)malloc(sizeof(T) * (size_t)(count + 2 * GUARD));                                       \
    for (long i = 0; i < count + 2 * GUARD; i++) x[i] = (T)SENTINEL;                                   \
    for (long i = 0; i < count; i++) x[GUARD + i] = fill_nan ? (T)NAN : (T)urand();                     \
    return x + GUARD;                                                                                  \
}                                                                                                      \
static void P##_free(T *x) { free(x - GUARD); }                                                        \
static int P##_guards_ok(const T *x, long count)                                                       \
{                                                                                                      \
    for (long i = 1; i <= GUARD; i++) if (x[-i] != (T)SENTINEL || x[count + i - 1] != (T)SENTINEL) return 0; \
    return 1;                                                                                          \
}                                                                                                      \
/* Whether c (computed) matches the reference from c0 (its value before), body and padding, and    \
   (guards: operands allocated alone) the guard zones are intact. */                                 \
static int P##_matches(const problem *p, T alpha, const T *a, const T *b, T beta, const T *c0, const T *c, double eps, int guards) \
{                                                                                                      \
    double *ad = malloc(sizeof(double) * (size_t)(p->asz + 1)), *bd = malloc(sizeof(double) * (size_t)(p->bsz + 1)); \
    double *cd = malloc(sizeof(double) * (size_t)(p->csz + 1));                                        \
    for (long i = 0; i < p->asz; i++) ad[i] = a[i];                                                    \
    for (long i = 0; i < p->bsz; i++) bd[i] = b[i];                                                    \
    for (long i = 0; i < p->csz; i++) cd[i] = c0[i];                                                   \
    if (p->k > 0 && alpha != 0) reference(p, alpha, ad, bd, beta, cd);                                 \
    else for (long i = 0; i < p->m; i++) for (long j = 0; j < p->n; j++) {                             \
        double *x = &cd[at(p->lay == 101, i, j, p->ldc)]; *x = beta == 0 ? 0 : beta * *x; }             \
    int ok = 1;                                                                                        \
    const double tol = eps * (double)(p->k + 2) * 4;                                                   \
    for (long i = 0; i < p->csz && ok; i++) {                                                          \
        const double d = fabs((double)c[i] - cd[i]);                                                   \
        if (!(d <= tol * (1 + fabs(cd[i]))) && !(isnan(cd[i]) && isnan(c[i]))) ok = 0; /* padding: NaN kept */ \
    }                                                                                                  \
    free(ad); free(bd); free(cd);                                                                      \
    return ok && (!guards || (P##_guards_ok(a, p->asz) && P##_guards_ok(b, p->bsz) && P##_guards_ok(c, p->csz))); \
}
DEFINE_TYPE(float, f)
DEFINE_TYPE(double, d)

static const int layouts[2] = { 102, 101 }, transes[3] = { 111, 112, 113 };

/* Plans: every layout, transpose and scalar kind on shapes of every class, executed twice on
   different operands, against the reference. */
static void plans(void)
{
    const long shapes[][3] = { { 1, 1, 1 }, { 7, 5, 3 }, { 33, 17, 9 }, { 0, 4, 4 }, { 5, 3, 0 }, { 130, 70, 40 }, { 300, 260, 150 }, { 9, 700, 20 } };
    const double scalars[][2] = { { 1.5, 0 }, { -1, 0.5 }, { 0, 2 }, { 1, 1 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int l = 0; l < 2; l++) for (int x = 0; x < 3; x++) for (int y = 0; y < 3; y++) {
            const size_t sc = (s + (size_t)l + (size_t)x + (size_t)y) % 4;
            const problem p = make(layouts[l], transes[x], transes[y], shapes[s][0], shapes[s][1], shapes[s][2], (long)(s % 3));
            const int threads = (int)((s + (size_t)y) % 3);
            int st = -1;
            bt_gemm_plan *ps = bt_sgemm_plan(p.lay, p.ta, p.tb, p.m, p.n, p.k, (float)scalars[sc][0], p.lda, p.ldb, (float)scalars[sc][1], p.ldc, threads, &st);
            bt_gemm_plan *pd = bt_dgemm_plan(p.lay, p.ta, p.tb, p.m, p.n, p.k, scalars[sc][0], p.lda, p.ldb, scalars[sc][1], p.ldc, threads, NULL);
            check(ps && pd && st == BT_OK, "plan created", p.m, p.n, p.k);
            if (!ps || !pd) { bt_plan_destroy(ps); bt_plan_destroy(pd); continue; }
            for (int round = 0; round < 2; round++) {
                const int nan_c = scalars[sc][1] == 0;
                float *a = f_alloc(p.asz, 0), *b = f_alloc(p.bsz, 0), *c = f_alloc(p.csz, nan_c), *c0 = f_alloc(p.csz, 0);
                memcpy(c0, c, sizeof(float) * (size_t)p.csz);
                check(bt_sgemm_execute(ps, a, b, c) == BT_OK, "sgemm execute", p.m, p.n, p.k);
                check(f_matches(&p, (float)scalars[sc][0], a, b, (float)scalars[sc][1], c0, c, 6e-8, 1), "sgemm plan result", p.m, p.n, p.k);
                f_free(a); f_free(b); f_free(c); f_free(c0);
                double *ad = d_alloc(p.asz, 0), *bd = d_alloc(p.bsz, 0), *cd = d_alloc(p.csz, nan_c), *cd0 = d_alloc(p.csz, 0);
                memcpy(cd0, cd, sizeof(double) * (size_t)p.csz);
                check(bt_dgemm_execute(pd, ad, bd, cd) == BT_OK, "dgemm execute", p.m, p.n, p.k);
                check(d_matches(&p, scalars[sc][0], ad, bd, scalars[sc][1], cd0, cd, 1.2e-16, 1), "dgemm plan result", p.m, p.n, p.k);
                d_free(ad); d_free(bd); d_free(cd); d_free(cd0);
            }
            bt_plan_destroy(ps);
            bt_plan_destroy(pd);
        }
    bt_plan_destroy(NULL);
}

/* Refusals: a NULL plan with the status, no write to C, the argument named. */
static void plan_refusals(void)
{
    int st = BT_OK;
    check(!bt_sgemm_plan(100, 111, 111, 4, 4, 4, 1, 4, 4, 0, 4, 0, &st) && st == BT_EINVAL, "bad layout refused", 0, 0, 0);
    check(strstr(bt_last_error(), "layout") != NULL, "bad layout named", 0, 0, 0);
    check(!bt_sgemm_plan(102, 111, 111, 4, 4, 4, 1, 3, 4, 0, 4, 0, &st) && st == BT_EINVAL, "small lda refused", 0, 0, 0);
    check(strstr(bt_last_error(), "lda") != NULL, "small lda named", 0, 0, 0);
    check(!bt_dgemm_plan(102, 111, 111, -1, 4, 4, 1, 4, 4, 0, 4, 0, &st) && st == BT_EINVAL, "negative m refused", 0, 0, 0);
    check(!bt_dgemm_plan(102, 111, 111, 4, 4, 4, 1, 4, 4, 0, 4, -1, &st) && st == BT_EINVAL, "negative threads refused", 0, 0, 0);
    check(strstr(bt_last_error(), "threads") != NULL, "threads named", 0, 0, 0);
    check(!bt_dgemm_plan(102, 111, 111, 4, (int64_t)1 << 62, 4, 1, 4, 4, 0, 4, 0, &st) && st == BT_EOVERFLOW, "overflowing span refused", 0, 0, 0);
    bt_gemm_plan *fine = bt_sgemm_plan(102, 111, 111, 4, 4, 4, 1, 4, 4, 0, 4, 0, NULL);
    check(fine != NULL, "NULL status accepted", 0, 0, 0);
    bt_plan_destroy(fine);

    const problem p = make(102, 111, 111, 6, 5, 4, 0);
    bt_gemm_plan *ps = bt_sgemm_plan(102, 111, 111, 6, 5, 4, 1, p.lda, p.ldb, 0, p.ldc, 1, &st);
    bt_gemm_plan *pd = bt_dgemm_plan(102, 111, 111, 6, 5, 4, 1, p.lda, p.ldb, 0, p.ldc, 1, &st);
    float *a = f_alloc(p.asz, 0), *b = f_alloc(p.bsz, 0), *c = f_alloc(p.csz, 0), *c0 = f_alloc(p.csz, 0);
    memcpy(c0, c, sizeof(float) * (size_t)p.csz);
    double *ad = d_alloc(p.asz, 0), *bd = d_alloc(p.bsz, 0), *cd = d_alloc(p.csz, 0);
    check(bt_sgemm_execute(NULL, a, b, c) == BT_EINVAL, "NULL plan refused", 0, 0, 0);
    check(bt_sgemm_execute(pd, a, b, c) == BT_EINVAL, "f64 plan refused by sgemm_execute", 0, 0, 0);
    check(bt_dgemm_execute(ps, ad, bd, cd) == BT_EINVAL, "f32 plan refused by dgemm_execute", 0, 0, 0);
    check(bt_sgemm_execute(ps, NULL, b, c) == BT_EINVAL, "NULL a refused", 0, 0, 0);
    check(bt_sgemm_execute(ps, a, NULL, c) == BT_EINVAL, "NULL b refused", 0, 0, 0);
    check(bt_sgemm_execute(ps, a, b, NULL) == BT_EINVAL, "NULL c refused", 0, 0, 0);
    check(bt_sgemm_execute(ps, (const float *)(UINTPTR_MAX - 15), b, c) == BT_EOVERFLOW, "a past the address space refused", 0, 0, 0);
    check(memcmp(c, c0, sizeof(float) * (size_t)p.csz) == 0 && f_guards_ok(c, p.csz), "C untouched by refusals", 0, 0, 0);
    f_free(a); f_free(b); f_free(c); f_free(c0);
    d_free(ad); d_free(bd); d_free(cd);
    bt_plan_destroy(ps);
    bt_plan_destroy(pd);
}

/* One plan executed by several threads at once, each on its own operands. */
typedef struct { const bt_gemm_plan *plan; problem p; int ok; } shared_run;

static void *run_shared(void *arg)
{
    shared_run *r = (shared_run *)arg;
    r->ok = 1;
    for (int i = 0; i < 20 && r->ok; i++) {
        double *a = d_alloc(r->p.asz, 0), *b = d_alloc(r->p.bsz, 0), *c = d_alloc(r->p.csz, 0), *c0 = d_alloc(r->p.csz, 0);
        memcpy(c0, c, sizeof(double) * (size_t)r->p.csz);
        r->ok = bt_dgemm_execute(r->plan, a, b, c) == BT_OK && d_matches(&r->p, 0.5, a, b, 2, c0, c, 1.2e-16, 1);
        d_free(a); d_free(b); d_free(c); d_free(c0);
    }
    return NULL;
}

static void plans_shared(void)
{
    const problem p = make(101, 112, 111, 37, 29, 23, 2);
    bt_gemm_plan *plan = bt_dgemm_plan(p.lay, p.ta, p.tb, p.m, p.n, p.k, 0.5, p.lda, p.ldb, 2, p.ldc, 1, NULL);
    shared_run runs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) { runs[i].plan = plan; runs[i].p = p; pthread_create(&th[i], NULL, run_shared, &runs[i]); }
    for (int i = 0; i < 4; i++) { pthread_join(th[i], NULL); check(runs[i].ok, "plan shared by threads", i, 0, 0); }
    bt_plan_destroy(plan);
}

/* Strided batches: strides of any sign (0 for a shared A), every layout and transpose,
   against the reference problem by problem. */
static void strided(void)
{
    const long shapes[][4] = { { 8, 8, 8, 5 }, { 3, 7, 2, 9 }, { 17, 9, 33, 4 }, { 4, 4, 0, 3 }, { 0, 3, 3, 2 }, { 2, 2, 2, 0 }, { 16, 16, 16, 300 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int l = 0; l < 2; l++) for (int x = 0; x < 2; x++) {
            const problem p = make(layouts[l], transes[x], transes[(size_t)x + s % 2], shapes[s][0], shapes[s][1], shapes[s][2], (long)(s % 2));
            const long batch = shapes[s][3];
            const long sa = s % 3 == 0 ? 0 : p.asz + 3, sb = -(p.bsz + 1), sc = p.csz + (long)s;
            const long na = (batch > 0 ? batch - 1 : 0) * sa + p.asz, nb = (batch > 0 ? batch - 1 : 0) * -sb + p.bsz, nc = (batch > 0 ? batch - 1 : 0) * sc + p.csz;
            const double alpha = s % 4 == 3 ? 0 : 1.25, beta = l ? 0 : -0.5;
            float *a = f_alloc(na, 0), *b = f_alloc(nb, 0), *c = f_alloc(nc, beta == 0), *c0 = f_alloc(nc, 0);
            memcpy(c0, c, sizeof(float) * (size_t)nc);
            const float *b_first = b + nb - p.bsz; /* negative stride: the first problem's B is the last in memory */
            check(bt_sgemm_batch_strided(p.lay, p.ta, p.tb, p.m, p.n, p.k, (float)alpha, a, p.lda, sa, b_first, p.ldb, sb,
                                         (float)beta, c, p.ldc, sc, batch) == BT_OK, "sgemm strided status", p.m, p.n, batch);
            for (long i = 0; i < batch; i++) {
                problem q = p;
                check(f_matches(&q, (float)alpha, a + i * sa, b_first + i * sb, (float)beta, c0 + i * sc, c + i * sc, 6e-8, 0), "sgemm strided result", p.m, p.n, i);
            }
            check(f_guards_ok(c, nc) && f_guards_ok(a, na) && f_guards_ok(b, nb), "strided guards", p.m, p.n, batch);
            f_free(a); f_free(b); f_free(c); f_free(c0);
        }

    /* Refusals, with C untouched. */
    const problem p = make(102, 111, 111, 4, 4, 4, 0);
    float *a = f_alloc(p.asz * 3, 0), *b = f_alloc(p.bsz * 3, 0), *c = f_alloc(p.csz * 3, 0), *c0 = f_alloc(p.csz * 3, 0);
    memcpy(c0, c, sizeof(float) * (size_t)p.csz * 3);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 4, 16, b, 4, 16, 0, c, 4, 15, 3) == BT_EINVAL
          && strstr(bt_last_error(), "stride_c"), "overlapping C refused", 0, 0, 0);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 4, 16, b, 4, 16, 0, c, 4, -15, 3) == BT_EINVAL, "overlapping C (negative) refused", 0, 0, 0);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 4, 16, b, 4, 16, 0, c, 4, 16, -1) == BT_EINVAL
          && strstr(bt_last_error(), "batch"), "negative batch refused", 0, 0, 0);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 4, (int64_t)1 << 61, b, 4, 16, 0, c, 4, 16, 3) == BT_EOVERFLOW
          && strstr(bt_last_error(), "stride_a"), "overflowing A span refused", 0, 0, 0);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 4, 16, b, 4, 16, 0, c, 4, (int64_t)1 << 61, 3) == BT_EOVERFLOW, "overflowing C span refused", 0, 0, 0);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, NULL, 4, 16, b, 4, 16, 0, c, 4, 16, 3) == BT_EINVAL, "NULL a refused", 0, 0, 0);
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 3, 16, b, 4, 16, 0, c, 4, 16, 3) == BT_EINVAL
          && strstr(bt_last_error(), "lda"), "small lda refused", 0, 0, 0);
    check(memcmp(c, c0, sizeof(float) * (size_t)p.csz * 3) == 0 && f_guards_ok(c, p.csz * 3), "C untouched by strided refusals", 0, 0, 0);
    /* alpha == 0: A and B are not read and may be NULL. */
    check(bt_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 0, NULL, 4, 16, NULL, 4, 16, 2, c, 4, 16, 3) == BT_OK, "alpha 0 without A and B", 0, 0, 0);
    check(c[5] == 2 * c0[5] && c[37] == 2 * c0[37], "alpha 0 scales C", 0, 0, 0);
    /* MKL's name: the same computation. */
    memcpy(c0, c, sizeof(float) * (size_t)p.csz * 3);
    cblas_sgemm_batch_strided(102, 111, 111, 4, 4, 4, 1, a, 4, 16, b, 4, 16, 1, c, 4, 16, 3);
    for (int i = 0; i < 3; i++) check(f_matches(&p, 1, a + 16 * i, b + 16 * i, 1, c0 + 16 * i, c + 16 * i, 6e-8, 0), "cblas_sgemm_batch_strided", i, 0, 0);
    f_free(a); f_free(b); f_free(c); f_free(c0);
}

/* Grouped batches: groups of different shapes, an empty group and zero-sized problems. */
static void grouped(void)
{
    enum { G = 5 };
    const int ta[G] = { 111, 112, 111, 113, 111 }, tb[G] = { 111, 111, 112, 112, 111 };
    const int64_t m[G] = { 5, 8, 0, 33, 3 }, n[G] = { 7, 8, 4, 2, 3 }, k[G] = { 3, 8, 4, 17, 0 }, size[G] = { 3, 0, 2, 4, 2 };
    const double alpha[G] = { 1, -2, 1, 0.5, 1 }, beta[G] = { 0, 1, 0, 0.25, 3 };
    for (int l = 0; l < 2; l++) {
        problem ps[G];
        int64_t lda[G], ldb[G], ldc[G];
        int ilda[G], ildb[G], ildc[G], im[G], in[G], ik[G], isize[G];
        long total = 0;
        for (int g = 0; g < G; g++) {
            ps[g] = make(layouts[l], ta[g], tb[g], m[g], n[g], k[g], g % 2);
            lda[g] = ilda[g] = (int)ps[g].lda; ldb[g] = ildb[g] = (int)ps[g].ldb; ldc[g] = ildc[g] = (int)ps[g].ldc;
            im[g] = (int)m[g]; in[g] = (int)n[g]; ik[g] = (int)k[g]; isize[g] = (int)size[g];
            total += size[g];
        }
        double *a[16], *b[16], *c[16], *c0[16];
        const problem *of[16];
        for (int g = 0, i = 0; g < G; g++)
            for (int j = 0; j < size[g]; j++, i++) {
                of[i] = &ps[g];
                a[i] = d_alloc(ps[g].asz, 0); b[i] = d_alloc(ps[g].bsz, 0);
                c[i] = d_alloc(ps[g].csz, beta[g] == 0); c0[i] = d_alloc(ps[g].csz, 0);
                memcpy(c0[i], c[i], sizeof(double) * (size_t)ps[g].csz);
            }
        double alphas[G], betas[G];
        memcpy(alphas, alpha, sizeof alphas); memcpy(betas, beta, sizeof betas);
        if (l == 0) {
            check(bt_dgemm_batch(layouts[l], ta, tb, m, n, k, alphas, (const double *const *)a, lda, (const double *const *)b, ldb,
                                 betas, c, ldc, G, size) == BT_OK, "grouped status", l, 0, 0);
        } else {
            cblas_dgemm_batch(layouts[l], ta, tb, im, in, ik, alphas, (const double **)a, ilda, (const double **)b, ildb,
                              betas, c, ildc, G, isize);
        }
        for (int g = 0, i = 0; g < G; g++)
            for (int j = 0; j < size[g]; j++, i++)
                check(d_matches(of[i], alpha[g], a[i], b[i], beta[g], c0[i], c[i], 1.2e-16, 1), l ? "cblas_dgemm_batch result" : "grouped result", g, j, l);

        /* Refusals: nothing written, the group named. */
        for (int i = 0; i < total; i++) memcpy(c0[i], c[i], sizeof(double) * (size_t)of[i]->csz);
        int64_t bad_lda[G];
        memcpy(bad_lda, lda, sizeof bad_lda);
        bad_lda[3] = 1;
        check(bt_dgemm_batch(layouts[l], ta, tb, m, n, k, alphas, (const double *const *)a, bad_lda, (const double *const *)b, ldb,
                             betas, c, ldc, G, size) == BT_EINVAL && strstr(bt_last_error(), "group 3") && strstr(bt_last_error(), "lda"),
              "bad lda in group 3 refused and named", l, 0, 0);
        int64_t bad_size[G];
        memcpy(bad_size, size, sizeof bad_size);
        bad_size[4] = -1;
        check(bt_dgemm_batch(layouts[l], ta, tb, m, n, k, alphas, (const double *const *)a, lda, (const double *const *)b, ldb,
                             betas, c, ldc, G, bad_size) == BT_EINVAL && strstr(bt_last_error(), "group 4"), "negative group size refused", l, 0, 0);
        double *saved = c[6];
        c[6] = NULL;
        check(bt_dgemm_batch(layouts[l], ta, tb, m, n, k, alphas, (const double *const *)a, lda, (const double *const *)b, ldb,
                             betas, c, ldc, G, size) == BT_EINVAL && strstr(bt_last_error(), "group 3"), "NULL c of a problem refused", l, 0, 0);
        c[6] = saved;
        check(bt_dgemm_batch(layouts[l], ta, tb, m, n, k, alphas, (const double *const *)a, lda, (const double *const *)b, ldb,
                             betas, c, ldc, -1, size) == BT_EINVAL, "negative group count refused", l, 0, 0);
        check(bt_dgemm_batch(layouts[l], NULL, tb, m, n, k, alphas, (const double *const *)a, lda, (const double *const *)b, ldb,
                             betas, c, ldc, G, size) == BT_EINVAL, "NULL transa array refused", l, 0, 0);
        check(bt_dgemm_batch(layouts[l], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL) == BT_OK,
              "no groups", l, 0, 0);
        int same = 1;
        for (int i = 0; i < total; i++) same &= memcmp(c0[i], c[i], sizeof(double) * (size_t)of[i]->csz) == 0 && d_guards_ok(c[i], of[i]->csz);
        check(same, "C untouched by grouped refusals", l, 0, 0);
        for (int i = 0; i < total; i++) { d_free(a[i]); d_free(b[i]); d_free(c[i]); d_free(c0[i]); }
    }
}

int main(void)
{
    plans();
    plan_refusals();
    plans_shared();
    strided();
    grouped();
    printf("batch: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
