import Foundation
import KernelSpec
import MicroKernels

/// Measures the FMA peak of this machine with a generated loop (built once per cache).
/// The probe holds loops with several accumulator counts (``ProbeEmitter/accumulatorCounts(isa:)``);
/// the first measurement of a dtype times each and keeps the fastest for every later one.
public final class PeakProbe: @unchecked Sendable {
    public typealias ProbeFn = @convention(c) (Int64, Int32, Int32) -> Double
    let isa: ISA
    let f32: ProbeFn
    let f64: ProbeFn
    let bandwidthFn: @convention(c) (Int64, Int32, Int32, Int32) -> Double
    private var chosen: [DType: Int] = [:]
    /// The fastest one-thread rate seen of the chosen loop, per dtype.
    private var fastest: [DType: Double] = [:]
    private let lock = NSLock()

    /// Builds (or reuses) the probe for `isa` and loads it.
    public init(isa: ISA, cache: LibraryCache = LibraryCache()) throws {
        self.isa = isa
        let source = ProbeEmitter.source(isa: isa)
        let dir = cache.root.appendingPathComponent("probe-" + stableHash([source, cache.builder.toolchain.cc]))
        let lib = dir.appendingPathComponent("libprobe.so")
        let tc = cache.builder.toolchain
        if !FileManager.default.fileExists(atPath: lib.path) {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let src = dir.appendingPathComponent("probe.c")
            try Data(source.utf8).write(to: src)
            let tmp = dir.appendingPathComponent("libprobe.so.tmp-\(getpid())")
            try tc.buildSharedLibrary(sources: [src], output: tmp, openMP: tc.supportsOpenMP(), extraFlags: ["-O2"])
            try AtomicFile.replace(lib, with: tmp)
        }
        guard let h = dlopen(lib.path, RTLD_NOW | RTLD_LOCAL),
              let p32 = dlsym(h, "bt_probe_fma_f32"), let p64 = dlsym(h, "bt_probe_fma_f64"),
              let bw = dlsym(h, "bt_probe_bandwidth") else {
            throw KernelLibrary.LoadError(path: lib.path, reason: "cannot load the FMA probe")
        }
        f32 = unsafeBitCast(p32, to: ProbeFn.self)
        f64 = unsafeBitCast(p64, to: ProbeFn.self)
        bandwidthFn = unsafeBitCast(bw, to: (@convention(c) (Int64, Int32, Int32, Int32) -> Double).self)
    }

    /// Memory bandwidth in GB/s on `threads` threads over 1 GiB arrays (median of 7
    /// passes): `read` sums two arrays, else the STREAM triad (3 arrays counted).
    public func bandwidth(read: Bool = true, threads: Int = 1) -> Double {
        bandwidthFn(1 << 30, Int32(threads), 7, read ? 0 : 1)
    }

    /// Peak GFLOPS of `dtype` FMAs on `threads` threads: the fastest of 15 runs of 30 ms (on
    /// one thread, or of the runs that chose the loop if one was faster). The loop touches no
    /// memory, so a busy machine can only slow a run down; a median let one search start from
    /// a peak 25% low (175 GFLOPS f32, and products at "112% of peak"), and on a shared
    /// virtual machine whose speed drifts by several percent a single burst of runs can too.
    public func gflops(_ dtype: DType, threads: Int = 1) -> Double {
        // Sets the variant first: `operation` would otherwise choose it inside the timed closure.
        _ = variant(dtype)
        let op = operation(dtype, threads: threads)
        let stats = InterleavedTimer(sampleSeconds: 0.03, samples: 15, maxSamples: 15).time(op.run)
        let measured = op.flops / stats.min / 1e9
        lock.lock()
        defer { lock.unlock() }
        return threads == 1 ? max(measured, fastest[dtype] ?? 0) : measured
    }

    /// One run of the FMA loop (about a millisecond) and its flops: an operation to time
    /// in the same rounds as others, so that a fraction of the peak compares two figures
    /// measured at the same time on a machine whose speed drifts.
    public func operation(_ dtype: DType, threads: Int = 1) -> (run: () -> Void, flops: Double) {
        let fn = dtype == .f32 ? f32 : f64
        let iters: Int64 = 200_000
        let v = variant(dtype)
        return ({ _ = fn(iters, Int32(threads), Int32(v)) },
                Double(iters) * ProbeEmitter.flopsPerIteration(isa: isa, dtype: dtype, variant: v) * Double(threads))
    }

    /// The accumulator count of the loop that measures `dtype`'s peak (the fastest one).
    public func accumulators(_ dtype: DType) -> Int { ProbeEmitter.accumulatorCounts(isa: isa)[variant(dtype)] }

    /// GFLOPS of each accumulator count on one thread: the fastest of 5 runs of 10 ms each,
    /// the counts timed in turn in each round, so that a machine whose speed drifts slows
    /// them all alike and the choice of loop does not follow the drift.
    public func rates(_ dtype: DType) -> [(accumulators: Int, gflops: Double)] {
        let fn = dtype == .f32 ? f32 : f64
        let iters: Int64 = 100_000
        let counts = ProbeEmitter.accumulatorCounts(isa: isa)
        let stats = InterleavedTimer(sampleSeconds: 0.01, samples: 5, maxSamples: 5)
            .compareAll(counts.indices.map { v in { _ = fn(iters, 1, Int32(v)) } })
        return counts.indices.map { v in
            (counts[v], Double(iters) * ProbeEmitter.flopsPerIteration(isa: isa, dtype: dtype, variant: v) / stats[v].min / 1e9)
        }
    }

    /// The index of the fastest loop for `dtype`, measured once.
    private func variant(_ dtype: DType) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if let v = chosen[dtype] { return v }
        // The fastest: a higher peak is the stricter one.
        let r = rates(dtype)
        let v = r.indices.max { r[$0].gflops < r[$1].gflops } ?? 0
        chosen[dtype] = v
        fastest[dtype] = r.isEmpty ? nil : r[v].gflops
        return v
    }
}
