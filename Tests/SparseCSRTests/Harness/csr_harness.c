/* Sanitizer harness for the generated CSR kernels: built together with kernels.c under
   -fsanitize=address,undefined by the test suite. Every array is allocated to its exact
   size, so a read or write one element out of bounds is reported.
   Runs SpMV (f32, f64; plain and through plans of each index form), SpMM (both layouts) and
   transpose (values and pattern), with 64-bit and 32-bit indices,
   over generated matrices at 1, 2 and 64 threads against naive references; prints "N passed, N failed", exits non-zero on
   any failure. */
#include "kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what, const char *matrix, int threads)
{
    if (ok) { passed++; return; }
    failed++;
    if (failed <= 20) fprintf(stderr, "FAIL %s on %s at %d threads\n", what, matrix, threads);
}

/* The matrix with 64-bit and 32-bit row pointers and column indices. */
typedef struct { const char *name; int64_t m, n, nnz; int64_t *rp, *ci; double *v; int32_t *rp32, *ci32; } csr;

static uint64_t rng_state = 12345;
static uint64_t rnd(void)
{
    rng_state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = rng_state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Row r has len(r) entries at random (unsorted, possibly repeated) columns. */
static csr make(const char *name, int64_t m, int64_t n, int64_t (*len)(int64_t r, int64_t m))
{
    csr a = { name, m, n, 0, malloc(sizeof(int64_t) * (size_t)(m + 1)), NULL, NULL, malloc(sizeof(int32_t) * (size_t)(m + 1)), NULL };
    a.rp[0] = 0;
    for (int64_t r = 0; r < m; r++) a.rp[r + 1] = a.rp[r] + (n > 0 ? len(r, m) : 0);
    a.nnz = a.rp[m];
    a.ci = malloc(sizeof(int64_t) * (size_t)(a.nnz ? a.nnz : 1));
    a.v = malloc(sizeof(double) * (size_t)(a.nnz ? a.nnz : 1));
    for (int64_t p = 0; p < a.nnz; p++) {
        a.ci[p] = (int64_t)(rnd() % (uint64_t)n);
        a.v[p] = (double)(int64_t)(rnd() % 2001 - 1000) / 1000.0;
    }
    a.ci32 = malloc(sizeof(int32_t) * (size_t)(a.nnz ? a.nnz : 1));
    for (int64_t r = 0; r <= m; r++) a.rp32[r] = (int32_t)a.rp[r];
    for (int64_t p = 0; p < a.nnz; p++) a.ci32[p] = (int32_t)a.ci[p];
    return a;
}

static int64_t len_mixed(int64_t r, int64_t m) { (void)m; return r % 5 == 0 ? 0 : (int64_t)(rnd() % 40); }
static int64_t len_huge(int64_t r, int64_t m) { return r == m / 2 ? 5000 : 2; }
static int64_t len_one_row(int64_t r, int64_t m) { (void)r; (void)m; return 3000; }
static int64_t len_one(int64_t r, int64_t m) { (void)m; return r % 3 == 0; }
static int64_t len_zero(int64_t r, int64_t m) { (void)r; (void)m; return 0; }
static int64_t len_twelve(int64_t r, int64_t m) { (void)m; return r % 9 == 4 ? 11 : 12; }
static int64_t len_long(int64_t r, int64_t m) { (void)r; (void)m; return 200 + (int64_t)(rnd() % 100); }

/* Completes a matrix whose a.ci and a.rp hold nnz entries: random values, the 32-bit copies. */
static csr with_values(csr a, int64_t nnz)
{
    a.nnz = nnz;
    a.v = malloc(sizeof(double) * (size_t)(nnz ? nnz : 1));
    a.ci32 = malloc(sizeof(int32_t) * (size_t)(nnz ? nnz : 1));
    for (int64_t p = 0; p < nnz; p++) { a.v[p] = (double)(int64_t)(rnd() % 2001 - 1000) / 1000.0; a.ci32[p] = (int32_t)a.ci[p]; }
    for (int64_t r = 0; r <= a.m; r++) a.rp32[r] = (int32_t)a.rp[r];
    return a;
}

/* Rows of `runs` runs of consecutive columns (lengths 1 to 40, cut at the last column): a
   plan keeps them as runs (one run a row: a start column per row). */
static csr make_runs(const char *name, int64_t m, int64_t n, int runs)
{
    csr a = make(name, m, n, len_zero);
    free(a.ci); free(a.v); free(a.ci32);
    int64_t cap = m * 64 + 1, nnz = 0;
    a.ci = malloc(sizeof(int64_t) * (size_t)cap);
    for (int64_t r = 0; r < m; r++) {
        for (int run = 0; run < runs && n > 0; run++) {
            const int64_t c0 = (int64_t)(rnd() % (uint64_t)n), len = 1 + (int64_t)(rnd() % 40);
            for (int64_t c = c0; c < c0 + len && c < n; c++) a.ci[nnz++] = c;
        }
        a.rp[r + 1] = nnz;
    }
    return with_values(a, nnz);
}

/* A band of half-width w around the diagonal scaled to n / m, with a gap wherever
   (r + c) % 7 == 0: a plan keeps it by diagonals (x read past the band's edge only through
   masks, the chunks at both ends row by row). */
static csr make_band(const char *name, int64_t m, int64_t n, int64_t w)
{
    csr a = make(name, m, n, len_zero);
    free(a.ci); free(a.v); free(a.ci32);
    int64_t nnz = 0;
    a.ci = malloc(sizeof(int64_t) * (size_t)(m * (2 * w + 1) + 1));
    for (int64_t r = 0; r < m; r++) {
        const int64_t d = r * n / m;
        for (int64_t c = d - w; c <= d + w; c++) if (c >= 0 && c < n && (r + c) % 7 != 0) a.ci[nnz++] = c;
        a.rp[r + 1] = nnz;
    }
    return with_values(a, nnz);
}

#define SPMV_CASE(T, FN, EPS, RP, CI)                                                             \
static void FN##_case(const csr *a, int threads, T alpha, T beta)                                   \
{                                                                                                 \
    T *val = malloc(sizeof(T) * (size_t)(a->nnz ? a->nnz : 1));                                   \
    T *x = malloc(sizeof(T) * (size_t)(a->n ? a->n : 1)), *y = malloc(sizeof(T) * (size_t)(a->m ? a->m : 1)); \
    double *ref = malloc(sizeof(double) * (size_t)(a->m ? a->m : 1));                             \
    double *bound = malloc(sizeof(double) * (size_t)(a->m ? a->m : 1));                           \
    for (int64_t p = 0; p < a->nnz; p++) val[p] = (T)a->v[p];                                     \
    for (int64_t j = 0; j < a->n; j++) x[j] = (T)((j * 37 % 101) - 50) / 50;                      \
    for (int64_t r = 0; r < a->m; r++) {                                                          \
        const double y0 = (double)((r * 11 % 13) - 6) / 6;                                        \
        double s = 0, abs_s = 0;                                                                  \
        for (int64_t p = a->rp[r]; p < a->rp[r + 1]; p++) {                                       \
            s += (double)val[p] * (double)x[a->ci[p]];                                            \
            abs_s += fabs((double)val[p] * (double)x[a->ci[p]]);                                  \
        }                                                                                         \
        y[r] = beta == 0 ? (T)NAN : (T)y0;                                                        \
        ref[r] = (double)alpha * s + (beta == 0 ? 0 : (double)beta * (double)(T)y0);              \
        bound[r] = EPS * (double)(a->rp[r + 1] - a->rp[r] + 4) * (fabs((double)alpha) * abs_s + fabs((double)beta * y0)) + 1e-30; \
    }                                                                                             \
    int st = FN(a->m, a->n, a->RP, a->nnz ? a->CI : NULL, a->nnz ? val : NULL, alpha, a->n ? x : NULL, beta, a->m ? y : NULL); \
    int ok = st == BT_OK;                                                                         \
    for (int64_t r = 0; ok && r < a->m; r++) ok = fabs((double)y[r] - ref[r]) <= bound[r];        \
    check(ok, #FN, a->name, threads);                                                             \
    free(val); free(x); free(y); free(ref); free(bound);                                          \
}
SPMV_CASE(float, bt_scsr_spmv, 1.2e-7, rp, ci)
SPMV_CASE(double, bt_dcsr_spmv, 2.3e-16, rp, ci)
SPMV_CASE(float, bt_scsr_spmv_i32, 1.2e-7, rp32, ci32)
SPMV_CASE(double, bt_dcsr_spmv_i32, 2.3e-16, rp32, ci32)

/* Through a plan, with the byte cap given: the caller's arrays as the plain entry point
   takes them, the plan's signature around bt_?csr_plan_spmv. */
static int64_t plan_cap;
static int plan_format; /* the form the plan must take, or 0 */
#define PLAN_SPMV(T, L)                                                                           \
static int bt_##L##csr_planned(int64_t m, int64_t n, const int64_t *rp, const int64_t *ci, const T *val, \
                               T alpha, const T *x, T beta, T *y)                                  \
{                                                                                                 \
    int st = -1;                                                                                  \
    bt_csr_plan *plan = bt_##L##csr_plan(m, n, rp, ci, val, plan_cap, &st);                       \
    if (!plan) return st == BT_OK ? -1 : st;                                                      \
    if (plan_format && bt_csr_plan_format(plan) != plan_format) { bt_csr_plan_destroy(plan); return -2; } \
    st = bt_##L##csr_plan_spmv(plan, alpha, x, beta, y);                                          \
    bt_csr_plan_destroy(plan);                                                                    \
    return st;                                                                                    \
}
PLAN_SPMV(float, s)
PLAN_SPMV(double, d)
SPMV_CASE(float, bt_scsr_planned, 1.2e-7, rp, ci)
SPMV_CASE(double, bt_dcsr_planned, 2.3e-16, rp, ci)

#define TRANSPOSE_CASE(T, FN, IT, RP, CI)                                                         \
static void FN##_case(const csr *a, int threads, int pattern)                                       \
{                                                                                                 \
    const size_t nz = (size_t)(a->nnz ? a->nnz : 1);                                              \
    T *val = malloc(sizeof(T) * nz), *tv = malloc(sizeof(T) * nz), *rv = malloc(sizeof(T) * nz);   \
    IT *trp = malloc(sizeof(IT) * (size_t)(a->n + 1)), *tci = malloc(sizeof(IT) * nz);            \
    int64_t *rrp = calloc((size_t)(a->n + 1), sizeof(int64_t)), *rci = malloc(sizeof(int64_t) * nz); \
    int64_t *next = malloc(sizeof(int64_t) * (size_t)(a->n + 1));                                 \
    for (int64_t p = 0; p < a->nnz; p++) val[p] = (T)a->v[p];                                     \
    /* the reference: a stable counting sort */                                                   \
    for (int64_t p = 0; p < a->nnz; p++) rrp[a->ci[p] + 1]++;                                     \
    for (int64_t j = 0; j < a->n; j++) rrp[j + 1] += rrp[j];                                      \
    memcpy(next, rrp, sizeof(int64_t) * (size_t)(a->n + 1));                                      \
    for (int64_t r = 0; r < a->m; r++)                                                            \
        for (int64_t p = a->rp[r]; p < a->rp[r + 1]; p++) {                                       \
            const int64_t q = next[a->ci[p]]++;                                                   \
            rci[q] = r; rv[q] = val[p];                                                           \
        }                                                                                         \
    int st = FN(a->m, a->n, a->RP, a->nnz ? a->CI : NULL, pattern || !a->nnz ? NULL : val, trp,    \
                a->nnz ? tci : NULL, pattern || !a->nnz ? NULL : tv);                             \
    int ok = st == BT_OK && (pattern || memcmp(tv, rv, sizeof(T) * (size_t)a->nnz) == 0);        \
    for (int64_t j = 0; ok && j <= a->n; j++) ok = trp[j] == rrp[j];                              \
    for (int64_t p = 0; ok && p < a->nnz; p++) ok = tci[p] == rci[p];                             \
    check(ok, pattern ? #FN " (pattern)" : #FN, a->name, threads);                                \
    free(val); free(tv); free(rv); free(trp); free(tci); free(rrp); free(rci); free(next);         \
}
TRANSPOSE_CASE(float, bt_scsr_transpose, int64_t, rp, ci)
TRANSPOSE_CASE(double, bt_dcsr_transpose, int64_t, rp, ci)
TRANSPOSE_CASE(float, bt_scsr_transpose_i32, int32_t, rp32, ci32)
TRANSPOSE_CASE(double, bt_dcsr_transpose_i32, int32_t, rp32, ci32)

/* Y = alpha A X + beta Y in `row`-major or column-major layout, leading dimensions one more
   than needed (the gaps must stay untouched), arrays of their exact span. */
#define SPMM_CASE(T, FN, EPS)                                                                     \
static void FN##_case(const csr *a, int threads, int row, int64_t k, T alpha, T beta)              \
{                                                                                                 \
    const int64_t ldx = (row ? k : a->n) + 1, ldy = (row ? k : a->m) + 1;                        \
    const int64_t xrows = row ? a->n : k, yrows = row ? a->m : k; /* lines of ld elements */     \
    const size_t xn = xrows > 0 ? (size_t)((xrows - 1) * ldx + (row ? k : a->n)) : 1;             \
    const size_t yn = yrows > 0 ? (size_t)((yrows - 1) * ldy + (row ? k : a->m)) : 1;             \
    T *val = malloc(sizeof(T) * (size_t)(a->nnz ? a->nnz : 1));                                   \
    T *x = malloc(sizeof(T) * (xn ? xn : 1)), *y = malloc(sizeof(T) * (yn ? yn : 1)), *y0 = malloc(sizeof(T) * (yn ? yn : 1)); \
    for (int64_t p = 0; p < a->nnz; p++) val[p] = (T)a->v[p];                                     \
    for (size_t i = 0; i < xn; i++) x[i] = (T)((int64_t)(i * 37 % 101) - 50) / 50;                \
    for (size_t i = 0; i < yn; i++) y0[i] = y[i] = (T)((int64_t)(i * 11 % 13) - 6) / 6;           \
    int st = FN(row ? 101 : 102, a->m, a->n, k, a->rp, a->nnz ? a->ci : NULL, a->nnz ? val : NULL, alpha, \
                a->n && k ? x : NULL, ldx, beta, a->m && k ? y : NULL, ldy);                     \
    int ok = st == BT_OK;                                                                         \
    for (int64_t r = 0; ok && r < a->m; r++)                                                      \
        for (int64_t j = 0; ok && j < k; j++) {                                                   \
            double s = 0, abs_s = 0;                                                              \
            for (int64_t p = a->rp[r]; p < a->rp[r + 1]; p++) {                                   \
                const double t = (double)val[p] * (double)x[row ? a->ci[p] * ldx + j : j * ldx + a->ci[p]]; \
                s += t; abs_s += fabs(t);                                                         \
            }                                                                                     \
            const size_t at = (size_t)(row ? r * ldy + j : j * ldy + r);                          \
            const double want = (double)alpha * s + (beta == 0 ? 0 : (double)beta * (double)y0[at]); \
            const double bound = EPS * (double)(a->rp[r + 1] - a->rp[r] + 4) * (fabs((double)alpha) * abs_s + fabs((double)beta * (double)y0[at])) + 1e-30; \
            ok = fabs((double)y[at] - want) <= bound;                                             \
        }                                                                                         \
    for (int64_t line = 0; ok && line + 1 < yrows; line++) ok = y[line * ldy + ldy - 1] == y0[line * ldy + ldy - 1]; \
    check(ok, row ? #FN " (row-major)" : #FN " (column-major)", a->name, threads);                \
    free(val); free(x); free(y); free(y0);                                                        \
}
SPMM_CASE(float, bt_scsr_spmm, 1.2e-7)
SPMM_CASE(double, bt_dcsr_spmm, 2.3e-16)

int main(void)
{
    setenv("BLASTUNE_EXACT_THREADS", "1", 1);
    csr ms[] = {
        make("mixed 400 x 300", 400, 300, len_mixed),
        make("mixed wide 300 x 70000", 300, 70000, len_mixed),
        make("huge row 100 x 2000", 100, 2000, len_huge),
        make("1 x 100000", 1, 100000, len_one_row),
        make("20000 x 1", 20000, 1, len_one),
        make("long rows 50 x 100000", 50, 100000, len_long),
        make("empty 7 x 9", 7, 9, len_zero),
        make("0 x 0", 0, 0, len_zero),
        make("6 x 0", 6, 0, len_zero),
        make("0 x 5", 0, 5, len_zero),
        make_runs("runs 300 x 500", 300, 500, 2),
        make_runs("runs 64 x 90000", 64, 90000, 2),
        make_runs("one run a row 200 x 3000", 200, 3000, 1),
        make_band("band square 500 x 500, half-width 6, gaps", 500, 500, 6),
        make("rows of 12 over 100000 columns (slices)", 301, 100000, len_twelve),
        make_band("band 500 x 530, half-width 6, gaps", 500, 530, 6),
        make_band("band 130 x 100, half-width 20, gaps", 130, 100, 20),
    };
    const int nm = (int)(sizeof ms / sizeof ms[0]);
    const int threads[] = { 1, 2, 64 };
    for (int t = 0; t < 3; t++) {
        if (bt_set_num_threads(threads[t]) != BT_OK) { failed++; continue; }
        for (int i = 0; i < nm; i++) {
            bt_scsr_spmv_case(&ms[i], threads[t], 1.0f, 0.0f);
            bt_scsr_spmv_case(&ms[i], threads[t], -0.5f, 2.0f);
            bt_dcsr_spmv_case(&ms[i], threads[t], 1.0, 0.0);
            bt_dcsr_spmv_case(&ms[i], threads[t], 2.0, -1.0);
            bt_scsr_transpose_case(&ms[i], threads[t], 0);
            bt_dcsr_transpose_case(&ms[i], threads[t], 0);
            bt_dcsr_transpose_case(&ms[i], threads[t], 1);
            /* SpMM, both layouts, a k below, at and above the register block */
            for (int row = 0; row < 2; row++) {
                bt_dcsr_spmm_case(&ms[i], threads[t], row, 1, 1.0, 0.0);
                bt_dcsr_spmm_case(&ms[i], threads[t], row, 37, -0.5, 2.0);
                bt_scsr_spmm_case(&ms[i], threads[t], row, 70, 2.0f, 0.0f);
            }
            /* the 32-bit entry points on the same matrices */
            bt_scsr_spmv_i32_case(&ms[i], threads[t], -0.5f, 2.0f);
            bt_dcsr_spmv_i32_case(&ms[i], threads[t], 1.0, 0.0);
            bt_dcsr_spmv_i32_case(&ms[i], threads[t], 2.0, -1.0);
            bt_scsr_transpose_i32_case(&ms[i], threads[t], 0);
            bt_dcsr_transpose_i32_case(&ms[i], threads[t], 0);
            bt_dcsr_transpose_i32_case(&ms[i], threads[t], 1);
            /* plans: the most compact form (16-bit deltas where ncols <= 65536), a 32-bit copy, none */
            const int64_t caps[] = { -1, ms[i].nnz * 4, 0 };
            for (int c = 0; c < 3; c++) {
                plan_cap = caps[c];
                plan_format = c == 0 && strncmp(ms[i].name, "band square", 11) == 0 ? BT_CSR_DIAGONALS : 0;
                bt_scsr_planned_case(&ms[i], threads[t], -0.5f, 2.0f);
                bt_dcsr_planned_case(&ms[i], threads[t], 1.0, 0.0);
                bt_dcsr_planned_case(&ms[i], threads[t], 2.0, -1.0);
            }
        }
    }
    for (int i = 0; i < nm; i++) { free(ms[i].rp); free(ms[i].ci); free(ms[i].v); free(ms[i].rp32); free(ms[i].ci32); }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
