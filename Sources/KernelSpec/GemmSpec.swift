/// Which loop of the blocked driver the threads split.
public enum ParallelLoop: String, Codable, CaseIterable, Sendable {
    /// Row blocks when there are at least as many as threads, else column panels.
    case auto
    /// Row blocks of A (the IC loop).
    case rows
    /// Column panels of B (the JR loop).
    case columns
}

/// Configuration of one generated GEMM kernel: register tile, unrolling, cache blocking,
/// prefetch distances, packing, thread split and thread count.
///
/// The micro-kernel keeps an `mr x nr` block of C in `(mr / lanes) * nr` vector
/// accumulators, vector-loads `mr` elements of packed A and broadcasts `nr` elements of
/// packed B per step of K. Blocking follows the BLIS five-loop scheme: `nc` columns of B
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

    public init(dtype: DType, isa: ISA, mr: Int, nr: Int, kUnroll: Int = 4, kc: Int, mc: Int, nc: Int,
                prefetchA: Int = 0, prefetchB: Int = 0, threads: Int = 0,
                packA: Bool = true, packB: Bool = true, parallel: ParallelLoop = .auto) {
        self.dtype = dtype; self.isa = isa; self.mr = mr; self.nr = nr; self.kUnroll = kUnroll
        self.kc = kc; self.mc = mc; self.nc = nc
        self.prefetchA = prefetchA; self.prefetchB = prefetchB; self.threads = threads
        self.packA = packA; self.packB = packB; self.parallel = parallel
    }

    private enum CodingKeys: String, CodingKey {
        case dtype, isa, mr, nr, kUnroll, kc, mc, nc, prefetchA, prefetchB, threads, packA, packB, parallel
    }

    /// Decodes a spec; the packing and thread-split fields are optional (default: packed, auto).
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
                  parallel: try c.decodeIfPresent(ParallelLoop.self, forKey: .parallel) ?? .auto)
    }

    /// Vectors per column of the register tile.
    public var mrVectors: Int { mr / isa.lanes(dtype) }

    /// Vector registers the micro-kernel needs: accumulators, A vectors and one B broadcast.
    public var registersNeeded: Int { mrVectors * nr + mrVectors + 1 }

    /// A short human-readable summary, e.g. `f32 avx512 32x12 ku4 kc336 mc384 nc4092`.
    public var summary: String {
        "\(dtype.rawValue) \(isa.rawValue) \(mr)x\(nr) ku\(kUnroll) kc\(kc) mc\(mc) nc\(nc)"
            + " pfA\(prefetchA) pfB\(prefetchB) \(packA ? "pA" : "dA")\(packB ? "pB" : "dB") par-\(parallel.rawValue) t\(threads)"
    }

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
        guard mr % lanes == 0 else {
            throw fail("mr", "\(mr) is not a multiple of the vector width (\(lanes) \(dtype.rawValue) lanes on \(isa.rawValue))")
        }
        guard registersNeeded <= isa.registerCount else {
            throw fail("nr", "tile \(mr)x\(nr) needs \(registersNeeded) vector registers "
                + "(\(mrVectors * nr) accumulators, \(mrVectors) A vectors, 1 B broadcast); "
                + "\(isa.rawValue) has \(isa.registerCount)")
        }
        guard (1...16).contains(kUnroll) else { throw fail("kUnroll", "must be 1 to 16 (got \(kUnroll))") }
        guard kc >= 1 else { throw fail("kc", "must be at least 1 (got \(kc))") }
        guard mc >= mr, mc % mr == 0 else { throw fail("mc", "must be a positive multiple of mr = \(mr) (got \(mc))") }
        guard nc >= nr, nc % nr == 0 else { throw fail("nc", "must be a positive multiple of nr = \(nr) (got \(nc))") }
        guard (0...65536).contains(prefetchA) else { throw fail("prefetchA", "must be 0 to 65536 bytes (got \(prefetchA))") }
        guard (0...65536).contains(prefetchB) else { throw fail("prefetchB", "must be 0 to 65536 bytes (got \(prefetchB))") }
        guard (0...1024).contains(threads) else { throw fail("threads", "must be 0 to 1024 (got \(threads))") }
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
