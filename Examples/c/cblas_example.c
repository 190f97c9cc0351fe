/* A program written against CBLAS, linked with a blastune-generated libkernels.so in place
   of a BLAS: only the link line changes.
   Build: cc cblas_example.c $(pkg-config --cflags --libs DIR/kernels.pc) -o cblas_example
   (<cblas.h> comes from any CBLAS installation, e.g. libopenblas-dev; nothing else of it is linked.)

       [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]   (row-major, float and double) */
#include <stdio.h>
#include <cblas.h>

int main(void)
{
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    const double ad[4] = {1, 2, 3, 4}, bd[4] = {5, 6, 7, 8};
    float c[4];
    double cd[4];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0, ad, 2, bd, 2, 0.0, cd, 2);
    printf("cblas_sgemm: %g %g %g %g\n", c[0], c[1], c[2], c[3]);
    printf("cblas_dgemm: %g %g %g %g\n", cd[0], cd[1], cd[2], cd[3]);
    /* A bad argument is reported on stderr and C is left as it was, as reference CBLAS does. */
    c[0] = -1;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    printf("after a bad lda: c[0] = %g\n", c[0]);
    return 0;
}
