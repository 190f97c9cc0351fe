import KernelSpec

/// The broadcast-A micro-kernel: per step of K it loads `nr / lanes` vectors of a row of B
/// and broadcasts each of the `mr` elements of a column of A against them, so the
/// accumulators hold rows of the C tile. The packed layouts are those of the broadcast-B
/// kernel (A in MR-row slivers, B in NR-column slivers); only the micro-kernel differs.
/// Its rows are transposed into column-major C in registers (AVX-512) or through a small
/// staging tile (AVX2 and the portable backend).
extension GemmEmitter {
    /// Accumulator of row `i`, column vector `v`.
    private func rowAcc(_ i: Int, _ v: Int) -> String { "r\(i)_\(v)" }

    /// Element `i` of A's column at step `u`.
    private func aElement(_ am: AMode, _ u: Int, _ i: Int) -> String {
        am == .packed ? "ap[\(u * spec.mr + i)]" : "ap[\(u) * lda + \(i)]"
    }

    /// One step of K: load the row vectors of B, broadcast each element of A, FMA.
    private func kStepBroadcastA(_ am: AMode, _ bm: BMode, _ u: Int, vectors nv: Int, indent: String) -> String {
        let lanes = ops.lanes, size = Int(spec.dtype.size), mr = spec.mr
        var lines: [String] = []
        if spec.prefetchA > 0 {
            switch am {
            case .packed:
                // One prefetch per cache line of the unrolled steps' A (a step may be under a line).
                let lo = u * mr * size, hi = (u + 1) * mr * size
                for off in stride(from: (lo + 63) / 64 * 64, to: hi, by: 64) {
                    lines.append(ops.prefetch("(uintptr_t)ap + \(spec.prefetchA + off)") + ";")
                }
            case .direct:
                let steps = max(1, spec.prefetchA / (mr * size))
                lines.append(ops.prefetch("(uintptr_t)ap + (uintptr_t)(\(u + steps) * lda) * sizeof(\(t))") + ";")
            }
        }
        if spec.prefetchB > 0 {
            for off in stride(from: 0, to: nv * lanes * size, by: 64) {
                let row = bm == .packed ? "bp + \(u * spec.nr)" : "bp + \(u) * ldb"
                lines.append(ops.prefetch("(uintptr_t)(\(row)) + \(spec.prefetchB + off)") + ";")
            }
        }
        for v in 0..<nv {
            lines.append(bm == .packed
                ? "b\(v) = \(ops.load("bp + \(u * spec.nr + v * lanes)"));"
                : "b\(v) = \(ops.loadu("bp + \(u) * ldb + \(v * lanes)"));")
        }
        for i in 0..<mr {
            var l = "av = \(ops.set1(aElement(am, u, i)));"
            for v in 0..<nv { l += " \(rowAcc(i, v)) = \(ops.fma("b\(v)", "av", rowAcc(i, v)));" }
            lines.append(l)
        }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }

    /// The AVX-512 store: each group of `lanes` rows of each column vector is transposed in
    /// registers by a butterfly of two-source permutes (log2(lanes) stages exchanging ever
    /// larger blocks; rows past MR are known zeros and cost nothing), then every column of C
    /// gets one masked vector store.
    private func transposedStore(vectors nv: Int) -> String {
        let lanes = ops.lanes, mr = spec.mr, vt = ops.vtype
        let ps = spec.dtype == .f32 ? "ps" : "pd", bits = spec.dtype == .f32 ? 16 : 8
        let setr = spec.dtype == .f32 ? "_mm512_setr_epi32" : "_mm512_setr_epi64"
        var lines: [String] = []
        var stageBlocks: [Int] = []
        var b = 1
        while b < lanes { stageBlocks.append(b); b *= 2 }
        for b in stageBlocks {
            let lo = (0..<lanes).map { l in l & b != 0 ? lanes + l - b : l }
            let hi = (0..<lanes).map { l in l & b != 0 ? lanes + l : l + b }
            lines.append("    const __m512i lo\(b) = \(setr)(\(lo.map(String.init).joined(separator: ", ")));")
            lines.append("    const __m512i hi\(b) = \(setr)(\(hi.map(String.init).joined(separator: ", ")));")
        }
        lines.append("    const \(vt) vb = \(ops.set1("beta"));")
        for g in stride(from: 0, to: mr, by: lanes) {
            lines.append("    {")
            lines.append("        const \(ops.maskType) m = bt_mask\(bits)(mr - \(g));")
            for v in 0..<nv {
                // slot[i]: the C expression holding row i of the block, nil when known zero.
                var slot: [String?] = (0..<lanes).map { g + $0 < mr ? rowAcc(g + $0, v) : nil }
                for b in stageBlocks {
                    var next = slot
                    for i in 0..<lanes where i & b == 0 {
                        guard slot[i] != nil || slot[i + b] != nil else { continue }
                        let x = slot[i] ?? ops.zero(), y = slot[i + b] ?? ops.zero()
                        let (nlo, nhi) = ("t\(v)_\(b)_\(i)", "t\(v)_\(b)_\(i + b)")
                        lines.append("        const \(vt) \(nlo) = _mm512_permutex2var_\(ps)(\(x), lo\(b), \(y));")
                        lines.append("        const \(vt) \(nhi) = _mm512_permutex2var_\(ps)(\(x), hi\(b), \(y));")
                        next[i] = nlo; next[i + b] = nhi
                    }
                    slot = next
                }
                for j in 0..<lanes {
                    let col = v * lanes + j, cp = "c + \(g) + \(col) * ldc"
                    let scaled = ops.mul("va", slot[j] ?? ops.zero())
                    lines.append("        if (\(col) < nr) " + ops.maskStoreu(cp, "m",
                        "beta == 0 ? \(scaled) : \(ops.fma("vb", ops.maskzLoadu("m", cp), scaled))") + ";")
                }
            }
            lines.append("    }")
        }
        return lines.joined(separator: "\n")
    }

    /// The kernel computing all MR rows and `vectors` vectors of columns (all of NR by default).
    func microKernelBroadcastA(_ am: AMode, _ bm: BMode, vectors: Int? = nil) -> String {
        let nv = vectors ?? spec.nrVectors, lanes = ops.lanes, mr = spec.mr
        let nr = nv * lanes   // columns this kernel computes; packed B keeps the stride of spec.nr
        let vt = ops.vtype
        let decls = (0..<mr).map { i in (0..<nv).map { "\(rowAcc(i, $0)) = \(ops.zero())" }.joined(separator: ", ") }
            .map { "    \(vt) \($0);" }.joined(separator: "\n")
        let unused = [am == .packed ? "(void)lda;" : "", bm == .packed ? "(void)ldb;" : ""].joined(separator: " ")
        // Rows of the tile, scaled by alpha, into a row-major staging tile.
        let stage = (0..<mr).flatMap { i in (0..<nv).map { v in
            "    \(ops.storeu("tile + \(i * nr + v * lanes)", ops.mul("va", rowAcc(i, v))));"
        } }.joined(separator: "\n")
        func copy(rows: String, cols: String) -> String {
            """
                    if (beta == 0) {
                        for (int64_t j = 0; j < \(cols); j++)
                            for (int64_t i = 0; i < \(rows); i++) c[i + j * ldc] = tile[i * \(nr) + j];
                    } else {
                        for (int64_t j = 0; j < \(cols); j++)
                            for (int64_t i = 0; i < \(rows); i++) c[i + j * ldc] = tile[i * \(nr) + j] + beta * c[i + j * ldc];
                    }
            """
        }
        let kLoop = kLoop(am, bm, cTile: (mr, nr), loaded: nv, broadcasts: mr, name: rowAcc,
                          locals: decls + "\n    \(vt) \((0..<nv).map { "b\($0)" }.joined(separator: ", ")), av;\n",
                          step: { kStepBroadcastA(am, bm, $0, vectors: nv, indent: "        ") })
        let store = ops.hasMasks ? transposedStore(vectors: nv) : """
                \(t) tile[\(mr * nr)] __attribute__((aligned(64)));
            \(stage)
                if (mr == \(mr) && nr == \(nr)) {
            \(copy(rows: "\(mr)", cols: "\(nr)"))
                    return;
                }
            \(copy(rows: "mr", cols: "nr"))
            """
        return """
            /* Micro-kernel (A \(am), B \(bm)), broadcasting A: C[0:mr, 0:nr] = alpha * A * B + beta * C (beta == 0: C is not read).
               A: \(am == .packed ? "packed kc x \(mr) sliver (zero-padded)" : "A itself, column-major with stride lda (all \(mr) rows valid)").
               B: \(bm == .packed ? "packed kc x \(spec.nr) sliver (zero-padded), \(nr) columns used" : "B's rows, element (p, j) at bp[p * ldb + j] (all \(nr) valid)"). */
            \(target) static inline void \(kernelName(am, bm, vectors: nv))(int64_t kc, const \(t) *restrict ap, int64_t lda,
                const \(t) *restrict bp, int64_t ldb, \(t) *restrict c, int64_t ldc, int64_t mr, int64_t nr, \(t) alpha, \(t) beta)
            {
                \(unused)
            \(kLoop)
                const \(vt) va = \(ops.set1("alpha"));
            \(store)
            }

            """
    }
}
