/* OpenBLAS's CBLAS interface: the reference peer for tests and benchmarks. */
#include <cblas.h>
