"""Calls a blastune-generated libkernels.so from Python through ctypes, on NumPy arrays and
scipy.sparse matrices without copying them (scipy's int32 indices go to the _i32 entry points
as they are, int64 ones to the plain entry points).

    python3 blastune_kernels.py DIR      # DIR: the folder `blastune generate --out DIR` made

Checks every result against NumPy and scipy and prints "python example: ok".
"""
import ctypes
import sys

import numpy as np
import scipy.sparse as sp

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
i64, ptr = ctypes.c_int64, ctypes.c_void_p


class Kernels:
    """The C ABI of libkernels.so (kernels.h), with NumPy-facing wrappers."""

    def __init__(self, folder):
        lib = ctypes.CDLL(f"{folder}/libkernels.so")
        for name, real in (("bt_sgemm", ctypes.c_float), ("bt_dgemm", ctypes.c_double)):
            f = getattr(lib, name)
            f.argtypes = [ctypes.c_int] * 3 + [i64] * 3 + [real, ptr, i64, ptr, i64, real, ptr, i64]
            f.restype = ctypes.c_int
        for suffix in ("", "_i32"):
            spmv, transpose = getattr(lib, "bt_dcsr_spmv" + suffix), getattr(lib, "bt_dcsr_transpose" + suffix)
            spmv.argtypes = [i64, i64, ptr, ptr, ptr, ctypes.c_double, ptr, ctypes.c_double, ptr]
            transpose.argtypes = [i64, i64, ptr, ptr, ptr, ptr, ptr, ptr]
            spmv.restype = transpose.restype = ctypes.c_int
        lib.bt_strerror.argtypes, lib.bt_strerror.restype = [ctypes.c_int], ctypes.c_char_p
        self.lib = lib

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: {self.lib.bt_strerror(status).decode()}")

    def gemm(self, a, b, c=None, alpha=1.0, beta=0.0):
        """C = alpha op(A) op(B) + beta C for 2-D float32 or float64 arrays, row-major or
        transposed views (a.T is passed as a transpose, not copied)."""
        dtype = a.dtype
        assert b.dtype == dtype and dtype in (np.float32, np.float64)
        m, k = a.shape
        n = b.shape[1]
        c = np.zeros((m, n), dtype) if c is None else c
        assert c.flags.c_contiguous and c.shape == (m, n) and c.dtype == dtype

        def operand(x):  # (pointer, transpose flag, leading dimension) of a view, without a copy
            size = x.itemsize
            if x.strides[1] == size and x.strides[0] >= size * x.shape[1]:
                return x.ctypes.data, NO_TRANS, x.strides[0] // size
            if x.strides[0] == size and x.strides[1] >= size * x.shape[0]:
                return x.ctypes.data, TRANS, x.strides[1] // size
            x = np.ascontiguousarray(x)  # a strided view neither way: one copy
            return x.ctypes.data, NO_TRANS, x.shape[1]

        (pa, ta, lda), (pb, tb, ldb) = operand(a), operand(b)
        f = self.lib.bt_sgemm if dtype == np.float32 else self.lib.bt_dgemm
        self.check(f(ROW_MAJOR, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, c.ctypes.data, n), "gemm")
        return c

    @staticmethod
    def csr_arrays(a):
        """The row pointers and column indices of a scipy CSR matrix, the index type and the
        suffix of the entry points that take them: int32 arrays as they are (_i32), anything
        else as int64 (a copy only when it is neither)."""
        rp, ci = np.ascontiguousarray(a.indptr), np.ascontiguousarray(a.indices)
        if rp.dtype == np.int32 and ci.dtype == np.int32:
            return rp, ci, np.int32, "_i32"
        return np.asarray(rp, dtype=np.int64), np.asarray(ci, dtype=np.int64), np.int64, ""

    def spmv(self, a, x, y=None, alpha=1.0, beta=0.0):
        """y = alpha A x + beta y for a float64 scipy CSR matrix."""
        rp, ci, _, suffix = self.csr_arrays(a)
        vals = np.ascontiguousarray(a.data, dtype=np.float64)
        y = np.zeros(a.shape[0]) if y is None else y
        f = getattr(self.lib, "bt_dcsr_spmv" + suffix)
        self.check(f(a.shape[0], a.shape[1], rp.ctypes.data, ci.ctypes.data, vals.ctypes.data,
                     alpha, x.ctypes.data, beta, y.ctypes.data), "dcsr_spmv" + suffix)
        return y

    def transpose(self, a):
        """A^T as a scipy CSR matrix (columns sorted within each row)."""
        rp, ci, index, suffix = self.csr_arrays(a)
        vals = np.ascontiguousarray(a.data, dtype=np.float64)
        m, n = a.shape
        trp, tci, tva = np.empty(n + 1, index), np.empty(a.nnz, index), np.empty(a.nnz)
        f = getattr(self.lib, "bt_dcsr_transpose" + suffix)
        self.check(f(m, n, rp.ctypes.data, ci.ctypes.data, vals.ctypes.data,
                     trp.ctypes.data, tci.ctypes.data, tva.ctypes.data), "dcsr_transpose" + suffix)
        return sp.csr_matrix((tva, tci, trp), shape=(n, m))


def main():
    k = Kernels(sys.argv[1] if len(sys.argv) > 1 else ".")
    rng = np.random.default_rng(7)
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-12)):
        a = rng.standard_normal((123, 77)).astype(dtype)
        b = rng.standard_normal((77, 45)).astype(dtype)
        for x, y in ((a, b), (a.T.copy().T, b), (a, b.T.copy().T)):  # plain, and transposed storage
            c = k.gemm(x, y)
            ref = x.astype(np.float64) @ y.astype(np.float64)
            assert np.linalg.norm(c - ref) <= tol * np.linalg.norm(ref), f"{dtype.__name__} gemm"
    # scipy picks int32 indices for small matrices: both widths (and both entry points) are exercised.
    for a in (sp.random(300, 500, density=0.02, format="csr", random_state=1),
              sp.csr_matrix(sp.random(300, 500, density=0.02, random_state=2), dtype=np.float64)):
        a64 = sp.csr_matrix((a.data, a.indices.astype(np.int64), a.indptr.astype(np.int64)), shape=a.shape)
        for m in (a, a64):
            x = rng.standard_normal(m.shape[1])
            assert np.allclose(k.spmv(m, x), m @ x, rtol=1e-12, atol=1e-12), "dcsr_spmv"
            t = k.transpose(m)
            ref = m.T.tocsr()
            ref.sort_indices()
            assert (t != ref).nnz == 0 and np.array_equal(t.indptr, ref.indptr), "dcsr_transpose"
            assert m.indices.dtype != np.int32 or k.csr_arrays(m)[1] is m.indices, "int32 indices are passed without a copy"
    print("python example: ok (gemm f32/f64 with transposed views, spmv and transpose with int32 indices through the _i32 entry points and int64 ones)")


if __name__ == "__main__":
    main()
