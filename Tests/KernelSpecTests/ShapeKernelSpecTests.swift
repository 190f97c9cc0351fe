import Foundation
import KernelSpec
import Testing

@Suite("Exact shapes")
struct ShapeKernelSpecTests {
    func parseError(_ text: String) -> String? {
        do { _ = try GemmShapeKey(parsing: text); return nil } catch { return "\(error)" }
    }

    @Test("MxNxK[:layout:ta:tb] parses; a row-major shape runs as the column-major transposed call")
    func parsing() throws {
        let plain = try GemmShapeKey(parsing: " 23x24x25 ")
        #expect(plain == GemmShapeKey(m: 23, n: 24, k: 25))
        #expect(plain.description == "23x24x25")
        let row = try GemmShapeKey(parsing: "8x16x4:row:t:n")
        #expect(row.rowMajor && row.transA && !row.transB)
        #expect(row.description == "8x16x4:row:t:n")
        let c = row.columnMajor
        #expect(c.m == 16 && c.n == 8 && c.k == 4 && !c.transA && c.transB)
        // The same column-major call has the same dispatch key, another call another.
        #expect(row.dispatchKey == GemmShapeKey(m: 16, n: 8, k: 4, transB: true).dispatchKey)
        #expect(row.dispatchKey != GemmShapeKey(m: 16, n: 8, k: 4).dispatchKey)
        #expect(try GemmShapeKey(parsing: "3x4x5:C:T:t") == GemmShapeKey(m: 3, n: 4, k: 5, transA: true, transB: true))
    }

    @Test("a malformed or out-of-range shape is refused, naming what is wrong")
    func badShapes() {
        #expect(parseError("8x8")?.contains("expected MxNxK") == true)
        #expect(parseError("8x8xq")?.contains("expected MxNxK") == true)
        #expect(parseError("0x8x8")?.contains("0 is outside 1...256") == true)
        #expect(parseError("8x-1x8")?.contains("outside") == true)
        #expect(parseError("8x8x257")?.contains("257 is outside") == true)
        #expect(parseError("8x8x8:col:n")?.contains("give all three") == true)
        #expect(parseError("8x8x8:diag:n:n")?.contains("layout 'diag'") == true)
        #expect(parseError("8x8x8:col:x:n")?.contains("transpose 'x'") == true)
    }

    func error(_ s: ShapeKernelSpec) -> SpecValidationError? {
        do { try s.validate(); return nil } catch { return error }
    }

    @Test("impossible kernels are refused: registers, vector width, unroll, packing")
    func validation() throws {
        let shape = GemmShapeKey(m: 64, n: 64, k: 64)
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, rowVectors: 4, columns: 6)) == nil)
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, rowVectors: 4, columns: 7))?.field == "tile")
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, vectorISA: .avx2, rowVectors: 2, columns: 7))?.field == "tile")
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx2, shape: shape, vectorISA: .avx512))?.field == "vectorISA")
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, kUnroll: 3))?.field == "kUnroll")
        // All of K unrolled: up to 64 steps.
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, rowVectors: 1, columns: 2, kUnroll: 0)) == nil)
        #expect(error(ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: GemmShapeKey(m: 8, n: 8, k: 65), kUnroll: 0))?.field == "kUnroll")
        // A transposed A is always packed; a pack over 32 KiB is refused.
        let ta = ShapeKernelSpec(dtype: .f64, isa: .avx2, shape: GemmShapeKey(m: 8, n: 8, k: 8, transA: true))
        #expect(ta.packA)
        var unpacked = ta
        unpacked.packA = false
        #expect(error(unpacked)?.field == "packA")
        #expect(error(ShapeKernelSpec(dtype: .f64, isa: .avx2, shape: GemmShapeKey(m: 128, n: 8, k: 64), packA: true))?.field == "packA")
    }

    @Test("a library spec keeps its exact shapes through JSON, omits an empty list, and validates them")
    func librarySpec() throws {
        let gemm = [GemmVariant(spec: GemmSpec(dtype: .f32, isa: .avx2, mr: 16, nr: 6, kc: 256, mc: 96, nc: 4092))]
        let a = ShapeKernelSpec(dtype: .f32, isa: .avx2, shape: GemmShapeKey(m: 8, n: 8, k: 8), columns: 8)
        let again = ShapeKernelSpec(dtype: .f32, isa: .avx2, shape: GemmShapeKey(m: 8, n: 8, k: 8), columns: 2)
        var lib = LibrarySpec(isa: .avx2, gemm: gemm, shapes: [a, again])
        try lib.validate()
        #expect(lib.servingShapes(.f32) == [a], "the first kernel of a shape serves it")
        let data = try JSONEncoder().encode(lib)
        #expect(try JSONDecoder().decode(LibrarySpec.self, from: data) == lib)
        let none = String(decoding: try JSONEncoder().encode(LibrarySpec(isa: .avx2, gemm: gemm)), as: UTF8.self)
        #expect(!none.contains("shapes"))
        lib.shapes = [ShapeKernelSpec(dtype: .f64, isa: .avx2, shape: GemmShapeKey(m: 8, n: 8, k: 8))]
        #expect(throws: SpecValidationError.self) { try lib.validate() } // no f64 class kernels
        lib.shapes = [ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: GemmShapeKey(m: 8, n: 8, k: 8))]
        #expect(throws: SpecValidationError.self) { try lib.validate() } // another ISA
    }
}
