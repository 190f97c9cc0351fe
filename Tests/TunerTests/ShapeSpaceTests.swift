import KernelSpec
import Testing
@testable import Tuner

@Suite("Exact-shape candidates")
struct ShapeSpaceTests {
    @Test("the cost model, hand-computed: a K step is bound by FMA issue, one chain's latency or the loads")
    func cycles() {
        let shape = GemmShapeKey(m: 16, n: 16, k: 16)
        let wide = ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, rowVectors: 1, columns: 16, kUnroll: 4)
        // Whole 512-bit FMAs: 16 FMAs over 2 pipes = 8 cycles, loads (1 + 16) / 2 = 8.5: 16 x 8.5 + 16 x 2 stores + 8.
        #expect(ShapeSpace.estimatedCycles(wide, split512: false) == 176)
        // In halves: 32 FMA halves over 2 pipes = 16 cycles a step.
        #expect(ShapeSpace.estimatedCycles(wide, split512: true) == 16 * 16 + 32 + 8)
        // Two 16 x 8 tiles: 8 FMAs = 4 cycles, the latency 4, loads 4.5: 2 x (16 x 4.5 + 16 + 8).
        let narrow = ShapeKernelSpec(dtype: .f32, isa: .avx512, shape: shape, rowVectors: 1, columns: 8, kUnroll: 4)
        #expect(ShapeSpace.estimatedCycles(narrow, split512: false) == 192)
    }

    @Test("candidates validate, include the 16-column tile that keeps two 512-bit pipes busy, and both vector widths")
    func candidates() {
        let shape = GemmShapeKey(m: 16, n: 16, k: 16)
        let c = ShapeSpace.tiles(.f32, .avx512, shape)
        #expect(c.allSatisfy { (try? $0.validate()) != nil })
        #expect(c.contains { $0.vectorISA == .avx512 && $0.rowVectors == 1 && $0.columns == 16 })
        #expect(c.contains { $0.vectorISA == .avx2 })
        #expect(Set(c.map(\.summary)).count == c.count && c.count <= 12)
        // AVX2's 16 registers: at most 13 columns of one vector (13 + 1 + 2).
        let a2 = ShapeSpace.tiles(.f32, .avx2, shape)
        #expect(!a2.isEmpty && a2.allSatisfy { $0.rowVectors * $0.columns + $0.rowVectors + 2 <= 16 })
    }
}
