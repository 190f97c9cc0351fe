import KernelSpec
import SparseCSR

/// The problems each shape class is tuned and benchmarked on (column-major, no transposes).
public enum ShapeSuites {
    /// Shapes a search times candidates on: small enough to measure fast, typical of the class.
    public static func tuning(_ cls: ShapeClass) -> [GemmShape] {
        switch cls {
        case .large, .any: [GemmShape(m: 1024, n: 1024, k: 1024), GemmShape(m: 2048, n: 2048, k: 2048)]
        case .small: [8, 24, 64, 112].map { GemmShape(m: $0, n: $0, k: $0) }
        case .skinnyM: [GemmShape(m: 16, n: 2000, k: 2000)]
        case .skinnyN: [GemmShape(m: 2000, n: 16, k: 2000)]
        case .smallK: [GemmShape(m: 2000, n: 2000, k: 16), GemmShape(m: 2000, n: 2000, k: 64)]
        case .tallSkinny: [GemmShape(m: 100_000, n: 32, k: 32)]
        }
    }

    /// Shapes the first, widest round of a search screens candidates on: the cheapest of the
    /// class's tuning shapes that still behave like the class.
    public static func screening(_ cls: ShapeClass) -> [GemmShape] {
        switch cls {
        case .large, .any: [GemmShape(m: 1024, n: 1024, k: 1024)]
        default: tuning(cls)
        }
    }

    /// A class's weight in the division of a search's budget: the large class's shapes take
    /// the longest to time, so it gets twice the share of the others.
    public static func budgetWeight(_ cls: ShapeClass) -> Double { cls == .large || cls == .any ? 2 : 1 }

    /// Shapes `blastune bench --op gemm` reports per class (the bar of the project).
    public static func bench(_ cls: ShapeClass) -> [GemmShape] {
        switch cls {
        case .large, .any: [512, 1024, 2048, 4096].map { GemmShape(m: $0, n: $0, k: $0) }
        case .small: [8, 16, 32, 64, 100, 128].map { GemmShape(m: $0, n: $0, k: $0) }
        case .skinnyM: [GemmShape(m: 16, n: 2000, k: 2000), GemmShape(m: 64, n: 2000, k: 2000)]
        case .skinnyN: [GemmShape(m: 2000, n: 16, k: 2000), GemmShape(m: 2000, n: 64, k: 2000)]
        case .smallK: [GemmShape(m: 2000, n: 2000, k: 16), GemmShape(m: 2000, n: 2000, k: 64)]
        case .tallSkinny: [GemmShape(m: 100_000, n: 32, k: 32), GemmShape(m: 20_000, n: 64, k: 64)]
        }
    }

    /// The classes a search tunes, in the order it tunes them.
    public static let tunedClasses: [ShapeClass] = [.large, .small, .skinnyM, .skinnyN, .smallK, .tallSkinny]
}

/// The matrices the sparse benchmarks and searches use by default.
public enum SparseSuites {
    /// Benchmark matrices per operation: a band (2M x 2M, 27 per row) and a 7-point stencil
    /// (short rows), both bandwidth-bound, uniform random and power-law graphs; the
    /// transpose adds the 1 x 100M row of the MKL LP64 crash.
    public static func bench(_ op: SparseOp) -> [MatrixSource] {
        let common = [MatrixSource(kind: .banded, args: [2_000_000, 27]), MatrixSource(kind: .stencil3d, args: [160]),
                      MatrixSource(kind: .uniform, args: [1_000_000, 1_000_000, 16]), MatrixSource(kind: .rmat, args: [20])]
        return op == .transpose ? common + [MatrixSource(kind: .row, args: [100_000_000])] : common
    }
}
