import Foundation
import KernelSpec

/// One tuned exact shape: the chosen kernel and what it measured against the peers.
public struct ShapeResult: Codable, Hashable, Sendable {
    public var spec: ShapeKernelSpec
    /// GFLOPS of the chosen kernel (median of interleaved samples, one thread, called directly).
    public var oursGflops: Double
    /// Each peer's GFLOPS on the shape, timed in the same rounds.
    public var peers: [String: Double]
    /// The fastest peer and our speed over its.
    public var bestPeer: String
    public var ratio: Double
    /// The candidate kernels measured and how many failed.
    public var candidates: Int
    public var failures: Int
    public var seconds: Double
    public var date: String

    public init(spec: ShapeKernelSpec, oursGflops: Double, peers: [String: Double], candidates: Int, failures: Int,
                seconds: Double, date: String) {
        self.spec = spec; self.oursGflops = oursGflops; self.peers = peers
        let best = peers.max { $0.value < $1.value }
        bestPeer = best?.key ?? "none"
        ratio = best.map { oursGflops / $0.value } ?? 1
        self.candidates = candidates; self.failures = failures; self.seconds = seconds; self.date = date
    }
}

/// `Results/<fingerprint>/gemm-shapes-<dtype>.json`: the kernels of exact shapes of one machine.
public struct ShapeResultsFile: Codable, Hashable, Sendable, MachineResults {
    public static let currentFormat = 1
    public var format: Int
    public var blastuneVersion: String
    public var fingerprint: String
    public var machine: MachineProfile
    public var dtype: DType
    public var shapes: [ShapeResult]

    public init(format: Int = currentFormat, blastuneVersion: String, fingerprint: String, machine: MachineProfile,
                dtype: DType, shapes: [ShapeResult]) {
        self.format = format; self.blastuneVersion = blastuneVersion; self.fingerprint = fingerprint
        self.machine = machine; self.dtype = dtype; self.shapes = shapes
    }

    /// This file with `results` replacing the entries of the same shapes (others kept).
    public func merging(_ results: [ShapeResult]) -> ShapeResultsFile {
        var out = self
        let keys = Set(results.map(\.spec.shape))
        out.shapes = (shapes.filter { !keys.contains($0.spec.shape) } + results).sorted { $0.spec.shape < $1.spec.shape }
        return out
    }
}

extension ResultsStore {
    public func shapesURL(_ dtype: DType, machine: MachineProfile) -> URL {
        directory(for: machine).appendingPathComponent("gemm-shapes-\(dtype.rawValue).json")
    }

    /// The tuned exact shapes of `dtype` for `machine`, or nil when none were tuned.
    public func loadShapes(_ dtype: DType, machine: MachineProfile) throws -> ShapeResultsFile? {
        try loadMachineFile(ShapeResultsFile.self, at: shapesURL(dtype, machine: machine), format: ShapeResultsFile.currentFormat,
                            dtype: dtype, machine: machine)
    }

    /// Writes `file` atomically.
    public func save(_ file: ShapeResultsFile) throws {
        try writeJSON(file, to: shapesURL(file.dtype, machine: file.machine))
    }
}
