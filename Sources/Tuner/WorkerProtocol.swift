import KernelSpec
import SparseCSR

/// Timing settings a worker applies to one request.
public struct TimerSettings: Codable, Hashable, Sendable {
    public var sampleSeconds: Double
    public var samples: Int
    public var maxSamples: Int
    public init(sampleSeconds: Double, samples: Int, maxSamples: Int) {
        self.sampleSeconds = sampleSeconds; self.samples = samples; self.maxSamples = maxSamples
    }
    var timer: InterleavedTimer { InterleavedTimer(sampleSeconds: sampleSeconds, samples: samples, maxSamples: maxSamples) }
}

/// A job for the measurement worker (one JSON line on its standard input).
public struct WorkerRequest: Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// Check the library's GEMM against OpenBLAS on each shape, then time both interleaved.
        case gemm
        /// Time the in-cache micro-kernel benchmarks `bt_tilebench_0 ..< count`.
        case tiles
        /// Check the library's sparse kernel against the reference on each matrix, then time it.
        case sparse
        /// Check the peer named `peer` (loaded with this worker's environment) against a
        /// reference, then time it on each shape (GFLOPS in `peerGflops`).
        case peer
        /// Check each exact-shape candidate `bt_shapecand_0 ..< candidates` of `exactShape`
        /// against OpenBLAS, then time them all interleaved with every peer, one thread.
        case shapes
    }
    public var kind: Kind
    public var library: String
    public var dtype: DType
    public var shapes: [GemmShape] = []
    public var threads: Int = 1
    public var timer: TimerSettings
    /// For `tiles`: flops of one call of each benchmark.
    public var tileFlops: [Double] = []
    /// For `sparse`: the operation and the matrices.
    public var op: SparseOp? = nil
    public var matrices: [MatrixSource] = []
    /// For `sparse`: a library to time interleaved with `library` (the incumbent of a search).
    public var baseline: String? = nil
    /// For `peer`: the peer's name (``GemmPeer/names``).
    public var peer: String? = nil
    /// For `shapes`: the shape and the number of candidates in the library.
    public var exactShape: GemmShapeKey? = nil
    public var candidates: Int = 0

    public init(kind: Kind, library: String, dtype: DType, shapes: [GemmShape] = [], threads: Int = 1,
                timer: TimerSettings, tileFlops: [Double] = [], op: SparseOp? = nil, matrices: [MatrixSource] = [], peer: String? = nil) {
        self.kind = kind; self.library = library; self.dtype = dtype; self.shapes = shapes
        self.threads = threads; self.timer = timer; self.tileFlops = tileFlops; self.op = op; self.matrices = matrices
        self.peer = peer
    }
}

/// One shape measured by the worker.
public struct ShapeMeasurement: Codable, Hashable, Sendable {
    public var shape: GemmShape
    public var ours: TimingStats
    /// The fastest peer on this shape (found once per worker, timed with every candidate).
    public var peer: TimingStats
    public var peerName: String?
    public var relativeError: Double
    public var oursGflops: Double { shape.flops / ours.median / 1e9 }
    public var peerGflops: Double { shape.flops / peer.median / 1e9 }
    /// Peer time over ours (> 1: ours is faster).
    public var ratio: Double { peer.median / ours.median }
}

/// The worker's answer (one JSON line on its standard output).
public struct WorkerResponse: Codable, Sendable {
    /// Set when the library could not be used (not loadable, a call failed).
    public var error: String?
    /// Set when the library computed a wrong result: what and where.
    public var wrong: String?
    public var measurements: [ShapeMeasurement] = []
    public var tileGflops: [Double] = []
    /// For `sparse`: the timing of each matrix.
    public var sparseTimes: [TimingStats] = []
    /// For `sparse` with a baseline: the baseline's timing of each matrix.
    public var baselineTimes: [TimingStats] = []
    /// For `peer`: GFLOPS on each shape and the configuration the peer reported.
    public var peerGflops: [Double] = []
    public var peerConfiguration: String?
    /// For `shapes`: GFLOPS of each candidate (0: it failed, see `candidateFailures`) and of each peer.
    public var candidateGflops: [Double] = []
    public var candidateFailures: [String?] = []
    public var namedPeerGflops: [String: Double] = [:]

    public init(error: String? = nil, wrong: String? = nil, measurements: [ShapeMeasurement] = [], tileGflops: [Double] = [],
                sparseTimes: [TimingStats] = []) {
        self.error = error; self.wrong = wrong; self.measurements = measurements; self.tileGflops = tileGflops
        self.sparseTimes = sparseTimes
    }
}
