import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels

/// What a search covers and how long it may take.
public struct SearchOptions: Sendable {
    public var dtypes: [DType]
    /// Thread counts measured; the library's default count per class is the best of them.
    public var threads: [Int]
    /// Wall-clock budget for the whole search, in seconds.
    public var budgetSeconds: Double
    public var classes: [ShapeClass]
    /// Ignore earlier results and journal (otherwise a search resumes).
    public var fresh: Bool
    public var isa: ISA
    /// Seconds a candidate may take beyond its expected measuring time before its worker is
    /// killed and the candidate recorded as hung.
    public var candidateTimeout: Double = 30

    public init(dtypes: [DType], threads: [Int], budgetSeconds: Double, classes: [ShapeClass], fresh: Bool, isa: ISA) {
        self.dtypes = dtypes; self.threads = threads; self.budgetSeconds = budgetSeconds
        self.classes = classes; self.fresh = fresh; self.isa = isa
    }
}

/// A snapshot for the progress display.
public struct SearchProgress: Sendable {
    public var dtype: DType
    public var shapeClass: ShapeClass
    public var phase: String
    public var evaluated: Int
    public var failed: Int
    public var best: Evaluation?
    /// Seconds left in the whole search's budget, and the budget.
    public var remaining: Double
    public var budget: Double
}

/// The GEMM autotuner (spec -> generated C -> built library -> measurement -> results).
///
/// Strategy, per dtype:
/// 1. Rank every register tile of the search space with an in-cache micro-benchmark
///    (all tiles compiled into one library, timed in the worker).
/// 2. Per shape class: the best tiles of both orientations, each with the model's blocking
///    and its packing choices, go through successive halving: all are timed briefly on the
///    class's screening shapes, the better half is timed on all its shapes with more
///    samples, and so on down to one.
/// 3. A first-improvement coordinate search from that winner over KC, MC, NC, K unroll,
///    prefetch distances and packing, accepting a move only when it beats the incumbent
///    by more than the noise margin, until the class's share of the budget is spent.
/// 4. The winner is measured at each thread count with each thread split; the library's
///    default count for the class is the fastest.
/// Every candidate is checked against OpenBLAS before it is timed, runs in a worker
/// process (a crash or hang is recorded and skipped), and is timed interleaved with
/// OpenBLAS; the score is the geometric mean of the time ratios over the class's shapes.
/// Every evaluation is journaled, and each finished class is written to the results
/// atomically, so a killed search resumes without measuring anything twice.
public final class GemmSearch {
    public let machine: MachineProfile
    public let store: ResultsStore
    public let options: SearchOptions
    public let worker: WorkerClient
    public let cache: LibraryCache
    public var onProgress: (SearchProgress) -> Void = { _ in }
    public var log: (String) -> Void = { _ in }
    /// What each peer runs in the worker (recorded with the results).
    public var peerConfigurations: [String: String] = [:]

    /// Relative gain a move must show to replace the incumbent.
    public static let noiseMargin = 0.015
    /// How far past its budget a class's thread phase may run to finish a measurement.
    static let threadOverrun = 10.0

    static let quick = TimerSettings(sampleSeconds: 0.004, samples: 3, maxSamples: 3)
    static let medium = TimerSettings(sampleSeconds: 0.01, samples: 3, maxSamples: 5)
    static let full = TimerSettings(sampleSeconds: 0.02, samples: 5, maxSamples: 9)

    private var deadline = 0.0
    private var peaks: [String: Double] = [:]
    private var compiler = ""
    private var openblas = ""

    public init(machine: MachineProfile, store: ResultsStore, options: SearchOptions, worker: WorkerClient,
                cache: LibraryCache = LibraryCache()) {
        self.machine = machine; self.store = store; self.options = options; self.worker = worker; self.cache = cache
    }

    /// Runs the search; returns the results file of each dtype.
    public func run() throws -> [GemmResultsFile] {
        let start = monotonicSeconds()
        deadline = start + options.budgetSeconds
        compiler = cache.builder.toolchain.versionLine()
        openblas = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        let probe = try PeakProbe(isa: options.isa, cache: cache)
        for d in options.dtypes { for t in options.threads { peaks["\(d.rawValue)-\(t)"] = probe.gflops(d, threads: t) } }
        log("FMA peak: " + peaks.sorted { $0.key < $1.key }.map { "\($0.key) thread(s) \(String(format: "%.1f", $0.value)) GFLOPS" }.joined(separator: ", "))

        var files: [GemmResultsFile] = []
        // Shares of the budget: a class weighs ShapeSuites.budgetWeight (large shapes cost most to time).
        var pending = Double(options.dtypes.count) * options.classes.map(ShapeSuites.budgetWeight).reduce(0, +)
        for dtype in options.dtypes {
            let journal = try SearchJournal(url: store.directory(for: machine).appendingPathComponent("search-gemm-\(dtype.rawValue).jsonl"),
                                            fresh: options.fresh)
            // --fresh tunes the listed classes again and keeps the others' results (an unreadable
            // file is then started over).
            var file = (options.fresh ? (try? store.loadGemm(dtype, machine: machine)) ?? nil : try store.loadGemm(dtype, machine: machine))
                ?? GemmResultsFile(blastuneVersion: blastuneVersion, fingerprint: machine.fingerprint, machine: machine, dtype: dtype, classes: [])
            file.classes.removeAll { $0.spec.isa != options.isa || (options.fresh && options.classes.contains($0.shapeClass)) }
            let todo = options.classes.filter { cls in !file.classes.contains { $0.shapeClass == cls } }
            pending -= options.classes.filter { !todo.contains($0) }.map(ShapeSuites.budgetWeight).reduce(0, +)
            for cls in options.classes where !todo.contains(cls) { log("\(dtype.rawValue) \(cls.rawValue): already tuned (use --fresh to tune again)") }
            guard !todo.isEmpty else { files.append(file); continue }
            let space = SearchSpace(dtype: dtype, isa: options.isa, machine: machine)
            let tiles = rankTiles(space)
            for cls in todo {
                let weight = ShapeSuites.budgetWeight(cls)
                let share = max(5, (deadline - monotonicSeconds()) * weight / max(weight, pending))
                let result = try tuneClass(cls, space: space, tiles: tiles, journal: journal, budget: share)
                pending -= weight
                file.classes.removeAll { $0.shapeClass == cls }
                file.classes.append(result)
                file.classes.sort { ShapeSuites.tunedClasses.firstIndex(of: $0.shapeClass) ?? 99 < ShapeSuites.tunedClasses.firstIndex(of: $1.shapeClass) ?? 99 }
                file.blastuneVersion = blastuneVersion
                try store.save(file)
            }
            files.append(file)
        }
        worker.stop()
        return files
    }

    // MARK: tiles

    /// Register tiles ranked by in-cache micro-kernel GFLOPS, best first.
    func rankTiles(_ space: SearchSpace) -> [SearchSpace.Tile] {
        let tiles = space.tiles()
        let specs = tiles.map { space.seed($0) }
        let model = space.modelTile
        do {
            let lib = try cache.buildStandalone(source: TileBenchEmitter.source(tiles: specs), name: "tilebench")
            let req = WorkerRequest(kind: .tiles, library: lib.path, dtype: space.dtype, timer: Self.medium,
                                    tileFlops: specs.map(TileBenchEmitter.flopsPerCall))
            guard case .answered(let resp) = worker.send(req, timeout: 120), resp.error == nil, resp.tileGflops.count == tiles.count else {
                log("\(space.dtype.rawValue): tile ranking failed; using the model's tile")
                return [model]
            }
            let ranked = zip(tiles, resp.tileGflops).sorted { $0.1 > $1.1 }
            log("\(space.dtype.rawValue) tiles (in-cache GFLOPS): " + ranked.prefix(8).map { "\($0.0) \(String(format: "%.0f", $0.1))" }.joined(separator: ", "))
            return ranked.map(\.0)
        } catch {
            log("\(space.dtype.rawValue): tile ranking failed (\(error)); using the model's tile")
            return [model]
        }
    }

    // MARK: one class

    private struct ClassState {
        var evaluated = 0
        var failed = 0
        var best: Evaluation?
    }

    func tuneClass(_ cls: ShapeClass, space: SearchSpace, tiles: [SearchSpace.Tile], journal: SearchJournal,
                   budget: Double) throws -> GemmClassResult {
        let start = monotonicSeconds()
        let classDeadline = start + budget
        let threadReserve = options.threads.contains(where: { $0 > 1 }) ? min(0.35 * budget, 40) : 0
        let shapes = ShapeSuites.tuning(cls)
        var st = ClassState()
        func report(_ phase: String) {
            onProgress(SearchProgress(dtype: space.dtype, shapeClass: cls, phase: phase, evaluated: st.evaluated,
                                      failed: st.failed, best: st.best, remaining: deadline - monotonicSeconds(),
                                      budget: options.budgetSeconds))
        }
        func evaluate(_ spec: GemmSpec, threads: Int, timer: TimerSettings, phase: String,
                      on evalShapes: [GemmShape]? = nil) throws -> Evaluation {
            let measuredShapes = evalShapes ?? shapes
            let (e, measured) = try self.evaluate(spec, cls: cls, threads: threads, shapes: measuredShapes, timer: timer,
                                                  journal: journal)
            guard measured else { return e }
            st.evaluated += 1
            if e.status != .ok {
                st.failed += 1
                log("\(space.dtype.rawValue) \(cls.rawValue): candidate \(spec.summary) \(e.status.rawValue): \(e.message ?? "")")
            }
            // The best so far counts only scores over all the class's shapes (not a screening subset).
            if threads == 1, measuredShapes == shapes, e.status == .ok, e.score > (st.best?.score ?? 0) { st.best = e }
            report(phase)
            return e
        }

        // Phase 1: successive halving over the best tiles x packing choices.
        // In-cache GFLOPS barely separate tiles of one shape, while the class's shapes do
        // (16-row tiles for 16-row problems): the pool takes the best broadcast-B tile of
        // each height with every packing choice, and the best broadcast-A tile of each width
        // with A packed or read in place (B's columns are packed when broadcasting A).
        var pool: [GemmSpec] = []
        var seen = Set<Int>()
        for t in tiles where t.orientation == .broadcastB && seen.insert(t.mr).inserted {
            for (pa, pb) in [(true, true), (true, false), (false, true), (false, false)] {
                pool.append(space.seed(t, packA: pa, packB: pb))
            }
        }
        seen = []
        for t in tiles where t.orientation == .broadcastA && seen.insert(t.nr).inserted {
            for pa in [true, false] { pool.append(space.seed(t, packA: pa)) }
        }
        let modelSeed = space.seed(space.modelTile)
        if !pool.contains(modelSeed) { pool.append(modelSeed) }
        prebuild(pool)
        let phase1End = start + 0.55 * (budget - threadReserve)
        var incumbent: Evaluation?
        for (round, timer) in [Self.quick, Self.medium, Self.full].enumerated() {
            var scored: [Evaluation] = []
            // The first, widest round screens on the class's cheapest shapes.
            let roundShapes = round == 0 ? ShapeSuites.screening(cls) : shapes
            for spec in pool {
                if round > 0 && monotonicSeconds() > phase1End && !scored.isEmpty { break }
                scored.append(try evaluate(spec, threads: 1, timer: timer, phase: "halving round \(round + 1)", on: roundShapes))
            }
            scored = scored.filter { $0.status == .ok }.sorted { $0.score > $1.score }
            guard !scored.isEmpty else { break }
            incumbent = scored[0]
            pool = Array(scored.prefix(round == 2 ? 1 : max(1, (scored.count + 1) / 2)).map(\.spec))
            if pool.count == 1 && round > 0 { break }
        }
        guard var best = incumbent else {
            throw SearchError(message: "\(space.dtype.rawValue) \(cls.rawValue): every candidate failed (\(st.failed) failures; see \(journal.url.path))")
        }
        // The winner measured with the full timer (a journaled measurement is reused).
        let confirmed = try evaluate(best.spec, threads: 1, timer: Self.full, phase: "confirm")
        if confirmed.status == .ok { best = confirmed }
        st.best = best

        // Phase 2: coordinate search, first improvement, until the class budget is spent.
        let phase2End = classDeadline - threadReserve
        var improved = true
        while improved && monotonicSeconds() < phase2End {
            improved = false
            let moves = space.neighbours(best.spec)
            prebuild(Array(moves.prefix(4)))
            for spec in moves {
                if monotonicSeconds() > phase2End { break }
                let e = try evaluate(spec, threads: 1, timer: Self.full, phase: "local search")
                if e.status == .ok && e.score > best.score * (1 + Self.noiseMargin) {
                    best = e
                    improved = true
                    break
                }
            }
        }

        // Phase 3: thread counts, the thread split and, at the most threads, the blocking:
        // threads sharing L3 and memory can favour other block sizes than one thread.
        var chosen = best.spec
        var perThread: [Int: Evaluation] = [1: best]
        // The thread phase keeps its reserve even when the phases before it ran late (a
        // candidate's build or measurement crossing their end); later classes share what is left.
        let threadEnd = max(classDeadline, monotonicSeconds() + threadReserve)
        let threadDeadline = threadEnd + Self.threadOverrun
        for t in options.threads.sorted() where t > 1 {
            var bestAtT: Evaluation?
            for par in ParallelLoop.allCases {
                var s = best.spec
                s.parallel = par
                let e = try evaluate(s, threads: t, timer: Self.full, phase: "\(t) threads")
                if e.status == .ok, e.score > (bestAtT?.score ?? 0) { bestAtT = e }
                if monotonicSeconds() > threadDeadline { break }
            }
            if t == options.threads.max(), var b = bestAtT {
                var improved = true
                while improved && monotonicSeconds() < threadEnd {
                    improved = false
                    for spec in space.blockingMoves(b.spec) {
                        if monotonicSeconds() > threadEnd { break }
                        let e = try evaluate(spec, threads: t, timer: Self.full, phase: "\(t) threads, blocking")
                        if e.status == .ok && e.score > b.score * (1 + Self.noiseMargin) {
                            b = e
                            improved = true
                            break
                        }
                    }
                }
                bestAtT = b
            }
            if let b = bestAtT {
                perThread[t] = b
                if t == options.threads.max() { chosen.parallel = b.spec.parallel }
            }
        }
        let byThreads = perThread.keys.sorted().compactMap { t -> ThreadResult? in
            guard let e = perThread[t] else { return nil }
            let s = e.summary
            var r = ThreadResult(threads: t, oursGflops: s.ours, peerGflops: s.peer, ratio: e.score,
                                 fractionOfPeak: s.ours / (peaks["\(space.dtype.rawValue)-\(t)"] ?? .infinity), spread: s.spread)
            r.bestPeers = Array(Set(e.measurements.compactMap(\.peerName))).sorted().joined(separator: "+")
            return r
        }
        let fastest = byThreads.max { $0.oursGflops < $1.oursGflops } ?? byThreads[0]
        chosen.threads = fastest.threads
        // The blocking found at the most threads serves the calls that run threaded, when it
        // differs from the one-thread blocking.
        var threaded: GemmSpec?
        if let tmax = options.threads.max(), tmax > 1, var s = perThread[tmax]?.spec {
            s.threads = chosen.threads
            if s != chosen { threaded = s }
        }
        log("\(space.dtype.rawValue) \(cls.rawValue): \(chosen.summary)\(threaded.map { " (threaded: \($0.summary))" } ?? ""): " + byThreads.map {
            "\($0.threads) thread(s) \(String(format: "%.1f", $0.oursGflops)) vs \(String(format: "%.1f", $0.peerGflops)) GFLOPS of \($0.bestPeers ?? "the peer") (\(String(format: "%.2f", $0.ratio))x)"
        }.joined(separator: "; "))
        let date = ISO8601DateFormatter().string(from: Date())
        return GemmClassResult(shapeClass: cls, spec: chosen, threadedSpec: threaded, shapes: shapes, best: fastest, byThreads: byThreads,
                               candidates: st.evaluated, failures: st.failed, seconds: monotonicSeconds() - start,
                               date: date, compiler: compiler, openblasVersion: openblas,
                               peerConfigurations: peerConfigurations.isEmpty ? nil : peerConfigurations)
    }

    // MARK: evaluation

    /// The single-dtype library of a candidate.
    func candidateConfig(_ spec: GemmSpec) -> KernelsConfig {
        KernelsConfig(version: blastuneVersion, machine: machine, origin: "candidate",
                      library: LibrarySpec(isa: spec.isa, gemm: [GemmVariant(shapeClass: .any, spec: spec)]))
    }

    /// Builds candidates ahead of their measurement, as many at once as there are cores
    /// (nothing is being timed meanwhile).
    func prebuild(_ specs: [GemmSpec]) {
        let configs = specs.map(candidateConfig)
        let cache = self.cache
        DispatchQueue.concurrentPerform(iterations: configs.count) { i in _ = try? cache.build(configs[i]) }
    }

    /// Checks and times one candidate, or reuses its journaled measurement (`measured` false).
    func evaluate(_ spec: GemmSpec, cls: ShapeClass, threads: Int, shapes: [GemmShape], timer: TimerSettings,
                  journal: SearchJournal) throws -> (evaluation: Evaluation, measured: Bool) {
        if let e = journal.lookup(spec: spec, threads: threads, shapes: shapes, timer: timer) { return (e, false) }
        var e = Evaluation(dtype: spec.dtype, shapeClass: cls, spec: spec, threads: threads, shapes: shapes, timer: timer, status: .ok, message: nil, measurements: [])
        let lib: LibraryBuilder.Output
        do { lib = try cache.build(candidateConfig(spec)) } catch {
            e.status = .failed
            e.message = "build: \(error)"
            try journal.append(e)
            return (e, true)
        }
        let req = WorkerRequest(kind: .gemm, library: lib.library.path, dtype: spec.dtype, shapes: shapes, threads: threads, timer: timer)
        let expected = shapes.map { $0.flops / 5e9 }.reduce(0, +) * Double(timer.maxSamples) * 4
        let timeout = options.candidateTimeout + expected + Double(timer.maxSamples * 2 * shapes.count) * timer.sampleSeconds * 2
        switch worker.send(req, timeout: timeout) {
        case .answered(let r):
            if let w = r.wrong { e.status = .wrong; e.message = w }
            else if let err = r.error { e.status = .failed; e.message = err }
            else { e.measurements = r.measurements }
        case .crashed(let why): e.status = .crashed; e.message = why
        case .timedOut(let s): e.status = .hung; e.message = "no answer in \(Int(s)) s; worker killed"
        }
        try journal.append(e)
        return (e, true)
    }
}

/// A search that could not produce a result.
public struct SearchError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
