import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

/// A fraction of peak above 100% means the peak is wrong, not the kernel fast: nothing
/// measured on this machine may exceed the FMA probe's peak (in-cache tiles included).
@Suite("FMA peak bounds every measurement", .serialized)
struct PeakTests {
    static let cases: [(ISA, DType)] = ISA.allCases.filter { $0 != .generic && MachineProfile.current().supports($0) }
        .flatMap { isa in DType.allCases.map { (isa, $0) } }

    @Test("no in-cache register tile, generated GEMM or OpenBLAS call runs above the probe's peak", arguments: cases)
    func nothingAbovePeak(_ isa: ISA, _ dtype: DType) throws {
        let machine = MachineProfile.current()
        let cache = LibraryCache(root: try tempDirectory("peak-\(isa.rawValue)-\(dtype.rawValue)"))
        let probe = try PeakProbe(isa: isa, cache: cache)
        let space = SearchSpace(dtype: dtype, isa: isa, machine: machine)
        let tiles = space.tiles(), specs = tiles.map { space.seed($0) }
        let dir = try tempDirectory("tiles-\(isa.rawValue)-\(dtype.rawValue)")
        let src = dir.appendingPathComponent("tilebench.c"), lib = dir.appendingPathComponent("libtilebench.so")
        try TileBenchEmitter.source(tiles: specs).write(to: src, atomically: true, encoding: .utf8)
        try cache.builder.toolchain.buildSharedLibrary(sources: [src], output: lib, openMP: false)
        let resp = WorkerService().handle(WorkerRequest(kind: .tiles, library: lib.path, dtype: dtype,
                                                        timer: TimerSettings(sampleSeconds: 0.01, samples: 3, maxSamples: 5),
                                                        tileFlops: specs.map(TileBenchEmitter.flopsPerCall)))
        try #require(resp.error == nil && resp.tileGflops.count == tiles.count, "\(resp.error ?? "")")
        // The bound compares each tile with the probe timed in the same rounds (tile, probe,
        // tile, probe, ...): this shared virtual machine's speed drifts by 15% within a minute,
        // so a peak measured before or after the tiles can lie below a tile that ran at a faster
        // moment (the CI failure of 689609e: a tile at 98 GFLOPS f64 against a probe's 92).
        let h = try #require(dlopen(lib.path, RTLD_NOW | RTLD_LOCAL))
        defer { dlclose(h) }
        typealias Bench = @convention(c) (Int64) -> Double
        let op = probe.operation(dtype), iters: Int64 = 2000
        let timer = InterleavedTimer(sampleSeconds: 0.01, samples: 3, maxSamples: 5)
        var peak = 0.0
        for (i, tile) in tiles.enumerated() {
            let f = unsafeBitCast(try #require(dlsym(h, "bt_tilebench_\(i)")), to: Bench.self)
            let s = timer.compareAll([{ _ = f(iters) }, op.run])
            let g = TileBenchEmitter.flopsPerCall(specs[i]) * Double(iters) / s[0].median / 1e9
            let pk = op.flops / s[1].min / 1e9
            peak = max(peak, pk)
            // 2% for the timer: the peak is the fastest of its samples, each tile a median.
            #expect(g <= 1.02 * pk, "\(isa) \(dtype) tile \(tile): \(g) GFLOPS in cache against a peak of \(pk) in the same rounds")
        }
        // A peak counted twice too high would pass the bound above: the best tile reaches half of it.
        #expect((resp.tileGflops.max() ?? 0) >= 0.5 * peak, "\(isa) \(dtype): best tile \(resp.tileGflops.max() ?? 0) of peak \(peak)")

        let cfg = KernelsConfig(version: blastuneVersion, machine: machine, origin: "test",
                                library: AnalyticalModel.librarySpec(isa: isa, machine: machine))
        let ours = try KernelLibrary(path: cache.build(cfg).library.path)
        let bench = GemmBench(library: ours, timer: InterleavedTimer(sampleSeconds: 0.02, samples: 3, maxSamples: 5))
        let r = bench.run(dtype: dtype, shape: GemmShape(m: 384, n: 384, k: 384), threads: 1, peak: probe.operation(dtype))
        // OpenBLAS runs the kernels of its core type, whatever ISA is probed: it is bounded by
        // the peak of the best ISA (on CPUs with two 512-bit FMA pipes, twice AVX2's).
        #expect(r.fractionOfPeak <= 1.02, "\(isa) \(dtype) 384^3: ours \(r.fractionOfPeak) of the peak \(r.peakGflops)")
        if isa == machine.bestISA {
            #expect(r.peerFractionOfPeak <= 1.02, "\(isa) \(dtype) 384^3: OpenBLAS \(r.peerFractionOfPeak) of the peak \(r.peakGflops)")
        }
    }
}
