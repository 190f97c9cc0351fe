import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

@Suite("Peers at their strongest correct configuration", .serialized)
struct PeerTests {
    let machine = MachineProfile.current()
    let worker = [blastuneExecutable, "worker"]
    let small = [GemmShape(m: 96, n: 96, k: 96)]

    @Test("--isa avx2 pins every peer to its AVX2 kernels")
    func avx2Pinned() {
        let allowed = ["OpenBLAS": ["Haswell", "Zen"], "BLIS": ["zen3", "zen2", "haswell"], "MKL": ["AVX2"]]
        let cands = PeerCalibration.candidates(isa: .avx2, machine: machine)
        #expect(cands.contains { $0.peer == "OpenBLAS" }, "OpenBLAS is installed by scripts/setup.sh")
        for c in cands { #expect(allowed[c.peer]?.contains(c.label) == true, "\(c.peer) \(c.label) is not an AVX2 configuration") }
    }

    @Test("each installed peer gets a configuration that ran as asked and computed right; OpenBLAS is among them")
    func calibrates() throws {
        let isa = machine.bestISA
        let choice = PeerCalibration.calibrate(isa: isa, machine: machine, worker: worker, shapes: small, rounds: 2) { _ in }
        let openblas = try #require(choice.chosen.first { $0.candidate.peer == "OpenBLAS" }, "refused: \(choice.refused)")
        #expect(openblas.reported?.hasPrefix("OpenBLAS") == true)
        for t in choice.chosen {
            #expect(t.failure == nil && (t.score ?? 0) > 0)
            #expect(t.gflops.count == 2 * small.count, "a figure per dtype and shape: \(t.gflops)")
            if t.candidate.label != "auto" { #expect(t.reported?.lowercased().contains(t.candidate.label.lowercased()) == true, "\(t.reported ?? "")") }
            // The chosen one is within the tolerance of the peer's fastest correct candidate.
            let fastest = choice.trials.filter { $0.candidate.peer == t.candidate.peer }.compactMap(\.score).max() ?? 0
            #expect(t.score! >= (1 - PeerCalibration.tolerance) * fastest)
        }
        #expect(choice.environment[PeerCalibration.appliedVariable] == isa.rawValue)
    }

    @Test("MKL, where installed, runs on the threads it is given: its GNU OpenMP layer, not the sequential one")
    func mklThreads() throws {
        guard let mkl = GemmPeer.named("MKL") else { return }
        let h = try #require(dlopen("libmkl_rt.so.3", RTLD_NOW | RTLD_NOLOAD) ?? dlopen("libmkl_rt.so.2", RTLD_NOW | RTLD_NOLOAD))
        let maxThreads = unsafeBitCast(try #require(dlsym(h, "MKL_Get_Max_Threads")), to: (@convention(c) () -> Int32).self)
        let want = min(2, ProcessInfo.processInfo.activeProcessorCount)
        mkl.setThreads(want)
        defer { mkl.setThreads(1) }
        // The sequential layer (MKL_Set_Threading_Layer(1), which the bench set until 2026-12-06) answers 1.
        #expect(Int(maxThreads()) == want, "MKL reports \(maxThreads()) threads after being given \(want)")
    }

    @Test("a configuration the library does not have, or that crashes it, is refused with the reason")
    func refusesBadConfigurations() throws {
        var cands = [PeerCandidate(peer: "OpenBLAS", label: "NoSuchCore", environment: ["OPENBLAS_CORETYPE": "NoSuchCore"])]
        let blisInstalled = PeerCalibration.candidates(isa: .generic, machine: machine).contains { $0.peer == "BLIS" }
        if blisInstalled { cands.append(PeerCandidate(peer: "BLIS", label: "bogus", environment: ["BLIS_ARCH_TYPE": "999"])) }
        let choice = PeerCalibration.calibrate(isa: .generic, machine: machine, worker: worker, candidates: cands, shapes: small, rounds: 1) { _ in }
        #expect(choice.chosen.isEmpty)
        #expect(Set(choice.refused) == Set(cands.map(\.peer)))
        let ob = try #require(choice.trials.first { $0.candidate.peer == "OpenBLAS" })
        #expect(ob.failure?.contains("asked for NoSuchCore, ran") == true, "\(ob.failure ?? "")")
        if blisInstalled {
            let blis = try #require(choice.trials.first { $0.candidate.peer == "BLIS" })
            #expect(blis.failure != nil && blis.score == nil)
        }
        #expect(choice.environment[PeerCalibration.skipVariable]?.contains("OpenBLAS") == true)
    }

    @Test("the choice is stored in the results folder and read back without measuring again")
    func stored() throws {
        let store = ResultsStore(root: try tempDirectory("peers"))
        let url = store.directory(for: machine).appendingPathComponent("peers.json")
        var calls = 0
        let first = try PeerCalibration.choice(isa: .generic, machine: machine, store: store, worker: worker, shapes: small, rounds: 1) { _ in calls += 1 }
        #expect(FileManager.default.fileExists(atPath: url.path) && calls > 0)
        calls = 0
        let again = try PeerCalibration.choice(isa: .generic, machine: machine, store: store, worker: worker, shapes: small, rounds: 1) { _ in calls += 1 }
        #expect(calls == 0 && again.chosen.map(\.candidate) == first.chosen.map(\.candidate))
        // Another machine's file is refused with a clear error, not used.
        try Data(#"{"format":1,"fingerprint":"other-machine","choices":{}}"#.utf8).write(to: url)
        #expect(throws: ResultsError.self) { try PeerCalibration.choice(isa: .generic, machine: machine, store: store, worker: worker) { _ in } }
    }
}
