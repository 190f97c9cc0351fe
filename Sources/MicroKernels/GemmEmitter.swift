import KernelSpec

/// Emits the C of one GEMM variant: a register-blocked micro-kernel, the packing of A
/// and B, and the five-loop blocked driver, all for column-major C.
///
/// Every function it writes is prefixed `bt_<d><index>_` (e.g. `bt_s0_`). The driver
/// `bt_<d><index>_gemm` takes already-validated arguments: the entry points of
/// ``ABIEmitter`` check sizes, overflow and layout before calling it.
struct GemmEmitter {
    let spec: GemmSpec
    let index: Int

    var ops: VectorOps { VectorOps(isa: spec.isa, dtype: spec.dtype) }
    var prefix: String { "bt_\(spec.dtype.blasLetter)\(index)_" }
    var t: String { spec.dtype.cType }
    var target: String { VectorOps.targetAttribute(spec.isa) }

    func emit() -> String {
        [comment, microKernel, packA, packB, driver].joined(separator: "\n")
    }

    private var comment: String {
        "/* ---- \(spec.summary) ---- */\n"
    }

    // MARK: micro-kernel

    private func acc(_ v: Int, _ j: Int) -> String { "c\(v)_\(j)" }

    /// One step of K: load the MR-vector of A, broadcast each B element, FMA.
    private func kStep(_ u: Int, indent: String) -> String {
        let mv = spec.mrVectors, lanes = ops.lanes
        var lines: [String] = []
        if spec.prefetchA > 0 {
            let bytesPerStep = spec.mr * Int(spec.dtype.size)
            for off in stride(from: 0, to: bytesPerStep, by: 64) {
                lines.append(ops.prefetch("(uintptr_t)(ap + \(u * spec.mr)) + \(spec.prefetchA + off)") + ";")
            }
        }
        if spec.prefetchB > 0 && u % max(1, 64 / (spec.nr * Int(spec.dtype.size))) == 0 {
            lines.append(ops.prefetch("(uintptr_t)(bp + \(u * spec.nr)) + \(spec.prefetchB)") + ";")
        }
        for v in 0..<mv { lines.append("a\(v) = \(ops.load("ap + \(u * spec.mr + v * lanes)"));") }
        for j in 0..<spec.nr {
            var l = "bv = \(ops.set1("bp[\(u * spec.nr + j)]"));"
            for v in 0..<mv { l += " \(acc(v, j)) = \(ops.fma("a\(v)", "bv", acc(v, j)));" }
            lines.append(l)
        }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }

    private var microKernel: String {
        let mv = spec.mrVectors, lanes = ops.lanes, mr = spec.mr, nr = spec.nr, ku = spec.kUnroll
        let vt = ops.vtype
        let decls = (0..<nr).map { j in (0..<mv).map { "\(acc($0, j)) = \(ops.zero())" }.joined(separator: ", ") }
            .map { "    \(vt) \($0);" }.joined(separator: "\n")
        let unrolled = (0..<ku).map { kStep($0, indent: "        ") }.joined(separator: "\n")
        let prefetchC = (0..<nr).map { j in
            "    if (\(j) < nr) { \(ops.prefetch("c + \(j) * ldc")); \(ops.prefetch("c + \(j) * ldc + (mr - 1)")); }"
        }.joined(separator: "\n")

        // Full tile: unmasked stores straight to C.
        func fullStore(beta: Bool) -> String {
            (0..<nr).flatMap { j in (0..<mv).map { v -> String in
                let cp = "c + \(j) * ldc + \(v * lanes)"
                let scaled = ops.mul("va", acc(v, j))
                return "        " + ops.storeu(cp, beta ? ops.fma("vb", ops.loadu(cp), scaled) : scaled) + ";"
            } }.joined(separator: "\n")
        }
        let edgeStore: String
        if ops.hasMasks {
            // Masked loads/stores for the rows, a guard per column: nothing outside mr x nr is touched.
            let masks = (0..<mv).map { v in
                "    const \(ops.maskType) m\(v) = bt_mask\(ops.maskType == "__mmask16" ? 16 : 8)(mr - \(v * lanes));"
            }.joined(separator: "\n")
            let cols = (0..<nr).map { j -> String in
                let body = (0..<mv).map { v -> String in
                    let cp = "c + \(j) * ldc + \(v * lanes)"
                    let scaled = ops.mul("va", acc(v, j))
                    return "            " + ops.maskStoreu(cp, "m\(v)",
                        "beta == 0 ? \(scaled) : \(ops.fma("vb", ops.maskzLoadu("m\(v)", cp), scaled))") + ";"
                }.joined(separator: "\n")
                return "        if (\(j) < nr) {\n\(body)\n        }"
            }.joined(separator: "\n")
            edgeStore = "\(masks)\n    {\n\(cols)\n    }"
        } else {
            // Stage the tile, then copy the valid mr x nr part with scalar code.
            let stage = (0..<nr).flatMap { j in (0..<mv).map { v in
                "    \(ops.storeu("tile + \(j * mr + v * lanes)", ops.mul("va", acc(v, j))));"
            } }.joined(separator: "\n")
            edgeStore = """
                    \(t) tile[\(mr * nr)];
                \(stage)
                    for (int64_t j = 0; j < nr; j++)
                        for (int64_t i = 0; i < mr; i++)
                            c[i + j * ldc] = beta == 0 ? tile[i + j * \(mr)] : tile[i + j * \(mr)] + beta * c[i + j * ldc];
                """
        }
        return """
            /* Micro-kernel: C[0:mr, 0:nr] = alpha * Ap * Bp + beta * C (beta == 0: C is not read).
               Ap: packed \(mr) x kc sliver of A; Bp: packed kc x \(nr) sliver of B (zero-padded). */
            \(target) static inline void \(prefix)ukernel(int64_t kc, const \(t) *restrict ap, const \(t) *restrict bp,
                \(t) *restrict c, int64_t ldc, int64_t mr, int64_t nr, \(t) alpha, \(t) beta)
            {
            \(decls)
                \(vt) \((0..<mv).map { "a\($0)" }.joined(separator: ", ")), bv;
            \(prefetchC)
                int64_t p = 0;
                for (; p + \(ku) <= kc; p += \(ku)) {
            \(unrolled)
                    ap += \(mr * ku);
                    bp += \(nr * ku);
                }
                for (; p < kc; p++) {
            \(kStep(0, indent: "        "))
                    ap += \(mr);
                    bp += \(nr);
                }
                const \(vt) va = \(ops.set1("alpha"));
                const \(vt) vb = \(ops.set1("beta"));
                if (mr == \(mr) && nr == \(nr)) {
                    if (beta == 0) {
            \(fullStore(beta: false))
                    } else {
            \(fullStore(beta: true))
                    }
                    return;
                }
            \(edgeStore)
            }

            """
    }

    // MARK: packing

    private var packA: String {
        let mr = spec.mr
        return """
            /* Packs op(A)[0:mc, 0:kc] (a points at its first element) into MR-row slivers,
               each kc x \(mr) and contiguous, rows past mc zero-filled. */
            \(target) static void \(prefix)pack_a(int64_t mc, int64_t kc, const \(t) *restrict a, int64_t lda,
                int trans, \(t) *restrict ap)
            {
                for (int64_t i0 = 0; i0 < mc; i0 += \(mr)) {
                    const int64_t mr = mc - i0 < \(mr) ? mc - i0 : \(mr);
                    if (!trans) {
                        const \(t) *src = a + i0;
                        if (mr == \(mr)) {
                            for (int64_t p = 0; p < kc; p++, src += lda, ap += \(mr))
                                for (int64_t i = 0; i < \(mr); i++) ap[i] = src[i];
                        } else {
                            for (int64_t p = 0; p < kc; p++, src += lda, ap += \(mr)) {
                                int64_t i = 0;
                                for (; i < mr; i++) ap[i] = src[i];
                                for (; i < \(mr); i++) ap[i] = 0;
                            }
                        }
                    } else {
                        for (int64_t i = 0; i < \(mr); i++) {
                            if (i < mr) {
                                const \(t) *src = a + (i0 + i) * lda;
                                for (int64_t p = 0; p < kc; p++) ap[p * \(mr) + i] = src[p];
                            } else {
                                for (int64_t p = 0; p < kc; p++) ap[p * \(mr) + i] = 0;
                            }
                        }
                        ap += kc * \(mr);
                    }
                }
            }

            """
    }

    private var packB: String {
        let nr = spec.nr
        return """
            /* Packs the NR-column sliver op(B)[0:kc, 0:nr] (b points at its first element) as
               kc rows of \(nr) contiguous elements, columns past nr zero-filled. */
            \(target) static void \(prefix)pack_b_sliver(int64_t nr, int64_t kc, const \(t) *restrict b, int64_t ldb,
                int trans, \(t) *restrict bp)
            {
                if (trans) {
                    for (int64_t p = 0; p < kc; p++, bp += \(nr)) {
                        const \(t) *src = b + p * ldb;
                        int64_t j = 0;
                        for (; j < nr; j++) bp[j] = src[j];
                        for (; j < \(nr); j++) bp[j] = 0;
                    }
                } else {
                    for (int64_t j = 0; j < \(nr); j++) {
                        if (j < nr) {
                            const \(t) *src = b + j * ldb;
                            for (int64_t p = 0; p < kc; p++) bp[p * \(nr) + j] = src[p];
                        } else {
                            for (int64_t p = 0; p < kc; p++) bp[p * \(nr) + j] = 0;
                        }
                    }
                }
            }

            """
    }

    // MARK: driver

    private var driver: String {
        let mr = spec.mr, nr = spec.nr, kc = spec.kc, mc = spec.mc, nc = spec.nc
        return """
            /* Column-major C = alpha * op(A) * op(B) + beta * C for validated arguments with
               m, n, k > 0 and alpha != 0. Five loops: jc (NC) > pc (KC) > ic (MC) > jr (NR) > ir (MR).
               Threads share the packed B panel; each packs its own A block. */
            \(target) static int \(prefix)gemm(int transa, int transb, int64_t m, int64_t n, int64_t k,
                \(t) alpha, const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb,
                \(t) beta, \(t) *c, int64_t ldc, int nthreads)
            {
                const int64_t KC = \(kc), MC = \(mc), NC = \(nc);
                const int64_t kc_max = k < KC ? k : KC;
                const int64_t mc_max = bt_round_up(m < MC ? m : MC, \(mr));
                const int64_t nc_max = bt_round_up(n < NC ? n : NC, \(nr));
                size_t a_elems, b_elems, a_bytes, b_bytes;
                if (bt_mul_size(kc_max, mc_max, &a_elems) || bt_mul_size(kc_max, nc_max, &b_elems)
                    || bt_mul_size((int64_t)a_elems, (int64_t)sizeof(\(t)) * nthreads, &a_bytes)
                    || bt_mul_size((int64_t)b_elems, (int64_t)sizeof(\(t)), &b_bytes))
                    return BT_EOVERFLOW;
                \(t) *bbuf = (\(t) *)bt_aligned_alloc(b_bytes);
                \(t) *abuf = (\(t) *)bt_aligned_alloc(a_bytes);
                if (!bbuf || !abuf) {
                    bt_aligned_free(bbuf);
                    bt_aligned_free(abuf);
                    return BT_ENOMEM;
                }
            #ifdef _OPENMP
            #pragma omp parallel num_threads(nthreads) if (nthreads > 1)
            #endif
                {
                    const int tid = bt_thread_id(), nth = bt_thread_count();
                    \(t) *ap = abuf + (size_t)tid * a_elems;
                    for (int64_t jc = 0; jc < n; jc += NC) {
                        const int64_t nc = n - jc < NC ? n - jc : NC;
                        const int64_t npanels = (nc + \(nr - 1)) / \(nr);
                        for (int64_t pc = 0; pc < k; pc += KC) {
                            const int64_t kc = k - pc < KC ? k - pc : KC;
                            const \(t) beta_eff = pc == 0 ? beta : (\(t))1;
                            bt_barrier(); /* nobody still reads the previous B panel */
                            for (int64_t q = tid; q < npanels; q += nth) {
                                const int64_t j0 = q * \(nr);
                                const \(t) *bsrc = transb ? b + (jc + j0) + pc * ldb : b + pc + (jc + j0) * ldb;
                                \(prefix)pack_b_sliver(nc - j0 < \(nr) ? nc - j0 : \(nr), kc, bsrc, ldb, transb, bbuf + q * kc * \(nr));
                            }
                            bt_barrier(); /* B panel complete */
                            /* Row blocks of at most MC, as many as a multiple of the thread count when
                               there are enough rows, so that every thread gets the same share. */
                            const int64_t rounds = (m + MC * nth - 1) / (MC * nth);
                            const int64_t mcb = nth == 1 ? MC : bt_round_up((m + rounds * nth - 1) / (rounds * nth), \(mr));
                            const int64_t mblocks = (m + mcb - 1) / mcb;
                            /* Enough A blocks: threads take whole blocks. Otherwise they split the B panel. */
                            const int by_block = mblocks >= nth;
                            const int64_t q0 = by_block ? 0 : npanels * tid / nth;
                            const int64_t q1 = by_block ? npanels : npanels * (tid + 1) / nth;
                            for (int64_t ib = by_block ? tid : 0; ib < mblocks; ib += by_block ? nth : 1) {
                                const int64_t ic = ib * mcb;
                                const int64_t mc = m - ic < mcb ? m - ic : mcb;
                                if (q0 >= q1) continue;
                                const \(t) *asrc = transa ? a + pc + ic * lda : a + ic + pc * lda;
                                \(prefix)pack_a(mc, kc, asrc, lda, transa, ap);
                                for (int64_t q = q0; q < q1; q++) {
                                    const int64_t j0 = q * \(nr);
                                    const int64_t nr = nc - j0 < \(nr) ? nc - j0 : \(nr);
                                    const \(t) *bp = bbuf + q * kc * \(nr);
                                    for (int64_t i0 = 0; i0 < mc; i0 += \(mr)) {
                                        const int64_t mr = mc - i0 < \(mr) ? mc - i0 : \(mr);
                                        \(prefix)ukernel(kc, ap + i0 * kc, bp, c + (ic + i0) + (jc + j0) * ldc, ldc, mr, nr, alpha, beta_eff);
                                    }
                                }
                            }
                        }
                    }
                }
                bt_aligned_free(bbuf);
                bt_aligned_free(abuf);
                return BT_OK;
            }

            """
    }
}
