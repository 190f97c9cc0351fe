import Foundation
import MicroKernels

/// How large a reproduction runs: `full` at the scale of the original report, `ci` under a
/// minute and a few GiB, shrinking only what does not change the arithmetic under test
/// (lazily committed memory rather than smaller sizes wherever possible).
public enum ReproScale: String, Codable, Sendable, CaseIterable {
    case ci, full
}

/// What a case needs: memory it commits (touches) and address space it maps.
public struct ReproNeeds: Codable, Sendable, Equatable {
    /// Bytes the case writes or otherwise commits, at most.
    public var memory: Int64
    /// Bytes mapped, most of them never touched (reserved without commitment).
    public var addressSpace: Int64
    public init(memory: Int64, addressSpace: Int64 = 0) {
        self.memory = memory
        self.addressSpace = max(addressSpace, memory)
    }
}

/// One reproduced overflow bug of another library: where it happened, the arithmetic that
/// overflowed there, and what blastune must do instead.
public struct ReproCase: Sendable {
    /// Short unique name, e.g. `mkl-csr-transpose-1x100m`.
    public let name: String
    /// The library and version where it happened.
    public let origin: String
    /// Where it was reported (a public address), or how it is known.
    public let report: String
    /// The operation and sizes reproduced here.
    public let operation: String
    /// The product that passed 2^31, 2^32 or float precision there.
    public let overflow: String
    /// What users saw there.
    public let symptom: String
    /// What blastune must do.
    public let expectation: String
    /// What a run at each scale needs (throws when the arithmetic itself does not fit).
    public let needs: @Sendable (ReproScale) throws -> ReproNeeds
    /// The run: returns the checks made, throws ``ReproFailure`` on a wrong result.
    let body: @Sendable (ReproContext) throws -> [String]
}

/// What a case runs against.
public struct ReproContext {
    public let library: KernelLibrary
    public let scale: ReproScale
    /// Thread counts to request (the case's own when nil).
    public let threads: [Int]?

    public init(library: KernelLibrary, scale: ReproScale, threads: [Int]?) {
        self.library = library
        self.scale = scale
        self.threads = threads
    }

    /// The thread counts to request: `--threads` if given, else the case's.
    func threadCounts(_ own: [Int]) -> [Int] { threads ?? own }

    /// Requests `n` threads (0: the library's choice), failing when the library refuses.
    func request(threads n: Int) throws {
        let st = library.setNumThreads(n)
        guard st == 0 else { throw ReproFailure("bt_set_num_threads(\(n)) returned \(st): \(library.strerror(st))") }
    }

    /// Fails unless `status` is BT_OK.
    func expectOK(_ status: Int32, _ call: String) throws {
        guard status == 0 else { throw ReproFailure("\(call) returned \(status) (\(library.strerror(status))) where an exact result was expected") }
    }
}

/// A wrong result or unexpected status in a reproduction.
public struct ReproFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Throws a ``ReproFailure`` with `message` unless `ok`.
func expect(_ ok: Bool, _ message: @autoclosure () -> String) throws {
    if !ok { throw ReproFailure(message()) }
}
