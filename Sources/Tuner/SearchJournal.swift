import Foundation
import KernelSpec
import MicroKernels

/// One evaluated candidate, as the search journal records it.
public struct Evaluation: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case ok, wrong, crashed, hung, failed }
    public var dtype: DType
    public var shapeClass: ShapeClass
    public var spec: GemmSpec
    public var threads: Int
    public var shapes: [GemmShape]
    public var timer: TimerSettings
    public var status: Status
    public var message: String?
    public var measurements: [ShapeMeasurement]

    /// Geometric mean over the shapes of OpenBLAS time over ours; 0 when the candidate failed.
    public var score: Double {
        guard status == .ok, !measurements.isEmpty else { return 0 }
        return exp(measurements.map { log($0.ratio) }.reduce(0, +) / Double(measurements.count))
    }

    /// Geometric means of our and OpenBLAS's GFLOPS, and the widest spread.
    public var summary: (ours: Double, peer: Double, spread: Double) {
        guard !measurements.isEmpty else { return (0, 0, 0) }
        let n = Double(measurements.count)
        return (exp(measurements.map { log($0.oursGflops) }.reduce(0, +) / n),
                exp(measurements.map { log($0.peerGflops) }.reduce(0, +) / n),
                measurements.map { max($0.ours.spread, $0.peer.spread) }.max() ?? 0)
    }

    /// What identifies a measurement for reuse: spec, threads, shapes and timer settings.
    public var key: String { Evaluation.key(spec: spec, threads: threads, shapes: shapes, timer: timer) }

    static func key(spec: GemmSpec, threads: Int, shapes: [GemmShape], timer: TimerSettings) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let s = (try? enc.encode(spec)).map { String(decoding: $0, as: UTF8.self) } ?? spec.summary
        return stableHash([s, "\(threads)", "\(timer.sampleSeconds)/\(timer.samples)/\(timer.maxSamples)"] + shapes.map(\.description))
    }
}

/// A journal line: what identifies the measurement for reuse, and whether it succeeded.
public protocol JournalEntry: Codable {
    var key: String { get }
    var succeeded: Bool { get }
}

extension Evaluation: JournalEntry {
    public var succeeded: Bool { status == .ok }
}

/// The GEMM search journal (`search-gemm-<dtype>.jsonl`).
public typealias SearchJournal = Journal<Evaluation>

extension Journal where E == Evaluation {
    /// A successful earlier measurement of the same spec, threads, shapes and timer settings.
    public func lookup(spec: GemmSpec, threads: Int, shapes: [GemmShape], timer: TimerSettings) -> Evaluation? {
        lookup(key: Evaluation.key(spec: spec, threads: threads, shapes: shapes, timer: timer))
    }
}

/// An append-only log of every evaluation of a search: the record of what was tried and
/// why candidates failed, and what a resumed search reuses. Each line is one evaluation; a
/// torn last line (a killed search) is ignored.
public final class Journal<E: JournalEntry>: @unchecked Sendable {
    public let url: URL
    private var byKey: [String: E] = [:]
    public private(set) var all: [E] = []

    /// Opens (and reads) the journal at `url`; `fresh` starts it anew.
    public init(url: URL, fresh: Bool) throws {
        self.url = url
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if fresh { try? fm.removeItem(at: url) }
        if let data = fm.contents(atPath: url.path) {
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let e = try? JSONDecoder().decode(E.self, from: Data(line)) else { continue }
                all.append(e)
                if e.succeeded { byKey[e.key] = e }
            }
        }
    }

    /// A successful earlier entry with this key.
    public func lookup(key: String) -> E? { byKey[key] }

    /// Appends `e` and flushes it to disk.
    public func append(_ e: E) throws {
        all.append(e)
        if e.succeeded { byKey[e.key] = e }
        var data = try JSONEncoder().encode(e)
        data.append(UInt8(ascii: "\n"))
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw ResultsError(path: url.path, reason: "cannot open the journal: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // A torn line from an earlier kill is closed off so this one starts clean.
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, off_t(st.st_size - 1)) == 1, last != UInt8(ascii: "\n") { _ = write(fd, "\n", 1) }
        }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw ResultsError(path: url.path, reason: "short write to the journal") }
        fsync(fd)
    }
}
