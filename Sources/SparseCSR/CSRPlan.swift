import MicroKernels

/// A library's SpMV plan (`bt_?csr_plan`) on its own copy of a matrix: checked once, its
/// kernel chosen and its column indices compressed where the matrix allows.
public final class CSRPlan<T: CSRScalar> {
    /// How the plan keeps the column indices (`bt_csr_plan_format`).
    public enum Format: Int32, Sendable { case index64 = 64, index32 = 32, delta16 = 16, runs = 1, diagonals = 2, slices = 3 }

    typealias PlanFn = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafeRawPointer?, Int64,
                                       UnsafeMutablePointer<Int32>?) -> OpaquePointer?
    public typealias SSpmvFn = @convention(c) (OpaquePointer?, Float, UnsafePointer<Float>?, Float, UnsafeMutablePointer<Float>?) -> Int32
    public typealias DSpmvFn = @convention(c) (OpaquePointer?, Double, UnsafePointer<Double>?, Double, UnsafeMutablePointer<Double>?) -> Int32

    public let nrows: Int64, ncols: Int64
    public let library: KernelLibrary
    /// The plan handle (for calling `bt_?csr_plan_spmv` directly).
    public let handle: OpaquePointer
    /// The arrays the plan points into, owned here (the library keeps pointers, not copies).
    private let rowPtr: UnsafeMutableBufferPointer<Int64>, colIdx: UnsafeMutableBufferPointer<Int64>
    private let values: UnsafeMutableBufferPointer<T>

    /// Plans `a` with at most `maxBytes` of compressed indices (negative: no cap).
    public init(_ a: CSRMatrix<T>, using library: KernelLibrary, maxBytes: Int64 = -1) throws {
        let f32 = T.self == Float.self, name = f32 ? "bt_scsr_plan" : "bt_dcsr_plan"
        guard let fn = library.symbol(name, as: PlanFn.self) else {
            throw KernelStatusError(function: name, status: -1, message: "not in this library")
        }
        rowPtr = .allocate(capacity: a.rowPtr.count); _ = rowPtr.initialize(from: a.rowPtr)
        colIdx = .allocate(capacity: max(a.colIdx.count, 1)); _ = colIdx.initialize(from: a.colIdx)
        values = .allocate(capacity: max(a.colIdx.count, 1))
        _ = values.initialize(from: a.values ?? [T](repeating: 1, count: a.colIdx.count))
        nrows = a.nrows; ncols = a.ncols; self.library = library
        var st: Int32 = 0
        let h = fn(a.nrows, a.ncols, rowPtr.baseAddress, colIdx.baseAddress, UnsafeRawPointer(values.baseAddress), maxBytes, &st)
        guard let h, st == 0 else {
            rowPtr.deallocate(); colIdx.deallocate(); values.deallocate()
            throw KernelStatusError(function: name, status: st, message: library.lastError)
        }
        handle = h
    }

    deinit {
        library.symbol("bt_csr_plan_destroy", as: (@convention(c) (OpaquePointer?) -> Void).self)?(handle)
        rowPtr.deallocate(); colIdx.deallocate(); values.deallocate()
    }

    /// All the memory the plan holds (`bt_csr_plan_bytes`).
    public var bytes: Int64 { library.symbol("bt_csr_plan_bytes", as: (@convention(c) (OpaquePointer?) -> Int64).self)?(handle) ?? 0 }

    public var format: Format? {
        library.symbol("bt_csr_plan_format", as: (@convention(c) (OpaquePointer?) -> Int32).self).flatMap { Format(rawValue: $0(handle)) }
    }

    /// `y = alpha * A * x + beta * y` by `bt_?csr_plan_spmv`.
    public func multiply(_ x: [T], alpha: T = 1, beta: T = 0, into y: inout [T]) throws {
        precondition(x.count == Int(ncols) && y.count == Int(nrows), "x and y must match A's shape")
        let f32 = T.self == Float.self, name = f32 ? "bt_scsr_plan_spmv" : "bt_dcsr_plan_spmv"
        let status: Int32 = x.withUnsafeBytes { xb in
            y.withUnsafeMutableBytes { yb in
                f32 ? library.symbol(name, as: SSpmvFn.self).map {
                          $0(handle, Float(alpha), xb.baseAddress?.assumingMemoryBound(to: Float.self), Float(beta),
                             yb.baseAddress?.assumingMemoryBound(to: Float.self)) } ?? -1
                    : library.symbol(name, as: DSpmvFn.self).map {
                          $0(handle, Double(alpha), xb.baseAddress?.assumingMemoryBound(to: Double.self), Double(beta),
                             yb.baseAddress?.assumingMemoryBound(to: Double.self)) } ?? -1
            }
        }
        guard status == 0 else { throw KernelStatusError(function: name, status: status, message: library.strerror(status)) }
    }
}
