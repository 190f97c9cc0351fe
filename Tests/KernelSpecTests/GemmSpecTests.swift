import Foundation
import KernelSpec
import Testing

@Suite("GemmSpec validation")
struct GemmSpecTests {
    let good = GemmSpec(dtype: .f32, isa: .avx512, mr: 32, nr: 12, kc: 256, mc: 512, nc: 4092)

    @Test("a sound spec validates")
    func valid() throws { try good.validate() }

    func field(_ mutate: (inout GemmSpec) -> Void) -> SpecValidationError? {
        var s = good
        mutate(&s)
        do { try s.validate(); return nil } catch { return error }
    }

    @Test("each impossible field is named with its reason")
    func invalidFields() {
        #expect(field { $0.nr = 15 }?.field == "nr")   // 2 x 15 + 2 + 1 = 33 registers
        #expect(field { $0.nr = 15 }?.reason.contains("needs 33 vector registers") == true)
        #expect(field { $0.mr = 24 }?.field == "mr")   // not a multiple of 16 lanes
        #expect(field { $0.mr = 24 }?.reason.contains("multiple of the vector width") == true)
        #expect(field { $0.mr = 0 }?.field == "mr")
        #expect(field { $0.nr = -1 }?.field == "nr")
        #expect(field { $0.kUnroll = 0 }?.field == "kUnroll")
        #expect(field { $0.kc = 0 }?.field == "kc")
        #expect(field { $0.mc = 100 }?.field == "mc")
        #expect(field { $0.nc = 13 }?.field == "nc")
        #expect(field { $0.prefetchA = -64 }?.field == "prefetchA")
        #expect(field { $0.threads = 5000 }?.field == "threads")
        #expect(field { $0.prefetchCLate = 0 }?.field == "prefetchCLate")
        #expect(field { $0.prefetchCEarly = -1 }?.field == "prefetchCEarly")
        #expect(field { $0.kc = 1 << 20; $0.nc = 1 << 20 - 4 }?.field == "mc")   // 2^20 x 512 x 4 > 1 GiB
        #expect(field { $0.kc = Int.max / 2 }?.reason.contains("overflow") == true)
    }

    @Test("the C prefetch distances are written only when moved, and read back; older specs get the defaults")
    func prefetchCFields() throws {
        let plain = String(decoding: try JSONEncoder().encode(good), as: UTF8.self)
        #expect(!plain.contains("prefetchC"), "\(plain)")
        var moved = good
        moved.prefetchCLate = 32
        moved.prefetchCEarly = 0
        let back = try JSONDecoder().decode(GemmSpec.self, from: JSONEncoder().encode(moved))
        #expect(back == moved && back.summary.contains("pfC32/0"))
        let old = try JSONDecoder().decode(GemmSpec.self, from: Data(plain.utf8))
        #expect(old.prefetchCLate == GemmSpec.defaultPrefetchCLate && old.prefetchCEarly == GemmSpec.defaultPrefetchCEarly)
    }

    @Test("register limits differ per ISA")
    func perISA() throws {
        // AVX2 has 16 registers: 16x6 f32 (2 x 6 + 2 + 1 = 15) fits, 16x7 does not.
        try GemmSpec(dtype: .f32, isa: .avx2, mr: 16, nr: 6, kc: 256, mc: 64, nc: 60).validate()
        #expect(throws: SpecValidationError.self) {
            try GemmSpec(dtype: .f32, isa: .avx2, mr: 16, nr: 7, kc: 256, mc: 64, nc: 63).validate()
        }
        // f64 on AVX-512: 8 lanes, so mr = 24 is three vectors.
        try GemmSpec(dtype: .f64, isa: .avx512, mr: 24, nr: 8, kc: 256, mc: 96, nc: 64).validate()
    }

    @Test("broadcasting A, nr is the vector multiple and the rows are broadcasts")
    func broadcastA() throws {
        // 9 rows x 3 vectors: 27 accumulators + 3 B vectors + 1 broadcast = 31 registers.
        let bA = GemmSpec(dtype: .f32, isa: .avx512, mr: 9, nr: 48, kc: 256, mc: 72, nc: 4080, orientation: .broadcastA)
        try bA.validate()
        #expect(bA.registersNeeded == 31)
        func bad(_ mutate: (inout GemmSpec) -> Void) -> SpecValidationError? {
            var s = bA
            mutate(&s)
            do { try s.validate(); return nil } catch { return error }
        }
        #expect(bad { $0.nr = 40; $0.nc = 4080 }?.field == "nr")              // not a multiple of 16 lanes
        #expect(bad { $0.mr = 10; $0.mc = 80 }?.reason.contains("needs 34 vector registers") == true)
        #expect(bad { $0.mr = 10; $0.mc = 80 }?.field == "mr")
        // The same numbers broadcasting B are impossible: 9 is not a multiple of 16.
        #expect(bad { $0.orientation = .broadcastB }?.field == "mr")
    }

    @Test("specs round-trip through JSON; broadcast B is the default orientation and is not written")
    func codable() throws {
        let data = try JSONEncoder().encode(good)
        #expect(try JSONDecoder().decode(GemmSpec.self, from: data) == good)
        #expect(!String(decoding: data, as: UTF8.self).contains("orientation"))
        var bA = GemmSpec(dtype: .f64, isa: .avx2, mr: 6, nr: 8, kc: 128, mc: 60, nc: 800)
        bA.orientation = .broadcastA
        let decoded = try JSONDecoder().decode(GemmSpec.self, from: try JSONEncoder().encode(bA))
        #expect(decoded == bA && decoded.orientation == .broadcastA)
    }

    @Test("a threaded variant is written only when threaded, served only beside its class's unthreaded one, and is no fallback")
    func threadedVariants() throws {
        var other = good
        other.kc = 64
        let plain = GemmVariant(shapeClass: .large, spec: good), threaded = GemmVariant(shapeClass: .large, spec: other, threaded: true)
        let enc = JSONEncoder()
        #expect(!String(decoding: try enc.encode(plain), as: UTF8.self).contains("threaded"))
        #expect(try JSONDecoder().decode(GemmVariant.self, from: try enc.encode(threaded)) == threaded)
        let orphan = GemmVariant(shapeClass: .small, spec: other, threaded: true)
        let lib = LibrarySpec(isa: .avx512, gemm: [plain, threaded, orphan, GemmVariant(shapeClass: .large, spec: other, threaded: true)])
        try lib.validate()
        #expect(lib.servingVariants(.f32) == [plain, threaded])
        // A threaded large kernel alone does not serve the one-thread calls.
        #expect(throws: SpecValidationError.self) { try LibrarySpec(isa: .avx512, gemm: [threaded]).validate() }
    }

    @Test("a library needs an 'any' kernel per dtype and one ISA")
    func library() throws {
        let f64 = GemmSpec(dtype: .f64, isa: .avx512, mr: 16, nr: 12, kc: 256, mc: 512, nc: 4092)
        try LibrarySpec(isa: .avx512, gemm: [GemmVariant(spec: good), GemmVariant(spec: f64)]).validate()
        // One dtype alone is allowed (its fallback is there); a class kernel without a fallback is not.
        try LibrarySpec(isa: .avx512, gemm: [GemmVariant(spec: good)]).validate()
        #expect(throws: SpecValidationError.self) { try LibrarySpec(isa: .avx512, gemm: [GemmVariant(shapeClass: .small, spec: good)]).validate() }
        #expect(throws: SpecValidationError.self) { try LibrarySpec(isa: .avx512, gemm: []).validate() }
        #expect(throws: SpecValidationError.self) { try LibrarySpec(isa: .avx2, gemm: [GemmVariant(spec: good), GemmVariant(spec: f64)]).validate() }
    }
}

@Suite("Checked sizes")
struct CheckedSizeTests {
    @Test("products and sums that fit are exact")
    func fits() throws {
        #expect(try CheckedSize.mul(1 << 31, 1 << 31, "x") == 1 << 62)
        #expect(try CheckedSize.product([2, 3, 7], "x") == 42)
        #expect(try CheckedSize.matrixSpan(rows: 5, cols: 3, ld: 10, "x") == 25)
        #expect(try CheckedSize.matrixSpan(rows: 0, cols: 3, ld: 10, "x") == 0)
    }

    @Test("overflow throws naming what was computed")
    func overflows() {
        #expect(throws: SizeOverflowError(what: "bytes of C")) { try CheckedSize.mul(1 << 32, 1 << 31, "bytes of C") }
        #expect(throws: SizeOverflowError.self) { try CheckedSize.add(Int64.max, 1, "sum") }
        #expect(throws: SizeOverflowError.self) { try CheckedSize.matrixSpan(rows: 2, cols: 3, ld: Int64.max / 2, "span") }
        #expect(SizeOverflowError(what: "nnz").description == "size overflow: nnz does not fit in 64 bits")
    }
}
