import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels

/// The measurement worker: reads ``WorkerRequest`` lines on standard input and answers
/// each with a ``WorkerResponse`` line. It runs generated code the parent has never run,
/// so the parent treats a crash or a hang of this process as the candidate's failure.
public final class WorkerService {
    private var libraries: [String: KernelLibrary] = [:]
    /// Operands are kept per dtype and shape: a search times many candidates on the same problems.
    private var pairs: [String: GemmPair] = [:]
    /// Sparse matrices and their reference results, per source and dtype.
    var sparseCases: [String: Any] = [:]
    /// The fastest peer per dtype, shape and thread count, found at the shape's first measurement.
    private var bestPeer: [String: GemmPeer] = [:]

    public init() {}

    /// Serves requests until standard input closes.
    public func serve() {
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        while let line = readLine(strippingNewline: true) {
            let response: WorkerResponse
            do { response = handle(try decoder.decode(WorkerRequest.self, from: Data(line.utf8))) } catch {
                response = WorkerResponse(error: "bad request: \(describeDecodingError(error))")
            }
            let data = (try? encoder.encode(response)) ?? Data(#"{"error":"cannot encode the response"}"#.utf8)
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }

    /// A fault injected into the candidates of a search (`BLASTUNE_INJECT_FAULTS=N`: of every N
    /// measurement requests one crashes, one hangs and one computes NaN). The requests are
    /// counted in the file `BLASTUNE_INJECT_COUNTER`, which outlives the restarts of the
    /// worker, so the faults land in a fixed order; without it, a hash of the library path
    /// picks them.
    enum InjectedFault { case crash, hang, wrong }

    static let faultModulus: UInt64? = ProcessInfo.processInfo.environment["BLASTUNE_INJECT_FAULTS"].flatMap { UInt64($0) }.flatMap { $0 >= 3 ? $0 : nil }

    static func injectedFault(_ library: String) -> InjectedFault? {
        guard let n = faultModulus else { return nil }
        let key: UInt64
        if let counter = ProcessInfo.processInfo.environment["BLASTUNE_INJECT_COUNTER"] {
            // "count path": a request for the library just seen (the retry after a crash) keeps its fault.
            let saved = (try? String(contentsOfFile: counter, encoding: .utf8)) ?? ""
            let parts = saved.split(separator: " ", maxSplits: 1).map(String.init)
            let last = parts.first.flatMap { UInt64($0) }
            key = parts.count == 2 && parts[1] == library ? (last ?? 0) : (last.map { $0 + 1 } ?? 0)
            try? "\(key) \(library)".write(toFile: counter, atomically: true, encoding: .utf8)
        } else {
            guard let h = UInt64(stableHash([library]), radix: 16) else { return nil }
            key = h
        }
        switch key % n { case 0: return .crash; case 1: return .hang; case 2: return .wrong; default: return nil }
    }

    /// Handles one request in this process.
    public func handle(_ req: WorkerRequest) -> WorkerResponse {
        let fault = req.kind == .tiles ? nil : Self.injectedFault(req.library)
        if fault == .crash {
            // The default action, delivered now: a handler (the Swift runtime's backtracer)
            // may otherwise return from a sent SIGSEGV and let the request be answered.
            signal(SIGSEGV, SIG_DFL)
            raise(SIGSEGV)
            abort()
        }
        if fault == .hang { while true { sleep(60) } }
        switch req.kind {
        case .tiles: return tiles(req)
        case .peer: return peer(req)
        case .shapes: return shapes(req)
        case .sparse:
            do { return try sparse(req, lib: load(req.library)) } catch { return WorkerResponse(error: "\(error)") }
        case .gemm:
            let lib: KernelLibrary
            do { lib = try load(req.library) } catch { return WorkerResponse(error: "\(error)") }
            lib.setNumThreads(req.threads)
            openblas_set_num_threads(Int32(req.threads))
            for p in GemmPeer.discover() { p.setThreads(req.threads) }
            var out = WorkerResponse()
            for shape in req.shapes {
                switch measure(lib, req.dtype, shape, req.threads, req.timer, poison: fault == .wrong) {
                case .success(let m): out.measurements.append(m)
                case .failure(let f):
                    if f.wrong { out.wrong = f.message } else { out.error = f.message }
                    return out
                }
            }
            return out
        }
    }

    struct Failure: Error { var wrong: Bool; var message: String }

    func load(_ path: String) throws -> KernelLibrary {
        if let l = libraries[path] { return l }
        let l = try KernelLibrary(path: path)
        libraries[path] = l
        return l
    }

    private func measure(_ lib: KernelLibrary, _ dtype: DType, _ shape: GemmShape, _ threads: Int, _ timer: TimerSettings,
                         poison: Bool) -> Result<ShapeMeasurement, Failure> {
        let key = "\(dtype.rawValue) \(shape)"
        let pair = pairs[key] ?? GemmPair(dtype: dtype, shape: shape)
        pairs[key] = pair
        pair.poisonC()
        let status = pair.ours(lib)
        if poison { pair.poisonC() }
        pair.openblas()
        if status != 0 { return .failure(Failure(wrong: false, message: "\(shape): status \(status) (\(lib.strerror(status)))")) }
        let (diff, bound) = pair.normwiseError()
        if !(diff <= bound) {
            return .failure(Failure(wrong: true, message: "\(shape): ||C - C_openblas||_F = \(diff) exceeds the bound \(bound)"))
        }
        let error = pair.relativeError()
        let peerKey = "\(key) \(threads)"
        if let best = bestPeer[peerKey] {
            let (ours, peer) = timer.timer.compare({ _ = pair.ours(lib) }, { pair.run(best) })
            return .success(ShapeMeasurement(shape: shape, ours: ours, peer: peer, peerName: best.name, relativeError: error))
        }
        // First time on this shape: every peer, interleaved with the candidate; the fastest is kept.
        let peers = GemmPeer.discover()
        let stats = timer.timer.compareAll([{ _ = pair.ours(lib) }] + peers.map { p in { pair.run(p) } })
        guard let i = peers.indices.min(by: { stats[$0 + 1].median < stats[$1 + 1].median }) else {
            return .failure(Failure(wrong: false, message: "no peer installed to time against"))
        }
        bestPeer[peerKey] = peers[i]
        return .success(ShapeMeasurement(shape: shape, ours: stats[0], peer: stats[i + 1], peerName: peers[i].name, relativeError: error))
    }

    /// Checks a peer (loaded with this process's environment) against a reference loop on
    /// small problems, then times it on each shape.
    private func peer(_ req: WorkerRequest) -> WorkerResponse {
        guard let name = req.peer, let peer = GemmPeer.named(name) else {
            return WorkerResponse(error: "peer \(req.peer ?? "(none)") is not installed")
        }
        peer.setThreads(req.threads)
        for shape in [GemmShape(m: 67, n: 45, k: 39), GemmShape(m: 130, n: 97, k: 260)] {
            let pair = GemmPair(dtype: req.dtype, shape: shape)
            defer { pair.free() }
            pair.run(peer)
            let (diff, bound) = pair.normwiseErrorOfReference()
            if !(diff <= bound) {
                var r = WorkerResponse(wrong: "\(name) \(peer.configuration) \(req.dtype.rawValue) \(shape): ||C - C_ref||_F = \(diff) exceeds \(bound)")
                r.peerConfiguration = peer.configuration
                return r
            }
        }
        var out = WorkerResponse()
        out.peerConfiguration = peer.configuration
        for shape in req.shapes {
            let pair = GemmPair(dtype: req.dtype, shape: shape)
            defer { pair.free() }
            let stats = req.timer.timer.time { pair.run(peer) }
            out.peerGflops.append(shape.flops / stats.median / 1e9)
        }
        return out
    }

    private func tiles(_ req: WorkerRequest) -> WorkerResponse {
        guard let h = dlopen(req.library, RTLD_NOW | RTLD_LOCAL) else {
            return WorkerResponse(error: "cannot load \(req.library): \(dlerror().map { String(cString: $0) } ?? "")")
        }
        typealias Bench = @convention(c) (Int64) -> Double
        var gflops: [Double] = []
        for (i, flops) in req.tileFlops.enumerated() {
            guard let p = dlsym(h, "bt_tilebench_\(i)") else { return WorkerResponse(error: "missing bt_tilebench_\(i)") }
            let f = unsafeBitCast(p, to: Bench.self)
            let iters: Int64 = 2000
            let stats = req.timer.timer.time { _ = f(iters) }
            gflops.append(flops * Double(iters) / stats.median / 1e9)
        }
        return WorkerResponse(tileGflops: gflops)
    }
}
