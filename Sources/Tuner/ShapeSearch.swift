import Foundation
import KernelSpec
import MicroKernels

/// The candidates of one exact shape: register tiles ranked by a cost model first, then
/// K unroll, packing and tile order moved around the best measured tiles.
public enum ShapeSpace {
    /// Estimated cycles of `spec` on one core: per C tile, K steps limited by FMA issue (two
    /// per cycle), the FMA latency of one chain (4 cycles) or the loads and broadcasts (two
    /// per cycle), plus the tile's stores. `split512`: the core issues a 512-bit FMA as two
    /// 256-bit halves (AMD Zen 4), else whole (Intel's two 512-bit pipes, Zen 5).
    static func estimatedCycles(_ spec: ShapeKernelSpec, split512: Bool) -> Double {
        let c = spec.shape.columnMajor, lanes = spec.vectorISA.lanes(spec.dtype)
        var cycles = spec.packA ? Double(c.m * c.k) / Double(lanes) : 0
        for i in stride(from: 0, to: c.m, by: spec.tileRows) {
            let rows = min(spec.tileRows, c.m - i), nv = Double((rows + lanes - 1) / lanes)
            // A tail of half a 512-bit vector or less runs at 256 bits.
            let tail = rows % lanes, halves = split512 && spec.vectorISA == .avx512
            let width = halves ? 2 * nv - (tail > 0 && tail <= lanes / 2 ? 1 : 0) : nv
            for j in stride(from: 0, to: c.n, by: spec.columns) {
                let cols = Double(min(spec.columns, c.n - j))
                let step = max(width * cols / 2, 4, (nv + cols) / 2)
                cycles += Double(c.k) * step + nv * cols * 2 + 8
            }
        }
        return cycles
    }

    /// Register tiles of the shape (K unrolled by 4, A in place unless it is transposed,
    /// column order): the `count` with the fewest estimated cycles, half of them as if
    /// 512-bit FMAs issued in halves and half as if whole (which the core does is left to
    /// the measurement), both vector widths represented when the ISA has two.
    public static func tiles(_ dtype: DType, _ isa: ISA, _ shape: GemmShapeKey, count: Int = 10) -> [ShapeKernelSpec] {
        if isa == .generic {
            return [1, 4].map { ShapeKernelSpec(dtype: dtype, isa: isa, shape: shape, rowVectors: 1, columns: 1, kUnroll: $0) }
        }
        let c = shape.columnMajor
        var byWidth: [[ShapeKernelSpec]] = []
        for v in (isa == .avx512 ? [ISA.avx512, .avx2] : [isa]) {
            let lanes = v.lanes(dtype), needed = (c.m + lanes - 1) / lanes
            var mine: [ShapeKernelSpec] = []
            for rv in 1...min(4, needed) {
                for cols in 1...min(ShapeKernelSpec.maxColumns, c.n) {
                    let s = ShapeKernelSpec(dtype: dtype, isa: isa, shape: shape, vectorISA: v, rowVectors: rv, columns: cols, kUnroll: 4)
                    if (try? s.validate()) != nil { mine.append(s) }
                }
            }
            byWidth.append(mine)
        }
        func ranked(_ specs: [ShapeKernelSpec], split: Bool) -> [ShapeKernelSpec] {
            specs.sorted { estimatedCycles($0, split512: split) < estimatedCycles($1, split512: split) }
        }
        // The best of all under each model in turn, then the best of each width not yet in.
        let all = byWidth.flatMap { $0 }, quota = count - (byWidth.count - 1) * 2
        let split = ranked(all, split: true), whole = ranked(all, split: false)
        var out: [ShapeKernelSpec] = []
        for i in 0..<all.count where out.count < quota {
            for s in [split[i], whole[i]] where out.count < quota && !out.contains(s) { out.append(s) }
        }
        for w in byWidth {
            for s in ranked(w, split: true).prefix(2) + ranked(w, split: false).prefix(1) where !out.contains(s) { out.append(s) }
        }
        return out
    }

    /// Moves of one coordinate from `spec`: every other K unroll, packing A or not, the other order.
    public static func moves(_ spec: ShapeKernelSpec) -> [ShapeKernelSpec] {
        var out: [ShapeKernelSpec] = []
        for ku in [1, 2, 4, 8, 0] where ku != spec.kUnroll { var s = spec; s.kUnroll = ku; out.append(s) }
        var p = spec; p.packA.toggle(); out.append(p)
        var o = spec; o.order = spec.order == .columns ? .rows : .columns; out.append(o)
        return out.filter { (try? $0.validate()) != nil }
    }
}

/// Tunes kernels for exact shapes (`search --op gemm --shapes ...`): per shape, the register
/// tiles the cost model ranks best are compiled into one library and timed in the worker
/// against every peer (after a check against OpenBLAS); K unroll, packing and order are then
/// moved around the best three; the finalists are timed again with more samples. Each
/// finished shape is merged into `gemm-shapes-<dtype>.json` atomically.
public final class ShapeSearch {
    public let machine: MachineProfile
    public let store: ResultsStore
    public let worker: WorkerClient
    public let cache: LibraryCache
    public let isa: ISA
    public var log: (String) -> Void = { _ in }

    public init(machine: MachineProfile, store: ResultsStore, isa: ISA, worker: WorkerClient, cache: LibraryCache = LibraryCache()) {
        self.machine = machine; self.store = store; self.isa = isa; self.worker = worker; self.cache = cache
    }

    struct Measured { var spec: ShapeKernelSpec; var gflops: Double }

    /// Compiles `specs` into one candidate library and times them; nil when the library
    /// could not be built or the worker failed.
    func measure(_ specs: [ShapeKernelSpec], _ shape: GemmShapeKey, _ dtype: DType, timer: TimerSettings)
        -> (ours: [Measured], peers: [String: Double], failed: Int)? {
        let lib: URL
        do { lib = try cache.buildStandalone(source: ShapeDispatchEmitter.candidateSource(specs), name: "shapecand") } catch {
            log("\(dtype.rawValue) \(shape): the candidates did not build: \(String("\(error)".prefix(300)))")
            return nil
        }
        var req = WorkerRequest(kind: .shapes, library: lib.path, dtype: dtype, timer: timer)
        req.exactShape = shape
        req.candidates = specs.count
        switch worker.send(req, timeout: 60 + Double(specs.count + 4) * timer.sampleSeconds * Double(timer.maxSamples) * 2) {
        case .answered(let resp) where resp.error == nil && resp.candidateGflops.count == specs.count:
            for (i, f) in resp.candidateFailures.enumerated() where f != nil { log("\(dtype.rawValue) \(shape) \(specs[i].summary): \(f!)") }
            return (zip(specs, resp.candidateGflops).filter { $0.1 > 0 }.map { Measured(spec: $0.0, gflops: $0.1) }, resp.namedPeerGflops,
                    resp.candidateFailures.filter { $0 != nil }.count)
        case .answered(let resp):
            log("\(dtype.rawValue) \(shape): the worker failed: \(resp.error ?? "no answer")")
            return nil
        case let other:
            log("\(dtype.rawValue) \(shape): the worker failed: \(other)")
            return nil
        }
    }

    /// Tunes one shape within about `seconds`; nil when no candidate worked.
    public func tune(_ shape: GemmShapeKey, dtype: DType, seconds: Double) -> ShapeResult? {
        let start = monotonicSeconds()
        var seen = Set<ShapeKernelSpec>(), all: [Measured] = [], failed = 0, count = 0
        func run(_ specs: [ShapeKernelSpec], _ timer: TimerSettings) -> [String: Double]? {
            let fresh = specs.filter { seen.insert($0).inserted }
            guard !fresh.isEmpty, let r = measure(fresh, shape, dtype, timer: timer) else { return nil }
            all += r.ours; failed += r.failed; count += fresh.count
            return r.peers
        }
        let timer = TimerSettings(sampleSeconds: 0.003, samples: 3, maxSamples: 5)
        _ = run(ShapeSpace.tiles(dtype, isa, shape), timer)
        guard !all.isEmpty else { return nil }
        if monotonicSeconds() - start < seconds * 0.6 {
            let best = all.sorted { $0.gflops > $1.gflops }.prefix(3)
            _ = run(best.flatMap { ShapeSpace.moves($0.spec) }, timer)
        }
        // The finalists again, with every peer, in one set of interleaved rounds.
        let finalists = all.sorted { $0.gflops > $1.gflops }.prefix(4).map(\.spec)
        guard let final = measure(finalists, shape, dtype, timer: TimerSettings(sampleSeconds: 0.01, samples: 7, maxSamples: 11)),
              let best = final.ours.max(by: { $0.gflops < $1.gflops }) else { return nil }
        let result = ShapeResult(spec: best.spec, oursGflops: best.gflops, peers: final.peers, candidates: count, failures: failed,
                                 seconds: monotonicSeconds() - start, date: ISO8601DateFormatter().string(from: Date()))
        log("\(dtype.rawValue) \(shape): \(best.spec.summary) \(String(format: "%.1f", best.gflops)) GFLOPS, \(String(format: "%.2f", result.ratio))x \(result.bestPeer) ("
            + final.peers.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" }.joined(separator: ", ") + "), \(count) candidates, \(Int(result.seconds)) s")
        return result
    }

    /// Tunes every shape of `shapes` and merges the results into the dtype's file (written
    /// after each shape); returns the file.
    public func run(_ shapes: [GemmShapeKey], dtype: DType, secondsPerShape: Double) throws -> ShapeResultsFile {
        var file = (try store.loadShapes(dtype, machine: machine))
            ?? ShapeResultsFile(blastuneVersion: blastuneVersion, fingerprint: machine.fingerprint, machine: machine, dtype: dtype, shapes: [])
        file.shapes.removeAll { $0.spec.isa != isa }
        for shape in shapes {
            guard let r = tune(shape, dtype: dtype, seconds: secondsPerShape) else {
                log("\(dtype.rawValue) \(shape): no candidate worked; calls of this shape keep the class kernels")
                continue
            }
            file = file.merging([r])
            try store.save(file)
        }
        return file
    }
}
