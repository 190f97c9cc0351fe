/* SpMV and transpose of a small CSR matrix with a blastune-generated libkernels.so.
   Build: cc csr_example.c $(pkg-config --cflags --libs DIR/kernels.pc)

       A = [ 1 0 2 ]      x = [1 1 1]      A x = [3 3]
           [ 0 3 0 ]                        A^T = [1 0; 0 3; 2 0] */
#include <stdio.h>
#include "kernels.h"

int main(void)
{
    const int64_t row_ptr[3] = {0, 2, 3}, col_idx[3] = {0, 2, 1};
    const double val[3] = {1, 2, 3}, x[3] = {1, 1, 1};
    double y[2];
    int64_t bad = 0;
    int st = bt_csr_check(2, 3, row_ptr, col_idx, &bad);
    if (st == BT_OK) st = bt_dcsr_spmv(2, 3, row_ptr, col_idx, val, 1.0, x, 0.0, y);
    int64_t t_row_ptr[4], t_col_idx[3];
    double t_val[3];
    if (st == BT_OK) st = bt_dcsr_transpose(2, 3, row_ptr, col_idx, val, t_row_ptr, t_col_idx, t_val);
    if (st != BT_OK) {
        fprintf(stderr, "blastune: %s\n", bt_strerror(st));
        return 1;
    }
    printf("y = %g %g\n", y[0], y[1]);
    printf("t_row_ptr = %lld %lld %lld %lld\n", (long long)t_row_ptr[0], (long long)t_row_ptr[1], (long long)t_row_ptr[2], (long long)t_row_ptr[3]);
    printf("t_col_idx = %lld %lld %lld, t_val = %g %g %g\n", (long long)t_col_idx[0], (long long)t_col_idx[1], (long long)t_col_idx[2],
           t_val[0], t_val[1], t_val[2]);
    return 0;
}
