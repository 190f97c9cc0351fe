import KernelSpec

/// Emits the direct kernel for small column-major problems without transposes: A and B are
/// read in place (no packing, no scratch, no threads), a tile of two vectors of rows by four
/// columns of C stays in registers over the whole K loop, and the bottom and right edges use
/// masked loads and stores. The select function sends a call to it when A fits in half of L1
/// (from the machine profile) and every size is at most ``maxDim``.
struct SmallKernelEmitter {
    let dtype: DType
    let isa: ISA
    /// L1 data cache bytes of the machine the library is built for.
    let l1Bytes: Int

    /// The largest m, n or k the kernel takes (the small class's bound).
    static let maxDim = 128
    var name: String { "bt_\(dtype.blasLetter)_small" }

    /// The C condition, on column-major select arguments, under which calls go to the kernel.
    var condition: String {
        let limit = max(64, l1Bytes / Int(dtype.size))
        let d = Self.maxDim
        return "!transa && !transb && m <= \(d) && n <= \(d) && k <= \(d) && m * k <= \(limit)"
    }

    func emit() -> String {
        isa == .generic ? portable : vector
    }

    /// Scalar loops the compiler vectorizes (the portable backend).
    private var portable: String {
        let t = dtype.cType
        return """
            /* ---- \(dtype.blasLetter)gemm: direct kernel for small problems (portable) ---- */
            static int \(name)(int transa, int transb, int64_t m, int64_t n, int64_t k, \(t) alpha,
                const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc, int nthreads)
            {
                (void)transa; (void)transb; (void)nthreads;
                for (int64_t j = 0; j < n; j++) {
                    \(t) *cj = c + j * ldc;
                    for (int64_t i = 0; i < m; i++) cj[i] = beta == 0 ? 0 : beta * cj[i];
                    for (int64_t p = 0; p < k; p++) {
                        const \(t) bv = alpha * b[p + j * ldb], *ap = a + p * lda;
                        for (int64_t i = 0; i < m; i++) cj[i] += ap[i] * bv;
                    }
                }
                return BT_OK;
            }

            """
    }

    private var vector: String {
        let ops = VectorOps(isa: isa, dtype: dtype)
        let t = dtype.cType, v = ops.vtype, lanes = ops.lanes, target = VectorOps.targetAttribute(isa)
        let f32 = dtype == .f32, ps = f32 ? "ps" : "pd"
        // Masked access of `rows` (<= 0: none, >= lanes: all) elements at p.
        let mask: String
        if isa == .avx512 {
            mask = "bt_mask\(lanes)(rows)"
        } else if f32 {
            mask = "_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rows < 0 ? 0 : rows > 8 ? 8 : rows)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))"
        } else {
            mask = "_mm256_cmpgt_epi64(_mm256_set1_epi64x(rows), _mm256_setr_epi64x(0, 1, 2, 3))"
        }
        let loadM = isa == .avx512 ? "_mm512_maskz_loadu_\(ps)(bt_sm_mask(rows), p)" : "_mm256_maskload_\(ps)(p, bt_sm_mask(rows))"
        let storeM = isa == .avx512 ? "_mm512_mask_storeu_\(ps)(p, bt_sm_mask(rows), x)" : "_mm256_maskstore_\(ps)(p, bt_sm_mask(rows), x)"
        let d = dtype.blasLetter
        // A tile of `nv` vectors of rows by `nc` columns: 2 x 4, or 1 x 8 for short problems
        // (as many accumulators, so as many FMA chains in flight).
        func tile(_ nv: Int, _ nc: Int) -> String {
            let accs = (0..<nv).flatMap { r in (0..<nc).map { "c\(r)\($0) = \(ops.zero())" } }.joined(separator: ", ")
            let loads = (0..<nv).map { r in
                "const \(v) a\(r) = full ? \(ops.loadu(r == 0 ? "ap" : "ap + \(r * lanes)")) : bt_\(d)_sm_load(ap + \(r * lanes), rows - \(r * lanes));"
            }.joined(separator: "\n                ")
            let fmas = (0..<nc).map { j in
                let guardCol = j == 0 ? "" : "if (full || cols > \(j)) "
                let body = (0..<nv).map { r in "c\(r)\(j) = \(ops.fma("a\(r)", "bb", "c\(r)\(j)"));" }.joined(separator: " ")
                return "\(guardCol){ const \(v) bb = \(ops.set1("bp[\(j) * ldb]")); \(body) }"
            }.joined(separator: "\n                ")
            let stores = (0..<nc).map { j in
                let guardCol = j == 0 ? "" : "if (full || cols > \(j)) "
                let perVector = (0..<nv).map { r in
                    let off = r == 0 ? "cp" : "cp + \(r * lanes)", left = r == 0 ? "rows" : "rows - \(r * lanes)"
                    return """
                        { \(v) x = \(ops.mul("va", "c\(r)\(j)"));
                                  if (beta != 0) x = \(ops.fma("vb", "full ? \(ops.loadu(off)) : bt_\(d)_sm_load(\(off), \(left))", "x"));
                                  if (full) \(ops.storeu(off, "x")); else bt_\(d)_sm_store(\(off), x, \(left)); }
                        """
                }.joined(separator: "\n                  ")
                return "\(guardCol){ \(t) *cp = c + \(j) * ldc;\n                  \(perVector) }"
            }.joined(separator: "\n            ")
            return """
                /* One tile of up to \(nv * lanes) rows and \(nc) columns of C = alpha A B + beta C (full: exactly). */
                \(target) static inline __attribute__((always_inline)) void bt_\(d)_sm_tile\(nv)(const int full, const int64_t rows,
                    const int64_t cols, int64_t k, \(t) alpha, const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, \(t) beta,
                    \(t) *c, int64_t ldc)
                {
                    \(v) \(accs);
                    for (int64_t p = 0; p < k; p++) {
                        const \(t) *ap = a + p * lda, *bp = b + p;
                        \(loads)
                        \(fmas)
                    }
                    const \(v) va = \(ops.set1("alpha")), vb = \(ops.set1("beta"));
                    (void)vb;
                    \(stores)
                }

                """
        }
        func loop(_ nv: Int, _ nc: Int) -> String {
            """
                    for (int64_t j = 0; j < n; j += \(nc)) {
                        const int64_t cols = n - j < \(nc) ? n - j : \(nc);
                        for (int64_t i = 0; i < m; i += \(nv * lanes)) {
                            const int64_t rows = m - i < \(nv * lanes) ? m - i : \(nv * lanes);
                            const \(t) *ai = a + i, *bj = b + j * ldb;
                            \(t) *cij = c + i + j * ldc;
                            if (rows == \(nv * lanes) && cols == \(nc)) bt_\(d)_sm_tile\(nv)(1, \(nv * lanes), \(nc), k, alpha, ai, lda, bj, ldb, beta, cij, ldc);
                            else bt_\(d)_sm_tile\(nv)(0, rows, cols, k, alpha, ai, lda, bj, ldb, beta, cij, ldc);
                        }
                    }
            """
        }
        return """
            /* ---- \(d)gemm: direct kernel for small problems (\(isa.rawValue)) ---- */
            #define bt_sm_mask(rows) (\(mask))
            \(target) static inline \(v) bt_\(d)_sm_load(const \(t) *p, int64_t rows) { return \(loadM); }
            \(target) static inline void bt_\(d)_sm_store(\(t) *p, \(v) x, int64_t rows) { \(storeM); }
            #undef bt_sm_mask

            \(tile(2, 4))\(tile(1, 8))
            /* Column-major C = alpha A B + beta C, A and B read in place (checked arguments with
               m, n, k > 0, alpha != 0; no transposes); one thread. */
            \(target) static int \(name)(int transa, int transb, int64_t m, int64_t n, int64_t k, \(t) alpha,
                const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc, int nthreads)
            {
                (void)transa; (void)transb; (void)nthreads;
                if (m <= \(lanes)) {
            \(loop(1, 8))
                } else {
            \(loop(2, 4))
                }
                return BT_OK;
            }

            """
    }
}
