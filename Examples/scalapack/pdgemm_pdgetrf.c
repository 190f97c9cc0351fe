/* ScaLAPACK's pdgemm_ and pdgetrf_ on a 1 x P process grid, with whatever dgemm_ the process
   resolves (the tuned one when libkernels.so is LD_PRELOADed or linked in front of the BLAS).
     mpirun -np 2 ./pdgemm_pdgetrf check [n]   the distributed C = A B and LU against serial
                                              ones computed on every rank (OpenBLAS's dgetrf_)
     mpirun -np 2 ./pdgemm_pdgetrf time n      times pdgemm_ and pdgetrf_ (best of 3, slowest rank)
   The global matrices are a function of the element's position, so each rank fills its own
   blocks without communication. Prints one line per check or timing from rank 0. */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int context, int request, int *value);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int context);
void Cblacs_exit(int notDone);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc, const int *icsrc,
               const int *ictxt, const int *lld, int *info);
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca, const double *b, const int *ib, const int *jb,
             const int *descb, const double *beta, double *c, const int *ic, const int *jc, const int *descc);
void pdgetrf_(const int *m, const int *n, double *a, const int *ia, const int *ja, const int *desca, int *ipiv, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);

/* The global element (i, j) of matrix `which`, in [-0.5, 0.5). */
static double element(int which, long i, long j)
{
    uint64_t z = (uint64_t)which * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0xBF58476D1CE4E5B9ull + (uint64_t)j * 0x94D049BB133111EBull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53 - 0.5;
}

static int nb = 64, nprow = 1, npcol, myrow, mycol;
/* The global index of local row or column l on process coordinate p of np. */
static long global(int l, int p, int np) { return ((long)(l / nb) * np + p) * nb + l % nb; }

static void fill(double *x, int which, int lr, int lc)
{
    for (int lj = 0; lj < lc; lj++)
        for (int li = 0; li < lr; li++) x[li + (long)lj * lr] = element(which, global(li, myrow, nprow), global(lj, mycol, npcol));
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *mode = argc > 1 ? argv[1] : "check";
    const int n = argc > 2 ? atoi(argv[2]) : 300;
    int me, np, ctx, info, zero = 0, one = 1;
    Cblacs_pinfo(&me, &np);
    npcol = np;
    Cblacs_get(-1, 0, &ctx);
    Cblacs_gridinit(&ctx, "Row", nprow, npcol);
    Cblacs_gridinfo(ctx, &nprow, &npcol, &myrow, &mycol);
    const int lr = numroc_(&n, &nb, &myrow, &zero, &nprow), lc = numroc_(&n, &nb, &mycol, &zero, &npcol);
    const int lld = lr > 1 ? lr : 1;
    int desc[9];
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &ctx, &lld, &info);
    const long local = (long)lld * (lc > 0 ? lc : 1);
    double *a = malloc(sizeof(double) * local), *b = malloc(sizeof(double) * local), *c = malloc(sizeof(double) * local);
    int *ipiv = malloc(sizeof(int) * (lr + nb));
    const double alpha = 1, beta = 0;
    int failed = 0;
    if (strcmp(mode, "time") == 0) {
        double best[2] = { 1e30, 1e30 };
        for (int rep = 0; rep < 3; rep++) {
            fill(a, 1, lr, lc); fill(b, 2, lr, lc);
            MPI_Barrier(MPI_COMM_WORLD);
            double t = MPI_Wtime();
            pdgemm_("N", "N", &n, &n, &n, &alpha, a, &one, &one, desc, b, &one, &one, desc, &beta, c, &one, &one, desc);
            t = MPI_Wtime() - t;
            MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (t < best[0]) best[0] = t;
            MPI_Barrier(MPI_COMM_WORLD);
            t = MPI_Wtime();
            pdgetrf_(&n, &n, a, &one, &one, desc, ipiv, &info);
            t = MPI_Wtime() - t;
            MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (t < best[1]) best[1] = t;
        }
        if (me == 0)
            printf("n=%d nb=%d ranks=%d: pdgemm %.3f s %.1f GFLOPS; pdgetrf %.3f s %.1f GFLOPS (info %d)\n", n, nb, np, best[0],
                   2.0 * n * (double)n * n / best[0] / 1e9, best[1], 2.0 / 3.0 * n * (double)n * n / best[1] / 1e9, info);
    } else {
        fill(a, 1, lr, lc); fill(b, 2, lr, lc);
        pdgemm_("N", "N", &n, &n, &n, &alpha, a, &one, &one, desc, b, &one, &one, desc, &beta, c, &one, &one, desc);
        double worst = 0;
        for (int lj = 0; lj < lc; lj++)
            for (int li = 0; li < lr; li++) {
                const long i = global(li, myrow, nprow), j = global(lj, mycol, npcol);
                double s = 0;
                for (long p = 0; p < n; p++) s += element(1, i, p) * element(2, p, j);
                worst = fmax(worst, fabs(c[li + (long)lj * lld] - s));
            }
        /* LU: the serial factorization of the same matrix on every rank, compared block by block. */
        double *g = malloc(sizeof(double) * n * (long)n);
        int *gp = malloc(sizeof(int) * n), ginfo;
        for (long j = 0; j < n; j++) for (long i = 0; i < n; i++) g[i + j * n] = element(1, i, j);
        dgetrf_(&n, &n, g, &n, gp, &ginfo);
        pdgetrf_(&n, &n, a, &one, &one, desc, ipiv, &info);
        double lu = 0;
        for (int lj = 0; lj < lc; lj++)
            for (int li = 0; li < lr; li++)
                lu = fmax(lu, fabs(a[li + (long)lj * lld] - g[global(li, myrow, nprow) + global(lj, mycol, npcol) * n]));
        int pivots = 0;
        for (int li = 0; li < lr; li++) pivots += ipiv[li] != gp[global(li, myrow, nprow)];
        double w[2] = { worst, lu };
        MPI_Allreduce(MPI_IN_PLACE, w, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &pivots, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        failed = !(w[0] < 1e-12 * n) || !(w[1] < 1e-10 * n) || pivots != 0 || info != 0 || ginfo != 0;
        if (me == 0)
            printf("scalapack n=%d ranks=%d: pdgemm max error %.3g, pdgetrf max difference from serial LU %.3g, %d pivots differ: %s\n",
                   n, np, w[0], w[1], pivots, failed ? "FAILED" : "ok");
        free(g); free(gp);
    }
    free(a); free(b); free(c); free(ipiv);
    Cblacs_gridexit(ctx);
    MPI_Finalize();
    return failed;
}
