// bt_sgemm from C++ (kernels.h is extern "C"), found through find_package(kernels).
#include <cstdio>
#include <vector>
#include "kernels.h"

int main()
{
    std::vector<float> a{1, 2, 3, 4}, b{5, 6, 7, 8}, c(4);
    const int st = bt_sgemm(101, 111, 111, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
    if (st != BT_OK) { std::fprintf(stderr, "blastune: %s\n", bt_strerror(st)); return 1; }
    std::printf("C++: C = %g %g %g %g\n", c[0], c[1], c[2], c[3]);
    return 0;
}
