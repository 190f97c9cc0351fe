/* bt_dgemm and bt_dcsr_spmv from C, found through find_package(kernels).
   [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50];  [1 0 2; 0 3 0] x [1 1 1] = [3 3] */
#include <stdio.h>
#include "kernels.h"

int main(void)
{
    const double a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    double c[4];
    int st = bt_dgemm(101, 111, 111, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c, 2);
    const int64_t row_ptr[3] = {0, 2, 3}, col_idx[3] = {0, 2, 1};
    const double val[3] = {1, 2, 3}, x[3] = {1, 1, 1};
    double y[2];
    if (st == BT_OK) st = bt_dcsr_spmv(2, 3, row_ptr, col_idx, val, 1.0, x, 0.0, y);
    if (st != BT_OK) { fprintf(stderr, "blastune: %s\n", bt_strerror(st)); return 1; }
    printf("C = %g %g %g %g, y = %g %g\n", c[0], c[1], c[2], c[3], y[0], y[1]);
    return 0;
}
