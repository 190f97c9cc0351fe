import Foundation
import KernelSpec
import MicroKernels
import SparseCSR

/// One evaluated sparse candidate, as the sparse search journal records it.
public struct SparseEvaluation: Codable, Sendable, JournalEntry {
    public var op: SparseOp
    public var dtype: DType
    public var matrixClass: SparseClass
    /// The spec as JSON (an ``SpmvSpec`` or a ``TransposeSpec``).
    public var spec: String
    public var threads: Int
    public var matrices: [MatrixSource]
    public var status: Evaluation.Status
    public var message: String?
    public var times: [TimingStats]
    /// The incumbent's spec it was timed against, interleaved, and the incumbent's times.
    public var baseline: String? = nil
    public var baselineTimes: [TimingStats] = []

    public var key: String { stableHash([op.rawValue, dtype.rawValue, spec, "\(threads)", baseline ?? ""] + matrices.map(\.description)) }
    /// Geometric mean over the matrices of the incumbent's time over this candidate's (> 1: faster).
    public var speedup: Double {
        guard status == .ok, !times.isEmpty, times.count == baselineTimes.count else { return 0 }
        return exp(zip(times, baselineTimes).map { log($0.1.median / $0.0.median) }.reduce(0, +) / Double(times.count))
    }
    public var succeeded: Bool { status == .ok }
    /// Geometric mean of the median times; infinity when it failed.
    public var score: Double {
        guard status == .ok, !times.isEmpty else { return .infinity }
        return exp(times.map { log($0.median) }.reduce(0, +) / Double(times.count))
    }
}

/// What a sparse search covers.
public struct SparseSearchOptions: Sendable {
    public var op: SparseOp
    public var dtypes: [DType]
    public var threads: [Int]
    public var budgetSeconds: Double
    /// Matrices to tune on (grouped by their class); empty: the default suite of each class.
    public var matrices: [MatrixSource]
    public var fresh: Bool
    public var isa: ISA

    public init(op: SparseOp, dtypes: [DType], threads: [Int], budgetSeconds: Double, matrices: [MatrixSource], fresh: Bool, isa: ISA) {
        self.op = op; self.dtypes = dtypes; self.threads = threads; self.budgetSeconds = budgetSeconds
        self.matrices = matrices; self.fresh = fresh; self.isa = isa
    }
}

/// The sparse autotuner. Per dtype (transpose: f64 only; its configuration serves both)
/// and matrix class: start from the default spec, then a first-improvement coordinate
/// search over the spec's fields (SpMV: partition, unroll, loads, prefetch, short-row
/// split; transpose: algorithm, radix bits, histogram budget) at the largest thread count,
/// each candidate timed interleaved with the incumbent in the same worker (so that machine
/// noise hits both), a move kept only when it is more than 3% faster; then the thread
/// count. Every candidate
/// is built, checked against the Swift reference and timed in the worker process, and
/// journaled; each finished class is written atomically, so a killed search resumes.
public final class SparseSearch {
    public let machine: MachineProfile
    public let store: ResultsStore
    public let options: SparseSearchOptions
    public let worker: WorkerClient
    public let cache: LibraryCache
    public var log: (String) -> Void = { _ in }

    /// Sampling of each candidate's timing.
    public var timer = TimerSettings(sampleSeconds: 0.05, samples: 5, maxSamples: 9)

    public init(machine: MachineProfile, store: ResultsStore, options: SparseSearchOptions, worker: WorkerClient, cache: LibraryCache = LibraryCache()) {
        self.machine = machine; self.store = store; self.options = options; self.worker = worker; self.cache = cache
    }

    /// The matrices each class is tuned on by default.
    public static func suite(_ op: SparseOp, _ cls: SparseClass) -> [MatrixSource] {
        switch (op, cls) {
        case (_, .short): [MatrixSource(kind: .stencil3d, args: [100])]
        case (.spmv, .long), (.spmm, .long): [MatrixSource(kind: .uniform, args: [500_000, 500_000, 24]), MatrixSource(kind: .rmat, args: [18])]
        case (.transpose, .long): [MatrixSource(kind: .uniform, args: [1_000_000, 1_000_000, 16]), MatrixSource(kind: .rmat, args: [18])]
        case (.spmv, _), (.spmm, _): [MatrixSource(kind: .column, args: [4_000_000, 1_000_000])]
        case (.transpose, _): [MatrixSource(kind: .row, args: [20_000_000]), MatrixSource(kind: .hypersparse, args: [50_000_000, 2_000_000])]
        }
    }

    /// Per spec field, the spec with each other value of that field, in the order the
    /// coordinate search visits them (each from the incumbent of the moment).
    static let spmvFields: [@Sendable (SpmvSpec) -> [SpmvSpec]] = [
        { s in SpmvPartition.allCases.map { var t = s; t.partition = $0; return t } },
        { s in [1, 2, 4, 8].map { var t = s; t.unroll = $0; return t } },
        { s in GatherMode.allCases.map { var t = s; t.loads = $0; return t } },
        { s in [0, 16, 64, 256].map { var t = s; t.prefetch = $0; return t } },
        { s in [0, 4, 8, 16, 32].map { var t = s; t.shortRow = $0; return t } },
    ]

    static let transposeFields: [@Sendable (TransposeSpec) -> [TransposeSpec]] = [
        { s in [TransposeAlgorithm.histogram, .radix, .auto].map { var t = s; t.algorithm = $0; return t } },
        { s in Array(6...13).map { var t = s; t.radixBits = $0; return t } },
        { s in [Int64(0), 16 << 20, 256 << 20].map { var t = s; t.histogramBudget = $0; return t } },
    ]

    public func run() throws -> [SparseResultsFile] {
        let start = monotonicSeconds()
        let probe = try PeakProbe(isa: options.isa)
        var bandwidth: [String: Double] = [:]
        for t in options.threads { bandwidth["\(t)"] = probe.bandwidth(read: true, threads: t) }
        // Matrices by class.
        var byClass: [SparseClass: [MatrixSource]] = [:]
        if options.matrices.isEmpty {
            for c in SparseClass.dispatchOrder { byClass[c] = Self.suite(options.op, c) }
        } else {
            for m in options.matrices {
                let a = try m.load(Double.self)
                byClass[SparseClass.of(nrows: a.nrows, ncols: a.ncols, nnz: a.nnz), default: []].append(m)
            }
        }
        let classes = SparseClass.dispatchOrder.filter { byClass[$0] != nil }
        let dtypes: [DType] = options.op == .transpose ? [.f64] : options.dtypes
        let share = options.budgetSeconds / Double(classes.count * dtypes.count)
        var files: [SparseResultsFile] = []
        let peers = try? SparsePeers(cache: cache)
        for dtype in dtypes {
            let tag = options.op == .spmv ? "spmv-\(dtype.rawValue)" : "transpose"
            let journal = try Journal<SparseEvaluation>(url: store.directory(for: machine).appendingPathComponent("search-\(tag).jsonl"), fresh: options.fresh)
            var file = (options.fresh ? nil : try store.loadSparse(options.op, dtype: options.op == .spmv ? dtype : nil, machine: machine))
                ?? SparseResultsFile(format: SparseResultsFile.currentFormat, blastuneVersion: blastuneVersion, fingerprint: machine.fingerprint,
                                     machine: machine, op: options.op, dtype: options.op == .spmv ? dtype : nil, readBandwidth: bandwidth, classes: [])
            file.readBandwidth = bandwidth
            for cls in classes {
                // A class already tuned on the same matrices is done (resume).
                if file.classes.contains(where: { $0.matrixClass == cls && $0.matrices == byClass[cls]!.map(\.description) }) {
                    log("\(options.op.rawValue) \(dtype.rawValue) \(cls.rawValue): already tuned (--fresh to redo)")
                    continue
                }
                let deadline = min(start + options.budgetSeconds, monotonicSeconds() + share)
                let result = try tuneClass(cls, dtype: dtype, matrices: byClass[cls]!, journal: journal, deadline: deadline,
                                           bandwidth: bandwidth, peers: peers)
                file.classes.removeAll { $0.matrixClass == cls }
                file.classes.append(result)
                file.classes.sort { SparseClass.dispatchOrder.firstIndex(of: $0.matrixClass)! < SparseClass.dispatchOrder.firstIndex(of: $1.matrixClass)! }
                try store.save(file)
            }
            files.append(file)
        }
        return files
    }

    func encode<S: Encodable>(_ s: S) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        return (try? enc.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The library a candidate is timed in: a minimal GEMM kernel and the candidate as the
    /// sparse fallback of every class.
    func candidateConfig(spmv: SpmvSpec?, transpose: TransposeSpec?) -> KernelsConfig {
        let isa = options.isa
        let gemm = DType.allCases.map { d in
            GemmVariant(spec: GemmSpec(dtype: d, isa: isa, mr: isa.lanes(d), nr: 2, kUnroll: 1, kc: 16, mc: isa.lanes(d), nc: 2))
        }
        let lib = LibrarySpec(isa: isa, gemm: gemm, spmv: spmv.map { [SparseVariant(spec: $0)] } ?? [],
                              transpose: transpose.map { [SparseVariant(spec: $0)] } ?? [])
        return KernelsConfig(version: blastuneVersion, machine: machine, origin: "candidate", library: lib)
    }

    func evaluate(spmv: SpmvSpec?, transpose: TransposeSpec?, dtype: DType, cls: SparseClass, threads: Int,
                  matrices: [MatrixSource], journal: Journal<SparseEvaluation>,
                  against incumbent: (spmv: SpmvSpec?, transpose: TransposeSpec?)? = nil) throws -> (SparseEvaluation, Bool) {
        var e = SparseEvaluation(op: options.op, dtype: dtype, matrixClass: cls, spec: spmv.map(encode) ?? transpose.map(encode) ?? "",
                                 threads: threads, matrices: matrices, status: .ok, message: nil, times: [],
                                 baseline: incumbent.map { $0.spmv.map(encode) ?? $0.transpose.map(encode) ?? "" })
        if let old = journal.lookup(key: e.key) { return (old, false) }
        let lib: LibraryBuilder.Output
        do { lib = try cache.build(candidateConfig(spmv: spmv, transpose: transpose)) } catch {
            e.status = .failed; e.message = "build: \(error)"
            try journal.append(e)
            return (e, true)
        }
        var req = WorkerRequest(kind: .sparse, library: lib.library.path, dtype: dtype, threads: threads, timer: timer,
                                op: options.op, matrices: matrices)
        if let inc = incumbent { req.baseline = try cache.build(candidateConfig(spmv: inc.spmv, transpose: inc.transpose)).library.path }
        switch worker.send(req, timeout: 300) {
        case .answered(let r):
            if let w = r.wrong { e.status = .wrong; e.message = w }
            else if let err = r.error { e.status = .failed; e.message = err }
            else { e.times = r.sparseTimes; e.baselineTimes = r.baselineTimes }
        case .crashed(let why): e.status = .crashed; e.message = why
        case .timedOut(let s): e.status = .hung; e.message = "no answer in \(Int(s)) s; worker killed"
        }
        if e.status != .ok { log("candidate failed (\(e.status.rawValue)): \(e.message ?? "")") }
        try journal.append(e)
        return (e, true)
    }

    func tuneClass(_ cls: SparseClass, dtype: DType, matrices: [MatrixSource], journal: Journal<SparseEvaluation>,
                   deadline: Double, bandwidth: [String: Double], peers: SparsePeers?) throws -> SparseClassResult {
        let t0 = monotonicSeconds()
        let maxThreads = options.threads.max() ?? 1
        var evaluated = 0, failed = 0
        func eval(_ s: SpmvSpec?, _ t: TransposeSpec?, threads: Int, against inc: (SpmvSpec?, TransposeSpec?)? = nil) throws -> SparseEvaluation {
            let (e, measured) = try evaluate(spmv: s, transpose: t, dtype: dtype, cls: cls, threads: threads, matrices: matrices, journal: journal,
                                             against: inc.map { (spmv: $0.0, transpose: $0.1) })
            if measured { evaluated += 1; if e.status != .ok { failed += 1 } }
            return e
        }
        let isSpmv = options.op == .spmv
        // The seed: the model's for this machine (its ISA, caches).
        var spmv = isSpmv ? AnalyticalModel.spmvSpec(dtype: dtype, isa: options.isa, machine: machine) : nil
        var transpose = isSpmv ? nil : AnalyticalModel.transposeSpec(isa: options.isa, machine: machine)
        let base = try eval(spmv, transpose, threads: maxThreads)
        guard base.status == .ok else { throw SearchError(message: "the model's \(options.op.rawValue) kernel failed on \(cls.rawValue): \(base.message ?? "")") }
        var best = base
        log("\(options.op.rawValue) \(dtype.rawValue) \(cls.rawValue): model seed \(fmtMs(base.score)) on \(matrices.map(\.description).joined(separator: ", "))")
        var improved = true
        var gain = 1.0 // product of the accepted moves' interleaved speed-ups
        while improved && monotonicSeconds() < deadline {
            improved = false
            let fields = isSpmv ? Self.spmvFields.count : Self.transposeFields.count
            for f in 0..<fields where monotonicSeconds() < deadline {
                let candidates: [(SpmvSpec?, TransposeSpec?)] = isSpmv
                    ? Self.spmvFields[f](spmv!).filter { $0 != spmv }.map { ($0, nil) }
                    : Self.transposeFields[f](transpose!).filter { $0 != transpose }.map { (nil, $0) }
                for (s, t) in candidates where monotonicSeconds() < deadline {
                    let e = try eval(s, t, threads: maxThreads, against: (spmv, transpose))
                    if e.speedup > 1.03 {
                        best = e; spmv = s ?? spmv; transpose = t ?? transpose; improved = true
                        gain *= e.speedup
                        log("  better: \((s.map(\.summary) ?? t.map(\.summary))!) \(fmtMs(e.score)), \(String(format: "%.2f", e.speedup))x the incumbent")
                        break // the field's other values are tried again from the new incumbent next pass
                    }
                }
            }
        }
        // Thread count: the fastest measured.
        var bestThreads = maxThreads
        let atMax = try eval(spmv, transpose, threads: maxThreads)
        if atMax.status == .ok { best = atMax }
        for t in options.threads where t != maxThreads && monotonicSeconds() < deadline + 60 {
            let e = try eval(spmv, transpose, threads: t)
            if e.score < best.score * 0.97 { best = e; bestThreads = t }
        }
        spmv?.threads = bestThreads
        transpose?.threads = bestThreads
        // Our GB/s, and the peers on the same matrices at the chosen thread count.
        var gbps: [Double] = [], ratios: [String: [Double]] = [:]
        let lib = try KernelLibrary(path: try cache.build(candidateConfig(spmv: spmv, transpose: transpose)).library.path)
        let bench = SparseBench(library: lib, peers: peers, bandwidth: [:], useScipy: true,
                                timer: InterleavedTimer(sampleSeconds: 0.05, samples: 5, maxSamples: 9, targetSpread: 0.05))
        for m in matrices {
            let a = try m.load(Double.self)
            let row = dtype == .f64 ? try bench.run(options.op, a, name: m.description, threads: bestThreads)
                                    : try bench.run(options.op, a.converted(to: Float.self), name: m.description, threads: bestThreads)
            gbps.append(row.oursGBps)
            for (name, p) in row.peers { ratios[name, default: []].append(options.op == .transpose ? p.seconds / row.ours.median : p.ratio) }
        }
        let g = geometricMean(gbps)
        return SparseClassResult(matrixClass: cls, spmv: spmv, transpose: transpose, matrices: matrices.map(\.description),
                                 oursSeconds: best.times.map(\.median), oursGBps: g, fractionOfBandwidth: g / (bandwidth["\(bestThreads)"] ?? .infinity),
                                 defaultSeconds: base.times.map(\.median), speedupOverDefault: gain,
                                 peerRatios: ratios.mapValues(geometricMean), candidates: evaluated, failures: failed,
                                 seconds: monotonicSeconds() - t0, date: ISO8601DateFormatter().string(from: Date()),
                                 compiler: cache.builder.toolchain.versionLine())
    }

    func fmtMs(_ s: Double) -> String { String(format: "%.2f ms", s * 1e3) }
}
