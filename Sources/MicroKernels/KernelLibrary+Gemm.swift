import KernelSpec

/// Element types of the library's GEMM: `Float` (`bt_sgemm`) and `Double` (`bt_dgemm`).
public protocol GemmScalar: BinaryFloatingPoint, Sendable {
    /// The C function for this type.
    static var gemmFunction: String { get }
    /// Calls that function of `library` with the CBLAS-valued layout and transposes.
    static func gemm(_ library: KernelLibrary, _ transA: Int32, _ transB: Int32, _ m: Int64, _ n: Int64, _ k: Int64,
                     _ alpha: Self, _ a: UnsafePointer<Self>?, _ lda: Int64, _ b: UnsafePointer<Self>?, _ ldb: Int64,
                     _ beta: Self, _ c: UnsafeMutablePointer<Self>?, _ ldc: Int64) -> Int32
}

extension Float: GemmScalar {
    public static var gemmFunction: String { "bt_sgemm" }
    public static func gemm(_ library: KernelLibrary, _ transA: Int32, _ transB: Int32, _ m: Int64, _ n: Int64, _ k: Int64,
                            _ alpha: Float, _ a: UnsafePointer<Float>?, _ lda: Int64, _ b: UnsafePointer<Float>?, _ ldb: Int64,
                            _ beta: Float, _ c: UnsafeMutablePointer<Float>?, _ ldc: Int64) -> Int32 {
        library.sgemm(KernelLibrary.colMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}

extension Double: GemmScalar {
    public static var gemmFunction: String { "bt_dgemm" }
    public static func gemm(_ library: KernelLibrary, _ transA: Int32, _ transB: Int32, _ m: Int64, _ n: Int64, _ k: Int64,
                            _ alpha: Double, _ a: UnsafePointer<Double>?, _ lda: Int64, _ b: UnsafePointer<Double>?, _ ldb: Int64,
                            _ beta: Double, _ c: UnsafeMutablePointer<Double>?, _ ldc: Int64) -> Int32 {
        library.dgemm(KernelLibrary.colMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}

/// How a GEMM operand is used: as stored, or transposed.
public enum GemmTranspose: Sendable {
    case none, transpose
    /// The CBLAS value the C ABI takes (111 or 112).
    public var cValue: Int32 { self == .none ? 111 : 112 }
}

extension KernelLibrary {
    /// `CblasColMajor`, the layout value of the C ABI for column-major operands.
    public static let colMajor: Int32 = 102

    /// `C = alpha * op(A) * op(B) + beta * C` by the library's `bt_sgemm` / `bt_dgemm`, on
    /// column-major buffers: C is m x n, op(A) m x k, op(B) k x n. A leading dimension left
    /// out is the tight one. Before calling, checks (overflow-checked) that every buffer
    /// holds the matrix its leading dimension spans; throws the library's status otherwise.
    public func gemm<T: GemmScalar>(_ transA: GemmTranspose = .none, _ transB: GemmTranspose = .none,
                                    m: Int, n: Int, k: Int, alpha: T = 1,
                                    a: UnsafeBufferPointer<T>, lda: Int? = nil,
                                    b: UnsafeBufferPointer<T>, ldb: Int? = nil,
                                    beta: T = 0, c: UnsafeMutableBufferPointer<T>, ldc: Int? = nil) throws(KernelStatusError) {
        func fail(_ status: Int32, _ what: String) -> KernelStatusError {
            KernelStatusError(function: T.gemmFunction, status: status, message: "\(strerror(status)): \(what)")
        }
        guard m >= 0, n >= 0, k >= 0 else { throw fail(1, "negative size m = \(m), n = \(n), k = \(k)") }
        let (ar, ac) = transA == .none ? (m, k) : (k, m)
        let (br, bc) = transB == .none ? (k, n) : (n, k)
        let lda = lda ?? max(1, ar), ldb = ldb ?? max(1, br), ldc = ldc ?? max(1, m)
        // A and B are not read when k == 0 and nothing is touched when m or n is 0.
        let reads = m > 0 && n > 0
        for (rows, cols, ld, count, name) in [(ar, ac, lda, a.count, "A"), (br, bc, ldb, b.count, "B"), (m, n, ldc, c.count, "C")]
        where reads && (k > 0 || name == "C") {
            // A leading dimension below the row count is the library's BT_EINVAL to report.
            guard let span = try? CheckedSize.matrixSpan(rows: Int64(rows), cols: Int64(cols), ld: Int64(max(ld, rows)), name) else {
                throw fail(2, "\(name) (\(rows) x \(cols), leading dimension \(ld)) spans more elements than a 64-bit size holds")
            }
            if span > Int64(count) { throw fail(1, "\(name) holds \(count) elements; \(rows) x \(cols) with leading dimension \(ld) spans \(span)") }
        }
        let status = T.gemm(self, transA.cValue, transB.cValue, Int64(m), Int64(n), Int64(k), alpha,
                            a.baseAddress, Int64(lda), b.baseAddress, Int64(ldb), beta, c.baseAddress, Int64(ldc))
        guard status == 0 else { throw fail(status, "m = \(m), n = \(n), k = \(k), lda = \(lda), ldb = \(ldb), ldc = \(ldc)") }
    }

    /// The array form of ``gemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    public func gemm<T: GemmScalar>(_ transA: GemmTranspose = .none, _ transB: GemmTranspose = .none,
                                    m: Int, n: Int, k: Int, alpha: T = 1, a: [T], lda: Int? = nil, b: [T], ldb: Int? = nil,
                                    beta: T = 0, c: inout [T], ldc: Int? = nil) throws(KernelStatusError) {
        let result: Result<Void, KernelStatusError> = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    Result { () throws(KernelStatusError) in
                        try gemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: ap, lda: lda, b: bp, ldb: ldb, beta: beta, c: cp, ldc: ldc)
                    }
                }
            }
        }
        try result.get()
    }
}
