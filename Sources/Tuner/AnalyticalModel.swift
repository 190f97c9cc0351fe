import KernelSpec

/// The BLIS-style analytical model (Low, Igual, Smith, Quintana-Ortí, TOMS 2016) that
/// derives a GEMM configuration from the machine profile; the seed of every search and
/// the configuration `blastune generate` uses before a machine is tuned.
public enum AnalyticalModel {
    /// FMA latency in cycles and FMA pipes assumed for x86 cores with AVX2 or AVX-512.
    public static let fmaLatency = 4
    public static let fmaPipes = 2
    /// Loads per cycle assumed (vector loads and broadcasts alike).
    public static let loadPorts = 2

    /// The register tile: `mrVectors` vectors of A times `nr` columns.
    ///
    /// Feasible tiles fit the register file (accumulators + A vectors + one broadcast),
    /// keep at least latency x pipes FMAs in flight, and are not load-bound: a K step's
    /// loads (`mv + nr`, over `loadPorts`) take no longer than its FMAs (`mv * nr`, over
    /// `fmaPipes`). Among those, the most accumulators wins (it amortizes the C update
    /// and the B loads); ties go to fewer A vectors (a shorter A sliver per K step).
    public static func tile(dtype: DType, isa: ISA) -> (mr: Int, nr: Int) {
        let lanes = isa.lanes(dtype), regs = isa.registerCount
        var best: (mv: Int, nr: Int)? = nil
        for mv in 1...4 {
            for nr in 1...32 where mv * nr + mv + 1 <= regs {
                let acc = mv * nr
                guard acc >= fmaLatency * fmaPipes else { continue }
                guard (mv + nr) * fmaPipes <= acc * loadPorts else { continue }
                if let b = best, b.mv * b.nr >= acc { continue }
                best = (mv, nr)
            }
        }
        let t = best ?? (1, 4)
        return (t.mv * lanes, t.nr)
    }

    /// The seed spec for `dtype` on `isa` for `machine` (with the model's tile, or `tile`).
    ///
    /// KC keeps the B sliver (kc x nr) resident in L1 next to a streaming A sliver: A gets
    /// floor((W1 - 1) / (1 + nr / mr)) of the L1 ways, kc = ways x sets x line / (mr x size).
    /// MC gives the packed A block a quarter of L2: on this Zen 5 (1 MiB L2) sgemm 2048^3 ran
    /// alike with A blocks of 96 to 450 KiB and 3-4% slower at 900 KiB (W2 - 2 ways, the
    /// earlier rule), where the C tiles and the B slivers passing through L2 evict it. NC
    /// fills W3 - 2 ways of L3 with the packed B panel.
    public static func gemmSpec(dtype: DType, isa: ISA, machine: MachineProfile, tile given: (mr: Int, nr: Int)? = nil) -> GemmSpec {
        let (mr, nr) = given ?? tile(dtype: dtype, isa: isa)
        let size = Int(dtype.size)
        let l1 = machine.cache(level: 1) ?? CacheLevel(level: 1, sizeBytes: 32 << 10, ways: 8, lineBytes: 64, sets: 64)
        let l2 = machine.cache(level: 2) ?? CacheLevel(level: 2, sizeBytes: 1 << 20, ways: 16, lineBytes: 64, sets: 1024)
        let l3 = machine.cache(level: 3) ?? l2
        let waysA = max(1, Int((Double(l1.ways - 1) / (1 + Double(nr) / Double(mr))).rounded(.down)))
        var kc = waysA * l1.sets * l1.lineBytes / (mr * size)
        kc = max(16, kc / 8 * 8)
        let mcRaw = l2.sizeBytes / 4 / (kc * size)
        let mc = max(mr, mcRaw / mr * mr)
        let ncRaw = max(2, l3.ways - 2) * (l3.sizeBytes / max(1, l3.ways)) / (kc * size)
        let nc = max(nr, min(ncRaw, 16384) / nr * nr)
        return GemmSpec(dtype: dtype, isa: isa, mr: mr, nr: nr, kUnroll: 4, kc: kc, mc: mc, nc: nc,
                        prefetchA: 512, prefetchB: 0, threads: 0)
    }

    /// The SpMV seed for `machine`: merge-path shares (no row can unbalance the threads),
    /// four accumulators (a long row's FMA chain is not the bottleneck beyond that), x by
    /// gathers where the ISA's are fast, vector rows from two chunks of nonzeros on.
    public static func spmvSpec(dtype: DType, isa: ISA, machine: MachineProfile) -> SpmvSpec {
        let chunk = isa == .generic ? 1 : isa.vectorBytes / 8
        return SpmvSpec(dtype: dtype, isa: isa, threads: 0, partition: .merge, unroll: 4,
                        loads: isa.seedsGather ? .gather : .scalar, prefetch: 0, shortRow: 2 * chunk)
    }

    /// The transpose seed for `machine`: radix buckets whose staging blocks (256 bytes of
    /// indices and 256 of values each) fill half of a thread's L2; histogram counters up to
    /// half the L3 (at least 4, at most 64 MiB).
    public static func transposeSpec(isa: ISA, machine: MachineProfile) -> TransposeSpec {
        let l2 = machine.cache(level: 2)?.sizeBytes ?? 1 << 20
        let l3 = machine.cache(level: 3)?.sizeBytes ?? l2
        let buckets = max(1, l2 / 2 / 512)
        let bits = min(14, max(6, Int.bitWidth - 1 - buckets.leadingZeroBitCount))
        let budget = Int64(min(64 << 20, max(4 << 20, l3 / 2)))
        return TransposeSpec(isa: isa, threads: 0, algorithm: .auto, radixBits: bits, histogramBudget: budget)
    }

    /// A library with one model-derived kernel per dtype for every shape and matrix.
    public static func librarySpec(isa: ISA, machine: MachineProfile) -> LibrarySpec {
        LibrarySpec(isa: isa, gemm: DType.allCases.map { GemmVariant(spec: gemmSpec(dtype: $0, isa: isa, machine: machine)) },
                    spmv: DType.allCases.map { SparseVariant(spec: spmvSpec(dtype: $0, isa: isa, machine: machine)) },
                    transpose: [SparseVariant(spec: transposeSpec(isa: isa, machine: machine))])
    }
}
