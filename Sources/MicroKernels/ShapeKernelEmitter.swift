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
        let half = VectorOps(isa: .avx2, dtype: spec.dtype)
        let lanes = ops.lanes, f32 = spec.dtype == .f32, ps = f32 ? "ps" : "pd"
        let (m, n, k) = (dims.m, dims.n, dims.k)
        // A vector of `left` elements (all when >= its lanes) at p, in `o`'s width.
        func maskConst(_ o: VectorOps, _ left: Int) -> String {
            if o.isa == .avx512 { return "(\(o.maskType))0x\(String((1 << left) - 1, radix: 16))" }
            let ones = (0..<o.lanes).map { $0 < left ? "-1" : "0" }.joined(separator: ", ")
            return f32 ? "_mm256_setr_epi32(\(ones))" : "_mm256_setr_epi64x(\(ones))"
        }
        func load(_ o: VectorOps, _ p: String, _ left: Int) -> String {
            if left >= o.lanes { return o.loadu(p) }
            return o.isa == .avx512 ? "_mm512_maskz_loadu_\(ps)(\(maskConst(o, left)), \(p))" : "_mm256_maskload_\(ps)(\(p), \(maskConst(o, left)))"
        }
        func store(_ o: VectorOps, _ p: String, _ v: String, _ left: Int) -> String {
            if left >= o.lanes { return o.storeu(p, v) }
            return o.isa == .avx512 ? "_mm512_mask_storeu_\(ps)(\(p), \(maskConst(o, left)), \(v))" : "_mm256_maskstore_\(ps)(\(p), \(maskConst(o, left)), \(v))"
        }
        let packed = spec.packA
        /// One tile of `rows` x `cols` at row `i0` and column `j0` (C expressions).
        func tile(_ rows: Int, _ cols: Int, _ i0: String, _ j0: String) -> String {
            let nv = (rows + lanes - 1) / lanes
            let left = (0..<nv).map { min(lanes, rows - $0 * lanes) }
            // A last vector of at most half the lanes of a 512-bit register runs at 256 bits.
            let vo = left.map { ops.isa == .avx512 && $0 <= lanes / 2 ? half : ops }
            let accs = (0..<nv).map { r in "\(vo[r].vtype) " + (0..<cols).map { "c\(r)_\($0) = \(vo[r].zero())" }.joined(separator: ", ") + ";" }.joined(separator: " ")
            // Packed A is padded to whole vectors: full loads.
            let loads = (0..<nv).map { r in
                "const \(vo[r].vtype) a\(r) = \(load(vo[r], "ap + \(r * lanes)", packed ? vo[r].lanes : left[r]));"
            }.joined(separator: " ")
            let narrow = vo.contains { $0.isa != ops.isa }
            let cast = f32 ? "_mm512_castps512_ps256" : "_mm512_castpd512_pd256"
            let fmas = (0..<cols).map { j in
                let bsrc = dims.transB ? "bp[\(j) + p * ldb]" : "bp[p + \(j) * ldb]"
                let f = (0..<nv).map { r in "c\(r)_\(j) = \(vo[r].fma("a\(r)", vo[r].isa == ops.isa ? "bb" : "bh", "c\(r)_\(j)"));" }.joined(separator: " ")
                let bh = narrow ? " const \(half.vtype) bh = \(cast)(bb);" : ""
                return "{ const \(ops.vtype) bb = \(ops.set1(bsrc));\(bh) \(f) }"
            }.joined(separator: "\n            ")
            // mode 0: alpha 1, beta 0; 1: beta 0; 2: alpha 1, beta 1; 3: any.
            func stores(_ mode: Int) -> String {
                (0..<cols).flatMap { j in
                    (0..<nv).map { r in
                        let o = vo[r], cp = "c + \(i0) + \(r * lanes) + (\(j0) + \(j)) * ldc", acc = "c\(r)_\(j)"
                        let va = o.isa == ops.isa ? "va" : "vah", vb = o.isa == ops.isa ? "vb" : "vbh"
                        let x: String
                        switch mode {
                        case 0: x = acc
                        case 1: x = o.mul(va, acc)
                        case 2: x = o.add(load(o, cp, left[r]), acc)
                        default: x = o.fma(vb, load(o, cp, left[r]), o.mul(va, acc))
                        }
                        return store(o, cp, x, left[r]) + ";"
                    }
                }.joined(separator: " ")
            }
            let bBase = dims.transB ? "b + \(j0)" : "b + (\(j0)) * ldb"
            return """
                { /* a tile of \(rows) x \(cols) */
                    \(accs)
                    const \(t) *bp = \(bBase);
                    \(unrollPragma())
                    for (int p = 0; p < \(k); p++) {
                        const \(t) *ap = a + \(i0) + p * lda;
                        \(loads)
                        \(fmas)
                    }
                    switch (mode) {
                    case 0: \(stores(0)) break;
                    case 1: \(stores(1)) break;
                    case 2: \(stores(2)) break;
                    default: \(stores(3)) break;
                    }
                }
                """
        }
        // Full tiles in loops of constant trip counts, the bottom and right edge tiles after them.
        let rs = spec.tileRows, cs = spec.columns
        let (fullR, remR, fullC, remC) = (m / rs, m % rs, n / cs, n % cs)
        func rowsOf(_ cols: Int, _ j0: String) -> String {
            var parts: [String] = []
            if fullR > 0 { parts.append("for (int it = 0; it < \(fullR); it++) {\n\(tile(rs, cols, "it * \(rs)", j0))\n}") }
            if remR > 0 { parts.append(tile(remR, cols, "\(fullR * rs)", j0)) }
            return parts.joined(separator: "\n")
        }
        func colsOf(_ rows: Int, _ i0: String) -> String {
            var parts: [String] = []
            if fullC > 0 { parts.append("for (int jt = 0; jt < \(fullC); jt++) {\n\(tile(rows, cs, i0, "jt * \(cs)"))\n}") }
            if remC > 0 { parts.append(tile(rows, remC, i0, "\(fullC * cs)")) }
            return parts.joined(separator: "\n")
        }
        var body: [String] = []
        if spec.order == .columns {
            if fullC > 0 { body.append("for (int jt = 0; jt < \(fullC); jt++) {\n\(rowsOf(cs, "jt * \(cs)"))\n}") }
            if remC > 0 { body.append(rowsOf(remC, "\(fullC * cs)")) }
        } else {
            if fullR > 0 { body.append("for (int it = 0; it < \(fullR); it++) {\n\(colsOf(rs, "it * \(rs)"))\n}") }
            if remR > 0 { body.append(colsOf(remR, "\(fullR * rs)")) }
        }
        var out = [packed ? pack() : "", "    const \(ops.vtype) va = \(ops.set1("alpha")), vb = \(ops.set1("beta"));",
                   "    const int mode = beta == 0 ? (alpha == 1 ? 0 : 1) : alpha == 1 && beta == 1 ? 2 : 3;"]
        if ops.isa == .avx512 { out.append("    const \(half.vtype) vah = \(half.set1("alpha")), vbh = \(half.set1("beta"));\n    (void)vah; (void)vbh;") }
        out += body
        out.append("    (void)va; (void)vb;")
        return out.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}

/// Emits the O(1) exact-shape dispatch of one dtype: a perfect hash of the column-major
/// call (m, n, k, transa, transb) chosen at generation time, so a lookup is two multiplies,
/// a table read and one compare.
public struct ShapeDispatchEmitter {
    let dtype: DType
    let specs: [ShapeKernelSpec]

    func emitters() -> [ShapeKernelEmitter] {
        specs.enumerated().map { ShapeKernelEmitter(spec: $0.element, tag: "shape\($0.offset)") }
    }

    /// A two-level perfect hash of distinct keys (hash and displace): a key's bucket is
    /// `(key * m1) >> (64 - bucketBits)`, its slot `((key ^ disp[bucket] * c) * m2) >> (64 - bits)`,
    /// and no two keys share a slot. The table has at most 4 slots per key (2 when there are many).
    public struct PerfectHash: Sendable {
        public static let m1: UInt64 = 0x9E37_79B9_7F4A_7C15
        public static let m2: UInt64 = 0xBF58_476D_1CE4_E5B9
        public static let c: UInt64 = 0x94D0_49BB_1331_11EB
        public var bucketBits: Int
        public var bits: Int
        public var displacements: [UInt16]

        public func bucket(_ key: UInt64) -> Int { bucketBits == 0 ? 0 : Int((key &* Self.m1) >> UInt64(64 - bucketBits)) }
        public func slot(_ key: UInt64) -> Int {
            Int(((key ^ (UInt64(displacements[bucket(key)]) &* Self.c)) &* Self.m2) >> UInt64(64 - bits))
        }

        public init(_ keys: [UInt64]) {
            var bits = 1
            while (1 << bits) < 2 * max(1, keys.count) { bits += 1 }
            var bucketBits = 0
            while (1 << (bucketBits + 1)) <= keys.count / 2 { bucketBits += 1 }
            while true {
                self.bits = bits; self.bucketBits = bucketBits
                displacements = [UInt16](repeating: 0, count: 1 << bucketBits)
                if fill(keys) { return }
                bits += 1 // no displacement fits some bucket: a wider table
            }
        }

        /// Chooses each bucket's displacement, biggest buckets first; false when one has none.
        private mutating func fill(_ keys: [UInt64]) -> Bool {
            var taken = Set<Int>()
            let buckets = Dictionary(grouping: keys, by: bucket).sorted { $0.value.count > $1.value.count }
            for (b, members) in buckets {
                var found = false
                for d in 0...UInt16.max {
                    displacements[b] = d
                    let slots = members.map(slot)
                    if Set(slots).count == slots.count && taken.isDisjoint(with: slots) {
                        taken.formUnion(slots); found = true
                        break
                    }
                }
                if !found { return false }
            }
            return true
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
        let hash = PerfectHash(keys)
        var slots = [(key: UInt64, index: Int)](repeating: (0, -1), count: 1 << hash.bits)
        for (i, key) in keys.enumerated() { slots[hash.slot(key)] = (key, i) }
        let bucket = hash.bucketBits == 0 ? "0" : "(unsigned)((key * 0x\(String(PerfectHash.m1, radix: 16))ull) >> \(64 - hash.bucketBits))"
        let table = slots.map { "{ 0x\(String($0.key, radix: 16))u, \($0.index) }" }.joined(separator: ", ")
        parts.append("""
            static const uint16_t bt_\(d)_shape_disp[\(hash.displacements.count)] = { \(hash.displacements.map(String.init).joined(separator: ", ")) };
            static const struct { uint64_t key; int index; } bt_\(d)_shape_slots[\(slots.count)] = { \(table) };
            static const bt_\(d)_kernel bt_\(d)_shape_kernels[\(es.count)] = { \(es.map(\.kernelName).joined(separator: ", ")) };
            static const bt_\(d)_direct bt_\(d)_shape_plans[\(es.count)] = { \(es.map(\.planName).joined(separator: ", ")) };

            /* The index of the kernel of a column-major call's exact shape; -1: none listed. */
            static inline int bt_\(d)_shape_find(int transa, int transb, int64_t m, int64_t n, int64_t k)
            {
                if (((uint64_t)m | (uint64_t)n | (uint64_t)k) >> 16) return -1;
                const uint64_t key = (uint64_t)m | (uint64_t)n << 16 | (uint64_t)k << 32
                                     | (uint64_t)(transa != 0) << 48 | (uint64_t)(transb != 0) << 49;
                const uint64_t d = bt_\(d)_shape_disp[\(bucket)];
                const unsigned h = (unsigned)(((key ^ d * 0x\(String(PerfectHash.c, radix: 16))ull) * 0x\(String(PerfectHash.m2, radix: 16))ull) >> \(64 - hash.bits));
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
