import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

@Suite("Results store and configuration resolution")
struct ResultsTests {
    let machine = MachineProfile.current()

    func tempRoot() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func file(_ spec: GemmSpec, fingerprint: String? = nil) -> GemmResultsFile {
        var f = GemmResultsFile(format: GemmResultsFile.currentFormat, blastuneVersion: blastuneVersion, fingerprint: machine.fingerprint,
                                machine: machine, dtype: spec.dtype,
                                classes: [GemmClassResult(shapeClass: .any, spec: spec, shapes: [GemmShape(m: 8, n: 8, k: 8)],
                                                          best: ThreadResult(threads: 1, oursGflops: 1, peerGflops: 1, ratio: 1, fractionOfPeak: 0.5, spread: 0.01),
                                                          byThreads: [], candidates: 1, failures: 0, seconds: 1,
                                                          date: "2026-11-21", compiler: "gcc", openblasVersion: "0.3.21")])
        if let fingerprint { f.fingerprint = fingerprint }
        return f
    }

    @Test("without results the model is used; with them, the tuned spec; a spec file wins over both")
    func order() throws {
        let store = ResultsStore(root: try tempRoot())
        let resolver = ConfigResolver(machine: machine, results: store)
        let model = try resolver.resolve(isa: .avx2)
        #expect(model.origin == "analytical")
        #expect(model.library.gemm.map(\.spec) == DType.allCases.map { AnalyticalModel.gemmSpec(dtype: $0, isa: .avx2, machine: machine) })

        let tuned = GemmSpec(dtype: .f32, isa: .avx2, mr: 8, nr: 4, kc: 64, mc: 64, nc: 64)
        try store.save(file(tuned))
        let withTuned = try resolver.resolve(isa: .avx2)
        #expect(withTuned.library.gemm.first { $0.spec.dtype == .f32 }?.spec == tuned)
        #expect(withTuned.origin == "analytical+tuned")

        let specURL = store.root.appendingPathComponent("spec.json")
        let fromFile = GemmSpec(dtype: .f32, isa: .avx2, mr: 16, nr: 2, kc: 32, mc: 32, nc: 32)
        try JSONEncoder().encode(fromFile).write(to: specURL)
        let withFile = try resolver.resolve(isa: nil, specFile: specURL)
        #expect(withFile.library.isa == .avx2)
        #expect(withFile.library.gemm.first { $0.spec.dtype == .f32 }?.spec == fromFile)
    }

    @Test("a results file of another machine, a malformed one, or an impossible spec file is a clear error")
    func badFiles() throws {
        let store = ResultsStore(root: try tempRoot())
        let url = store.gemmURL(.f32, machine: machine)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONEncoder().encode(file(GemmSpec(dtype: .f32, isa: .avx2, mr: 8, nr: 4, kc: 64, mc: 64, nc: 64), fingerprint: "other-machine"))
            .write(to: url)
        #expect { try store.loadGemm(.f32, machine: machine) } throws: { "\($0)".contains("other-machine") }
        try Data("{ not json".utf8).write(to: url)
        #expect { try store.loadGemm(.f32, machine: machine) } throws: { "\($0)".contains("not a readable results file") }

        let specURL = store.root.appendingPathComponent("bad-spec.json")
        try Data(#"{"dtype":"f32","isa":"avx512","mr":32,"nr":20,"kUnroll":4,"kc":256,"mc":512,"nc":4000,"prefetchA":0,"prefetchB":0,"threads":0}"#.utf8).write(to: specURL)
        let resolver = ConfigResolver(machine: machine, results: ResultsStore(root: try tempRoot()))
        #expect { try resolver.resolve(isa: nil, specFile: specURL) } throws: { "\($0)".contains("gemm[0].nr") }
    }

    @Test("saving is atomic: no temporary file is left and the old content stays until the rename")
    func atomic() throws {
        let store = ResultsStore(root: try tempRoot())
        let f = file(GemmSpec(dtype: .f64, isa: .avx2, mr: 8, nr: 4, kc: 64, mc: 64, nc: 64))
        try store.save(f)
        try store.save(f)
        let dir = store.directory(for: machine)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["gemm-f64.json"])
        #expect(try store.loadGemm(.f64, machine: machine) == f)
    }
}
