import KernelSpec

/// The configurations a GEMM search may visit for one dtype and ISA.
public struct SearchSpace: Sendable {
    public let dtype: DType
    public let isa: ISA
    public let machine: MachineProfile

    public init(dtype: DType, isa: ISA, machine: MachineProfile) {
        self.dtype = dtype; self.isa = isa; self.machine = machine
    }

    /// Register tiles worth ranking: for each number of A vectors, the widest few tiles
    /// that fit the register file and keep enough FMAs in flight.
    public func tiles() -> [(mr: Int, nr: Int)] {
        let lanes = isa.lanes(dtype), regs = isa.registerCount
        var out: [(Int, Int)] = []
        for mv in 1...4 {
            let maxNr = min(32, (regs - mv - 1) / mv)
            guard maxNr >= 1 else { continue }
            let widths = Set([maxNr, maxNr - 1, maxNr - 2, maxNr / 2 * 2, maxNr - 4].filter {
                $0 >= 1 && mv * $0 >= AnalyticalModel.fmaLatency * AnalyticalModel.fmaPipes / 2 })
            for nr in widths.sorted(by: >) { out.append((mv * lanes, nr)) }
        }
        return out
    }

    /// The model's blocking for a given tile, with packing choices.
    public func seed(mr: Int, nr: Int, packA: Bool = true, packB: Bool = true) -> GemmSpec {
        var s = AnalyticalModel.gemmSpec(dtype: dtype, isa: isa, machine: machine, tile: (mr, nr))
        s.packA = packA
        s.packB = packB
        return s
    }

    /// One-coordinate moves from `s`, each valid, for the local search.
    public func neighbours(_ s: GemmSpec) -> [GemmSpec] {
        var out: [GemmSpec] = []
        func add(_ f: (inout GemmSpec) -> Void) {
            var t = s
            f(&t)
            if t != s, (try? t.validate()) != nil { out.append(t) }
        }
        for kc in [s.kc / 2, s.kc * 3 / 4, s.kc * 3 / 2, s.kc * 2] { add { $0.kc = max(8, kc / 8 * 8) } }
        for mc in [s.mc / 2, s.mc * 2] { add { $0.mc = max(s.mr, mc / s.mr * s.mr) } }
        for nc in [s.nc / 4, s.nc / 2, s.nc * 2] { add { $0.nc = max(s.nr, min(65536, nc) / s.nr * s.nr) } }
        for ku in [1, 2, 4, 8] where ku != s.kUnroll { add { $0.kUnroll = ku } }
        for pf in [0, 256, 512, 1024] where pf != s.prefetchA { add { $0.prefetchA = pf } }
        for pf in [0, 256] where pf != s.prefetchB { add { $0.prefetchB = pf } }
        add { $0.packA.toggle() }
        add { $0.packB.toggle() }
        return out
    }
}
