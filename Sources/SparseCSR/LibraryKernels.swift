import MicroKernels

/// The width of the row pointers and column indices handed to the library: the plain
/// entry points take int64_t, the `_i32` ones int32_t.
public enum CSRIndexWidth: String, CaseIterable, Sendable { case i64, i32 }

extension CSRMatrix {
    /// `y = alpha * A * x + beta * y` by the library's `bt_scsr_spmv` / `bt_dcsr_spmv`
    /// (`indices: .i32`: `bt_?csr_spmv_i32` on 32-bit copies of the index arrays).
    /// A pattern matrix multiplies as if every value were 1.
    public func multiply(_ x: [T], alpha: T = 1, beta: T = 0, into y: inout [T], using library: KernelLibrary,
                         indices: CSRIndexWidth) throws {
        guard indices == .i32 else { return try multiply(x, alpha: alpha, beta: beta, into: &y, using: library) }
        precondition(x.count == Int(ncols) && y.count == Int(nrows), "x and y must match A's shape")
        let (rp, ci) = try narrowed()
        let vals = values ?? [T](repeating: 1, count: colIdx.count)
        let name = T.self == Float.self ? "bt_scsr_spmv_i32" : "bt_dcsr_spmv_i32"
        let status: Int32 = rp.withUnsafeBytes { rpb in
            ci.withUnsafeBytes { cib in
                vals.withUnsafeBufferPointer { va in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            if T.self == Float.self {
                                return library.symbol(name, as: KernelLibrary.SCSRSpmvAny.self).map {
                                    $0(nrows, ncols, rpb.baseAddress, cib.baseAddress, cast(va), Float(alpha), cast(xp), Float(beta), mutableCast(yp))
                                } ?? -1
                            }
                            return library.symbol(name, as: KernelLibrary.DCSRSpmvAny.self).map {
                                $0(nrows, ncols, rpb.baseAddress, cib.baseAddress, cast(va), Double(alpha), cast(xp), Double(beta), mutableCast(yp))
                            } ?? -1
                        }
                    }
                }
            }
        }
        try check(status, name, library)
    }

    /// A^T by the library's `bt_scsr_transpose_i32` / `bt_dcsr_transpose_i32` (`indices: .i32`)
    /// or the 64-bit entry points.
    public func transposed(using library: KernelLibrary, indices: CSRIndexWidth) throws -> CSRMatrix<T> {
        guard indices == .i32 else { return try transposed(using: library) }
        let (rp, ci) = try narrowed()
        var trp = [Int32](repeating: 0, count: Int(ncols) + 1)
        var tci = [Int32](repeating: 0, count: colIdx.count)
        var tva: [T]? = values.map { [T](repeating: 0, count: $0.count) }
        let name = T.self == Float.self ? "bt_scsr_transpose_i32" : "bt_dcsr_transpose_i32"
        let status: Int32 = rp.withUnsafeBytes { rpb in
            ci.withUnsafeBytes { cib in
                trp.withUnsafeMutableBytes { trpb in
                    tci.withUnsafeMutableBytes { tcib in
                        withOptionalBuffers(values, &tva) { va, tv in
                            T.self == Float.self
                                ? library.symbol(name, as: KernelLibrary.SCSRTransposeAny.self).map {
                                    $0(nrows, ncols, rpb.baseAddress, cib.baseAddress, cast(va), trpb.baseAddress, tcib.baseAddress, mutableCast(tv)) } ?? -1
                                : library.symbol(name, as: KernelLibrary.DCSRTransposeAny.self).map {
                                    $0(nrows, ncols, rpb.baseAddress, cib.baseAddress, cast(va), trpb.baseAddress, tcib.baseAddress, mutableCast(tv)) } ?? -1
                        }
                    }
                }
            }
        }
        try check(status, name, library)
        return CSRMatrix(trusted: ncols, nrows, trp.map(Int64.init), tci.map(Int64.init), tva, sorted: true, unique: uniqueRows)
    }

    /// The index arrays as int32_t, or an error when a value does not fit.
    private func narrowed() throws -> ([Int32], [Int32]) {
        guard Int32(exactly: nnz) != nil, Int32(exactly: ncols) != nil else {
            throw CSRError.overflow("nnz \(nnz) or ncols \(ncols) does not fit int32")
        }
        return (rowPtr.map { Int32(truncatingIfNeeded: $0) }, colIdx.map { Int32(truncatingIfNeeded: $0) })
    }

    /// `y = alpha * A * x + beta * y` by the library's `bt_scsr_spmv` / `bt_dcsr_spmv`.
    /// A pattern matrix multiplies as if every value were 1.
    public func multiply(_ x: [T], alpha: T = 1, beta: T = 0, into y: inout [T], using library: KernelLibrary) throws {
        precondition(x.count == Int(ncols) && y.count == Int(nrows), "x and y must match A's shape")
        let vals = values ?? [T](repeating: 1, count: colIdx.count)
        let status: Int32 = rowPtr.withUnsafeBufferPointer { rp in
            colIdx.withUnsafeBufferPointer { ci in
                vals.withUnsafeBufferPointer { va in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            if T.self == Float.self {
                                return library.scsrSpmv(nrows, ncols, rp.baseAddress, ci.baseAddress, cast(va), Float(alpha),
                                                        cast(xp), Float(beta), mutableCast(yp))
                            }
                            return library.dcsrSpmv(nrows, ncols, rp.baseAddress, ci.baseAddress, cast(va), Double(alpha),
                                                    cast(xp), Double(beta), mutableCast(yp))
                        }
                    }
                }
            }
        }
        try check(status, T.self == Float.self ? "bt_scsr_spmv" : "bt_dcsr_spmv", library)
    }

    /// A^T by the library's `bt_scsr_transpose` / `bt_dcsr_transpose` (rows sorted).
    public func transposed(using library: KernelLibrary) throws -> CSRMatrix<T> {
        var trp = [Int64](repeating: 0, count: Int(ncols) + 1)
        var tci = [Int64](repeating: 0, count: colIdx.count)
        var tva: [T]? = values.map { [T](repeating: 0, count: $0.count) }
        let status: Int32 = rowPtr.withUnsafeBufferPointer { rp in
            colIdx.withUnsafeBufferPointer { ci in
                trp.withUnsafeMutableBufferPointer { trpp in
                    tci.withUnsafeMutableBufferPointer { tcip in
                        withOptionalBuffers(values, &tva) { va, tv in
                            T.self == Float.self
                                ? library.scsrTranspose(nrows, ncols, rp.baseAddress, ci.baseAddress, cast(va), trpp.baseAddress, tcip.baseAddress, mutableCast(tv))
                                : library.dcsrTranspose(nrows, ncols, rp.baseAddress, ci.baseAddress, cast(va), trpp.baseAddress, tcip.baseAddress, mutableCast(tv))
                        }
                    }
                }
            }
        }
        try check(status, T.self == Float.self ? "bt_scsr_transpose" : "bt_dcsr_transpose", library)
        return CSRMatrix(trusted: ncols, nrows, trp, tci, tva, sorted: true, unique: uniqueRows)
    }

    private func check(_ status: Int32, _ function: String, _ library: KernelLibrary) throws {
        guard status != -1 else { throw KernelStatusError(function: function, status: status, message: "not in this library") }
        guard status == 0 else { throw KernelStatusError(function: function, status: status, message: library.strerror(status)) }
    }
}

extension CSRMatrix {
    /// Arrays the library built: the structure is valid by construction.
    init(trusted nrows: Int64, _ ncols: Int64, _ rowPtr: [Int64], _ colIdx: [Int64], _ values: [T]?, sorted: Bool, unique: Bool) {
        self.nrows = nrows; self.ncols = ncols; self.rowPtr = rowPtr; self.colIdx = colIdx; self.values = values
        sortedRows = sorted
        uniqueRows = unique
    }
}

/// The full structure check of the library (`bt_csr_check`): nil when valid, else the
/// status and the position it names (see kernels.h).
public func libraryCSRCheck(nrows: Int64, ncols: Int64, rowPtr: [Int64], colIdx: [Int64],
                            using library: KernelLibrary) -> (status: Int32, position: Int64)? {
    var bad: Int64 = 0
    let status = rowPtr.withUnsafeBufferPointer { rp in
        colIdx.withUnsafeBufferPointer { ci in library.csrCheck(nrows, ncols, rp.baseAddress, ci.baseAddress, &bad) }
    }
    return status == 0 ? nil : (status, bad)
}

private func withOptionalBuffers<T, R>(_ a: [T]?, _ b: inout [T]?,
                                       _ body: (UnsafeBufferPointer<T>?, UnsafeMutableBufferPointer<T>?) -> R) -> R {
    guard let a, b != nil else { return body(nil, nil) }
    return a.withUnsafeBufferPointer { ap in b!.withUnsafeMutableBufferPointer { bp in body(ap, bp) } }
}

private func cast<T, U>(_ p: UnsafeBufferPointer<T>?) -> UnsafePointer<U>? {
    p?.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: U.self) }
}

private func mutableCast<T, U>(_ p: UnsafeMutableBufferPointer<T>?) -> UnsafeMutablePointer<U>? {
    p?.baseAddress.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: U.self) }
}
