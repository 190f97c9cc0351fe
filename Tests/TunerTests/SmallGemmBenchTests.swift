import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

@Suite("Small and batched GEMM benchmark")
struct SmallGemmBenchTests {
    static let timer = InterleavedTimer(sampleSeconds: 0.001, samples: 2, maxSamples: 2)

    @Test("plans and bt_gemm on small shapes agree with OpenBLAS, every peer is timed, and libxsmm is found when installed")
    func small() throws {
        let bench = SmallGemmBench(library: try modelLibrary.get(), timer: Self.timer)
        for d in DType.allCases {
            for shape in [GemmShape(m: 8, n: 8, k: 8), GemmShape(m: 33, n: 65, k: 17), GemmShape(m: 120, n: 120, k: 120)] {
                let row = try #require(bench.small(d, shape))
                #expect(row.relativeError < (d == .f32 ? 1e-5 : 1e-13), "\(d) \(shape): \(row.relativeError)")
                #expect(row.plan > 0 && row.call > 0 && row.peers["OpenBLAS"] != nil)
            }
            let cost = try #require(bench.callCost(d))
            #expect(cost.planNs > 0 && cost.callNs > 0)
        }
        let installed = FileManager.default.fileExists(atPath: "/usr/include/libxsmm.h") && FileManager.default.fileExists(atPath: "/usr/lib/libxsmm.a")
        #expect((bench.xsmm != nil) == installed)
    }

    @Test("a strided batch on 1 and 2 threads agrees with a loop of OpenBLAS calls")
    func batch() throws {
        let bench = SmallGemmBench(library: try modelLibrary.get(), timer: Self.timer)
        for d in DType.allCases {
            for threads in [1, 2] {
                // batch() returns nil when ours differs from OpenBLAS's loop.
                let row = try #require(bench.batch(d, n: 7, count: 300, threads: threads))
                #expect(row.ours > 0 && row.peers["OpenBLAS loop"] != nil)
            }
        }
    }
}
