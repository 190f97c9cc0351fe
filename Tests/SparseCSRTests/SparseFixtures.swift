import Foundation
import KernelSpec
import MicroKernels
import SparseCSR

/// Libraries for the sparse kernel tests, per ISA: `defaults` (the specs a library gets
/// when nothing is tuned) and `varied` (one variant per matrix class covering every SpMV
/// option and both transpose algorithms, with tiny radix buckets and no histogram budget).
enum SparseFixtures {
    enum Kind: String, CaseIterable, Sendable { case defaults, varied }

    static let machine = MachineProfile.current()
    static let runnableISAs = ISA.allCases.filter { machine.supports($0) }
    static let cache = LibraryCache(root: FileManager.default.temporaryDirectory.appendingPathComponent("blastune-test-cache"))

    static func config(_ isa: ISA, _ kind: Kind) -> KernelsConfig {
        // A small GEMM kernel per dtype: the library needs one, these tests do not use it.
        let gemm = DType.allCases.map { d in
            GemmVariant(spec: GemmSpec(dtype: d, isa: isa, mr: isa.lanes(d), nr: 2, kUnroll: 1, kc: 16, mc: isa.lanes(d), nc: 2))
        }
        var lib = LibrarySpec(isa: isa, gemm: gemm)
        if kind == .varied {
            lib.spmv = DType.allCases.flatMap { d in [
                SparseVariant(matrixClass: .hypersparse, spec: SpmvSpec(dtype: d, isa: isa, partition: .rows, unroll: 1, loads: .gather, prefetch: 0, shortRow: 0)),
                SparseVariant(matrixClass: .short, spec: SpmvSpec(dtype: d, isa: isa, partition: .merge, unroll: 3, loads: .gather, prefetch: 16, shortRow: 0)),
                SparseVariant(matrixClass: .long, spec: SpmvSpec(dtype: d, isa: isa, partition: .rows, unroll: 8, loads: .scalar, prefetch: 64, shortRow: 32)),
            ] }
            lib.transpose = [
                SparseVariant(matrixClass: .hypersparse, spec: TransposeSpec(isa: isa, algorithm: .histogram, radixBits: 6, histogramBudget: 1 << 20)),
                SparseVariant(matrixClass: .short, spec: TransposeSpec(isa: isa, algorithm: .radix, radixBits: 6)),
                SparseVariant(matrixClass: .long, spec: TransposeSpec(isa: isa, algorithm: .auto, radixBits: 7, histogramBudget: 0)),
            ]
        }
        return KernelsConfig(version: blastuneVersion, machine: machine, origin: "test", library: lib)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: [String: KernelLibrary] = [:]

    /// The loaded library for `isa` and `kind`; every test of it runs under `exclusive`.
    static func library(_ isa: ISA, _ kind: Kind) throws -> KernelLibrary {
        lock.lock()
        defer { lock.unlock() }
        // Let the tests run exactly the thread counts they ask for (64 on a 2-core machine).
        setenv("BLASTUNE_EXACT_THREADS", "1", 1)
        let key = "\(isa.rawValue)-\(kind.rawValue)"
        if let l = built[key] { return l }
        let lib = try KernelLibrary(path: try cache.build(config(isa, kind)).library.path)
        built[key] = lib
        return lib
    }

    private static let runLock = NSLock()
    /// Runs `body` alone: the thread setting of a library is process-wide.
    static func exclusive<R>(_ body: () throws -> R) rethrows -> R {
        runLock.lock()
        defer { runLock.unlock() }
        return try body()
    }

    /// Every generator, the empty and degenerate shapes, and unsorted rows with duplicates.
    static func matrices<T: CSRScalar>(_: T.Type) -> [(String, CSRMatrix<T>)] {
        var list: [(String, CSRMatrix<T>)] = [
            ("uniform 300x200", CSRGenerators.uniform(T.self, nrows: 300, ncols: 200, perRow: 5, seed: 3)),
            ("uniform long rows 40x5000", CSRGenerators.uniform(T.self, nrows: 40, ncols: 5000, perRow: 70, seed: 4)),
            ("uniform wide 500x40000", CSRGenerators.uniform(T.self, nrows: 500, ncols: 40000, perRow: 30, seed: 5)),
            ("stencil 2D 20x20", CSRGenerators.stencil(T.self, nx: 20, ny: 20)),
            ("stencil 3D 8x8x8", CSRGenerators.stencil(T.self, nx: 8, ny: 8, nz: 8)),
            ("rmat scale 9", CSRGenerators.rmat(T.self, scale: 9, edgeFactor: 8)),
            ("huge row", CSRGenerators.hugeRow(T.self, nrows: 200, ncols: 3000, hugeRow: 2500)),
            ("dense blocks", CSRGenerators.denseBlocks(T.self, nblocks: 5, block: 12)),
            ("1 x N", CSRGenerators.hypersparse(T.self, n: 100_000, count: 300, rowVector: true)),
            ("N x 1", CSRGenerators.hypersparse(T.self, n: 5000, count: 400, rowVector: false)),
            ("0 x 0", try! CSRMatrix(nrows: 0, ncols: 0, rowPtr: [0], colIdx: [], values: [])),
            ("5 x 0", try! CSRMatrix(nrows: 5, ncols: 0, rowPtr: [0, 0, 0, 0, 0, 0], colIdx: [], values: [])),
            ("0 x 7", try! CSRMatrix(nrows: 0, ncols: 7, rowPtr: [0], colIdx: [], values: [])),
            ("10 x 10 empty", try! CSRMatrix(nrows: 10, ncols: 10, rowPtr: [Int64](repeating: 0, count: 11), colIdx: [], values: [])),
            // Runs of consecutive columns: a band, and dense blocks (a plan keeps them as runs).
            ("band 3000 x 3000, 21 per row", CSRGenerators.banded(T.self, n: 3000, width: 21)),
            ("band wider than the matrix", CSRGenerators.banded(T.self, n: 9, width: 40)),
            // Row spans at the edge of a plan's 16-bit deltas (65535 fits, 65536 does not), far from column 0
            // (sorted rows: the transpose tests compare the sorted and unique flags too).
            ("span 65535", try! CSRMatrix(nrows: 3, ncols: 140_000, rowPtr: [0, 3, 3, 5], colIdx: [70_000, 100_000, 135_535, 139_998, 139_999],
                                          values: [1, -2, 3, 4, -5].map { T($0) })),
            ("span 65536", try! CSRMatrix(nrows: 3, ncols: 140_000, rowPtr: [0, 3, 3, 5], colIdx: [70_000, 100_000, 135_536, 0, 139_999],
                                          values: [1, -2, 3, 4, -5].map { T($0) })),
        ]
        // Unsorted rows with duplicate columns and empty rows between them.
        var rp: [Int64] = [0], ci: [Int64] = [], va: [T] = []
        var rng = SystemRandomNumberGenerator()
        for r in 0..<60 {
            let len = r % 4 == 0 ? 0 : Int.random(in: 1...30, using: &rng)
            for _ in 0..<len { ci.append(Int64.random(in: 0..<25, using: &rng)); va.append(T(Double.random(in: -1...1, using: &rng))) }
            rp.append(Int64(ci.count))
        }
        list.append(("unsorted with duplicates", try! CSRMatrix(nrows: 60, ncols: 25, rowPtr: rp, colIdx: ci, values: va)))
        return list
    }
}
