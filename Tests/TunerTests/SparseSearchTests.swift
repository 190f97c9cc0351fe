import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Testing
import Tuner

@Suite("Sparse search", .serialized)
struct SparseSearchTests {
    let machine = MachineProfile.current()

    @Test("a short SpMV and transpose search writes checked results that generate uses; resuming measures nothing again",
          arguments: SparseOp.searched)
    func shortSearchAndResume(_ op: SparseOp) throws {
        let root = try tempDirectory("sparse-\(op.rawValue)")
        let store = ResultsStore(root: root)
        let matrix = try MatrixSource(parsing: "uniform:3000x2500x20")
        let options = SparseSearchOptions(op: op, dtypes: [.f64], threads: [1, 2], budgetSeconds: 6, matrices: [matrix], fresh: true, isa: machine.bestISA)
        func search(_ o: SparseSearchOptions) -> SparseSearch {
            let s = SparseSearch(machine: machine, store: store, options: o, worker: WorkerClient(command: [blastuneExecutable, "worker"]))
            s.timer = testTimer
            return s
        }
        _ = try search(options).run()
        let file = try #require(try store.loadSparse(op, dtype: op == .spmv ? .f64 : nil, machine: machine))
        let long = try #require(file.classes.first)
        #expect(long.matrixClass == .long && long.matrices == [matrix.description])
        #expect(long.candidates >= 2 && long.failures == 0)
        #expect(long.oursGBps > 0 && long.oursSeconds.count == 1 && long.speedupOverDefault >= 1)
        try long.spmv?.validate()
        try long.transpose?.validate()
        #expect((op == .spmv) == (long.spmv != nil) && [1, 2].contains(long.spmv?.threads ?? long.transpose!.threads))
        let journalURL = store.directory(for: machine).appendingPathComponent("search-\(op == .spmv ? "spmv-f64" : "transpose").jsonl")
        let count = try Journal<SparseEvaluation>(url: journalURL, fresh: false).all.count
        #expect(count == long.candidates)

        var again = options
        again.fresh = false
        _ = try search(again).run()
        #expect(try Journal<SparseEvaluation>(url: journalURL, fresh: false).all.count == count)

        // generate builds the tuned sparse spec by default.
        let cfg = try ConfigResolver(machine: machine, results: store).resolve(isa: machine.bestISA)
        if op == .spmv { #expect(cfg.library.spmv.contains { $0.matrixClass == .long && $0.spec == long.spmv }) }
        else { #expect(cfg.library.transpose.contains { $0.matrixClass == .long && $0.spec == long.transpose }) }
    }

    @Test("a malformed generator spec names what is wrong")
    func badMatrixSpec() {
        #expect(throws: MatrixSource.ParseError.self) { try MatrixSource(parsing: "uniform:10x10") }
        #expect(throws: MatrixSource.ParseError.self) { try MatrixSource(parsing: "nonsense:5") }
        #expect(throws: MatrixSource.ParseError.self) { try MatrixSource(parsing: "rmat:-3") }
        #expect((try? MatrixSource(parsing: "stencil3d:4"))?.description == "stencil3d:4")
    }
}
