/* Allocation failure inside the kernels: after its own arrays are allocated, this program
   lowers its address-space limit (what `ulimit -v` sets) to what it already uses, calls the kernels that need workspace, and expects BT_ENOMEM with every output
   byte as it was; with the limit lifted again the same calls must succeed. Threads are
   started before the limit is lowered (none has to be created under it). Prints "nomem: N checks, F failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "kernels.h"

static int checks, failed;
#define CHECK(ok, ...) do { checks++; if (!(ok)) { failed++; fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static long vm_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) if (sscanf(line, "VmSize: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

int main(void)
{
    const int64_t n = 1024, rows = 20000, cols = 200000, per = 20, nnz = rows * per;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
    float *c = malloc(sizeof(float) * n * n), *c0 = malloc(sizeof(float) * n * n);
    int64_t *rp = malloc(8 * (rows + 1)), *ci = malloc(8 * nnz), *trp = malloc(8 * (cols + 1)), *tci = malloc(8 * nnz);
    double *va = malloc(8 * nnz), *tva = malloc(8 * nnz);
    int64_t *trp0 = malloc(8 * (cols + 1)), *tci0 = malloc(8 * nnz);
    if (!a || !b || !c || !c0 || !rp || !ci || !trp || !tci || !va || !tva || !trp0 || !tci0) return 2;
    for (int64_t i = 0; i < n * n; i++) { a[i] = (float)(i % 7); b[i] = (float)(i % 5); c[i] = -7; }
    memcpy(c0, c, sizeof(float) * n * n);
    uint64_t x = 88172645463325252u;
    for (int64_t r = 0; r <= rows; r++) rp[r] = r * per;
    for (int64_t p = 0; p < nnz; p++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; ci[p] = (int64_t)(x % (uint64_t)cols); va[p] = 1; }
    for (int64_t j = 0; j <= cols; j++) trp[j] = trp0[j] = -9;
    for (int64_t p = 0; p < nnz; p++) tci[p] = tci0[p] = -9;
    bt_set_num_threads(1);
    setenv("BLASTUNE_EXACT_THREADS", "1", 1); /* the warm-up below must start both threads */

    struct rlimit old, low;
    if (getrlimit(RLIMIT_AS, &old) != 0) return 2;
    low = old;
    /* GEMM first, on one thread, before any call has cached a workspace. */
    low.rlim_cur = (rlim_t)vm_bytes();
    if (setrlimit(RLIMIT_AS, &low) != 0) return 2;
    int st = bt_sgemm(102, 111, 111, n, n, n, 1, a, n, b, n, 0, c, n);
    CHECK(st == BT_ENOMEM, "bt_sgemm under the limit returned %d, expected BT_ENOMEM", st);
    CHECK(memcmp(c, c0, sizeof(float) * n * n) == 0, "bt_sgemm wrote C although it failed");
    if (setrlimit(RLIMIT_AS, &old) != 0) return 2;
    st = bt_sgemm(102, 111, 111, n, n, n, 1, a, n, b, n, 0, c, n);
    CHECK(st == BT_OK, "bt_sgemm with memory back returned %d", st);
    double s = 0;
    for (int64_t p = 0; p < n; p++) s += (double)a[p * n + 5] * b[7 * n + p];
    CHECK(c[7 * n + 5] == (float)s, "bt_sgemm C(5,7) = %g, expected %g", c[7 * n + 5], s);

    /* The transpose needs workspace on two threads (one thread counts in the output itself).
       A first call starts the second thread while memory is there. */
    bt_set_num_threads(2);
    int64_t one = 0, t1[2], t2[1];
    st = bt_dcsr_transpose(1, 1, (const int64_t[]){0, 1}, &one, NULL, t1, t2, NULL);
    CHECK(st == BT_OK, "warm-up transpose returned %d", st);
    low.rlim_cur = (rlim_t)vm_bytes();
    if (setrlimit(RLIMIT_AS, &low) != 0) return 2;
    st = bt_dcsr_transpose(rows, cols, rp, ci, va, trp, tci, tva);
    CHECK(st == BT_ENOMEM, "bt_dcsr_transpose under the limit returned %d, expected BT_ENOMEM", st);
    CHECK(memcmp(trp, trp0, 8 * (cols + 1)) == 0 && memcmp(tci, tci0, 8 * nnz) == 0, "bt_dcsr_transpose wrote its output although it failed");
    if (setrlimit(RLIMIT_AS, &old) != 0) return 2;
    st = bt_dcsr_transpose(rows, cols, rp, ci, va, trp, tci, tva);
    CHECK(st == BT_OK && trp[cols] == nnz, "bt_dcsr_transpose with memory back returned %d", st);
    printf("nomem: %d checks, %d failed\n", checks, failed);
    return failed != 0;
}
