import KernelSpec

/// Emits the kernel of one exact shape (``ShapeKernelSpec``): M, N and K are constants, every
/// C tile is spelled out (no run-time branching on sizes), edges use constant masks, K is
/// unrolled as the spec says, and A is optionally packed into a zero-padded stack buffer.
///
/// `bt_<d>_<tag>_body(alpha, a, lda, b, ldb, beta, c, ldc)` computes the column-major
/// C = alpha op(A) op(B) + beta C of the shape (beta 0 never reads C); ``kernel`` wraps it
/// under the class kernels' signature and ``planEntry`` under a plan's.
struct ShapeKernelEmitter {
    let spec: ShapeKernelSpec
    /// Names this kernel's functions (`shape3`, `cand0`).
    let tag: String

    private var d: String { spec.dtype.blasLetter }
    private var t: String { spec.dtype.cType }
    var bodyName: String { "bt_\(d)_\(tag)_body" }
    var kernelName: String { "bt_\(d)_\(tag)" }
    var planName: String { "bt_\(d)_\(tag)_plan" }
    private var dims: (m: Int, n: Int, k: Int, transA: Bool, transB: Bool) { spec.shape.columnMajor }

    /// The body, always inlined into its wrappers.
    func body() -> String {
        let target = VectorOps.targetAttribute(spec.isa)
        let code = spec.isa == .generic ? portable() : vector()
        return """
            /* ---- \(d)gemm \(spec.shape) (column-major \(dims.m)x\(dims.n)x\(dims.k)\(dims.transA ? " A^T" : "")\(dims.transB ? " B^T" : "")): \(spec.summary) ---- */
            \(target) static inline __attribute__((always_inline)) int \(bodyName)(\(t) alpha, const \(t) *a, int64_t lda,
                const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc)
            {
            \(code)
                return 0;
            }

            """
    }

    /// The body under the class kernels' signature (for `bt_<d>_select`).
    func kernel() -> String {
        """
        \(VectorOps.targetAttribute(spec.isa)) static int \(kernelName)(int transa, int transb, int64_t m, int64_t n, int64_t k, \(t) alpha,
            const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc, int nthreads)
        {
            (void)transa; (void)transb; (void)m; (void)n; (void)k; (void)nthreads;
            return \(bodyName)(alpha, a, lda, b, ldb, beta, c, ldc);
        }

        """
    }

    /// The body under a plan's direct entry (the plan holds the scalars and strides).
    func planEntry() -> String {
        let alpha = "p->\(d)alpha", beta = "p->\(d)beta"
        return """
            \(VectorOps.targetAttribute(spec.isa)) static int \(planName)(const bt_gemm_plan *p, const \(t) *a, const \(t) *b, \(t) *c)
            {
                return p->swap ? \(bodyName)(\(alpha), b, p->lda, a, p->ldb, \(beta), c, p->ldc)
                               : \(bodyName)(\(alpha), a, p->lda, b, p->ldb, \(beta), c, p->ldc);
            }

            """
    }

    /// Rows of the packed A buffer (a whole number of vectors).
    private var packedRows: Int {
        let lanes = spec.isa == .generic ? 1 : spec.vectorISA.lanes(spec.dtype)
        return (dims.m + lanes - 1) / lanes * lanes
    }

    /// Copies op(A) into `pa` (column-major, `packedRows` rows, padding zeroed); then a and lda name it.
    private func pack() -> String {
        let mp = packedRows, (m, k) = (dims.m, dims.k)
        let src = dims.transA ? "a[p + i * lda]" : "a[i + p * lda]"
        return """
                \(t) pa[\(mp * k)] __attribute__((aligned(64)));
                for (int p = 0; p < \(k); p++) {
                    for (int i = 0; i < \(m); i++) pa[i + p * \(mp)] = \(src);
                    for (int i = \(m); i < \(mp); i++) pa[i + p * \(mp)] = 0;
                }
                a = pa;
                lda = \(mp);
            """
    }

    private func unrollPragma() -> String {
        "#pragma GCC unroll \(spec.kUnroll == 0 ? dims.k : spec.kUnroll)"
    }

    /// Scalar loops with constant bounds, which the compiler vectorizes (portable backend).
    private func portable() -> String {
        let (m, n, k) = (dims.m, dims.n, dims.k)
        let bv = dims.transB ? "b[j + p * ldb]" : "b[p + j * ldb]"
        return """
            \(spec.packA ? pack() : "")
                for (int j = 0; j < \(n); j++) {
                    \(t) acc[\(m)] = {0};
                    \(unrollPragma())
                    for (int p = 0; p < \(k); p++) {
                        const \(t) bv = \(bv);
                        for (int i = 0; i < \(m); i++) acc[i] += a[i + p * lda] * bv;
                    }
                    \(t) *cj = c + j * ldc;
                    if (beta == 0) for (int i = 0; i < \(m); i++) cj[i] = alpha * acc[i];
                    else for (int i = 0; i < \(m); i++) cj[i] = alpha * acc[i] + beta * cj[i];
                }
            """
    }

    private func vector() -> String {
        let ops = VectorOps(isa: spec.vectorISA, dtype: spec.dtype)
        let lanes = ops.lanes, f32 = spec.dtype == .f32, ps = f32 ? "ps" : "pd"
        let (m, n, k) = (dims.m, dims.n, dims.k)
        let wide = spec.vectorISA == .avx512
        // A vector of `left` (< lanes) elements at `p`.
        func maskConst(_ left: Int) -> String {
            if wide { return "(\(ops.maskType))0x\(String((1 << left) - 1, radix: 16))" }
            let ones = (0..<lanes).map { $0 < left ? "-1" : "0" }.joined(separator: ", ")
            return f32 ? "_mm256_setr_epi32(\(ones))" : "_mm256_setr_epi64x(\(ones))"
        }
        func load(_ p: String, _ left: Int) -> String {
            if left >= lanes { return ops.loadu(p) }
            return wide ? "_mm512_maskz_loadu_\(ps)(\(maskConst(left)), \(p))" : "_mm256_maskload_\(ps)(\(p), \(maskConst(left)))"
        }
        func store(_ p: String, _ v: String, _ left: Int) -> String {
            if left >= lanes { return ops.storeu(p, v) }
            return wide ? "_mm512_mask_storeu_\(ps)(\(p), \(maskConst(left)), \(v))" : "_mm256_maskstore_\(ps)(\(p), \(maskConst(left)), \(v))"
        }
        let rowStep = spec.tileRows, colStep = spec.columns
        var tiles: [(i: Int, j: Int)] = []
        let rowStarts = Array(stride(from: 0, to: m, by: rowStep)), colStarts = Array(stride(from: 0, to: n, by: colStep))
        if spec.order == .columns {
            for j in colStarts { for i in rowStarts { tiles.append((i, j)) } }
        } else {
            for i in rowStarts { for j in colStarts { tiles.append((i, j)) } }
        }
        let packed = spec.packA
        var out = [spec.packA ? pack() : "", "    const \(ops.vtype) va = \(ops.set1("alpha")), vb = \(ops.set1("beta"));"]
        for (i0, j0) in tiles {
            let rows = min(rowStep, m - i0), cols = min(colStep, n - j0)
            let nv = (rows + lanes - 1) / lanes
            let left = (0..<nv).map { min(lanes, rows - $0 * lanes) }
            let accs = (0..<nv).flatMap { r in (0..<cols).map { "c\(r)_\($0) = \(ops.zero())" } }.joined(separator: ", ")
            // Packed A is padded to whole vectors: full loads.
            let loads = (0..<nv).map { r in
                "const \(ops.vtype) a\(r) = \(load("ap + \(r * lanes)", packed ? lanes : left[r]));"
            }.joined(separator: " ")
            let fmas = (0..<cols).map { j in
                let bsrc = dims.transB ? "bp[\(j) + p * ldb]" : "bp[p + \(j) * ldb]"
                let f = (0..<nv).map { r in "c\(r)_\(j) = \(ops.fma("a\(r)", "bb", "c\(r)_\(j)"));" }.joined(separator: " ")
                return "{ const \(ops.vtype) bb = \(ops.set1(bsrc)); \(f) }"
            }.joined(separator: "\n                ")
            func stores(_ withBeta: Bool) -> String {
                (0..<cols).flatMap { j in
                    (0..<nv).map { r in
                        let cp = "c + \(i0 + r * lanes) + \(j0 + j) * ldc"
                        let x = withBeta ? ops.fma("vb", load(cp, left[r]), ops.mul("va", "c\(r)_\(j)")) : ops.mul("va", "c\(r)_\(j)")
                        return store(cp, x, left[r]) + ";"
                    }
                }.joined(separator: "\n                ")
            }
            let bBase = dims.transB ? "b + \(j0)" : "b + \(j0) * ldb"
            out.append("""
                    { /* rows \(i0)..<\(i0 + rows), columns \(j0)..<\(j0 + cols) */
                        \(ops.vtype) \(accs);
                        const \(t) *bp = \(bBase);
                        \(unrollPragma())
                        for (int p = 0; p < \(k); p++) {
                            const \(t) *ap = a + \(i0) + p * lda;
                            \(loads)
                            \(fmas)
                        }
                        if (beta == 0) {
                            \(stores(false))
                        } else {
                            \(stores(true))
                        }
                    }
                """)
        }
        out.append("    (void)va; (void)vb;")
        return out.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}

/// Emits the O(1) exact-shape dispatch of one dtype: a perfect hash of the column-major
/// call (m, n, k, transa, transb) chosen at generation time, so a lookup is one multiply,
/// one shift and one compare.
public struct ShapeDispatchEmitter {
    let dtype: DType
    let specs: [ShapeKernelSpec]

    func emitters() -> [ShapeKernelEmitter] {
        specs.enumerated().map { ShapeKernelEmitter(spec: $0.element, tag: "shape\($0.offset)") }
    }

    /// A multiplier and table width (bits) under which `keys` hash to distinct slots.
    static func perfectHash(_ keys: [UInt64]) -> (seed: UInt64, bits: Int) {
        var bits = 1
        while (1 << bits) < 2 * keys.count { bits += 1 }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        while true {
            for _ in 0..<4096 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                let seed = (z ^ (z >> 31)) | 1
                let slots = keys.map { ($0 &* seed) >> UInt64(64 - bits) }
                if Set(slots).count == keys.count { return (seed, bits) }
            }
            bits += 1
        }
    }

    /// The kernels, `bt_<d>_shape_find` and the tables of kernels and plan entries.
    func emit() -> String {
        let d = dtype.blasLetter, t = dtype.cType
        let es = emitters()
        var parts = ["/* ---- \(d)gemm: kernels of exact shapes (\(specs.count)) ---- */\n",
                     "typedef int (*bt_\(d)_direct)(const bt_gemm_plan *p, const \(t) *a, const \(t) *b, \(t) *c);\n"]
        guard !es.isEmpty else {
            parts.append("""
                /* The index of the kernel of a column-major call's exact shape; -1: none listed. */
                static inline int bt_\(d)_shape_find(int transa, int transb, int64_t m, int64_t n, int64_t k)
                {
                    (void)transa; (void)transb; (void)m; (void)n; (void)k;
                    return -1;
                }
                static const bt_\(d)_direct bt_\(d)_shape_plans[1] = { NULL };

                """)
            return parts.joined()
        }
        for e in es { parts += [e.body(), e.kernel(), e.planEntry()] }
        let keys = specs.map(\.shape.dispatchKey)
        let (seed, bits) = Self.perfectHash(keys)
        var slots = [(key: UInt64, index: Int)](repeating: (0, -1), count: 1 << bits)
        for (i, key) in keys.enumerated() { slots[Int((key &* seed) >> UInt64(64 - bits))] = (key, i) }
        let table = slots.map { "{ 0x\(String($0.key, radix: 16))u, \($0.index) }" }.joined(separator: ", ")
        parts.append("""
            static const struct { uint64_t key; int index; } bt_\(d)_shape_slots[\(slots.count)] = { \(table) };
            static const bt_\(d)_kernel bt_\(d)_shape_kernels[\(es.count)] = { \(es.map(\.kernelName).joined(separator: ", ")) };
            static const bt_\(d)_direct bt_\(d)_shape_plans[\(es.count)] = { \(es.map(\.planName).joined(separator: ", ")) };

            /* The index of the kernel of a column-major call's exact shape; -1: none listed. */
            static inline int bt_\(d)_shape_find(int transa, int transb, int64_t m, int64_t n, int64_t k)
            {
                if (((uint64_t)m | (uint64_t)n | (uint64_t)k) >> 16) return -1;
                const uint64_t key = (uint64_t)m | (uint64_t)n << 16 | (uint64_t)k << 32
                                     | (uint64_t)(transa != 0) << 48 | (uint64_t)(transb != 0) << 49;
                const unsigned h = (unsigned)((key * 0x\(String(seed, radix: 16))ull) >> \(64 - bits));
                return bt_\(d)_shape_slots[h].key == key ? bt_\(d)_shape_slots[h].index : -1;
            }

            """)
        return parts.joined()
    }

    /// `shapecand.c` for the search: every candidate's body with an exported entry
    /// `bt_shapecand_<i>(alpha, a, lda, b, ldb, beta, c, ldc)` (column-major, the spec's
    /// transposes), returning 0.
    public static func candidateSource(_ specs: [ShapeKernelSpec]) -> String {
        guard let first = specs.first else { return "" }
        var parts = ["""
            /* Generated by blastune: \(specs.count) candidate kernels of exact shapes. */
            #include <stdint.h>
            #include <stdlib.h>
            #include <string.h>
            \(first.isa == .generic ? VectorOps.genericPrelude : "#include <immintrin.h>")

            """]
        for (i, s) in specs.enumerated() {
            let e = ShapeKernelEmitter(spec: s, tag: "cand\(i)")
            let t = s.dtype.cType
            parts.append(e.body())
            parts.append("""
                \(VectorOps.targetAttribute(s.isa)) __attribute__((visibility("default"))) int bt_shapecand_\(i)(\(t) alpha, const \(t) *a, int64_t lda,
                    const \(t) *b, int64_t ldb, \(t) beta, \(t) *c, int64_t ldc)
                {
                    return \(e.bodyName)(alpha, a, lda, b, ldb, beta, c, ldc);
                }

                """)
        }
        return parts.joined(separator: "\n")
    }
}
