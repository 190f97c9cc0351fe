/* `blastune repro mkl-csr-transpose-1x100m` in C: Intel MKL 11.3.1 (LP64) segfaulted transposing
   this 1 x 100,000,000 CSR matrix with one nonzero at (0,0), its (max_threads + 1) x rows x 4-byte
   buffer past 2^31. Build: cc repro_mkl_transpose_1x100m.c $(pkg-config --cflags --libs DIR/kernels.pc)
   Run with BLASTUNE_EXACT_THREADS=1 to have 64 threads run even on fewer cores. */
#include <stdio.h>
#include <stdlib.h>
#include "kernels.h"

int main(void)
{
    const int64_t n = 100000000, row_ptr[2] = {0, 1}, col_idx[1] = {0};
    const double val[1] = {1.5};
    int64_t *t_row_ptr = malloc((size_t)(n + 1) * sizeof *t_row_ptr), t_col_idx[1];
    double t_val[1];
    const int threads[3] = {1, 2, 64};
    int wrong = t_row_ptr == NULL;
    for (int i = 0; i < 3 && !wrong; i++) {
        bt_set_num_threads(threads[i]);
        int st = bt_dcsr_transpose(1, n, row_ptr, col_idx, val, t_row_ptr, t_col_idx, t_val);
        for (int64_t j = 1; j <= n; j++) wrong |= t_row_ptr[j] != 1;
        wrong |= st != BT_OK || t_row_ptr[0] != 0 || t_col_idx[0] != 0 || t_val[0] != 1.5;
        printf("%d threads: %s (%s)\n", threads[i], wrong ? "WRONG" : "exact", bt_strerror(st));
    }
    free(t_row_ptr);
    return wrong;
}
