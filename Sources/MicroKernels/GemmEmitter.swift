import KernelSpec

/// Emits the C of one GEMM variant: register-blocked micro-kernels, the packing of A and
/// B, and the five-loop blocked driver, all for column-major C.
///
/// Every function it writes is prefixed `bt_<d><index>_` (e.g. `bt_s0_`). The driver
/// `bt_<d><index>_gemm` takes already-validated arguments: the entry points of
/// ``GemmABIEmitter`` check sizes, overflow and layout before calling it.
struct GemmEmitter {
    let spec: GemmSpec
    let index: Int

    /// Where the micro-kernel reads A: a packed MR sliver, or A itself (column-major, stride lda).
    enum AMode: String, CaseIterable { case packed = "p", direct = "d" }
    /// Where it reads B: a packed NR sliver, B's columns (element (p, j) at b[p + j ldb]) or
    /// B's rows (a transposed B: element (p, j) at b[p ldb + j]).
    enum BMode: String, CaseIterable { case packed = "p", cols = "c", rows = "r" }

    var ops: VectorOps { VectorOps(isa: spec.isa, dtype: spec.dtype) }
    var prefix: String { "bt_\(spec.dtype.blasLetter)\(index)_" }
    var t: String { spec.dtype.cType }
    var target: String { VectorOps.targetAttribute(spec.isa) }
    var ctx: String { "bt_\(spec.dtype.blasLetter)_ctx" }

    var aModes: [AMode] { spec.packA ? [.packed] : [.packed, .direct] }
    /// Broadcasting A, the micro-kernel loads vectors along B's rows: an unpacked B is read
    /// where it lies only when transposed (B's columns are packed instead).
    var bModes: [BMode] {
        spec.packB ? [.packed] : spec.orientation == .broadcastB ? [.packed, .cols, .rows] : [.packed, .rows]
    }
    var broadcastA: Bool { spec.orientation == .broadcastA }

    func emit() -> String {
        var parts = ["/* ---- \(spec.summary) ---- */\n"]
        for am in aModes { for bm in bModes { parts.append(microKernel(am, bm)) } }
        // Narrower kernels for edge slivers (always packed) with fewer vectors than the tile:
        // fewer rows than MR broadcasting B, fewer columns than NR broadcasting A, so that a
        // short edge does not pay for the whole register tile.
        for v in 1..<spec.loadedVectors {
            if broadcastA { for am in aModes { parts.append(microKernel(am, .packed, vectors: v)) } }
            else { for bm in bModes { parts.append(microKernel(.packed, bm, vectors: v)) } }
        }
        parts += [packA, packB, work, driver]
        return parts.joined(separator: "\n")
    }

    /// The micro-kernel for A and B modes computing `vectors` loaded vectors (all by default).
    func kernelName(_ am: AMode, _ bm: BMode, vectors: Int? = nil) -> String {
        let v = vectors ?? spec.loadedVectors
        return "\(prefix)ukernel_\(am.rawValue)\(bm.rawValue)" + (v == spec.loadedVectors ? "" : "_v\(v)")
    }

    /// The micro-kernel for A and B modes in the spec's orientation.
    func microKernel(_ am: AMode, _ bm: BMode, vectors: Int? = nil) -> String {
        broadcastA ? microKernelBroadcastA(am, bm, vectors: vectors) : microKernelBroadcastB(am, bm, vectors: vectors)
    }

    // MARK: micro-kernel, broadcasting B

    private func acc(_ v: Int, _ j: Int) -> String { "c\(v)_\(j)" }

    /// Element (u, j) of B for step `u` of the unrolled loop.
    private func bElement(_ bm: BMode, _ u: Int, _ j: Int) -> String {
        switch bm {
        case .packed: return "bp[\(u * spec.nr + j)]"
        case .rows: return "bp[\(u) * ldb + \(j)]"
        case .cols:
            let g = j / 3, r = j % 3
            return "bg\(g)[\(u)\(r == 0 ? "" : r == 1 ? " + ldb" : " + 2 * ldb")]"
        }
    }

    /// One step of K: load the MR-vector of A, broadcast each B element, FMA.
    private func kStep(_ am: AMode, _ bm: BMode, _ u: Int, vectors mv: Int, indent: String) -> String {
        let lanes = ops.lanes, size = Int(spec.dtype.size)
        var lines: [String] = []
        if spec.prefetchA > 0 {
            for off in stride(from: 0, to: mv * lanes * size, by: 64) {
                switch am {
                case .packed:
                    lines.append(ops.prefetch("(uintptr_t)(ap + \(u * spec.mr)) + \(spec.prefetchA + off)") + ";")
                case .direct:
                    let steps = max(1, spec.prefetchA / (spec.mr * size))
                    lines.append(ops.prefetch("(uintptr_t)ap + (uintptr_t)(\(u + steps) * lda) * sizeof(\(t)) + \(off)") + ";")
                }
            }
        }
        if spec.prefetchB > 0 && bm == .packed && u % max(1, 64 / (spec.nr * size)) == 0 {
            lines.append(ops.prefetch("(uintptr_t)(bp + \(u * spec.nr)) + \(spec.prefetchB)") + ";")
        }
        for v in 0..<mv {
            switch am {
            case .packed: lines.append("a\(v) = \(ops.load("ap + \(u * spec.mr + v * lanes)"));")
            case .direct: lines.append("a\(v) = \(ops.loadu("ap + \(u) * lda + \(v * lanes)"));")
            }
        }
        for j in 0..<spec.nr {
            var l = "bv = \(ops.set1(bElement(bm, u, j)));"
            for v in 0..<mv { l += " \(acc(v, j)) = \(ops.fma("a\(v)", "bv", acc(v, j)));" }
            lines.append(l)
        }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }

    /// C declarations of `cp` and `ce`, the numbers of unrolled iterations left (of `iters`,
    /// in scope) at which both K loops prefetch the C tile: late, all of them when the loop
    /// is shorter; early, -1 (never) unless it comes before the late one.
    /// The distances are the spec's (``GemmSpec/prefetchCLate``, ``GemmSpec/prefetchCEarly``).
    var cPrefetchCounts: String {
        let ku = spec.kUnroll
        let lead = max(1, (spec.prefetchCLate + ku - 1) / ku)
        let early = spec.prefetchCEarly == 0 ? -1 : max(1, (spec.prefetchCEarly + ku - 1) / ku)
        let start = max(1, (GemmSpec.prefetchCEarlyStart + ku - 1) / ku)
        return """
                const int64_t cp = iters < \(lead) ? iters : \(lead);
                const int64_t ce0 = iters - \(start) < \(early) ? iters - \(start) : \(early);
                const int64_t ce = ce0 > cp ? ce0 : -1;
            """
    }

    /// Prefetches of every cache line of each column of a `rows x columns` C tile, issued
    /// by the C K loop (prefetches never fault, so rows past a short edge tile are harmless).
    func prefetchCTile(rows: Int, columns: Int) -> String {
        let lineElems = 64 / Int(spec.dtype.size)
        return (0..<columns).map { j in
            let lines = stride(from: 0, to: rows, by: lineElems).map { ops.prefetch("c + \(j) * ldc + \($0)") + ";" }
            return "    if (\(j) < nr) { " + lines.joined(separator: " ") + " \(ops.prefetch("c + \(j) * ldc + (mr - 1)")); }"
        }.joined(separator: "\n")
    }

    /// The K loop of a micro-kernel: the assembly loop of ``asmKLoop`` for packed x packed on
    /// x86, else C: `locals` (accumulators, loaded vectors, broadcast), then KU unrolled
    /// `step(u)`s per iteration and single steps for the rest of K. Both prefetch the C tile
    /// ``GemmSpec/prefetchCLate`` steps before the end (before the loop when K is shorter
    /// than KU), and longer loops ``GemmSpec/prefetchCEarly`` steps before the end too.
    func kLoop(_ am: AMode, _ bm: BMode, cTile: (rows: Int, columns: Int), loaded: Int, broadcasts: Int,
               name: (_ x: Int, _ v: Int) -> String, locals: String, step: (Int) -> String) -> String {
        if usesAsmLoop(am, bm) { return asmKLoop(loaded: loaded, broadcasts: broadcasts, cTile: cTile, name: name) }
        let ku = spec.kUnroll
        let prefetchC = prefetchCTile(rows: cTile.rows, columns: cTile.columns)
        return """
            \(locals)    if (kc < \(ku)) {
            \(prefetchC)
                }
                const int64_t iters = kc / \(ku);
            \(cPrefetchCounts)
                int64_t p = 0;
                for (int64_t n = iters; n > 0; n--, p += \(ku)) {
                    if (n == ce || n == cp) {
            \(prefetchC)
                    }
            \((0..<ku).map(step).joined(separator: "\n"))
            \(advance(am, bm, steps: ku))
                }
                for (; p < kc; p++) {
            \(step(0))
            \(advance(am, bm, steps: 1))
                }
            """
    }

    func advance(_ am: AMode, _ bm: BMode, steps: Int) -> String {
        var l: [String] = []
        l.append(am == .packed ? "ap += \(spec.mr * steps);" : "ap += \(steps) * lda;")
        switch bm {
        case .packed: l.append("bp += \(spec.nr * steps);")
        case .rows: l.append("bp += \(steps) * ldb;")
        case .cols: l.append((0..<(spec.nr + 2) / 3).map { "bg\($0) += \(steps);" }.joined(separator: " "))
        }
        return l.map { "        " + $0 }.joined(separator: "\n")
    }

    private func microKernelBroadcastB(_ am: AMode, _ bm: BMode, vectors: Int? = nil) -> String {
        let mv = vectors ?? spec.mrVectors, lanes = ops.lanes, nr = spec.nr
        let mr = mv * lanes   // rows this kernel computes; packed A keeps the stride of spec.mr
        let vt = ops.vtype
        let decls = (0..<nr).map { j in (0..<mv).map { "\(acc($0, j)) = \(ops.zero())" }.joined(separator: ", ") }
            .map { "    \(vt) \($0);" }.joined(separator: "\n")
        let groups = bm == .cols
            ? (0..<(nr + 2) / 3).map { "    const \(t) *bg\($0) = bp + \(3 * $0) * ldb;" }.joined(separator: "\n") + "\n"
            : ""
        let unused = [am == .packed ? "(void)lda;" : "", bm == .packed ? "(void)ldb;" : ""].joined(separator: " ")
        let kLoop = kLoop(am, bm, cTile: (mr, nr), loaded: mv, broadcasts: nr, name: { acc($1, $0) },
                          locals: decls + "\n    \(vt) \((0..<mv).map { "a\($0)" }.joined(separator: ", ")), bv;\n" + groups,
                          step: { kStep(am, bm, $0, vectors: mv, indent: "        ") })

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
            /* Micro-kernel (A \(am), B \(bm)): C[0:mr, 0:nr] = alpha * A * B + beta * C (beta == 0: C is not read).
               A: \(am == .packed ? "packed \(mr) x kc sliver" : "A itself, column-major with stride lda (all \(mr) rows valid)").
               B: \(bm == .packed ? "packed kc x \(nr) sliver (zero-padded)" : bm == .cols ? "B's columns, element (p, j) at bp[p + j * ldb] (all \(nr) valid)" : "B's rows, element (p, j) at bp[p * ldb + j] (all \(nr) valid)"). */
            \(target) static inline void \(kernelName(am, bm, vectors: mv))(int64_t kc, const \(t) *restrict ap, int64_t lda,
                const \(t) *restrict bp, int64_t ldb, \(t) *restrict c, int64_t ldc, int64_t mr, int64_t nr, \(t) alpha, \(t) beta)
            {
                \(unused)
            \(kLoop)
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

    /// `text` with every line indented by `n` spaces.
    private func indented(_ text: String, _ n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }

    private var packA: String {
        let mr = spec.mr, lanes = ops.lanes
        // A full sliver's column as whole vectors, then single elements: left to the
        // compiler, the copy became a call of memmove per column.
        let copy = (0..<mr / lanes).map { ops.storeu("ap + \($0 * lanes)", ops.loadu("src + \($0 * lanes)")) + ";" }
            + (mr / lanes * lanes..<mr).map { "ap[\($0)] = src[\($0)];" }
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
                            for (int64_t p = 0; p < kc; p++, src += lda, ap += \(mr)) {
            \(copy.map { "                    " + $0 }.joined(separator: "\n"))
                            }
                        } else {
                            for (int64_t p = 0; p < kc; p++, src += lda, ap += \(mr)) {
                                int64_t i = 0;
                                for (; i < mr; i++) ap[i] = src[i];
                                for (; i < \(mr); i++) ap[i] = 0;
                            }
                        }
                    } else if (mr == \(mr)) {
                        const \(t) *src = a + i0 * lda;
            \(indented(ops.transposedCopy(src: "src", ld: "lda", dst: "ap", count: "kc", width: mr), 12))
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
                } else if (nr == \(nr)) {
                    /* A full sliver: one pass down the \(nr) columns together, writing bp in order. */
                    const \(t) *src = b;
            \(indented(ops.transposedCopy(src: "src", ld: "ldb", dst: "bp", count: "kc", width: nr), 8))
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

    /// The call of the right micro-kernel for the runtime A and B modes and, for packed A,
    /// the number of row vectors the sliver needs.
    private var kernelSwitch: String {
        let lanes = ops.lanes, lv = spec.loadedVectors
        let args = "(kc, ap, lda, bp, ldb, cc, ldc, mr, nr, alpha, beta_eff);"
        var cases: [String] = []
        for am in aModes {
            for bm in bModes {
                let cond = "am == \(am == .packed ? 0 : 1) && bm == \(BMode.allCases.firstIndex(of: bm)!)"
                var call = "\(kernelName(am, bm))\(args)"
                // Edge slivers: fewer rows of packed A, or (broadcasting A) fewer columns of packed B.
                let (edgeable, edgeDim) = broadcastA ? (bm == .packed, "nr") : (am == .packed, "mr")
                if edgeable && lv > 1 {
                    var chain = ""
                    for v in 1..<lv { chain += "if (\(edgeDim) <= \(v * lanes)) \(kernelName(am, bm, vectors: v))\(args) else " }
                    call = "{ " + chain + call + " }"
                }
                cases.append("if (\(cond)) \(call)")
            }
        }
        return cases.joined(separator: "\n                    else ")
    }

    private var splitRule: String {
        switch spec.parallel {
        case .auto: "mblocks >= nth"
        case .rows: "1"
        case .columns: "0"
        }
    }

    private var work: String {
        let mr = spec.mr, nr = spec.nr
        return """
            /* The share of thread `tid` of `nth`: five loops jc (NC) > pc (KC) > ic (MC) > jr (NR) > ir (MR).
               Threads share the packed B panel; each has its own A block and edge slivers. */
            \(target) static void \(prefix)work(const \(ctx) *g, int tid, int nth)
            {
                const int64_t KC = \(spec.kc), MC = \(spec.mc), NC = \(spec.nc);
                const int64_t m = g->m, n = g->n, k = g->k, lda = g->lda, ldb = g->ldb, ldc = g->ldc;
                const int transa = g->transa, transb = g->transb;
                const \(t) *a = g->a, *b = g->b, alpha = g->alpha;
                \(t) *c = g->c;
                const int a_packed = \(spec.packA ? 1 : 0) || transa;
                \(t) *ablk = g->scratch + g->panel + (size_t)tid * g->stride;
                \(t) *bedge = ablk + g->ablock;
                (void)bedge;
                for (int64_t jc = 0; jc < n; jc += NC) {
                    const int64_t nc = n - jc < NC ? n - jc : NC;
                    const int64_t npanels = (nc + \(nr - 1)) / \(nr);
                    for (int64_t pc = 0; pc < k; pc += KC) {
                        const int64_t kc = k - pc < KC ? k - pc : KC;
                        const \(t) beta_eff = pc == 0 ? g->beta : (\(t))1;
            \(spec.packB ? """
                        if (nth > 1) bt_barrier(); /* nobody still reads the previous B panel */
                        for (int64_t q = tid; q < npanels; q += nth) {
                            const int64_t j0 = q * \(nr);
                            const \(t) *bsrc = transb ? b + (jc + j0) + pc * ldb : b + pc + (jc + j0) * ldb;
                            \(prefix)pack_b_sliver(nc - j0 < \(nr) ? nc - j0 : \(nr), kc, bsrc, ldb, transb, g->scratch + q * kc * \(nr));
                        }
                        if (nth > 1) bt_barrier(); /* B panel complete */
            """ : "")
                        /* Row blocks of at most MC, as many as a multiple of the thread count when
                           there are enough rows, so that every thread gets the same share. */
                        const int64_t rounds = (m + MC * nth - 1) / (MC * nth);
                        const int64_t mcb = nth == 1 ? MC : bt_round_up((m + rounds * nth - 1) / (rounds * nth), \(mr));
                        const int64_t mblocks = (m + mcb - 1) / mcb;
                        const int by_block = nth == 1 || \(splitRule);
                        const int64_t q0 = by_block ? 0 : npanels * tid / nth;
                        const int64_t q1 = by_block ? npanels : npanels * (tid + 1) / nth;
                        if (q0 >= q1) continue;
                        for (int64_t ib = by_block ? tid : 0; ib < mblocks; ib += by_block ? nth : 1) {
                            const int64_t ic = ib * mcb;
                            const int64_t mc = m - ic < mcb ? m - ic : mcb;
                            const int64_t mfull = mc / \(mr) * \(mr);
                            const \(t) *asrc = transa ? a + pc + ic * lda : a + ic + pc * lda;
                            if (a_packed) \(prefix)pack_a(mc, kc, asrc, lda, transa, ablk);
                            else if (mfull < mc) \(prefix)pack_a(mc - mfull, kc, asrc + mfull, lda, 0, ablk);
                            for (int64_t q = q0; q < q1; q++) {
                                const int64_t j0 = q * \(nr);
                                const int64_t nr = nc - j0 < \(nr) ? nc - j0 : \(nr);
                                const \(t) *bsrc = transb ? b + (jc + j0) + pc * ldb : b + pc + (jc + j0) * ldb;
                                const \(t) *bp;
                                int bm;
            \(spec.packB ? """
                                bp = g->scratch + q * kc * \(nr); bm = 0; (void)bsrc;
            """ : """
                                if (nr < \(nr)\(broadcastA ? " || !transb" : "")) { \(prefix)pack_b_sliver(nr, kc, bsrc, ldb, transb, bedge); bp = bedge; bm = 0; }
                                else { bp = bsrc; bm = transb ? 2 : 1; }
            """)
                                /* Where the next sliver's B comes from (its packed panel, or B's own columns,
                                   rows when transposed): each call below prefetches a share of it into L1,
                                   and the C tile of the next call, so neither waits on L3. */
                                const int64_t jn = j0 + \(nr), nrn = q + 1 < q1 ? (nc - jn < \(nr) ? nc - jn : \(nr)) : 0;
                                const int64_t es = (int64_t)sizeof(\(t));
                                const char *bnext = NULL;
                                int64_t bn_rows = 0, bn_len = 0, bn_stride = 0;
            \(spec.packB ? """
                                if (nrn > 0) { bnext = (const char *)(g->scratch + (q + 1) * kc * \(nr)); bn_rows = 1; bn_len = kc * \(nr) * es; }
            """ : """
                                if (nrn > 0 && transb) { bnext = (const char *)(b + (jc + jn) + pc * ldb); bn_rows = kc; bn_len = nrn * es; bn_stride = ldb * es; }
                                else if (nrn > 0) { bnext = (const char *)(b + pc + (jc + jn) * ldb); bn_rows = nrn; bn_len = kc * es; bn_stride = ldb * es; }
            """)
                                const int64_t calls = (mc + \(mr - 1)) / \(mr);
                                for (int64_t i0 = 0; i0 < mc; i0 += \(mr)) {
                                    const int64_t mr = mc - i0 < \(mr) ? mc - i0 : \(mr);
                                    \(t) *cc = c + (ic + i0) + (jc + j0) * ldc;
                                    if (bnext) bt_prefetch_share(bnext, bn_rows, bn_len, bn_stride, i0 / \(mr), calls);
                                    /* The next call's C tile: below this one, or at the top of the next sliver. */
                                    if (i0 + \(mr) < mc) {
                                        const int64_t mrn = mc - i0 - \(mr) < \(mr) ? mc - i0 - \(mr) : \(mr);
                                        bt_prefetch_share((const char *)(cc + \(mr)), nr, mrn * es, ldc * es, 0, 1);
                                    } else if (nrn > 0) {
                                        bt_prefetch_share((const char *)(c + ic + (jc + jn) * ldc), nrn, (mc < \(mr) ? mc : \(mr)) * es, ldc * es, 0, 1);
                                    }
                                    const \(t) *ap;
                                    int am;
                                    if (a_packed) { ap = ablk + i0 * kc; am = 0; }
                                    else if (mr < \(mr)) { ap = ablk; am = 0; }
                                    else { ap = asrc + i0; am = 1; }
                                    \(kernelSwitch)
                                }
                            }
                        }
                    }
                }
            }

            """
    }

    private var driver: String {
        let mr = spec.mr, nr = spec.nr
        return """
            /* Column-major C = alpha * op(A) * op(B) + beta * C for validated arguments with
               m, n, k > 0 and alpha != 0, on `nthreads` threads. */
            \(target) static int \(prefix)gemm(int transa, int transb, int64_t m, int64_t n, int64_t k,
                \(t) alpha, const \(t) *a, int64_t lda, const \(t) *b, int64_t ldb,
                \(t) beta, \(t) *c, int64_t ldc, int nthreads)
            {
                const int64_t kc_max = k < \(spec.kc) ? k : \(spec.kc);
                const int64_t mc_max = bt_round_up(m < \(spec.mc) ? m : \(spec.mc), \(mr));
                const int64_t nc_max = bt_round_up(n < \(spec.nc) ? n : \(spec.nc), \(nr));
                \(ctx) g = { transa, transb, m, n, k, lda, ldb, ldc, a, b, c, alpha, beta, NULL, 0, 0, 0 };
                size_t panel, ablock, bedge, regions, bytes;
                /* Packed B panel (shared), then per thread: the A block (or the edge sliver of an
                   unpacked A) and the edge sliver of an unpacked B. */
                if (bt_mul_size(\(spec.packB ? "kc_max" : "0"), nc_max, &panel) || bt_round_size(&panel, 16)
                    || bt_mul_size(kc_max, \(spec.packA ? "mc_max" : "(transa ? mc_max : \(mr))"), &ablock)
                    || bt_round_size(&ablock, 16) /* the edge B sliver after it stays 64-byte aligned */
                    || bt_mul_size(kc_max, \(spec.packB ? "0" : "\(nr)"), &bedge)
                    || bt_mul_size(bt_round_up((int64_t)(ablock + bedge), 16), nthreads, &regions)
                    || bt_mul_size((int64_t)(panel + regions), (int64_t)sizeof(\(t)), &bytes))
                    return BT_EOVERFLOW;
                int owned = 0;
                g.scratch = (\(t) *)bt_scratch(bytes, &owned);
                if (!g.scratch) return BT_ENOMEM;
                g.panel = (int64_t)panel; /* a multiple of 16 elements: thread regions stay 64-byte aligned */
                g.ablock = (int64_t)ablock;
                g.stride = bt_round_up((int64_t)(ablock + bedge), 16);
                if (nthreads == 1) {
                    \(prefix)work(&g, 0, 1);
                } else {
            #ifdef _OPENMP
            #pragma omp parallel num_threads(nthreads)
                    \(prefix)work(&g, omp_get_thread_num(), omp_get_num_threads());
            #else
                    \(prefix)work(&g, 0, 1);
            #endif
                }
                if (owned) bt_aligned_free(g.scratch);
                return BT_OK;
            }

            """
    }
}
