import MicroKernels

/// The width of the row pointers and column indices handed to the library: the plain
/// entry points take int64_t, the `_i32` ones int32_t.
public enum CSRIndexWidth: String, CaseIterable, Sendable { case i64, i32 }

extension CSRMatrix {
    /// `y = alpha * A * x + beta * y` by the library's `bt_scsr_spmv` / `bt_dcsr_spmv`, or
    /// with `indices: .i32` their `_i32` twins on 32-bit copies of the index arrays.
    /// A pattern matrix multiplies as if every value were 1.
    public func multiply(_ x: [T], alpha: T = 1, beta: T = 0, into y: inout [T], using library: KernelLibrary,
                         indices: CSRIndexWidth = .i64) throws {
        precondition(x.count == Int(ncols) && y.count == Int(nrows), "x and y must match A's shape")
        let vals = values ?? [T](repeating: 1, count: colIdx.count)
        let name = (T.self == Float.self ? "bt_scsr_spmv" : "bt_dcsr_spmv") + (indices == .i32 ? "_i32" : "")
        let status: Int32 = try withIndexBytes(indices) { rp, ci in
            vals.withUnsafeBufferPointer { va in
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        T.self == Float.self
                            ? library.symbol(name, as: KernelLibrary.SCSRSpmvAny.self).map {
                                $0(nrows, ncols, rp, ci, cast(va), Float(alpha), cast(xp), Float(beta), mutableCast(yp)) } ?? -1
                            : library.symbol(name, as: KernelLibrary.DCSRSpmvAny.self).map {
                                $0(nrows, ncols, rp, ci, cast(va), Double(alpha), cast(xp), Double(beta), mutableCast(yp)) } ?? -1
                    }
                }
            }
        }
        try check(status, name, library)
    }

    /// A^T by the library's `bt_scsr_transpose` / `bt_dcsr_transpose` (rows sorted), or with
    /// `indices: .i32` their `_i32` twins.
    public func transposed(using library: KernelLibrary, indices: CSRIndexWidth = .i64) throws -> CSRMatrix<T> {
        let wide = indices == .i64
        var trp = [Int64](repeating: 0, count: wide ? Int(ncols) + 1 : 0), tci = [Int64](repeating: 0, count: wide ? colIdx.count : 0)
        var trp32 = [Int32](repeating: 0, count: wide ? 0 : Int(ncols) + 1), tci32 = [Int32](repeating: 0, count: wide ? 0 : colIdx.count)
        var tva: [T]? = values.map { [T](repeating: 0, count: $0.count) }
        let name = (T.self == Float.self ? "bt_scsr_transpose" : "bt_dcsr_transpose") + (wide ? "" : "_i32")
        let status: Int32 = try withIndexBytes(indices) { rp, ci in
            withMutableBytes(&trp, &trp32, wide) { trpb in
                withMutableBytes(&tci, &tci32, wide) { tcib in
                    withOptionalBuffers(values, &tva) { va, tv in
                        T.self == Float.self
                            ? library.symbol(name, as: KernelLibrary.SCSRTransposeAny.self).map {
                                $0(nrows, ncols, rp, ci, cast(va), trpb, tcib, mutableCast(tv)) } ?? -1
                            : library.symbol(name, as: KernelLibrary.DCSRTransposeAny.self).map {
                                $0(nrows, ncols, rp, ci, cast(va), trpb, tcib, mutableCast(tv)) } ?? -1
                    }
                }
            }
        }
        try check(status, name, library)
        return CSRMatrix(trusted: ncols, nrows, wide ? trp : trp32.map(Int64.init), wide ? tci : tci32.map(Int64.init),
                         tva, sorted: true, unique: uniqueRows)
    }

    /// Calls `body` with the index arrays at the width asked (32-bit copies, or an error when
    /// a value does not fit).
    private func withIndexBytes<R>(_ width: CSRIndexWidth, _ body: (UnsafeRawPointer?, UnsafeRawPointer?) -> R) throws -> R {
        if width == .i64 {
            return rowPtr.withUnsafeBytes { rp in colIdx.withUnsafeBytes { ci in body(rp.baseAddress, ci.baseAddress) } }
        }
        guard Int32(exactly: nnz) != nil, Int32(exactly: ncols) != nil else {
            throw CSRError.overflow("nnz \(nnz) or ncols \(ncols) does not fit int32")
        }
        let rp32 = rowPtr.map { Int32(truncatingIfNeeded: $0) }, ci32 = colIdx.map { Int32(truncatingIfNeeded: $0) }
        return rp32.withUnsafeBytes { rp in ci32.withUnsafeBytes { ci in body(rp.baseAddress, ci.baseAddress) } }
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

/// The bytes of `wide` or of `narrow`, whichever the width asks for.
private func withMutableBytes<R>(_ wide: inout [Int64], _ narrow: inout [Int32], _ useWide: Bool,
                                 _ body: (UnsafeMutableRawPointer?) -> R) -> R {
    useWide ? wide.withUnsafeMutableBytes { body($0.baseAddress) } : narrow.withUnsafeMutableBytes { body($0.baseAddress) }
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
