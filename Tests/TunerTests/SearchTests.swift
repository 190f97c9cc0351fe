import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

@Suite("GEMM search", .serialized)
struct SearchTests {
    let machine = MachineProfile.current()

    @Test("a short search writes a valid, checked result; a second run reuses it without measuring again")
    func shortSearchAndResume() throws {
        let root = try tempDirectory("search")
        let store = ResultsStore(root: root)
        let options = SearchOptions(dtypes: [.f64], threads: [1], budgetSeconds: 12, classes: [.small], fresh: true, isa: machine.bestISA)
        let search = GemmSearch(machine: machine, store: store, options: options, worker: WorkerClient(command: [blastuneExecutable, "worker"]))
        let files = try search.run()
        let file = try #require(try store.loadGemm(.f64, machine: machine))
        #expect(files.first == file)
        let small = try #require(file.classes.first { $0.shapeClass == .small })
        try small.spec.validate()
        #expect(small.spec.threads == 1)
        #expect(small.candidates >= 5)
        #expect(small.ratio > 0 && small.oursGflops > 0 && small.peerGflops > 0)
        #expect(small.fractionOfPeak > 0 && small.fractionOfPeak < 1.2)
        #expect(small.byThreads.map(\.threads) == [1])
        let journalURL = store.directory(for: machine).appendingPathComponent("search-gemm-f64.jsonl")
        let journal = try SearchJournal(url: journalURL, fresh: false)
        #expect(journal.all.count == small.candidates)
        #expect(journal.all.allSatisfy { $0.status == .ok || $0.message != nil })

        // Resuming: the class is done, nothing is measured again.
        var again = options
        again.fresh = false
        _ = try GemmSearch(machine: machine, store: store, options: again, worker: WorkerClient(command: [blastuneExecutable, "worker"])).run()
        #expect(try SearchJournal(url: journalURL, fresh: false).all.count == journal.all.count)
        #expect(try store.loadGemm(.f64, machine: machine) == file)

        // The tuned configuration is what generate builds by default.
        let cfg = try ConfigResolver(machine: machine, results: store).resolve(isa: machine.bestISA)
        #expect(cfg.library.gemm.contains { $0.shapeClass == .small && $0.spec == small.spec })
        #expect(cfg.origin.contains("tuned"))
    }

    @Test("an exact-shape search writes a checked kernel per shape, merges with earlier shapes, and generate serves the shape through it")
    func exactShapes() throws {
        let root = try tempDirectory("shapes")
        let store = ResultsStore(root: root)
        let search = ShapeSearch(machine: machine, store: store, isa: machine.bestISA, worker: WorkerClient(command: [blastuneExecutable, "worker"]))
        let first = try GemmShapeKey(parsing: "8x8x8"), second = try GemmShapeKey(parsing: "12x5x7:row:t:n")
        _ = try search.run([first], dtype: .f32, secondsPerShape: 2)
        let file = try search.run([second], dtype: .f32, secondsPerShape: 2)
        #expect(try store.loadShapes(.f32, machine: machine) == file)
        #expect(file.shapes.map(\.spec.shape).sorted() == [first, second].sorted(), "the second run keeps the first shape")
        for r in file.shapes {
            try r.spec.validate()
            #expect(r.spec.isa == machine.bestISA && r.spec.dtype == .f32)
            #expect(r.oursGflops > 0 && r.candidates >= 2 && r.peers["OpenBLAS"] != nil)
        }
        // A row-major call with A transposed runs as the column-major call with B transposed.
        #expect(file.shapes.first { $0.spec.shape == second }?.spec.shape.columnMajor.transB == true)
        let cfg = try ConfigResolver(machine: machine, results: store).resolve(isa: machine.bestISA)
        #expect(cfg.library.shapes.map(\.shape).sorted() == [first, second].sorted())
        let source = try LibraryGenerator.sources(for: cfg).source
        #expect(source.contains("bt_s_shape_find") && source.contains("bt_s_shape1_plan"))
    }

    @Test("candidates that crash, hang or compute NaN (injected in the worker) are journaled as such and skipped; the search finishes with a checked result")
    func injectedFaults() throws {
        let root = try tempDirectory("faults")
        let store = ResultsStore(root: root)
        var options = SearchOptions(dtypes: [.f64], threads: [1], budgetSeconds: 25, classes: [.small], fresh: true, isa: machine.bestISA)
        options.candidateTimeout = 3
        let worker = WorkerClient(command: [blastuneExecutable, "worker"],
                                  environment: ["BLASTUNE_INJECT_FAULTS": "5", "BLASTUNE_INJECT_COUNTER": root.appendingPathComponent("fault-counter").path])
        _ = try GemmSearch(machine: machine, store: store, options: options, worker: worker).run()
        let journal = try SearchJournal(url: store.directory(for: machine).appendingPathComponent("search-gemm-f64.jsonl"), fresh: false)
        let statuses = Set(journal.all.map(\.status))
        #expect(statuses.contains(.crashed) && statuses.contains(.hung) && statuses.contains(.wrong), "\(journal.all.map(\.status))")
        #expect(journal.all.filter { $0.status != .ok }.allSatisfy { $0.message != nil })
        let small = try #require(try store.loadGemm(.f64, machine: machine)?.classes.first { $0.shapeClass == .small })
        // The winner is a candidate that was measured sound.
        #expect(journal.all.contains { e in
            var spec = e.spec
            spec.threads = small.spec.threads   // the result carries the class's thread count
            return spec == small.spec && e.status == .ok
        })
        #expect(small.ratio > 0)
    }

    @Test("a search killed with SIGKILL leaves only whole files and resumes without measuring anything twice")
    func killedSearchResumes() throws {
        let root = try tempDirectory("killed")
        // The peers' configurations chosen beforehand (on small problems), so that the kill
        // lands in the search itself.
        _ = try PeerCalibration.choice(isa: machine.bestISA, machine: machine, store: ResultsStore(root: root),
                                       worker: [blastuneExecutable, "worker"], shapes: [GemmShape(m: 64, n: 64, k: 64)], rounds: 1) { _ in }
        let args = ["search", "--op", "gemm", "--dtype", "f64", "--classes", "small,skinnyN", "--threads", "1",
                    "--results", root.path]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: blastuneExecutable)
        p.arguments = args + ["--budget", "40", "--fresh"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let journalURL = root.appendingPathComponent(machine.fingerprint).appendingPathComponent("search-gemm-f64.jsonl")
        let resultsURL = root.appendingPathComponent(machine.fingerprint).appendingPathComponent("gemm-f64.json")
        // Kill it once it has finished the first class and is inside the second.
        let start = Date()
        while Date().timeIntervalSince(start) < 300 { // a loaded 2-core machine builds each candidate slowly
            if FileManager.default.fileExists(atPath: resultsURL.path),
               let text = try? String(contentsOf: journalURL, encoding: .utf8), text.contains("skinnyN") { break }
            usleep(100_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = try SearchJournal(url: journalURL, fresh: false).all.count
        #expect(before > 0)
        // Whatever was written is whole: the results decode and the small class survived.
        let partial = try #require(try ResultsStore(root: root).loadGemm(.f64, machine: machine))
        #expect(partial.classes.map(\.shapeClass) == [.small])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(machine.fingerprint).path)
            .filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")

        let resumed = Process()
        resumed.executableURL = URL(fileURLWithPath: blastuneExecutable)
        resumed.arguments = args + ["--budget", "25"]
        resumed.standardOutput = FileHandle.nullDevice
        resumed.standardError = FileHandle.nullDevice
        try resumed.run()
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)
        let done = try #require(try ResultsStore(root: root).loadGemm(.f64, machine: machine))
        #expect(Set(done.classes.map(\.shapeClass)) == [.small, .skinnyN])
        #expect(done.classes.first { $0.shapeClass == .small } == partial.classes[0])
        // No measurement was repeated: every successful (spec, threads, shapes, timer) appears once.
        let all = try SearchJournal(url: journalURL, fresh: false).all.filter { $0.status == .ok }
        let keys = all.map { "\($0.spec)|\($0.threads)|\($0.shapes)|\($0.timer)" }
        #expect(Set(keys).count == keys.count)
        #expect(all.count > before - 1)
    }
}
