/* Multiplies two 2x2 matrices with a blastune-generated libkernels.so.
   Build: cc sgemm_example.c $(pkg-config --cflags --libs DIR/kernels.pc) */
#include <stdio.h>
#include "kernels.h"

int main(void)
{
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}; /* row-major 2x2 */
    float c[4];
    int st = bt_sgemm(101, 111, 111, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    if (st != BT_OK) {
        fprintf(stderr, "bt_sgemm: %s\n", bt_strerror(st));
        return 1;
    }
    printf("%g %g %g %g\n", c[0], c[1], c[2], c[3]);
    return 0;
}
