import Foundation

/// Where a benchmark or search matrix comes from: a generator (`KIND:ARGS`) or a Matrix
/// Market file.
///
/// Generators: `uniform:MxNxK` (K random columns per row), `rmat:SCALE` or
/// `rmat:SCALExEDGES` (Graph500 R-MAT), `stencil2d:N`, `stencil3d:N`, `hugerow:MxNxH`
/// (one row of H entries, 2 per other row), `blocks:COUNTxSIZE` (dense diagonal blocks),
/// `row:N` (1 x N, every column), `hypersparse:NxCOUNT` (1 x N with COUNT entries),
/// `column:NxCOUNT` (N x 1 with COUNT entries), `banded:NxW` (N x N, W consecutive columns
/// per row around the diagonal).
public struct MatrixSource: Codable, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case uniform, rmat, stencil2d, stencil3d, hugerow, blocks, row, hypersparse, column, banded, file
    }
    public var kind: Kind
    public var args: [Int64]
    /// The file, for `.file`.
    public var path: String?

    public var description: String {
        kind == .file ? (path ?? "") : "\(kind.rawValue):" + args.map(String.init).joined(separator: "x")
    }

    /// A generator spec is wrong.
    public struct ParseError: Error, CustomStringConvertible {
        public let text: String
        public let reason: String
        public var description: String { "bad matrix '\(text)': \(reason)" }
    }

    private static let arity: [Kind: ClosedRange<Int>] = [
        .uniform: 3...3, .rmat: 1...2, .stencil2d: 1...1, .stencil3d: 1...1, .hugerow: 3...3, .blocks: 2...2,
        .row: 1...1, .hypersparse: 2...2, .column: 2...2, .banded: 2...2,
    ]

    public init(kind: Kind, args: [Int64], path: String? = nil) {
        self.kind = kind; self.args = args; self.path = path
    }

    /// Parses `KIND:AxBxC`, or a path ending in `.mtx` for a Matrix Market file.
    public init(parsing text: String) throws {
        if text.hasSuffix(".mtx") { self.init(kind: .file, args: [], path: text); return }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0].lowercased()), kind != .file else {
            throw ParseError(text: text, reason: "expected KIND:ARGS with KIND one of "
                + Kind.allCases.filter { $0 != .file }.map(\.rawValue).joined(separator: ", ") + ", or a .mtx file")
        }
        let nums = parts[1].split(separator: "x").map { Int64($0) }
        guard nums.allSatisfy({ $0 != nil && $0! >= 0 }) else { throw ParseError(text: text, reason: "arguments must be non-negative integers separated by 'x'") }
        let args = nums.map { $0! }
        guard Self.arity[kind]!.contains(args.count) else { throw ParseError(text: text, reason: "\(kind.rawValue) takes \(Self.arity[kind]!.lowerBound)...\(Self.arity[kind]!.upperBound) arguments") }
        if kind == .rmat, args[0] > 40 { throw ParseError(text: text, reason: "scale above 40") }
        self.init(kind: kind, args: args)
    }

    /// Builds or reads the matrix.
    public func load<T: CSRScalar>(_: T.Type) throws -> CSRMatrix<T> {
        let a = args
        switch kind {
        case .uniform: return CSRGenerators.uniform(T.self, nrows: a[0], ncols: a[1], perRow: a[2])
        case .rmat: return CSRGenerators.rmat(T.self, scale: Int(a[0]), edgeFactor: a.count > 1 ? a[1] : 16)
        case .stencil2d: return CSRGenerators.stencil(T.self, nx: a[0], ny: a[0])
        case .stencil3d: return CSRGenerators.stencil(T.self, nx: a[0], ny: a[0], nz: a[0])
        case .hugerow: return CSRGenerators.hugeRow(T.self, nrows: a[0], ncols: a[1], hugeRow: a[2])
        case .blocks: return CSRGenerators.denseBlocks(T.self, nblocks: a[0], block: a[1])
        case .row: return CSRMatrix<T>.fullRow(a[0]) { T(Double($0 & 1023) / 1024) }
        case .hypersparse: return CSRGenerators.hypersparse(T.self, n: a[0], count: a[1], rowVector: true)
        case .column: return CSRGenerators.hypersparse(T.self, n: a[0], count: a[1], rowVector: false)
        case .banded: return CSRGenerators.banded(T.self, n: a[0], width: a[1])
        case .file: return try MatrixMarket.read(path ?? "", as: T.self)
        }
    }
}
