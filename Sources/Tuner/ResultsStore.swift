import Foundation
import KernelSpec
import MicroKernels

/// How a class's tuned kernel measured against the fastest peer on each of the class's
/// tuning shapes at one thread count (geometric means over them).
public struct ThreadResult: Codable, Hashable, Sendable {
    public var threads: Int
    public var oursGflops: Double
    public var peerGflops: Double
    /// The best peer's time over ours (> 1: ours is faster).
    public var ratio: Double
    /// Which peers were fastest on the shapes ("OpenBLAS", "BLIS+OpenBLAS"); nil in results
    /// written before peers other than OpenBLAS were timed.
    public var bestPeers: String?
    /// Our GFLOPS over the measured FMA peak at this thread count.
    public var fractionOfPeak: Double
    /// Largest relative spread (IQR / median) of the samples behind these figures.
    public var spread: Double

    public init(threads: Int, oursGflops: Double, peerGflops: Double, ratio: Double, fractionOfPeak: Double, spread: Double) {
        self.threads = threads; self.oursGflops = oursGflops; self.peerGflops = peerGflops
        self.ratio = ratio; self.fractionOfPeak = fractionOfPeak; self.spread = spread
    }
}

/// The tuned configuration of one shape class, with how it measured against its peers.
public struct GemmClassResult: Codable, Hashable, Sendable {
    public var shapeClass: ShapeClass
    /// The chosen kernel; its `threads` is the count the library uses for this class by default.
    public var spec: GemmSpec
    /// The kernel for calls that run on more than one thread, when its blocking (tuned at
    /// the most threads searched) differs from `spec`'s; nil otherwise and in older results.
    public var threadedSpec: GemmSpec?
    /// The shapes it was tuned on.
    public var shapes: [GemmShape]
    /// Figures at the default thread count (`spec.threads`).
    public var oursGflops: Double
    public var peerGflops: Double
    public var ratio: Double
    public var fractionOfPeak: Double
    public var spread: Double
    /// Figures at every thread count searched.
    public var byThreads: [ThreadResult]
    /// Candidates evaluated, and how many of them failed (wrong, crashed, hung, did not build).
    public var candidates: Int
    public var failures: Int
    public var seconds: Double
    public var date: String
    public var compiler: String
    public var openblasVersion: String
    /// What each peer ran during the search, by name (nil in older results).
    public var peerConfigurations: [String: String]?

    public init(shapeClass: ShapeClass, spec: GemmSpec, threadedSpec: GemmSpec? = nil, shapes: [GemmShape], best: ThreadResult, byThreads: [ThreadResult],
                candidates: Int, failures: Int, seconds: Double, date: String, compiler: String, openblasVersion: String,
                peerConfigurations: [String: String]? = nil) {
        self.peerConfigurations = peerConfigurations
        self.shapeClass = shapeClass; self.spec = spec; self.threadedSpec = threadedSpec; self.shapes = shapes
        oursGflops = best.oursGflops; peerGflops = best.peerGflops; ratio = best.ratio
        fractionOfPeak = best.fractionOfPeak; spread = best.spread
        self.byThreads = byThreads; self.candidates = candidates; self.failures = failures; self.seconds = seconds
        self.date = date; self.compiler = compiler; self.openblasVersion = openblasVersion
    }
}

/// `Results/<fingerprint>/gemm-<dtype>.json`: the tuned GEMM kernels of one machine.
public struct GemmResultsFile: Codable, Hashable, Sendable {
    public static let currentFormat = 1
    public var format: Int
    public var blastuneVersion: String
    public var fingerprint: String
    public var machine: MachineProfile
    public var dtype: DType
    public var classes: [GemmClassResult]

    public init(format: Int = currentFormat, blastuneVersion: String, fingerprint: String, machine: MachineProfile,
                dtype: DType, classes: [GemmClassResult]) {
        self.format = format; self.blastuneVersion = blastuneVersion; self.fingerprint = fingerprint
        self.machine = machine; self.dtype = dtype; self.classes = classes
    }
}

/// A results file with a format number.
protocol VersionedResults { var format: Int { get } }
/// A results file of one machine and one dtype.
protocol MachineResults: VersionedResults {
    var fingerprint: String { get }
    var dtype: DType { get }
}
extension GemmResultsFile: MachineResults {}

/// A Results file that cannot be used here.
public struct ResultsError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Reads and writes the per-machine results under a `Results/` folder; every write is atomic.
public struct ResultsStore: Sendable {
    public var root: URL

    public init(root: URL) { self.root = root }

    public func directory(for machine: MachineProfile) -> URL {
        root.appendingPathComponent(machine.fingerprint)
    }

    public func gemmURL(_ dtype: DType, machine: MachineProfile) -> URL {
        directory(for: machine).appendingPathComponent("gemm-\(dtype.rawValue).json")
    }

    /// The tuned GEMM results of `dtype` for `machine`, or nil when it was never tuned.
    /// A file that is malformed, of another format or from another machine is an error.
    public func loadGemm(_ dtype: DType, machine: MachineProfile) throws -> GemmResultsFile? {
        try loadMachineFile(GemmResultsFile.self, at: gemmURL(dtype, machine: machine), format: GemmResultsFile.currentFormat,
                            dtype: dtype, machine: machine)
    }

    /// A results file of one machine and dtype: refused when it holds another's.
    func loadMachineFile<F: Decodable & MachineResults>(_: F.Type, at url: URL, format: Int, dtype: DType, machine: MachineProfile) throws -> F? {
        try load(F.self, at: url, format: format) { file in
            file.fingerprint == machine.fingerprint && file.dtype == dtype ? nil
                : "results of machine \(file.fingerprint) (\(file.dtype.rawValue)), not of this machine \(machine.fingerprint) (\(dtype.rawValue))"
        }
    }

    /// Reads a results file: nil when absent; an error when malformed, of another format,
    /// or refused by `mismatch` (which names why).
    func load<F: Decodable & VersionedResults>(_: F.Type, at url: URL, format: Int, mismatch: (F) -> String?) throws -> F? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let file: F
        do { file = try JSONDecoder().decode(F.self, from: data) } catch {
            throw ResultsError(path: url.path, reason: "not a readable results file (\(describeDecodingError(error)))")
        }
        guard file.format == format else {
            throw ResultsError(path: url.path, reason: "results format \(file.format), this blastune reads \(format); run the search again")
        }
        if let why = mismatch(file) { throw ResultsError(path: url.path, reason: why) }
        return file
    }

    /// The machines with tuned GEMM results in the store, as their results record them,
    /// by fingerprint. A results file that cannot be read, or that sits in another
    /// machine's folder, is an error naming it.
    public func tunedMachines() throws -> [MachineProfile] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
        var machines: [MachineProfile] = []
        for name in names {
            for dtype in DType.allCases {
                let url = root.appendingPathComponent(name).appendingPathComponent("gemm-\(dtype.rawValue).json")
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                let file = try load(GemmResultsFile.self, at: url, format: GemmResultsFile.currentFormat) { file in
                    file.fingerprint == name && file.machine.fingerprint == name ? nil
                        : "results of machine \(file.machine.fingerprint), not of the machine its folder names"
                }
                if let file { machines.append(file.machine); break }
            }
        }
        return machines
    }

    /// Writes `file` atomically (temporary file and rename).
    public func save(_ file: GemmResultsFile) throws {
        let url = gemmURL(file.dtype, machine: file.machine)
        try writeJSON(file, to: url)
    }

    /// Encodes `value` as pretty, key-sorted JSON and writes it atomically.
    public func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(enc.encode(value) + Data("\n".utf8), to: url)
    }
}

/// A one-line account of a JSON decoding error: what was wrong and where.
public func describeDecodingError(_ error: Error) -> String {
    func path(_ ctx: DecodingError.Context) -> String {
        let p = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "" : " at \(p)"
    }
    switch error as? DecodingError {
    case .keyNotFound(let key, let ctx)?: return "missing field '\(key.stringValue)'\(path(ctx))"
    case .typeMismatch(_, let ctx)?: return "wrong type\(path(ctx)): \(ctx.debugDescription)"
    case .valueNotFound(_, let ctx)?: return "missing value\(path(ctx))"
    case .dataCorrupted(let ctx)?: return "\(ctx.debugDescription)\(path(ctx))"
    default: return "\(error)"
    }
}
