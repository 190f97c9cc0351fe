/* Hostile calls of every bt_* entry point (GEMM directly, through plans and as batches of one;
   CSR directly and through plans),
   built with a library's kernels.c under
   AddressSanitizer and UBSan. Each call either is refused with BT_EINVAL or BT_EOVERFLOW
   and leaves every output byte as it was, or is valid and small enough for the exact-size
   buffers here and must give the naive result. Arguments come from sets of hostile values
   (negative, zero, INT32_MAX, 2^31, 2^32, near INT64_MAX, NULL, bad enums), drawn at
   random with a fixed seed, plus fixed inconsistent CSR arrays for bt_csr_check.
   Prints "hostile: N calls, M refused, K computed, F failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

#define CAP 4096 /* elements in each GEMM operand buffer */
static int failed, calls, refused, computed;
static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
#define PICK(arr) (arr)[next() % (sizeof(arr) / sizeof((arr)[0]))]
#define FAIL(...) do { failed++; if (failed < 20) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static const int64_t dims[] = {-1, INT64_MIN, 0, 1, 3, 17, INT32_MAX, (int64_t)1 << 31, ((int64_t)1 << 32) + 1,
                               INT64_MAX / 4, INT64_MAX};
static const int64_t lds[] = {-1, 0, 1, 3, 17, 64, (int64_t)1 << 31, INT64_MAX / 2, INT64_MAX};

/* Elements spanned by inner x outer with ld, or -1 when past 2^63 bytes of elem. */
static __int128 span(int64_t inner, int64_t outer, int64_t ld) { return inner == 0 || outer == 0 ? 0 : (__int128)(outer - 1) * ld + inner; }

static const int64_t small_dims[] = {0, 1, 3, 17};
static const int64_t small_lds[] = {1, 3, 17, 64};

/* One GEMM call; `tame` draws sizes small enough to compute (and still some bad enums). */
static void gemm_case(int dbl, int tame)
{
    const int layout = PICK(((int[]){101, 102, 101, 102, 0, 103})), ta = PICK(((int[]){111, 112, 113, 111, 110, 114}));
    const int tb = PICK(((int[]){111, 112, 113, 111, 110, 114}));
    const int64_t m = tame ? PICK(small_dims) : PICK(dims), n = tame ? PICK(small_dims) : PICK(dims), k = tame ? PICK(small_dims) : PICK(dims);
    const int64_t lda = tame ? PICK(small_lds) : PICK(lds), ldb = tame ? PICK(small_lds) : PICK(lds), ldc = tame ? PICK(small_lds) : PICK(lds);
    const double alpha = PICK(((double[]){1, 2.5, 0})), beta = PICK(((double[]){0, 1, -0.5}));
    const int anull = next() % 10 == 0, bnull = next() % 10 == 0, cnull = next() % 10 == 0;
    const size_t es = dbl ? 8 : 4;
    void *a = malloc(CAP * es), *b = malloc(CAP * es), *c = malloc(CAP * es), *c0 = malloc(CAP * es);
    for (int i = 0; i < CAP; i++) {
        if (dbl) { ((double *)a)[i] = (i % 7) - 3; ((double *)b)[i] = (i % 5) - 2; ((double *)c)[i] = (i % 3) - 1; }
        else { ((float *)a)[i] = (i % 7) - 3; ((float *)b)[i] = (i % 5) - 2; ((float *)c)[i] = (i % 3) - 1; }
    }
    memcpy(c0, c, CAP * es);
    /* What the call must do (kernels.h): classify the arguments. */
    const int row = layout == 101, tra = ta != 111, trb = tb != 111;
    const int64_t ai = row ? (tra ? m : k) : (tra ? k : m), ao = row ? (tra ? k : m) : (tra ? m : k);
    const int64_t bi = row ? (trb ? k : n) : (trb ? n : k), bo = row ? (trb ? n : k) : (trb ? k : n);
    const int64_t ci = row ? n : m, co = row ? m : n;
    int invalid = (layout != 101 && layout != 102) || ta < 111 || ta > 113 || tb < 111 || tb > 113 || m < 0 || n < 0 || k < 0;
    if (!invalid) invalid = lda < (ai > 1 ? ai : 1) || ldb < (bi > 1 ? bi : 1) || ldc < (ci > 1 ? ci : 1);
    const int empty = !invalid && (m == 0 || n == 0);
    const int reads_ab = !invalid && !empty && k > 0 && alpha != 0;
    const int nulls = !invalid && !empty && (cnull || (reads_ab && (anull || bnull)));
    __int128 sa = reads_ab ? span(ai, ao, lda) : 0, sb = reads_ab ? span(bi, bo, ldb) : 0, sc = empty || invalid ? 0 : span(ci, co, ldc);
    const __int128 limit = ((__int128)INT64_MAX) / (__int128)es;
    const int overflow = !invalid && !empty && (sa > limit || sb > limit || sc > limit);
    /* A missing pointer and an overflowing span together: either refusal is right. */
    const int either = nulls && overflow;
    invalid = invalid || nulls;
    const int fits = !invalid && !empty && !overflow && sa <= CAP && sb <= CAP && sc <= CAP;
    if (!invalid && !empty && !overflow && !fits) goto done; /* valid, but larger than these buffers */
    /* The same call directly, through a plan, or as a strided batch of one (whose strides
       then do not matter, hostile as they are). */
    void *const pa = anull ? NULL : a, *const pb = bnull ? NULL : b, *const pc = cnull ? NULL : c;
    const int mode = (int)(next() % 3);
    int st;
    if (mode == 0) {
        st = dbl ? bt_dgemm(layout, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc)
                 : bt_sgemm(layout, ta, tb, m, n, k, (float)alpha, pa, lda, pb, ldb, (float)beta, pc, ldc);
    } else if (mode == 1) {
        int ps = -1;
        const int threads = (int)(next() % 3);
        bt_gemm_plan *plan = dbl ? bt_dgemm_plan(layout, ta, tb, m, n, k, alpha, lda, ldb, beta, ldc, threads, &ps)
                                 : bt_sgemm_plan(layout, ta, tb, m, n, k, (float)alpha, lda, ldb, (float)beta, ldc, threads, &ps);
        if ((plan != NULL) != (ps == BT_OK)) FAIL("plan %p with status %d", (void *)plan, ps);
        st = !plan ? ps : dbl ? bt_dgemm_execute(plan, pa, pb, pc) : bt_sgemm_execute(plan, pa, pb, pc);
        bt_plan_destroy(plan);
    } else {
        static const int64_t strides[] = {0, -1, 17, INT64_MAX, INT64_MIN};
        st = dbl ? bt_dgemm_batch_strided(layout, ta, tb, m, n, k, alpha, pa, lda, PICK(strides), pb, ldb, PICK(strides), beta, pc, ldc, PICK(strides), 1)
                 : bt_sgemm_batch_strided(layout, ta, tb, m, n, k, (float)alpha, pa, lda, PICK(strides), pb, ldb, PICK(strides), (float)beta, pc, ldc, PICK(strides), 1);
    }
    calls++;
    if (invalid || overflow || empty) {
        const int want = invalid ? BT_EINVAL : overflow ? BT_EOVERFLOW : BT_OK;
        if (st != want && !(either && st == BT_EOVERFLOW)) FAIL("%cgemm(%d,%d,%d, m=%lld n=%lld k=%lld, ld %lld %lld %lld, nulls %d%d%d): status %d, expected %d", dbl ? 'd' : 's',
                             layout, ta, tb, (long long)m, (long long)n, (long long)k, (long long)lda, (long long)ldb, (long long)ldc, anull, bnull, cnull, st, want);
        if (memcmp(c, c0, CAP * es)) FAIL("%cgemm refused or empty call wrote C (m=%lld n=%lld k=%lld)", dbl ? 'd' : 's', (long long)m, (long long)n, (long long)k);
        refused += st != BT_OK;
        goto done;
    }
    if (st != BT_OK) { FAIL("%cgemm valid call (m=%lld n=%lld k=%lld) returned %d", dbl ? 'd' : 's', (long long)m, (long long)n, (long long)k, st); goto done; }
    computed++;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k && alpha != 0; p++) {
                const int64_t ax = row ? (tra ? p * lda + i : i * lda + p) : (tra ? i * lda + p : p * lda + i);
                const int64_t bx = row ? (trb ? j * ldb + p : p * ldb + j) : (trb ? p * ldb + j : j * ldb + p);
                s += (dbl ? ((double *)a)[ax] : ((float *)a)[ax]) * (dbl ? ((double *)b)[bx] : ((float *)b)[bx]);
            }
            const int64_t cx = row ? i * ldc + j : j * ldc + i;
            const double old = dbl ? ((double *)c0)[cx] : ((float *)c0)[cx];
            const double want = alpha * s + (beta == 0 ? 0 : beta * old), got = dbl ? ((double *)c)[cx] : ((float *)c)[cx];
            if (fabs(got - want) > 1e-3 * (1 + fabs(want))) FAIL("%cgemm m=%lld n=%lld k=%lld: C(%lld,%lld) = %g, expected %g", dbl ? 'd' : 's',
                                                                 (long long)m, (long long)n, (long long)k, (long long)i, (long long)j, got, want);
        }
done:
    free(a); free(b); free(c); free(c0);
}

/* Sparse entry points with hostile sizes and row pointers whose faults the O(1) checks see. */
static void sparse_cases(void)
{
    /* A valid 3 x 4 matrix and hostile variants of its row pointers. */
    const int64_t ci[4] = {0, 3, 1, 2};
    const double va[4] = {1, 2, 3, 4};
    const float vf[4] = {1, 2, 3, 4};
    const int64_t rps[][4] = {{0, 2, 3, 4}, {1, 2, 3, 4}, {0, 2, 3, -4}, {0, 2, 3, INT64_MIN}, {0, 2, 3, INT64_MAX},
                              {0, 2, 3, ((int64_t)1 << 61) + 1}, {-1, 0, 0, 0}};
    const int64_t rowss[] = {3, -1, INT64_MIN, INT64_MAX, ((int64_t)1 << 61) + 5};
    const int64_t colss[] = {4, 0, -1, INT64_MIN};
    for (size_t r = 0; r < sizeof rps / sizeof rps[0]; r++)
        for (size_t a = 0; a < sizeof rowss / sizeof rowss[0]; a++)
            for (size_t b = 0; b < sizeof colss / sizeof colss[0]; b++)
                for (int nulls = 0; nulls < 4; nulls++) {
                    const int64_t nrows = rowss[a], ncols = colss[b];
                    const int valid = r == 0 && a == 0 && b == 0 && nulls == 0;
                    const int64_t *rp = nulls == 1 ? NULL : rps[r], *cp = nulls == 2 ? NULL : ci;
                    double x[4] = {1, 2, 3, 4}, y[3] = {7, 7, 7};
                    float xf[4] = {1, 2, 3, 4}, yf[3] = {7, 7, 7};
                    int64_t trp[5] = {-9, -9, -9, -9, -9}, tci[4] = {-9, -9, -9, -9};
                    double tva[4] = {-9, -9, -9, -9};
                    float tvf[4] = {-9, -9, -9, -9};
                    int st[6];
                    st[0] = bt_dcsr_spmv(nrows, ncols, rp, cp, nulls == 3 ? NULL : va, 1, x, 0, y);
                    st[1] = bt_scsr_spmv(nrows, ncols, rp, cp, nulls == 3 ? NULL : vf, 1, xf, 0, yf);
                    st[2] = bt_dcsr_transpose(nrows, ncols, rp, cp, va, trp, tci, nulls == 3 ? NULL : tva);
                    st[3] = bt_scsr_transpose(nrows, ncols, rp, cp, vf, trp, tci, nulls == 3 ? NULL : tvf);
                    int64_t bad = 0;
                    st[4] = bt_csr_check(nrows, ncols, rp, cp, &bad);
                    /* a plan: refused as bt_dcsr_spmv is (and as bt_csr_check), or run */
                    double yp[3] = {7, 7, 7};
                    bt_csr_plan *plan = bt_dcsr_plan(nrows, ncols, rp, cp, nulls == 3 ? NULL : va, -1, &st[5]);
                    if ((plan == NULL) != (st[5] != BT_OK)) FAIL("bt_dcsr_plan: plan %p with status %d", (void *)plan, st[5]);
                    if (plan) st[5] = bt_dcsr_plan_spmv(plan, 1, x, 0, yp);
                    bt_csr_plan_destroy(plan);
                    calls += 6;
                    for (int i = 0; i < 6; i++) {
                        const int ok = st[i] == BT_OK;
                        if (valid && !ok) FAIL("sparse call %d on the valid matrix returned %d", i, st[i]);
                        if (!valid && i != 4 && ok && !((i < 2 || i == 5) && nulls == 3) && !(r == 0 && a == 0 && b == 0 && nulls == 3 && i >= 2))
                            FAIL("sparse call %d accepted rows %lld cols %lld row_ptr set %zu nulls %d", i, (long long)nrows, (long long)ncols, r, nulls);
                        if (!ok && st[i] != BT_EINVAL && st[i] != BT_EOVERFLOW) FAIL("sparse call %d: status %d", i, st[i]);
                        refused += !ok;
                    }
                    if (!valid && st[0] != BT_OK && (y[0] != 7 || y[1] != 7 || y[2] != 7)) FAIL("refused dcsr_spmv wrote y");
                    if (!valid && st[5] != BT_OK && (yp[0] != 7 || yp[1] != 7 || yp[2] != 7)) FAIL("refused plan wrote y");
                    if (!valid && st[2] != BT_OK && st[3] != BT_OK && (trp[0] != -9 || tci[0] != -9 || tva[0] != -9 || tvf[0] != -9))
                        FAIL("refused transpose wrote its output (set %zu, rows %lld, cols %lld, nulls %d)", r, (long long)nrows, (long long)ncols, nulls);
                    if (valid) {
                        computed += 6;
                        if (y[0] != 1 * 1 + 2 * 4 || y[1] != 3 * 2 || y[2] != 4 * 3) FAIL("dcsr_spmv valid result wrong");
                        if (yp[0] != y[0] || yp[1] != y[1] || yp[2] != y[2]) FAIL("plan valid result wrong");
                        if (trp[4] != 4 || tci[0] != 0 || tci[3] != 0) FAIL("transpose valid result wrong");
                    }
                }
    /* bt_csr_check names the first bad position of inconsistent arrays. */
    const int64_t rp_dec[4] = {0, 3, 2, 4}, ci_bad[4] = {0, 3, 4, 2};
    int64_t bad = 0;
    calls += 2;
    if (bt_csr_check(3, 4, rp_dec, ci, &bad) != BT_EINVAL || bad != -3) FAIL("bt_csr_check on decreasing row_ptr: bad %lld", (long long)bad);
    if (bt_csr_check(3, 4, rps[0], ci_bad, &bad) != BT_EINVAL || bad != 2) FAIL("bt_csr_check on column 4 of 4: bad %lld", (long long)bad);
    refused += 2;
}

int main(int argc, char **argv)
{
    const long rounds = argc > 1 ? atol(argv[1]) : 20000;
    /* Threads: hostile requests are refused, valid ones kept. */
    calls += 4;
    if (bt_set_num_threads(-1) != BT_EINVAL || bt_set_num_threads(1025) != BT_EINVAL || bt_set_num_threads(INT32_MIN) != BT_EINVAL)
        FAIL("bt_set_num_threads accepted a hostile count");
    if (bt_set_num_threads(2) != BT_OK || bt_get_num_threads() != 2) FAIL("bt_set_num_threads(2) not kept");
    for (int s = -3; s < 10; s++) if (!bt_strerror(s)) FAIL("bt_strerror(%d) is NULL", s);
    if (!bt_version() || !bt_config_json()) FAIL("version or config missing");
    for (long i = 0; i < rounds; i++) gemm_case((int)(i & 1), (int)((i >> 1) & 1));
    sparse_cases();
    printf("hostile: %d calls, %d refused, %d computed, %d failed\n", calls, refused, computed, failed);
    return failed != 0;
}
