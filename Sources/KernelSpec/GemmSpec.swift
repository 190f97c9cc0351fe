/// Which loop of the blocked driver the threads split.
public enum ParallelLoop: String, Codable, CaseIterable, Sendable {
    /// Row blocks when there are at least as many as threads, else column panels.
    case auto
    /// Row blocks of A (the IC loop).
    case rows
    /// Column panels of B (the JR loop).
    case columns
}

/// Which operand the micro-kernel broadcasts, element by element, against vectors of the other.
public enum TileOrientation: String, Codable, CaseIterable, Sendable {
    /// Vector loads of A (`mr` rows), broadcasts of B; accumulators run down the columns of C.
    case broadcastB
    /// Vector loads of B (`nr` columns), broadcasts of A; accumulators run along the rows of C
    /// and are transposed on their way to column-major C. `nr` is then the vector multiple.
    case broadcastA

    /// An `mr x nr` tile of this orientation as summaries name it: broadcast-A tiles are
    /// marked `bA` after the tile.
    public func label(mr: Int, nr: Int) -> String { "\(mr)x\(nr)" + (self == .broadcastA ? " bA" : "") }
}

/// Configuration of one generated GEMM kernel: register tile, unrolling, cache blocking,
/// prefetch distances, packing, thread split and thread count.
///
/// The micro-kernel keeps an `mr x nr` block of C in vector accumulators. Broadcasting B
/// (the default), it vector-loads `mr` elements of packed A and broadcasts `nr` elements of
/// packed B per step of K; broadcasting A, it vector-loads `nr` elements of B and broadcasts
/// `mr` elements of A. Blocking follows the BLIS five-loop scheme: `nc` columns of B
/// per outer block, `kc` of K per packed panel, `mc` rows of A per packed block.
public struct GemmSpec: Codable, Hashable, Sendable {
    public var dtype: DType
    public var isa: ISA
    /// Rows of the register tile (a multiple of the vector width).
    public var mr: Int
    /// Columns of the register tile.
    public var nr: Int
    /// Unroll factor of the micro-kernel's K loop.
    public var kUnroll: Int
    /// K extent of a packed panel.
    public var kc: Int
    /// Rows of a packed A block (a multiple of `mr`).
    public var mc: Int
    /// Columns of a packed B panel (a multiple of `nr`).
    public var nc: Int
    /// How far ahead (bytes) the micro-kernel prefetches packed A; 0 disables.
    public var prefetchA: Int
    /// How far ahead (bytes) the micro-kernel prefetches packed B; 0 disables.
    public var prefetchB: Int
    /// Threads to use; 0 lets the library decide from the problem size.
    public var threads: Int
    /// Pack A into MR slivers (true), or let the micro-kernel read A where it lies when
    /// it is not transposed (edge slivers are still packed). Unpacked operands suit
    /// skinny and small shapes, where packing costs as much as the arithmetic.
    public var packA: Bool
    /// Pack B into NR slivers (true), or read it where it lies (edge slivers packed).
    public var packB: Bool
    /// The loop the threads split.
    public var parallel: ParallelLoop
    /// The operand the micro-kernel broadcasts.
    public var orientation: TileOrientation
    /// How many K steps before the end of its loop the micro-kernel prefetches its C tile
    /// into L1 (all of the loop when it is shorter). Before the loop, the streamed sliver
    /// evicts the lines again before the epilogue reads them.
    public var prefetchCLate: Int
    /// How many K steps before the end it prefetches C a first time (0: never), so that the
    /// late prefetch finds the lines in L2; only when that comes before the late one and at
    /// least ``prefetchCEarlyStart`` steps into the loop.
    public var prefetchCEarly: Int

    /// The seeds of the C prefetch distances, which the search moves per machine and class.
    public static let defaultPrefetchCLate = 64
    public static let defaultPrefetchCEarly = 192
    /// The early C prefetch is not issued in the loop's first steps, where it would only
    /// compete with the loads that start the loop.
    public static let prefetchCEarlyStart = 32

    public init(dtype: DType, isa: ISA, mr: Int, nr: Int, kUnroll: Int = 4, kc: Int, mc: Int, nc: Int,
                prefetchA: Int = 0, prefetchB: Int = 0, threads: Int = 0,
                packA: Bool = true, packB: Bool = true, parallel: ParallelLoop = .auto,
                orientation: TileOrientation = .broadcastB,
                prefetchCLate: Int = defaultPrefetchCLate, prefetchCEarly: Int = defaultPrefetchCEarly) {
        self.dtype = dtype; self.isa = isa; self.mr = mr; self.nr = nr; self.kUnroll = kUnroll
        self.kc = kc; self.mc = mc; self.nc = nc
        self.prefetchA = prefetchA; self.prefetchB = prefetchB; self.threads = threads
        self.packA = packA; self.packB = packB; self.parallel = parallel; self.orientation = orientation
        self.prefetchCLate = prefetchCLate; self.prefetchCEarly = prefetchCEarly
    }

    private enum CodingKeys: String, CodingKey {
        case dtype, isa, mr, nr, kUnroll, kc, mc, nc, prefetchA, prefetchB, threads, packA, packB, parallel, orientation
        case prefetchCLate, prefetchCEarly
    }

    /// Encodes a spec; the orientation and the C prefetch distances are written only when
    /// they are not the defaults, so that such specs keep the form earlier results and journals have.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dtype, forKey: .dtype); try c.encode(isa, forKey: .isa)
        try c.encode(mr, forKey: .mr); try c.encode(nr, forKey: .nr); try c.encode(kUnroll, forKey: .kUnroll)
        try c.encode(kc, forKey: .kc); try c.encode(mc, forKey: .mc); try c.encode(nc, forKey: .nc)
        try c.encode(prefetchA, forKey: .prefetchA); try c.encode(prefetchB, forKey: .prefetchB)
        try c.encode(threads, forKey: .threads); try c.encode(packA, forKey: .packA); try c.encode(packB, forKey: .packB)
        try c.encode(parallel, forKey: .parallel)
        if orientation != .broadcastB { try c.encode(orientation, forKey: .orientation) }
        if prefetchCLate != Self.defaultPrefetchCLate { try c.encode(prefetchCLate, forKey: .prefetchCLate) }
        if prefetchCEarly != Self.defaultPrefetchCEarly { try c.encode(prefetchCEarly, forKey: .prefetchCEarly) }
    }

    /// Decodes a spec; the packing, thread-split, orientation and C prefetch fields are
    /// optional (default: packed, auto, broadcast B, the default distances).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dtype: try c.decode(DType.self, forKey: .dtype), isa: try c.decode(ISA.self, forKey: .isa),
                  mr: try c.decode(Int.self, forKey: .mr), nr: try c.decode(Int.self, forKey: .nr),
                  kUnroll: try c.decodeIfPresent(Int.self, forKey: .kUnroll) ?? 4,
                  kc: try c.decode(Int.self, forKey: .kc), mc: try c.decode(Int.self, forKey: .mc),
                  nc: try c.decode(Int.self, forKey: .nc),
                  prefetchA: try c.decodeIfPresent(Int.self, forKey: .prefetchA) ?? 0,
                  prefetchB: try c.decodeIfPresent(Int.self, forKey: .prefetchB) ?? 0,
                  threads: try c.decodeIfPresent(Int.self, forKey: .threads) ?? 0,
                  packA: try c.decodeIfPresent(Bool.self, forKey: .packA) ?? true,
                  packB: try c.decodeIfPresent(Bool.self, forKey: .packB) ?? true,
                  parallel: try c.decodeIfPresent(ParallelLoop.self, forKey: .parallel) ?? .auto,
                  orientation: try c.decodeIfPresent(TileOrientation.self, forKey: .orientation) ?? .broadcastB,
                  prefetchCLate: try c.decodeIfPresent(Int.self, forKey: .prefetchCLate) ?? Self.defaultPrefetchCLate,
                  prefetchCEarly: try c.decodeIfPresent(Int.self, forKey: .prefetchCEarly) ?? Self.defaultPrefetchCEarly)
    }

    /// Vectors per column of the register tile (broadcasting B).
    public var mrVectors: Int { mr / isa.lanes(dtype) }

    /// Vectors per row of the register tile (broadcasting A).
    public var nrVectors: Int { nr / isa.lanes(dtype) }

    /// Vectors loaded per step of K: of A when broadcasting B, of B when broadcasting A.
    public var loadedVectors: Int { orientation == .broadcastB ? mrVectors : nrVectors }

    /// Elements broadcast per step of K.
    public var broadcasts: Int { orientation == .broadcastB ? nr : mr }

    /// Vector registers the micro-kernel needs: accumulators, loaded vectors and one broadcast.
    public var registersNeeded: Int { loadedVectors * broadcasts + loadedVectors + 1 }

    /// A short human-readable summary, e.g. `f32 avx512 32x12 ku4 kc336 mc384 nc4092 ...`.
    public var summary: String {
        "\(dtype.rawValue) \(isa.rawValue) \(tileLabel) ku\(kUnroll) kc\(kc) mc\(mc) nc\(nc)"
            + " pfA\(prefetchA) pfB\(prefetchB) \(packingLabel) par-\(parallel.rawValue) t\(threads)"
            + (prefetchCLate != Self.defaultPrefetchCLate || prefetchCEarly != Self.defaultPrefetchCEarly
               ? " pfC\(prefetchCLate)/\(prefetchCEarly)" : "")
    }

    /// The register tile as summaries name it: `32x12`, or `29x16 bA` broadcasting A.
    public var tileLabel: String { orientation.label(mr: mr, nr: nr) }

    /// The packing of A and B as summaries name it: `pA`/`dA` (packed, or read in place), then `pB`/`dB`.
    public var packingLabel: String { (packA ? "pA" : "dA") + (packB ? "pB" : "dB") }

    /// Largest packing buffer a spec may ask for.
    public static let maxPanelBytes: Int64 = 1 << 30

    /// Checks that the spec can be generated; throws naming the first impossible field.
    public func validate() throws(SpecValidationError) {
        let lanes = isa.lanes(dtype)
        func fail(_ field: String, _ reason: String) -> SpecValidationError {
            SpecValidationError(field: field, reason: reason)
        }
        guard mr >= 1 else { throw fail("mr", "must be at least 1 (got \(mr))") }
        guard nr >= 1 else { throw fail("nr", "must be at least 1 (got \(nr))") }
        let (vectorField, vectorDim) = orientation == .broadcastB ? ("mr", mr) : ("nr", nr)
        guard vectorDim % lanes == 0 else {
            throw fail(vectorField, "\(vectorDim) is not a multiple of the vector width (\(lanes) \(dtype.rawValue) lanes on \(isa.rawValue))"
                + (orientation == .broadcastA ? " (broadcasting A, nr is loaded as vectors)" : ""))
        }
        guard registersNeeded <= isa.registerCount else {
            let (loaded, bcast) = orientation == .broadcastB ? ("A", "B") : ("B", "A")
            throw fail(orientation == .broadcastB ? "nr" : "mr", "tile \(mr)x\(nr) needs \(registersNeeded) vector registers "
                + "(\(loadedVectors * broadcasts) accumulators, \(loadedVectors) \(loaded) vectors, 1 \(bcast) broadcast); "
                + "\(isa.rawValue) has \(isa.registerCount)")
        }
        guard (1...16).contains(kUnroll) else { throw fail("kUnroll", "must be 1 to 16 (got \(kUnroll))") }
        guard kc >= 1 else { throw fail("kc", "must be at least 1 (got \(kc))") }
        guard mc >= mr, mc % mr == 0 else { throw fail("mc", "must be a positive multiple of mr = \(mr) (got \(mc))") }
        guard nc >= nr, nc % nr == 0 else { throw fail("nc", "must be a positive multiple of nr = \(nr) (got \(nc))") }
        guard (0...65536).contains(prefetchA) else { throw fail("prefetchA", "must be 0 to 65536 bytes (got \(prefetchA))") }
        guard (0...65536).contains(prefetchB) else { throw fail("prefetchB", "must be 0 to 65536 bytes (got \(prefetchB))") }
        guard (0...1024).contains(threads) else { throw fail("threads", "must be 0 to 1024 (got \(threads))") }
        guard (1...4096).contains(prefetchCLate) else { throw fail("prefetchCLate", "must be 1 to 4096 K steps (got \(prefetchCLate))") }
        guard (0...4096).contains(prefetchCEarly) else { throw fail("prefetchCEarly", "must be 0 to 4096 K steps (got \(prefetchCEarly))") }
        for (field, rows) in [("mc", mc), ("nc", nc)] {
            let bytes: Int64
            do { bytes = try CheckedSize.product([Int64(kc), Int64(rows), dtype.size], "kc x \(field) panel bytes") }
            catch { throw fail(field, error.description) }
            guard bytes <= Self.maxPanelBytes else {
                throw fail(field, "packed panel kc x \(field) = \(bytes) bytes exceeds \(Self.maxPanelBytes) bytes")
            }
        }
    }
}
