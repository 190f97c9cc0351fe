import KernelSpec

/// The K loop of the packed x packed micro-kernels on x86 (AVX-512 and AVX2) as inline
/// assembly with a fixed register allocation: accumulators in the low vector registers,
/// the loaded vectors after them, then the broadcast registers.
///
/// With 24 to 31 live vector registers, GCC's allocator spills accumulators and shuffles
/// registers inside the unrolled C loop (seen with `perf annotate`); how much that costs
/// depends on the compiler and the tile. The assembly makes the hot loop the same whatever
/// compiles it, as BLIS and OpenBLAS do. Broadcasting B, a full tile is scaled and stored
/// to C by the assembly too: through GCC's epilogue (a stack buffer, column pointers
/// spilled) it cost about 3% of sgemm 2048^3 here. Edge tiles and broadcast-A tiles
/// (stored transposed) leave through a 64-byte aligned stack buffer to the C epilogue.
extension GemmEmitter {
    /// Whether a kernel with these modes gets the assembly K loop.
    func usesAsmLoop(_ am: AMode, _ bm: BMode) -> Bool {
        spec.isa != .generic && am == .packed && bm == .packed
    }

    /// The assembly K loop and, after it, C declarations `name(x, v)` of the accumulators,
    /// for `loaded` vectors and `broadcasts` broadcast elements per step; the loop prefetches
    /// the `cTile` (rows x columns, column-major with stride ldc) near its end.
    ///
    /// Broadcasting B, the vectors come from packed A (stride MR per step) and the elements
    /// from packed B (stride NR); broadcasting A, the other way round.
    func asmKLoop(loaded lv: Int, broadcasts nb: Int, cTile: (rows: Int, columns: Int),
                  name: (_ x: Int, _ v: Int) -> String) -> String {
        let size = Int(spec.dtype.size), lanes = ops.lanes, ku = spec.kUnroll
        let reg = spec.isa == .avx512 ? "zmm" : "ymm"
        let sfx = spec.dtype == .f32 ? "ps" : "pd", bsfx = spec.dtype == .f32 ? "ss" : "sd"
        let accs = lv * nb
        // Accumulator of broadcast x and vector v.
        func accReg(_ x: Int, _ v: Int) -> Int { x * lv + v }
        let firstLoaded = accs
        let firstBcast = accs + lv
        let bcastRegs = max(1, min(2, spec.isa.registerCount - firstBcast))
        let (vecOp, vecStride, bcOp, bcStride) = broadcastA
            ? ("b", spec.nr, "a", spec.mr) : ("a", spec.mr, "b", spec.nr)
        let pfVec = broadcastA ? spec.prefetchB : spec.prefetchA
        let pfBc = broadcastA ? spec.prefetchA : spec.prefetchB

        func step(_ u: Int) -> [String] {
            var l: [String] = []
            // Prefetches: one per cache line of this step's vectors and broadcast elements.
            if pfVec > 0 {
                for off in stride(from: 0, to: lv * lanes * size, by: 64) {
                    l.append("prefetcht0 \(pfVec + u * vecStride * size + off)(%[\(vecOp)])")
                }
            }
            if pfBc > 0 {
                let lo = u * bcStride * size, hi = (u + 1) * bcStride * size
                for off in stride(from: (lo + 63) / 64 * 64, to: hi, by: 64) { l.append("prefetcht0 \(pfBc + off)(%[\(bcOp)])") }
            }
            for v in 0..<lv {
                l.append("vmovap\(sfx.last!) \((u * vecStride + v * lanes) * size)(%[\(vecOp)]), %%\(reg)\(firstLoaded + v)")
            }
            for x in 0..<nb {
                let br = firstBcast + (u * nb + x) % bcastRegs
                l.append("vbroadcast\(bsfx) \((u * bcStride + x) * size)(%[\(bcOp)]), %%\(reg)\(br)")
                for v in 0..<lv {
                    l.append("vfmadd231\(sfx) %%\(reg)\(firstLoaded + v), %%\(reg)\(br), %%\(reg)\(accReg(x, v))")
                }
            }
            return l
        }
        let zero = (0..<accs).map { n in
            spec.isa == .avx512 ? "vpxord %%zmm\(n), %%zmm\(n), %%zmm\(n)" : "vxorps %%ymm\(n), %%ymm\(n), %%ymm\(n)"
        }
        // The C tile's lines when `count` iterations remain (operands `cp` and `ce` of
        // ``cPrefetchCounts``): each column's line starts and its last element, as in
        // ``prefetchCTile``. Columns and rows past a short edge tile are prefetched too; a
        // prefetch never faults.
        let colBytes = cTile.rows * size
        let offsets = Array(stride(from: 0, to: colBytes, by: 64)) + (colBytes % 64 == size ? [] : [colBytes - size])
        func prefetchC(when count: String, skip label: Int) -> [String] {
            var l = ["cmp %[\(count)], %[n]", "jne \(label)f", "mov %[c], %[t]"]
            for j in 0..<cTile.columns {
                l += offsets.map { "prefetcht0 \($0)(%[t])" }
                if j + 1 < cTile.columns { l.append("add %[l], %[t]") }
            }
            return l + ["\(label):"]
        }
        var body = zero
        body.append("test %[n], %[n]")
        body.append("jz 2f")
        body.append("1:")
        body += prefetchC(when: "ce", skip: 9) + prefetchC(when: "cp", skip: 5)
        for u in 0..<ku { body += step(u) }
        body.append("add $\(vecStride * ku * size), %[\(vecOp)]")
        body.append("add $\(bcStride * ku * size), %[\(bcOp)]")
        body.append("dec %[n]")
        body.append("jnz 1b")
        body.append("2:")
        body.append("test %[r], %[r]")
        body.append("jz 4f")
        body.append("3:")
        body += step(0)
        body.append("add $\(vecStride * size), %[\(vecOp)]")
        body.append("add $\(bcStride * size), %[\(bcOp)]")
        body.append("dec %[r]")
        body.append("jnz 3b")
        body.append("4:")
        let vbytes = lanes * size
        // Broadcasting B, a full tile (fm 1, or 2 when beta is 0 and C is not read) is scaled
        // and stored from the registers, accumulator (x, v) to column x, rows v * lanes on;
        // the loaded and broadcast registers, free now, hold alpha and beta. Edge tiles and
        // broadcast-A tiles (stored transposed) leave through the buffer to the C epilogue.
        let direct = !broadcastA
        if direct {
            let alphaReg = "%%\(reg)\(firstLoaded)", betaReg = "%%\(reg)\(firstBcast)"
            // Column by column, t stepping by ldc bytes from c.
            func columns(_ op: (_ acc: String, _ at: String) -> [String]) -> [String] {
                (0..<nb).flatMap { x -> [String] in
                    (0..<lv).flatMap { v in op("%%\(reg)\(accReg(x, v))", "\(v * vbytes)(%[t])") }
                        + (x + 1 < nb ? ["add %[l], %[t]"] : [])
                }
            }
            // Every read of C comes before the first store: with ldc a multiple of 4 KiB, a
            // load of column x + 1 after the store to column x looks aliased to the CPU and
            // waits for it.
            func update(readC: Bool) -> [String] {
                let scale = columns { acc, at in
                    ["vmul\(sfx) \(alphaReg), \(acc), \(acc)"] + (readC ? ["vfmadd231\(sfx) \(at), \(betaReg), \(acc)"] : [])
                }
                return scale + ["mov %[c], %[t]"] + columns { acc, at in ["vmovup\(sfx.last!) \(acc), \(at)"] }
            }
            body += ["cmp $1, %[fm]", "jb 6f", "vbroadcast\(bsfx) %[alpha], \(alphaReg)", "mov %[c], %[t]", "ja 7f",
                     "vbroadcast\(bsfx) %[beta], \(betaReg)"]
            body += update(readC: true) + ["jmp 8f", "7:"] + update(readC: false) + ["jmp 8f", "6:"]
        }
        for n in 0..<accs { body.append("vmovap\(sfx.last!) %%\(reg)\(n), \(n * vbytes)(%[acc])") }
        if direct { body.append("8:") }
        let used = firstBcast + bcastRegs
        let clobbers = (0..<used).map { "\"xmm\($0)\"" }.joined(separator: ", ")
        let asm = body.map { "        \"\($0)\\n\\t\"" }.joined(separator: "\n")
        let loads = (0..<nb).flatMap { x in (0..<lv).map { v in
            "    const \(ops.vtype) \(name(x, v)) = \(ops.load("accbuf + \(accReg(x, v) * lanes)"));"
        } }.joined(separator: "\n")
        let fmDecl = direct
            ? "const int64_t fm = mr == \(cTile.rows) && nr == \(cTile.columns) ? (beta == 0 ? 2 : 1) : 0;"
            : "const int64_t fm = 0;"
        let fmInputs = direct ? ", [fm] \"r\"(fm), [alpha] \"m\"(alpha), [beta] \"m\"(beta)" : ""
        return """
                \(t) accbuf[\(accs * lanes)] __attribute__((aligned(64)));
                int64_t iters = kc / \(ku), rest = kc % \(ku);
            \(cPrefetchCounts)
                \(fmDecl)
                const \(t) *cline;
                __asm__ volatile(
            \(asm)
                    : [a] "+r"(ap), [b] "+r"(bp), [n] "+r"(iters), [r] "+r"(rest), [t] "=&r"(cline)
                    : [acc] "r"(accbuf), [c] "r"(c), [l] "r"((uintptr_t)ldc * sizeof(\(t))), [cp] "r"(cp), [ce] "r"(ce)\(fmInputs)
                    : "cc", "memory", \(clobbers));
                if (fm) return; /* the assembly stored the whole tile */
            \(loads)
            """
    }
}
