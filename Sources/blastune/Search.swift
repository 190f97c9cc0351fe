import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Tuner

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tune GEMM (per shape class, against OpenBLAS) or sparse kernels (per matrix class) for this machine; results go to Results/<fingerprint>/.",
        discussion: "GEMM classes: \(ShapeSuites.tunedClasses.map(\.rawValue).joined(separator: ", ")). Sparse classes: \(SparseClass.dispatchOrder.map(\.rawValue).joined(separator: ", ")). An interrupted search resumes from its journal; --fresh starts over.")

    @Option(help: "Operation: gemm, spmv or transpose.")
    var op: Op

    @OptionGroup var matrices: MatrixOptions

    @OptionGroup var dtypes: DTypeOption

    @Option(help: "Thread counts to measure, comma-separated (default: 1 and the core count).")
    var threads: String?

    @Option(help: "Wall-clock budget of the whole search, in seconds (default 420 for gemm, 300 for spmv and transpose).")
    var budget: Double?

    @Option(help: "Shape classes to tune, comma-separated.")
    var classes: String = ShapeSuites.tunedClasses.map(\.rawValue).joined(separator: ",")

    @Flag(help: "Resume from earlier results and the search journal (the default).")
    var resume = false

    @Flag(help: "Ignore earlier results and the journal.")
    var fresh = false

    @Option(help: "Instruction set: auto, avx512, avx2 or generic.")
    var isa: ISAChoice = .auto

    @Option(help: "The Results folder.")
    var results: String = "Results"

    @Option(help: "Exact GEMM shapes to tune each on its own, comma-separated MxNxK[:col|row:n|t:n|t] (instead of the classes).")
    var shapes: String?

    @Option(help: "A file of exact shapes to tune, one MxNxK[:col|row:n|t:n|t] a line ('#' starts a comment).")
    var shapesFile: String?

    @Option(help: "Seconds of search per exact shape and dtype.")
    var shapeSeconds: Double = 10

    func validate() throws {
        guard !(resume && fresh) else { throw ValidationError("--resume and --fresh exclude each other") }
        if let budget { guard budget > 0 && budget.isFinite else { throw ValidationError("--budget must be a positive number of seconds") } }
        try matrices.check(op: op)
        if op.smallGemm || op.factorization != nil || op == .spmm {
            throw ValidationError("--op \(op.rawValue) is for bench only; search tunes gemm, spmv (SpMM's register block with it) and transpose")
        }
        _ = try parseClasses()
        if shapes != nil || shapesFile != nil {
            guard op == .gemm else { throw ValidationError("--shapes and --shapes-file are for --op gemm") }
            guard shapeSeconds > 0 && shapeSeconds.isFinite else { throw ValidationError("--shape-seconds must be a positive number of seconds") }
            guard !(try parseShapes()).isEmpty else { throw ValidationError("no shapes given") }
        }
        if let threads { _ = try parseIntList(threads, name: "threads").map { t in
            guard t >= 1 && t <= 1024 else { throw ValidationError("--threads: \(t) is not 1 to 1024") }
        } }
    }

    func parseClasses() throws -> [ShapeClass] {
        try classes.split(separator: ",").map {
            guard let c = ShapeClass(rawValue: String($0)), c != .any else {
                throw ValidationError("--classes: unknown class '\($0)' (one of \(ShapeSuites.tunedClasses.map(\.rawValue).joined(separator: ", ")))")
            }
            return c
        }
    }

    /// The exact shapes of --shapes and --shapes-file, in order, without repeats.
    func parseShapes() throws -> [GemmShapeKey] {
        var keys: [GemmShapeKey] = []
        for t in (shapes ?? "").split(separator: ",") {
            do { keys.append(try GemmShapeKey(parsing: String(t))) } catch { throw ValidationError("--shapes: \(error)") }
        }
        if let path = shapesFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("--shapes-file: cannot read \(path)") }
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let body = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
                if body.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                do { keys.append(try GemmShapeKey(parsing: body)) } catch { throw ValidationError("--shapes-file \(path) line \(n + 1): \(error)") }
            }
        }
        var seen = Set<GemmShapeKey>()
        return keys.filter { seen.insert($0).inserted }
    }

    func run() throws {
        let machine = MachineProfile.current()
        let isa = self.isa.isa ?? machine.bestISA
        guard machine.supports(isa) else { throw ValidationError("this CPU cannot run \(isa.rawValue) kernels, so they cannot be tuned here") }
        let threadCounts = try threads.map { try parseIntList($0, name: "threads") } ?? Array(Set([1, machine.cores])).sorted()
        if let sparse = op.sparse { return try runSparse(sparse, machine: machine, isa: isa, threads: threadCounts) }
        let budget = self.budget ?? 420
        let options = SearchOptions(dtypes: dtypes.selected, threads: threadCounts,
                                    budgetSeconds: budget, classes: try parseClasses(), fresh: fresh, isa: isa)
        let store = ResultsStore(root: URL(fileURLWithPath: results))
        // The candidates' worker loads every peer at its strongest correct configuration for this ISA.
        let worker = [selfExecutable(), "worker"]
        let peers = try PeerCalibration.choice(isa: isa, machine: machine, store: store, worker: worker) { say($0) }
        say("peers for \(isa.rawValue) kernels: " + peers.chosen.map { "\($0.candidate.peer) (\($0.reported ?? $0.candidate.label))" }.joined(separator: ", ")
            + (peers.refused.isEmpty ? "" : "; refused: \(peers.refused.joined(separator: ", "))"))
        if shapes != nil || shapesFile != nil {
            return try runShapes(try parseShapes(), machine: machine, isa: isa, store: store, worker: WorkerClient(command: worker, environment: peers.environment))
        }
        let search = GemmSearch(machine: machine, store: store, options: options, worker: WorkerClient(command: worker, environment: peers.environment))
        search.peerConfigurations = Dictionary(uniqueKeysWithValues: peers.chosen.map { ($0.candidate.peer, $0.reported ?? $0.candidate.label) })
        let bar = ProgressBar()
        search.onProgress = { bar.update($0) }
        search.log = { bar.log($0) }
        say("searching \(options.dtypes.map(\.rawValue).joined(separator: ", ")) on \(machine.fingerprint) (\(isa.rawValue)), threads \(threadCounts.map(String.init).joined(separator: ",")), budget \(Int(budget)) s")
        let files = try search.run()
        bar.finish()
        var rows: [[String]] = []
        for f in files {
            for c in f.classes {
                for t in c.byThreads {
                    rows.append([f.dtype.rawValue, c.shapeClass.rawValue, "\(t.threads)\(t.threads == c.spec.threads ? "*" : "")",
                                 fmt(t.oursGflops), fmt(t.peerGflops), t.bestPeers ?? "", fmt(t.ratio, 2), fmt(100 * t.fractionOfPeak), (t.threads > 1 ? c.threadedSpec : nil)?.summary ?? c.spec.summary])
                }
            }
        }
        say(table(["dtype", "class", "thr", "ours GF/s", "peer GF/s", "best peer", "ratio", "% peak", "best spec"], rows))
        say("(* the class's default thread count; figures are geometric means over the class's tuning shapes, against the fastest peer on each shape)")
        for f in files { say("results: \(store.gemmURL(f.dtype, machine: machine).path)") }
    }
}

extension Search {
    /// Tunes a kernel for each exact shape and dtype and prints what each measured.
    func runShapes(_ list: [GemmShapeKey], machine: MachineProfile, isa: ISA, store: ResultsStore, worker: WorkerClient) throws {
        let search = ShapeSearch(machine: machine, store: store, isa: isa, worker: worker)
        search.log = { say($0) }
        say("tuning \(list.count) exact shape(s) for \(dtypes.selected.map(\.rawValue).joined(separator: ", ")) on \(machine.fingerprint) (\(isa.rawValue)), about \(Int(shapeSeconds)) s each")
        var rows: [[String]] = []
        for dtype in dtypes.selected {
            let file = try search.run(list, dtype: dtype, secondsPerShape: shapeSeconds)
            for r in file.shapes where list.contains(r.spec.shape) {
                rows.append([dtype.rawValue, "\(r.spec.shape)", fmt(r.oursGflops), r.peers.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt($0.value))" }.joined(separator: ", "),
                             fmt(r.ratio, 2), r.spec.summary])
            }
            say("results: \(store.shapesURL(dtype, machine: machine).path)")
        }
        say(table(["dtype", "shape", "ours GF/s", "peers GF/s", "vs best", "kernel"], rows))
        say("(one thread, kernels called directly, alpha 1 and beta 0; `blastune generate` builds them into libkernels.so)")
    }

    func runSparse(_ op: SparseOp, machine: MachineProfile, isa: ISA, threads: [Int]) throws {
        let sources = try matrices.sources()
        let options = SparseSearchOptions(op: op, dtypes: dtypes.selected, threads: threads, budgetSeconds: budget ?? 300,
                                          matrices: sources, fresh: fresh, isa: isa)
        let store = ResultsStore(root: URL(fileURLWithPath: results))
        let search = SparseSearch(machine: machine, store: store, options: options, worker: WorkerClient(command: [selfExecutable(), "worker"]))
        search.log = { say($0) }
        say("searching \(op.rawValue) on \(machine.fingerprint) (\(isa.rawValue)), threads \(threads.map(String.init).joined(separator: ",")), budget \(Int(options.budgetSeconds)) s")
        let files = try search.run()
        var rows: [[String]] = []
        for f in files {
            for c in f.classes {
                let spec = c.spmv?.summary ?? c.transpose?.summary ?? ""
                rows.append([f.dtype?.rawValue ?? "both", c.matrixClass.rawValue, c.matrices.joined(separator: " "), fmt(c.oursGBps),
                             fmt(100 * c.fractionOfBandwidth), fmt(c.speedupOverDefault, 2),
                             c.peerRatios.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt($0.value, 2))x" }.joined(separator: ", "), spec])
            }
        }
        say(table(["dtype", "class", "matrices", "GB/s", "% read bw", "vs default", "peer time / ours", "best spec"], rows))
        for f in files { say("results: \(store.sparseURL(op, dtype: f.dtype, machine: machine).path)") }
    }
}

/// `blastune worker`: the measurement worker the search starts (not for direct use).
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measurement worker used by search (reads JSON requests on stdin).", shouldDisplay: false)
    func run() throws { WorkerService().serve() }
}

/// The absolute path of this executable.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// A one-line progress display on stderr (a line per update when stderr is not a terminal).
final class ProgressBar: @unchecked Sendable {
    private let tty = isatty(STDERR_FILENO) != 0
    private var lastLine = 0.0
    private var width = 0

    func update(_ p: SearchProgress) {
        let best = p.best.map { String(format: "best %.2fx (%@)", $0.score, "\($0.spec.tileLabel) \($0.spec.packingLabel) kc\($0.spec.kc)") } ?? "no result yet"
        let filled = max(0, min(20, Int((20 * (1 - p.remaining / max(1, p.budget))).rounded())))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
        let line = "[\(bar)] \(p.dtype.rawValue) \(p.shapeClass.rawValue) \(p.phase): \(p.evaluated) tried, \(p.failed) failed | \(best) | \(Int(max(0, p.remaining))) s left"
        if tty {
            let pad = max(0, width - line.count)
            FileHandle.standardError.write(Data(("\r" + line + String(repeating: " ", count: pad)).utf8))
            width = line.count
        } else if monotonicSeconds() - lastLine > 10 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
            lastLine = monotonicSeconds()
        }
    }

    func log(_ message: String) {
        if tty && width > 0 { FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: width) + "\r").utf8)); width = 0 }
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    func finish() { if tty && width > 0 { FileHandle.standardError.write(Data("\n".utf8)) } }
}
