import Foundation
import KernelSpec

/// The catalog of reproduced overflow bugs, in the order `blastune repro list` shows them.
public enum ReproCatalog {
    static let mib: Int64 = 1 << 20, gib: Int64 = 1 << 30

    public static let cases: [ReproCase] = [
        ReproCase(
            name: "mkl-csr-transpose-1x100m",
            origin: "Intel MKL 11.3.1 (LP64)",
            report: "Intel MKL developer forum, 2016 (no public address found); quoted in the project's design notes",
            operation: "transpose a 1 x 100,000,000 CSR with one nonzero at (0,0) (f64 and f32) with 1, 2 and 64 requested threads",
            overflow: "an internal buffer of (max_threads + 1) x num_rows x 4 bytes passed 2^31 in a 32-bit int",
            symptom: "segfault in mkl_sparse_convert_csr",
            expectation: "the exact transpose at every thread count; memory beyond the output at most 25% of it",
            needs: { _ in ReproNeeds(memory: 1200 * mib) },
            body: SparseRepro.mklOneRow),
        ReproCase(
            name: "dense-flat-index-2^31",
            origin: "scipy (LAPACK wrappers, OpenBLAS LAPACKE); numpy with 32-bit BLAS",
            report: "https://github.com/scipy/scipy/issues/17436 (fix https://github.com/scipy/scipy/pull/20229); related https://github.com/numpy/numpy/issues/5533",
            operation: "sgemm/dgemm with lda = ldb = ldc = 2^31 + 64, column- and row-major, every entry of C checked (offsets past 2^31 and 2^32); full scale adds m = n = ldc = 46341, C of 8 GiB",
            overflow: "flat offset i + j * ld computed in 32 bits (passes 2^31 at n = lda >= 46341)",
            symptom: "segfault in scipy's Cholesky at n = lda >= 46341; products of 151,000 x 151,000 with zeros after some column",
            expectation: "every entry exact; memory committed only where touched",
            needs: { scale in ReproNeeds(memory: (scale == .full ? 9 * gib : 0) + 256 * mib, addressSpace: 110 * gib) },
            body: DenseRepro.flatIndex),
        ReproCase(
            name: "gemm-m-over-2^31",
            origin: "32-bit BLAS (scipy's BLAS under odl)",
            report: "https://github.com/odlgroup/odl/issues/1189 (fix https://github.com/odlgroup/odl/pull/1190)",
            operation: "sgemm and dgemm with m = 2^31 + 1, n = k = 1; A untouched zero pages but for planted values; ci: C private at both ends and one 64 MiB window repeated between",
            overflow: "a length of 2^31 or more in a 32-bit int",
            symptom: "float32 scal of length 2^31 returned silently and left the vector unchanged",
            expectation: "every element of C right, the last ones (past 2^31) exact",
            needs: { scale in ReproNeeds(memory: scale == .full ? 9 * gib : 512 * mib, addressSpace: 33 * gib) },
            body: DenseRepro.mOver2to31),
        ReproCase(
            name: "spmv-nnz-over-2^31",
            origin: "PyTorch sparse CSR; CuPy",
            report: "https://github.com/pytorch/pytorch/issues/102520; https://github.com/cupy/cupy/issues/7530",
            operation: "dcsr_spmv of 1 x 2^20 and scsr_spmv of 3 x 2^20 with nnz = 2^31 + 2^20 (untouched zero pages, entries planted past 2^31, rows split across 2^31)",
            overflow: "nnz and row pointers kept in 32-bit ints",
            symptom: "nnz reported as -2147483648 (PyTorch); int64 row pointers downcast to int32 (CuPy)",
            expectation: "y exact",
            needs: { _ in ReproNeeds(memory: 512 * mib, addressSpace: 33 * gib) },
            body: SparseRepro.nnzOver2to31),
        ReproCase(
            name: "transpose-thread-buffers",
            origin: "OpenBLAS (ZTRMV with many threads; per-thread parts of a fixed 32 MiB buffer)",
            report: "https://github.com/OpenMathLib/OpenBLAS/issues/4269; https://github.com/OpenMathLib/OpenBLAS/issues/1698",
            operation: "transpose 1 x 10,000,000 (one nonzero) and 1000 x 10,000,000 (20,012,345 nonzeros, f64) with 1024 requested threads, run exactly",
            overflow: "a workspace of threads x (size) outgrowing its buffer",
            symptom: "segfault with 64 and more threads",
            expectation: "the exact transpose; memory beyond the output at most 25% of it",
            needs: { _ in
                ReproNeeds(memory: ((try? SparseRepro.structuredNeeds(Double.self, nrows: 1000, ncols: 10_000_000, nnz: 20_012_345)) ?? 0) + 256 * mib) },
            body: SparseRepro.threadBuffers),
        ReproCase(
            name: "matrix-market-huge-header",
            origin: "NIST Matrix Market I/O (mmio.c) and readers built on it",
            report: "mmio.c keeps M, N and nz in int (https://math.nist.gov/MatrixMarket/mmio-c.html); related https://github.com/scipy/scipy/issues/6397",
            operation: "read 8 small files whose headers claim sizes past 2^31, 2^32 and 2^63, and symmetric or array counts whose expansion passes 2^31 or 2^63",
            overflow: "M, N, nz and 2 * nz (symmetric expansion) or M * N (array) in int",
            symptom: "negative sizes, huge allocations, crashes",
            expectation: "the right matrix or an error naming the problem; peak memory under 256 MiB for each file",
            needs: { _ in ReproNeeds(memory: 512 * mib) },
            body: MatrixMarketRepro.run),
        ReproCase(
            name: "transpose-nnz-over-2^31",
            origin: "scipy.sparse (indptr summed in int32); the same arithmetic as spmv-nnz-over-2^31",
            report: "https://github.com/scipy/scipy/issues/7735",
            operation: "scsr_transpose of 4 x 2^24 with nnz = 2^31 + 2^24, every entry written and checked",
            overflow: "nonzero positions and column counts past 2^31",
            symptom: "negative row pointers, wrong results, crashes",
            expectation: "the exact transpose where memory allows; otherwise how much it needs and how much there is, without trying",
            needs: { _ in
                ReproNeeds(memory: (try? SparseRepro.structuredNeeds(Float.self, nrows: SparseRepro.bigRows, ncols: SparseRepro.bigCols,
                                                                     nnz: SparseRepro.bigNnz)) ?? .max) },
            body: SparseRepro.bigTranspose),
        ReproCase(
            name: "openblas-mnk-threading",
            origin: "OpenBLAS 0.3.23",
            report: "https://github.com/OpenMathLib/OpenBLAS/pull/4116 (user report https://github.com/numpy/numpy/issues/24067)",
            operation: "sgemm and dgemm with m = n = k = 1291 and 1626 (m*n*k past 2^31 and 2^32) on 1 and 2 threads, against OpenBLAS",
            overflow: "m * n * k in an int in the threading threshold",
            symptom: "invalid values from a large matmul",
            expectation: "equal to OpenBLAS in every entry (exact small-integer data)",
            needs: { _ in ReproNeeds(memory: 512 * mib) },
            body: DenseRepro.mnkProduct),
        ReproCase(
            name: "libxsmm-ld-16bit",
            origin: "libxsmm",
            report: "https://github.com/libxsmm/libxsmm/issues/109; https://github.com/libxsmm/libxsmm/issues/805",
            operation: "sgemm with ld = 65537, dgemm with ld = 65600 and with ld = 2^28 + 8 (byte stride past 2 GiB)",
            overflow: "leading dimensions narrowed to 16 bits; ld * 8 displacements emitted as 32-bit",
            symptom: "wrong results or no kernel for ld > 65535; segfault at ld = 2,400,000",
            expectation: "every entry exact",
            needs: { _ in ReproNeeds(memory: 256 * mib, addressSpace: 50 * gib) },
            body: DenseRepro.wideLeadingDimensions),
        ReproCase(
            name: "openblas-gemv-m-4194305",
            origin: "OpenBLAS 0.2.4",
            report: "https://github.com/OpenMathLib/OpenBLAS/issues/154",
            operation: "GEMV-shaped GEMMs with 4,194,305 rows (A x and A^T x)",
            overflow: "a fixed 32 MiB buffer of 4,194,304 doubles",
            symptom: "segfault in dgemv_t at M = 4,194,305",
            expectation: "every entry exact",
            needs: { _ in ReproNeeds(memory: 512 * mib) },
            body: DenseRepro.longGemv),
    ]

    /// The case named `name`.
    public static func named(_ name: String) -> ReproCase? { cases.first { $0.name == name } }
}
