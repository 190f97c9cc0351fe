import Foundation
import KernelSpec
import MicroKernels

/// The tuned configuration of one matrix class for one sparse operation.
public struct SparseClassResult: Codable, Hashable, Sendable {
    public var matrixClass: SparseClass
    public var spmv: SpmvSpec?
    public var transpose: TransposeSpec?
    /// The matrices it was tuned on, and our median time on each with the chosen spec.
    public var matrices: [String]
    public var oursSeconds: [Double]
    /// Geometric mean GB/s (minimum bytes moved) and its fraction of the read bandwidth.
    public var oursGBps: Double
    public var fractionOfBandwidth: Double
    /// The untuned default spec's times on the same matrices (measured first, so not
    /// comparable with `oursSeconds` on a drifting machine), and the tuned speed-up over it:
    /// the product of the accepted moves' speed-ups, each timed interleaved with its incumbent.
    public var defaultSeconds: [Double]
    public var speedupOverDefault: Double
    /// Peer time over ours (geometric mean over the matrices), per peer found here.
    public var peerRatios: [String: Double]
    public var candidates: Int
    public var failures: Int
    public var seconds: Double
    public var date: String
    public var compiler: String
}

/// `Results/<fingerprint>/spmv-<dtype>.json` or `transpose.json`.
public struct SparseResultsFile: Codable, Sendable, VersionedResults {
    public static let currentFormat = 1
    public var format: Int
    public var blastuneVersion: String
    public var fingerprint: String
    public var machine: MachineProfile
    public var op: SparseOp
    /// SpMV: the dtype tuned; transpose: nil (one configuration serves both dtypes).
    public var dtype: DType?
    /// Read bandwidth (GB/s) by thread count, measured by the search.
    public var readBandwidth: [String: Double]
    public var classes: [SparseClassResult]
}

extension ResultsStore {
    public func sparseURL(_ op: SparseOp, dtype: DType?, machine: MachineProfile) -> URL {
        directory(for: machine).appendingPathComponent(op == .spmv ? "spmv-\((dtype ?? .f64).rawValue).json" : "transpose.json")
    }

    /// The tuned sparse results, or nil when never tuned; a malformed file, another format
    /// or another machine's file is an error.
    public func loadSparse(_ op: SparseOp, dtype: DType?, machine: MachineProfile) throws -> SparseResultsFile? {
        try load(SparseResultsFile.self, at: sparseURL(op, dtype: dtype, machine: machine), format: SparseResultsFile.currentFormat) { file in
            file.fingerprint == machine.fingerprint && file.op == op ? nil
                : "results of machine \(file.fingerprint), not of this machine \(machine.fingerprint)"
        }
    }

    public func save(_ file: SparseResultsFile) throws {
        try writeJSON(file, to: sparseURL(file.op, dtype: file.dtype, machine: file.machine))
    }
}
