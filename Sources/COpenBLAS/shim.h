/* OpenBLAS's CBLAS and LAPACKE interfaces: the reference peers for tests and benchmarks. */
#include <cblas.h>
#include <lapacke.h>
