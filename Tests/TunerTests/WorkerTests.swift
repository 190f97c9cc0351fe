import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Testing
import Tuner

@Suite("Measurement worker", .serialized)
struct WorkerTests {
    let shape = [GemmShape(m: 40, n: 30, k: 20)]

    func request(_ library: String, _ dtype: DType = .f32) -> WorkerRequest {
        WorkerRequest(kind: .gemm, library: library, dtype: dtype, shapes: shape, threads: 1, timer: testTimer)
    }

    @Test("a sound library is checked against OpenBLAS and timed interleaved")
    func sound() throws {
        let machine = MachineProfile.current()
        let cfg = KernelsConfig(version: blastuneVersion, machine: machine, origin: "test",
                                library: AnalyticalModel.librarySpec(isa: machine.bestISA, machine: machine))
        let lib = try LibraryCache(root: try tempDirectory("cache")).build(cfg)
        let client = WorkerClient(command: [blastuneExecutable, "worker"])
        defer { client.stop() }
        for dtype in DType.allCases {
            guard case .answered(let r) = client.send(request(lib.library.path, dtype), timeout: 60) else {
                Issue.record("no answer")
                return
            }
            #expect(r.error == nil && r.wrong == nil)
            #expect(r.measurements.count == 1)
            #expect(r.measurements[0].ours.samples >= 3 && r.measurements[0].peer.samples == r.measurements[0].ours.samples)
            #expect(r.measurements[0].ratio > 0 && r.measurements[0].relativeError < 1e-4)
        }
    }

    @Test("a crashing, hanging or wrong candidate is reported, and the worker serves the next request")
    func faults() throws {
        let client = WorkerClient(command: [blastuneExecutable, "worker"])
        defer { client.stop() }
        let crash = client.send(request(try faultyLibrary(1)), timeout: 30)
        guard case .crashed(let why) = crash else { Issue.record("crash not detected: \(crash)"); return }
        #expect(why.contains("signal"), "\(why)")

        let hang = client.send(request(try faultyLibrary(2)), timeout: 3)
        guard case .timedOut = hang else { Issue.record("hang not detected: \(hang)"); return }

        let wrong = client.send(request(try faultyLibrary(3)), timeout: 30)
        guard case .answered(let w) = wrong, let what = w.wrong else { Issue.record("wrong result not detected: \(wrong)"); return }
        #expect(what.contains("exceeds the bound"), "\(what)")

        let unsupported = client.send(request(try faultyLibrary(4)), timeout: 30)
        guard case .answered(let u) = unsupported, let err = u.error else { Issue.record("failing status not reported: \(unsupported)"); return }
        #expect(err.contains("status 4"), "\(err)")

        // The same faults in sparse kernels.
        for op in SparseOp.searched {
            let sparse = { (lib: String) in
                WorkerRequest(kind: .sparse, library: lib, dtype: .f64, threads: 1, timer: testTimer, op: op,
                              matrices: [MatrixSource(kind: .uniform, args: [300, 200, 5])])
            }
            guard case .crashed = client.send(sparse(try faultyLibrary(1)), timeout: 30) else { Issue.record("\(op) crash not detected"); return }
            guard case .timedOut = client.send(sparse(try faultyLibrary(2)), timeout: 3) else { Issue.record("\(op) hang not detected"); return }
            let w = client.send(sparse(try faultyLibrary(3)), timeout: 30)
            guard case .answered(let r) = w, r.wrong != nil else { Issue.record("\(op) wrong result not detected: \(w)"); return }
            let u = client.send(sparse(try faultyLibrary(4)), timeout: 30)
            guard case .answered(let r4) = u, r4.error?.contains("returned 4") == true else { Issue.record("\(op) failing status not reported: \(u)"); return }
        }

        let missing = client.send(request("/nonexistent/libkernels.so"), timeout: 30)
        guard case .answered(let m) = missing, m.error?.contains("cannot load") == true else { Issue.record("\(missing)"); return }
    }
}
