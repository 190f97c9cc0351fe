import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels

/// The measurement worker: reads ``WorkerRequest`` lines on standard input and answers
/// each with a ``WorkerResponse`` line. It runs generated code the parent has never run,
/// so the parent treats a crash or a hang of this process as the candidate's failure.
public final class WorkerService {
    private var libraries: [String: KernelLibrary] = [:]
    private var operands32: [GemmShape: Operands<Float>] = [:]
    private var operands64: [GemmShape: Operands<Double>] = [:]

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

    /// Handles one request in this process.
    public func handle(_ req: WorkerRequest) -> WorkerResponse {
        switch req.kind {
        case .tiles: return tiles(req)
        case .gemm:
            let lib: KernelLibrary
            do { lib = try load(req.library) } catch { return WorkerResponse(error: "\(error)") }
            lib.setNumThreads(req.threads)
            openblas_set_num_threads(Int32(req.threads))
            var out = WorkerResponse()
            for shape in req.shapes {
                let r = req.dtype == .f32 ? measure(lib, shape, req.timer, Float.self) : measure(lib, shape, req.timer, Double.self)
                switch r {
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

    private func load(_ path: String) throws -> KernelLibrary {
        if let l = libraries[path] { return l }
        let l = try KernelLibrary(path: path)
        libraries[path] = l
        return l
    }

    private func operands<T: BinaryFloatingPoint>(_ shape: GemmShape, _: T.Type) -> Operands<T> {
        if T.self == Float.self {
            if let o = operands32[shape] { return o as! Operands<T> }
            let o = Operands<Float>(m: shape.m, n: shape.n, k: shape.k)
            operands32[shape] = o
            return o as! Operands<T>
        }
        if let o = operands64[shape] { return o as! Operands<T> }
        let o = Operands<Double>(m: shape.m, n: shape.n, k: shape.k)
        operands64[shape] = o
        return o as! Operands<T>
    }

    private func measure<T: BinaryFloatingPoint>(_ lib: KernelLibrary, _ shape: GemmShape, _ timer: TimerSettings,
                                                 _: T.Type) -> Result<ShapeMeasurement, Failure> {
        let ops = operands(shape, T.self)
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var status: Int32 = 0
        let mine: () -> Void, theirs: () -> Void
        if T.self == Float.self {
            let (a, b, c, r) = (UnsafeMutableRawPointer(ops.a).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(ops.b).assumingMemoryBound(to: Float.self),
                                UnsafeMutableRawPointer(ops.c).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(ops.cRef).assumingMemoryBound(to: Float.self))
            mine = { status = lib.sgemm(102, 111, 111, Int64(m), Int64(n), Int64(k), 1, a, Int64(m), b, Int64(k), 0, c, Int64(m)) }
            theirs = { cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(m), b, Int32(k), 0, r, Int32(m)) }
        } else {
            let (a, b, c, r) = (UnsafeMutableRawPointer(ops.a).assumingMemoryBound(to: Double.self), UnsafeMutableRawPointer(ops.b).assumingMemoryBound(to: Double.self),
                                UnsafeMutableRawPointer(ops.c).assumingMemoryBound(to: Double.self), UnsafeMutableRawPointer(ops.cRef).assumingMemoryBound(to: Double.self))
            mine = { status = lib.dgemm(102, 111, 111, Int64(m), Int64(n), Int64(k), 1, a, Int64(m), b, Int64(k), 0, c, Int64(m)) }
            theirs = { cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(m), b, Int32(k), 0, r, Int32(m)) }
        }
        for i in 0..<ops.cCount { ops.c[i] = T.nan }   // beta = 0 must overwrite everything
        mine()
        theirs()
        if status != 0 { return .failure(Failure(wrong: false, message: "\(shape): status \(status) (\(lib.strerror(status)))")) }
        let eps = T.self == Float.self ? Double(Float.ulpOfOne) : Double.ulpOfOne
        let (diff, bound) = ops.normwiseError(eps: eps)
        if !(diff <= bound) {
            return .failure(Failure(wrong: true, message: "\(shape): ||C - C_openblas||_F = \(diff) exceeds the bound \(bound)"))
        }
        let (ours, peer) = timer.timer.compare(mine, theirs)
        return .success(ShapeMeasurement(shape: shape, ours: ours, peer: peer, relativeError: ops.relativeError()))
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
