import KernelSpec

/// The configurations a GEMM search may visit for one dtype and ISA.
public struct SearchSpace: Sendable {
    public let dtype: DType
    public let isa: ISA
    public let machine: MachineProfile

    public init(dtype: DType, isa: ISA, machine: MachineProfile) {
        self.dtype = dtype; self.isa = isa; self.machine = machine
    }

    /// A register tile and the operand its micro-kernel broadcasts.
    public struct Tile: Hashable, Sendable, CustomStringConvertible {
        public var mr: Int
        public var nr: Int
        public var orientation: TileOrientation
        public init(mr: Int, nr: Int, orientation: TileOrientation = .broadcastB) {
            self.mr = mr; self.nr = nr; self.orientation = orientation
        }
        public var description: String { orientation.label(mr: mr, nr: nr) }
    }

    /// Register tiles worth ranking, in both orientations: for each number of loaded
    /// vectors (1 to 4), the widest few tiles that fit the register file (accumulators,
    /// loaded vectors and one broadcast) and keep enough FMAs in flight.
    public func tiles() -> [Tile] {
        let lanes = isa.lanes(dtype), regs = isa.registerCount
        var out: [Tile] = []
        for orientation in TileOrientation.allCases {
            for lv in 1...4 {
                let maxBroadcasts = min(32, (regs - lv - 1) / lv)
                guard maxBroadcasts >= 1 else { continue }
                var counts = [maxBroadcasts, maxBroadcasts - 1, maxBroadcasts - 2, maxBroadcasts / 2 * 2, maxBroadcasts - 4]
                // Broadcasting A, row counts that divide the skinny classes' M evenly.
                if orientation == .broadcastA { counts += [8, 16].filter { $0 <= maxBroadcasts } }
                let fit = Set(counts.filter { $0 >= 1 && lv * $0 >= AnalyticalModel.fmaLatency * AnalyticalModel.fmaPipes / 2 })
                for b in fit.sorted(by: >) {
                    out.append(orientation == .broadcastB ? Tile(mr: lv * lanes, nr: b)
                                                          : Tile(mr: b, nr: lv * lanes, orientation: .broadcastA))
                }
            }
        }
        return out
    }

    /// The analytical model's register tile (broadcasting B): the fallback when tiles cannot
    /// be ranked, and a seed of every class's pool.
    public var modelTile: Tile {
        let t = AnalyticalModel.tile(dtype: dtype, isa: isa)
        return Tile(mr: t.mr, nr: t.nr)
    }

    /// The model's blocking for a given tile, with packing choices.
    public func seed(_ tile: Tile, packA: Bool = true, packB: Bool = true) -> GemmSpec {
        var s = AnalyticalModel.gemmSpec(dtype: dtype, isa: isa, machine: machine, tile: (tile.mr, tile.nr))
        s.orientation = tile.orientation
        s.packA = packA
        s.packB = packB
        return s
    }

    /// One-coordinate moves from `s`, each valid, for the local search (a KC move rescales
    /// MC with it).
    public func neighbours(_ s: GemmSpec) -> [GemmSpec] {
        var out = blockingMoves(s)
        func add(_ f: (inout GemmSpec) -> Void) {
            var t = s
            f(&t)
            if t != s, (try? t.validate()) != nil { out.append(t) }
        }
        for ku in [1, 2, 4, 8] where ku != s.kUnroll { add { $0.kUnroll = ku } }
        for pf in [0, 256, 512, 1024] where pf != s.prefetchA { add { $0.prefetchA = pf } }
        for pf in [0, 256] where pf != s.prefetchB { add { $0.prefetchB = pf } }
        // The C tile's prefetch distances (K steps): what hides C's latency depends on the machine.
        for late in [s.prefetchCLate / 2, s.prefetchCLate * 2] where late >= 8 { add { $0.prefetchCLate = late } }
        for early in [0, s.prefetchCEarly * 2 / 3, s.prefetchCEarly * 3 / 2] where early == 0 || early > s.prefetchCLate { add { $0.prefetchCEarly = early } }
        add { $0.packA.toggle() }
        add { $0.packB.toggle() }
        return out
    }

    /// Moves of the cache blocking alone (KC, MC, NC), each valid; the longer KC first.
    /// KC moves keep the packed A block's footprint (kc x mc) where it was, so that a longer
    /// KC does not push the block out of L2; MC moves alone resize it. With several threads
    /// sharing L3 and memory, a longer KC (fewer passes over C) can win where it lost on one.
    public func blockingMoves(_ s: GemmSpec) -> [GemmSpec] {
        var out: [GemmSpec] = []
        func add(_ f: (inout GemmSpec) -> Void) {
            var t = s
            f(&t)
            if t != s, !out.contains(t), (try? t.validate()) != nil { out.append(t) }
        }
        for kc in [s.kc * 2, s.kc * 3 / 2, s.kc * 3 / 4, s.kc / 2] {
            add {
                $0.kc = max(8, kc / 8 * 8)
                $0.mc = max(s.mr, s.mc * s.kc / $0.kc / s.mr * s.mr)
            }
        }
        for mc in [s.mc / 2, s.mc * 2] { add { $0.mc = max(s.mr, mc / s.mr * s.mr) } }
        for nc in [s.nc / 4, s.nc / 2, s.nc * 2] { add { $0.nc = max(s.nr, min(65536, nc) / s.nr * s.nr) } }
        return out
    }
}
