import COpenBLAS
import Foundation
import KernelSpec
import MicroKernels
import Tuner

/// The libraries the tests run: per ISA, the analytical configuration and a
/// "tiny blocks" one whose odd tiles and small KC/MC/NC put every edge within reach
/// of small matrices. Built once per test process.
enum Fixtures {
    static let machine = MachineProfile.current()
    static let cache = LibraryCache(root: FileManager.default.temporaryDirectory.appendingPathComponent("blastune-test-cache"))
    static let runnableISAs = ISA.allCases.filter { machine.supports($0) }

    /// analytical: the model's library. tinyBlocks: odd tiles, KC = 17, everything packed.
    /// tinyDirect: the same with A and B read in place (edge slivers packed), threads split
    /// by columns. broadcastA: odd tiles broadcasting A, operands read in place where they
    /// can be. perClass: a kernel per shape class, mixing every packing mode and both
    /// orientations, and threaded variants of two classes, so that the run-time dispatch is
    /// exercised.
    enum Kind: String, CaseIterable, Sendable { case analytical, tinyBlocks, tinyDirect, broadcastA, perClass }

    static func tiny(_ d: DType, _ isa: ISA, packA: Bool, packB: Bool, parallel: ParallelLoop = .auto, nrBump: Int = 0) -> GemmSpec {
        let lanes = isa.lanes(d)
        let mr = isa == .avx512 ? lanes : 2 * lanes, nr = (d == .f32 ? 5 : 3) + nrBump
        return GemmSpec(dtype: d, isa: isa, mr: mr, nr: nr, kUnroll: 3, kc: 17, mc: 3 * mr, nc: 2 * nr,
                        prefetchA: 256, prefetchB: 128, threads: 0, packA: packA, packB: packB, parallel: parallel)
    }

    /// A broadcast-A tile of two column vectors (so the one-vector edge kernel runs) and an
    /// odd number of rows.
    static func tinyBroadcastA(_ d: DType, _ isa: ISA, packA: Bool, packB: Bool, parallel: ParallelLoop = .auto) -> GemmSpec {
        let mr = d == .f32 ? 3 : 5, nr = 2 * isa.lanes(d)
        return GemmSpec(dtype: d, isa: isa, mr: mr, nr: nr, kUnroll: 3, kc: 17, mc: 3 * mr, nc: 2 * nr,
                        prefetchA: 256, prefetchB: 128, threads: 0, packA: packA, packB: packB, parallel: parallel,
                        orientation: .broadcastA)
    }

    /// `s` with another KC and MC (odd, so that the edges fall elsewhere) on two threads.
    static func threaded(_ s: GemmSpec) -> GemmSpec {
        var t = s
        t.kc = 29; t.mc = 2 * s.mr; t.threads = 2
        return t
    }

    /// Kernels of exact shapes for the per-class library: both layouts and every transpose,
    /// edge masks, narrow vectors in an AVX-512 library, every K unroll, packed A and both orders.
    static func exactShapes(_ isa: ISA) -> [ShapeKernelSpec] {
        let narrow: ISA = isa == .avx512 ? .avx2 : isa
        func s(_ d: DType, _ text: String, _ v: ISA, _ rv: Int, _ cols: Int, _ ku: Int, pack: Bool = false,
               order: ShapeKernelSpec.Order = .columns) -> ShapeKernelSpec {
            ShapeKernelSpec(dtype: d, isa: isa, shape: try! GemmShapeKey(parsing: text), vectorISA: v, rowVectors: rv, columns: cols,
                            kUnroll: ku, packA: pack, order: order)
        }
        return [s(.f32, "8x8x8", narrow, 1, 8, 0), s(.f32, "23x23x23", isa, 2, 4, 4), s(.f32, "33x65x17", isa, 2, 4, 1, order: .rows),
                s(.f32, "7x9x5:col:t:t", isa, 1, 3, 2, pack: true), s(.f32, "6x10x3:row:n:t", narrow, 1, 5, 8, pack: true),
                s(.f64, "16x16x16", narrow, 2, 6, 2), s(.f64, "5x11x3:row:t:n", isa, 1, 3, 1),
                s(.f64, "9x4x13:row:n:t", isa, 2, 2, 8, pack: true, order: .rows), s(.f64, "17x3x20:col:t:n", narrow, 3, 2, 0)]
    }

    static func config(_ isa: ISA, _ kind: Kind) -> KernelsConfig {
        let lib: LibrarySpec
        switch kind {
        case .analytical:
            lib = AnalyticalModel.librarySpec(isa: isa, machine: machine)
        case .tinyBlocks:
            lib = LibrarySpec(isa: isa, gemm: DType.allCases.map { GemmVariant(spec: tiny($0, isa, packA: true, packB: true)) })
        case .tinyDirect:
            lib = LibrarySpec(isa: isa, gemm: DType.allCases.map {
                GemmVariant(spec: tiny($0, isa, packA: false, packB: false, parallel: .columns)) })
        case .broadcastA:
            lib = LibrarySpec(isa: isa, gemm: DType.allCases.map { GemmVariant(spec: tinyBroadcastA($0, isa, packA: false, packB: false)) })
        case .perClass:
            lib = LibrarySpec(isa: isa, gemm: DType.allCases.flatMap { d -> [GemmVariant] in
                let model = AnalyticalModel.gemmSpec(dtype: d, isa: isa, machine: machine)
                var direct = model
                direct.packA = false; direct.packB = false; direct.threads = 2
                // Moved C prefetch distances: no early prefetch here, an early one past the late one in `large`.
                direct.prefetchCLate = 16; direct.prefetchCEarly = 0
                var large = tiny(d, isa, packA: true, packB: true, parallel: .rows, nrBump: 1)
                large.prefetchCLate = 4; large.prefetchCEarly = 12
                return [GemmVariant(shapeClass: .any, spec: model),
                        GemmVariant(shapeClass: .large, spec: large),
                        GemmVariant(shapeClass: .small, spec: direct),
                        GemmVariant(shapeClass: .skinnyM, spec: tinyBroadcastA(d, isa, packA: true, packB: true, parallel: .columns)),
                        GemmVariant(shapeClass: .skinnyN, spec: tiny(d, isa, packA: false, packB: true, parallel: .rows)),
                        GemmVariant(shapeClass: .smallK, spec: tiny(d, isa, packA: false, packB: false, nrBump: 1)),
                        GemmVariant(shapeClass: .tallSkinny, spec: tiny(d, isa, packA: true, packB: false)),
                        // Other blocking for threaded calls of two classes (the fallback's and one other).
                        GemmVariant(shapeClass: .large, spec: threaded(tiny(d, isa, packA: true, packB: false, parallel: .columns)), threaded: true),
                        GemmVariant(shapeClass: .smallK, spec: threaded(tiny(d, isa, packA: true, packB: true, parallel: .rows)), threaded: true)]
            }, shapes: exactShapes(isa))
        }
        return KernelsConfig(version: blastuneVersion, machine: machine, origin: "test", library: lib)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: [String: (LibraryBuilder.Output, KernelLibrary)] = [:]

    /// The built folder and loaded library for `isa` and `kind`.
    static func library(_ isa: ISA, _ kind: Kind) throws -> (output: LibraryBuilder.Output, library: KernelLibrary) {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(isa.rawValue)-\(kind.rawValue)"
        if let b = built[key] { return b }
        // -Werror on top of the library's own -Wall -Wextra: a warning in the generated C fails the build.
        let out = try cache.build(config(isa, kind), extraFlags: ["-Werror"])
        let lib = try KernelLibrary(path: out.library.path)
        built[key] = (out, lib)
        return (out, lib)
    }
}

/// GEMM over one element type, ours and OpenBLAS's.
protocol GemmScalar: BinaryFloatingPoint, Sendable {
    static var dtype: DType { get }
    static var epsilon64: Double { get }
    static func ours(_ lib: KernelLibrary, _ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int64, _ n: Int64, _ k: Int64,
                     _ alpha: Self, _ a: UnsafePointer<Self>?, _ lda: Int64, _ b: UnsafePointer<Self>?, _ ldb: Int64,
                     _ beta: Self, _ c: UnsafeMutablePointer<Self>?, _ ldc: Int64) -> Int32
    static func cblas(_ lib: KernelLibrary, _ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32,
                      _ alpha: Self, _ a: UnsafePointer<Self>?, _ lda: Int32, _ b: UnsafePointer<Self>?, _ ldb: Int32,
                      _ beta: Self, _ c: UnsafeMutablePointer<Self>?, _ ldc: Int32)
    static func openblas(_ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32,
                         _ alpha: Self, _ a: UnsafePointer<Self>?, _ lda: Int32, _ b: UnsafePointer<Self>?, _ ldb: Int32,
                         _ beta: Self, _ c: UnsafeMutablePointer<Self>?, _ ldc: Int32)
}

extension Float: GemmScalar {
    static var dtype: DType { .f32 }
    static var epsilon64: Double { Double(Float.ulpOfOne) }
    static func ours(_ lib: KernelLibrary, _ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int64, _ n: Int64, _ k: Int64, _ alpha: Float, _ a: UnsafePointer<Float>?, _ lda: Int64, _ b: UnsafePointer<Float>?, _ ldb: Int64, _ beta: Float, _ c: UnsafeMutablePointer<Float>?, _ ldc: Int64) -> Int32 {
        lib.sgemm(lay, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    static func cblas(_ lib: KernelLibrary, _ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float, _ a: UnsafePointer<Float>?, _ lda: Int32, _ b: UnsafePointer<Float>?, _ ldb: Int32, _ beta: Float, _ c: UnsafeMutablePointer<Float>?, _ ldc: Int32) {
        lib.cblasSgemm(lay, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    static func openblas(_ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float, _ a: UnsafePointer<Float>?, _ lda: Int32, _ b: UnsafePointer<Float>?, _ ldb: Int32, _ beta: Float, _ c: UnsafeMutablePointer<Float>?, _ ldc: Int32) {
        cblas_sgemm(CBLAS_ORDER(rawValue: UInt32(lay)), CBLAS_TRANSPOSE(rawValue: UInt32(ta)), CBLAS_TRANSPOSE(rawValue: UInt32(tb)), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}

extension Double: GemmScalar {
    static var dtype: DType { .f64 }
    static var epsilon64: Double { Double.ulpOfOne }
    static func ours(_ lib: KernelLibrary, _ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int64, _ n: Int64, _ k: Int64, _ alpha: Double, _ a: UnsafePointer<Double>?, _ lda: Int64, _ b: UnsafePointer<Double>?, _ ldb: Int64, _ beta: Double, _ c: UnsafeMutablePointer<Double>?, _ ldc: Int64) -> Int32 {
        lib.dgemm(lay, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    static func cblas(_ lib: KernelLibrary, _ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Double, _ a: UnsafePointer<Double>?, _ lda: Int32, _ b: UnsafePointer<Double>?, _ ldb: Int32, _ beta: Double, _ c: UnsafeMutablePointer<Double>?, _ ldc: Int32) {
        lib.cblasDgemm(lay, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    static func openblas(_ lay: Int32, _ ta: Int32, _ tb: Int32, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Double, _ a: UnsafePointer<Double>?, _ lda: Int32, _ b: UnsafePointer<Double>?, _ ldb: Int32, _ beta: Double, _ c: UnsafeMutablePointer<Double>?, _ ldc: Int32) {
        cblas_dgemm(CBLAS_ORDER(rawValue: UInt32(lay)), CBLAS_TRANSPOSE(rawValue: UInt32(ta)), CBLAS_TRANSPOSE(rawValue: UInt32(tb)), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}
