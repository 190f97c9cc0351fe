import Foundation
import KernelSpec
import MicroKernels

/// One configuration of a peer: the environment that selects it when the peer is loaded.
/// A value of "" unsets the variable (the library's own detection).
public struct PeerCandidate: Codable, Hashable, Sendable {
    public var peer: String
    /// The configuration's name as the library spells it ("SkylakeX", "zen3"), or "auto".
    public var label: String
    public var environment: [String: String]

    public init(peer: String, label: String, environment: [String: String]) {
        self.peer = peer; self.label = label; self.environment = environment
    }
}

/// How one candidate configuration did: what the library reported running, its GFLOPS on
/// the calibration shapes, and their geometric mean; or why it was refused.
public struct PeerTrial: Codable, Sendable {
    public var candidate: PeerCandidate
    public var reported: String?
    public var gflops: [String: Double]
    public var score: Double?
    public var failure: String?
}

/// The peers' configurations chosen for one ISA: each peer's fastest correct candidate.
public struct PeerChoice: Codable, Sendable {
    public var isa: ISA
    public var date: String
    public var chosen: [PeerTrial]
    public var trials: [PeerTrial]
    /// Peers installed whose every configuration failed: not timed.
    public var refused: [String]

    /// The environment that loads every chosen configuration ("" unsets a variable).
    public var environment: [String: String] {
        var env = chosen.reduce(into: [String: String]()) { $0.merge($1.candidate.environment) { a, _ in a } }
        env[PeerCalibration.skipVariable] = refused.joined(separator: ",")
        env[PeerCalibration.appliedVariable] = isa.rawValue
        return env
    }
}

/// `Results/<fingerprint>/peers.json`: the chosen peer configurations per ISA.
public struct PeersFile: Codable, Sendable, VersionedResults {
    public static let currentFormat = 1
    public var format = currentFormat
    public var fingerprint: String
    public var choices: [String: PeerChoice]
}

/// Chooses each peer's strongest correct configuration for the machine: every candidate
/// (OpenBLAS core types, BLIS sub-configurations, MKL instruction sets) runs in its own
/// worker process, is checked against a reference and timed on a few shapes, and the
/// fastest correct one wins. A candidate that crashes, computes wrong, or runs another
/// configuration than asked is refused. `--isa avx2` pins the peers to their AVX2 kernels.
public enum PeerCalibration {
    /// Set in a process whose peers were loaded with a calibrated environment (its ISA).
    public static let appliedVariable = "BLASTUNE_PEER_ISA"
    /// Peers not to load (comma-separated names).
    public static let skipVariable = "BLASTUNE_SKIP_PEERS"

    /// The shapes a candidate is timed on, per dtype: a large square and a skinny product.
    public static let shapes = [GemmShape(m: 1024, n: 1024, k: 1024), GemmShape(m: 64, n: 1024, k: 1024)]

    /// Candidates within this fraction of a peer's fastest measure alike: the first of them
    /// in ``candidates(isa:machine:)`` order (the ISA's own kernels first) is chosen.
    public static let tolerance = 0.03

    /// The candidate configurations of every peer for kernels of `isa`, in order of preference.
    public static func candidates(isa: ISA, machine: MachineProfile) -> [PeerCandidate] {
        var out: [PeerCandidate] = []
        let openblas: [String]
        let blis: [String]
        let mkl: [String]
        switch isa {
        case .avx512:
            openblas = ["SkylakeX", "Cooperlake", "auto", "Haswell", "Zen"]
            blis = ["zen4", "skx", "auto", "zen3", "haswell"]
            mkl = ["auto"]
        case .avx2:
            openblas = ["Haswell", "Zen"]
            blis = ["zen3", "zen2", "haswell"]
            mkl = ["AVX2"]
        case .generic:
            (openblas, blis, mkl) = (["auto"], ["auto"], ["auto"])
        }
        let installed = Set(GemmPeer.kinds.filter { SparsePeers.locate($0.paths) != nil }.map(\.name))
        if installed.contains("OpenBLAS") {
            out += openblas.map { PeerCandidate(peer: "OpenBLAS", label: $0, environment: ["OPENBLAS_CORETYPE": $0 == "auto" ? "" : $0]) }
        }
        if installed.contains("BLIS") {
            let ids = blisArchIDs()
            out += blis.compactMap { name in
                if name == "auto" { return PeerCandidate(peer: "BLIS", label: name, environment: ["BLIS_ARCH_TYPE": ""]) }
                return ids[name].map { PeerCandidate(peer: "BLIS", label: name, environment: ["BLIS_ARCH_TYPE": "\($0)"]) }
            }
        }
        if installed.contains("MKL") {
            out += mkl.map { PeerCandidate(peer: "MKL", label: $0, environment: ["MKL_ENABLE_INSTRUCTIONS": $0 == "auto" ? "" : $0]) }
        }
        return out
    }

    /// BLIS's sub-configuration ids by name (`BLIS_ARCH_TYPE` takes the id): the names
    /// `bli_arch_string` gives, up to "generic", the last entry of its table.
    static func blisArchIDs() -> [String: Int] {
        guard let kind = GemmPeer.kinds.first(where: { $0.name == "BLIS" }), let path = SparsePeers.locate(kind.paths),
              let h = dlopen(path, RTLD_LAZY | RTLD_LOCAL | RTLD_DEEPBIND), let s = dlsym(h, "bli_arch_string") else { return [:] }
        let name = unsafeBitCast(s, to: (@convention(c) (Int32) -> UnsafePointer<CChar>?).self)
        var ids: [String: Int] = [:]
        for id in 0..<64 {
            guard let p = name(Int32(id)) else { break }
            let n = String(cString: p)
            ids[n] = id
            if n == "generic" { break }
        }
        return ids
    }

    /// Rounds of timing: each round times every candidate once, in turn, so that a
    /// machine whose speed drifts weighs on all of them alike; a candidate's figure per
    /// shape is its median over the rounds.
    public static let rounds = 5

    /// Runs every candidate for `isa` (or those given), each in its own worker started by
    /// `worker` (a command), with `log` told of each; returns the choice.
    public static func calibrate(isa: ISA, machine: MachineProfile, worker: [String], candidates given: [PeerCandidate]? = nil,
                                 shapes: [GemmShape] = shapes, rounds: Int = rounds, log: (String) -> Void) -> PeerChoice {
        let cands = given ?? candidates(isa: isa, machine: machine)
        let clients = cands.map { WorkerClient(command: worker, environment: $0.environment) }
        defer { clients.forEach { $0.stop() } }
        var trials = cands.map { PeerTrial(candidate: $0, reported: nil, gflops: [:], score: nil, failure: nil) }
        // Checked first: a candidate that crashes, computes wrong or runs another configuration is out.
        for (i, c) in cands.enumerated() {
            for dtype in DType.allCases where trials[i].failure == nil {
                let (r, failure) = send(clients[i], WorkerRequest(kind: .peer, library: "", dtype: dtype, timer: timer, peer: c.peer))
                trials[i].reported = r?.peerConfiguration ?? trials[i].reported
                trials[i].failure = failure
            }
            // A library that does not know a configuration may fall back to another: refuse it.
            if trials[i].failure == nil, c.label != "auto", let reported = trials[i].reported, !reported.lowercased().contains(c.label.lowercased()) {
                trials[i].failure = "asked for \(c.label), ran \(reported)"
            }
        }
        var samples: [[String: [Double]]] = Array(repeating: [:], count: cands.count)
        for _ in 0..<rounds {
            for i in cands.indices where trials[i].failure == nil {
                for dtype in DType.allCases where trials[i].failure == nil {
                    let req = WorkerRequest(kind: .peer, library: "", dtype: dtype, shapes: shapes, threads: 1, timer: timer, peer: cands[i].peer)
                    let (r, failure) = send(clients[i], req)
                    trials[i].failure = failure
                    for (s, g) in zip(shapes, r?.peerGflops ?? []) { samples[i]["\(dtype.rawValue) \(s)", default: []].append(g) }
                }
            }
        }
        for i in cands.indices {
            if trials[i].failure == nil {
                trials[i].gflops = samples[i].mapValues { $0.sorted()[$0.count / 2] }
                let g = Array(trials[i].gflops.values)
                trials[i].score = g.isEmpty ? nil : exp(g.map { Foundation.log($0) }.reduce(0, +) / Double(g.count))
            }
            let summary = trials[i].score.map { String(format: "%.1f GFLOPS (geometric mean of medians)", $0) } ?? "refused: \(trials[i].failure ?? "no figure")"
            log("peer \(cands[i].peer) \(cands[i].label): \(trials[i].reported ?? "-"): \(summary)")
        }
        var chosen: [PeerTrial] = []
        var refused: [String] = []
        for peer in GemmPeer.names {
            let mine = trials.filter { $0.candidate.peer == peer }
            guard !mine.isEmpty else { continue }
            let fastest = mine.compactMap(\.score).max() ?? 0
            if let pick = mine.first(where: { ($0.score ?? 0) >= (1 - tolerance) * fastest && $0.score != nil }) { chosen.append(pick) } else { refused.append(peer) }
        }
        return PeerChoice(isa: isa, date: ISO8601DateFormatter().string(from: Date()), chosen: chosen, trials: trials, refused: refused)
    }

    static let timer = TimerSettings(sampleSeconds: 0.02, samples: 3, maxSamples: 3)

    /// One request to a candidate's worker: the answer, or why the candidate failed.
    static func send(_ client: WorkerClient, _ req: WorkerRequest) -> (WorkerResponse?, String?) {
        switch client.send(req, timeout: 120) {
        case .answered(let r): return (r, r.error ?? r.wrong)
        case .crashed(let why): return (nil, "crashed: \(why.prefix(300))")
        case .timedOut(let s): return (nil, "no answer in \(Int(s)) s")
        }
    }

    /// The choice for `isa` stored for this machine, calibrating and storing it when there is
    /// none (or `again`).
    public static func choice(isa: ISA, machine: MachineProfile, store: ResultsStore, worker: [String], again: Bool = false,
                              shapes: [GemmShape] = shapes, rounds: Int = rounds, log: (String) -> Void) throws -> PeerChoice {
        let url = store.directory(for: machine).appendingPathComponent("peers.json")
        var file = try store.load(PeersFile.self, at: url, format: PeersFile.currentFormat) { f in
            f.fingerprint == machine.fingerprint ? nil : "peer configurations of machine \(f.fingerprint), not of this machine \(machine.fingerprint)"
        } ?? PeersFile(fingerprint: machine.fingerprint, choices: [:])
        if !again, let c = file.choices[isa.rawValue] { return c }
        log("choosing each peer's strongest correct configuration for \(isa.rawValue) kernels (one worker per candidate)")
        let c = calibrate(isa: isa, machine: machine, worker: worker, shapes: shapes, rounds: rounds, log: log)
        file.choices[isa.rawValue] = c
        try store.writeJSON(file, to: url)
        return c
    }

    /// Whether this process's peers were loaded with `env` (else it must start again with it).
    public static func isApplied(_ env: [String: String]) -> Bool {
        let mine = ProcessInfo.processInfo.environment
        return env.allSatisfy { key, value in (mine[key] ?? "") == value }
    }

    /// Replaces this process by the same command with `env` applied ("" unsets), so that
    /// OpenBLAS, which reads its core type when it is loaded, starts with the chosen one.
    public static func reexec(with env: [String: String]) -> Never {
        for (k, v) in env { if v.isEmpty { unsetenv(k) } else { setenv(k, v, 1) } }
        let args = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        fatalError("cannot restart \(args[0]) with the peers' configuration: \(String(cString: strerror(errno)))")
    }
}
