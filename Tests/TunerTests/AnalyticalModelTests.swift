import Foundation
import KernelSpec
import MicroKernels
import Testing
@testable import Tuner

@Suite("Analytical model")
struct AnalyticalModelTests {
    /// A Skylake-like profile: 32 KiB 8-way L1, 1 MiB 16-way L2, 16 MiB 16-way L3.
    let skl = MachineProfile(cpuModel: "model", vendor: "v", family: 6, model: 85, cores: 4, flags: ["avx512f", "avx2", "fma"],
        caches: [CacheLevel(level: 1, sizeBytes: 32 << 10, ways: 8, lineBytes: 64, sets: 64),
                 CacheLevel(level: 2, sizeBytes: 1 << 20, ways: 16, lineBytes: 64, sets: 1024),
                 CacheLevel(level: 3, sizeBytes: 16 << 20, ways: 16, lineBytes: 64, sets: 16384)])

    @Test("tiles fill the register file without becoming load-bound")
    func tiles() {
        // AVX-512: 2 vectors x 14 columns = 28 accumulators + 2 + 1 = 31 registers; 16 loads per 28 FMAs.
        #expect(AnalyticalModel.tile(dtype: .f32, isa: .avx512) == (32, 14))
        #expect(AnalyticalModel.tile(dtype: .f64, isa: .avx512) == (16, 14))
        // AVX2: 16 registers: 2 x 6 + 2 + 1 = 15 (the classic Haswell 16x6 / 8x6).
        #expect(AnalyticalModel.tile(dtype: .f32, isa: .avx2) == (16, 6))
        #expect(AnalyticalModel.tile(dtype: .f64, isa: .avx2) == (8, 6))
    }

    @Test("blocking follows the cache formulas (hand-computed)")
    func blocking() {
        let s = AnalyticalModel.gemmSpec(dtype: .f32, isa: .avx512, machine: skl)
        // A gets floor(7 / (1 + 14/32)) = 4 of 8 L1 ways: kc = 4 * 64 * 64 / (32 * 4) = 128.
        #expect(s.kc == 128)
        // MC = (1 MiB / 4) / (128 * 4) = 512, a multiple of 32.
        #expect(s.mc == 512)
        // NC = 14 * 1 MiB / (128 * 4) = 28672, capped at 16384, down to a multiple of 14: 16380.
        #expect(s.nc == 16380)
        #expect((try? s.validate()) != nil)
    }

    @Test("sparse seeds follow the machine: radix buckets from the L2, the histogram budget from the L3, gathers by ISA (hand-computed); an untuned machine's library gets them")
    func sparseSeeds() throws {
        // 1 MiB L2: 1024 buckets of 512 staged bytes in half of it; 16 MiB L3: an 8 MiB budget.
        let t = AnalyticalModel.transposeSpec(isa: .avx512, machine: skl)
        #expect(t.radixBits == 10 && t.histogramBudget == 8 << 20)
        var small = skl
        small.caches = [CacheLevel(level: 1, sizeBytes: 32 << 10, ways: 8, lineBytes: 64, sets: 64),
                        CacheLevel(level: 2, sizeBytes: 512 << 10, ways: 8, lineBytes: 64, sets: 1024),
                        CacheLevel(level: 3, sizeBytes: 300 << 20, ways: 20, lineBytes: 64, sets: 245760)]
        let s = AnalyticalModel.transposeSpec(isa: .avx2, machine: small)
        #expect(s.radixBits == 9 && s.histogramBudget == 64 << 20, "capped at 64 MiB")
        #expect(AnalyticalModel.spmvSpec(dtype: .f64, isa: .avx512, machine: skl).loads == .gather)
        #expect(AnalyticalModel.spmvSpec(dtype: .f64, isa: .avx2, machine: skl).loads == .scalar)
        #expect(AnalyticalModel.spmvSpec(dtype: .f32, isa: .avx2, machine: skl).shortRow == 8)
        for isa in ISA.allCases {
            try AnalyticalModel.transposeSpec(isa: isa, machine: skl).validate()
            for d in DType.allCases { try AnalyticalModel.spmvSpec(dtype: d, isa: isa, machine: skl).validate() }
        }
        // A machine without sparse results: the resolved library carries the model's sparse specs.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-empty-results-\(getpid())")
        let config = try ConfigResolver(machine: skl, results: ResultsStore(root: empty)).resolve(isa: .avx2)
        #expect(config.library.servingTranspose().map(\.1) == [AnalyticalModel.transposeSpec(isa: .avx2, machine: skl)])
        #expect(config.library.servingSpmv(.f64).map(\.1) == [AnalyticalModel.spmvSpec(dtype: .f64, isa: .avx2, machine: skl)])
    }

    @Test("the model's specs validate on every ISA and on this machine")
    func valid() throws {
        for isa in ISA.allCases {
            for m in [skl, MachineProfile.current()] {
                try AnalyticalModel.librarySpec(isa: isa, machine: m).validate()
            }
        }
    }
}

@Suite("Search space")
struct SearchSpaceTests {
    @Test("tiles of both orientations, each seeding a valid spec")
    func bothOrientations() throws {
        for isa in [ISA.avx512, .avx2] {
            for d in DType.allCases {
                let space = SearchSpace(dtype: d, isa: isa, machine: .current())
                let tiles = space.tiles()
                #expect(tiles.contains { $0.orientation == .broadcastA } && tiles.contains { $0.orientation == .broadcastB })
                for t in tiles {
                    let s = space.seed(t)
                    try s.validate()
                    #expect(s.orientation == t.orientation && s.mr == t.mr && s.nr == t.nr)
                }
            }
        }
        // AVX-512 f32 broadcasting A: 14 rows x 2 vectors (28 + 2 + 1 = 31 registers) and 8 x 48.
        let tiles = SearchSpace(dtype: .f32, isa: .avx512, machine: .current()).tiles()
        #expect(tiles.contains(.init(mr: 14, nr: 32, orientation: .broadcastA)))
        #expect(tiles.contains(.init(mr: 8, nr: 48, orientation: .broadcastA)))
        #expect(!tiles.contains(.init(mr: 15, nr: 32, orientation: .broadcastA)))
    }

    @Test("a KC move keeps the A block's footprint; every move is one valid step")
    func moves() throws {
        let space = SearchSpace(dtype: .f32, isa: .avx512, machine: .current())
        let s = GemmSpec(dtype: .f32, isa: .avx512, mr: 48, nr: 8, kc: 192, mc: 1152, nc: 16384)
        let moves = space.neighbours(s)
        let doubled = try #require(moves.first { $0.kc == 384 })
        #expect(doubled.mc == 576)
        for m in moves { try m.validate() }
        #expect(moves.contains { $0.kc == 192 && $0.mc == 2304 })   // an MC move alone
        #expect(moves.contains { !$0.packA } && moves.contains { $0.kUnroll == 1 })
    }
}

@Suite("Timing statistics")
struct TimingStatsTests {
    @Test("median, extremes and interquartile spread (hand-checked)")
    func stats() {
        let s = TimingStats([5, 1, 3, 2, 4])
        #expect(s.median == 3)
        #expect(s.min == 1 && s.max == 5)
        #expect(abs(s.spread - (4 - 2) / 3.0) < 1e-12)
        #expect(TimingStats([2, 2, 2, 2]).spread == 0)
    }

    @Test("interleaving times both operations and tells the faster one")
    func interleaved() {
        var x = 0.0
        let timer = InterleavedTimer(sampleSeconds: 0.002, samples: 3, maxSamples: 5)
        let (a, b) = timer.compare({ for i in 0..<2000 { x += Double(i).squareRoot() } },
                                   { for i in 0..<40000 { x += Double(i).squareRoot() } })
        #expect(a.samples >= 3 && b.samples == a.samples)
        #expect(a.median < b.median)
        #expect(x > 0)
    }
}
