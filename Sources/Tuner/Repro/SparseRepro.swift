import Foundation
import KernelSpec
import MicroKernels
import SparseCSR

/// The sparse reproductions: nonzero counts and row pointers past 2^31, and transposes
/// whose per-thread buffers would grow with threads x columns.
enum SparseRepro {
    /// `bt_scsr_transpose` or `bt_dcsr_transpose` by `T`.
    static func transpose<T: CSRScalar>(_ lib: KernelLibrary, _ nrows: Int64, _ ncols: Int64, _ rp: UnsafePointer<Int64>, _ ci: UnsafePointer<Int64>,
                                        _ va: UnsafePointer<T>?, _ trp: UnsafeMutablePointer<Int64>, _ tci: UnsafeMutablePointer<Int64>,
                                        _ tva: UnsafeMutablePointer<T>?) -> Int32 {
        T.self == Float.self
            ? lib.scsrTranspose(nrows, ncols, rp, ci, va.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) }, trp, tci,
                                tva.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Float.self) })
            : lib.dcsrTranspose(nrows, ncols, rp, ci, va.map { UnsafeRawPointer($0).assumingMemoryBound(to: Double.self) }, trp, tci,
                                tva.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Double.self) })
    }

    /// `bt_scsr_spmv` or `bt_dcsr_spmv` by `T`.
    static func spmv<T: CSRScalar>(_ lib: KernelLibrary, _ nrows: Int64, _ ncols: Int64, _ rp: UnsafePointer<Int64>, _ ci: UnsafePointer<Int64>,
                                   _ va: UnsafePointer<T>, _ alpha: T, _ x: UnsafePointer<T>, _ beta: T, _ y: UnsafeMutablePointer<T>) -> Int32 {
        T.self == Float.self
            ? lib.scsrSpmv(nrows, ncols, rp, ci, UnsafeRawPointer(va).assumingMemoryBound(to: Float.self), Float(alpha),
                           UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Float(beta), UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self))
            : lib.dcsrSpmv(nrows, ncols, rp, ci, UnsafeRawPointer(va).assumingMemoryBound(to: Double.self), Double(alpha),
                           UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), Double(beta), UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self))
    }

    static func letter<T>(_: T.Type) -> String { T.self == Float.self ? "s" : "d" }

    /// Calls `body` on freshly mapped, untouched output and fails when the peak memory it
    /// adds beyond the output passes a quarter of the output; returns the extra bytes (nil
    /// where Linux does not report them). The OpenMP runtime's threads (their stacks, about
    /// 64 KiB each, a cost of the thread count and not of the matrix) are started before, by
    /// a 1 x 1 transpose on as many threads.
    static func boundedExtraMemory(_ ctx: ReproContext, outputBytes: Int64, what: String, _ body: () throws -> Void) throws -> String {
        var one: Int64 = 0, trp: [Int64] = [0, 0], tci: [Int64] = [0], status: Int32 = 0
        let threadsCost = ProcessMemory.extra { status = ctx.library.dcsrTranspose(1, 1, [0, 1], &one, nil, &trp, &tci, nil) }
        try ctx.expectOK(status, "warm-up transpose")
        var failure: Error?
        let extra = ProcessMemory.extra { do { try body() } catch { failure = error } }
        if let failure { throw failure }
        guard let extra else { return "not measured" }
        let beyond = max(0, extra - outputBytes)
        try expect(beyond <= outputBytes / 4,
                   "\(what): \(formatBytes(beyond)) of memory beyond the \(formatBytes(outputBytes)) output (at most 25% allowed)")
        return formatBytes(beyond) + (threadsCost.map { $0 > 1 << 20 ? " (+\(formatBytes($0)) to start the threads)" : "" } ?? "")
    }

    /// Case `mkl-csr-transpose-1x100m` (and part of `transpose-thread-buffers`): a 1 x ncols
    /// matrix with one nonzero at (0, 0), transposed at each requested thread count.
    static func oneRow<T: CSRScalar>(_ ctx: ReproContext, _: T.Type, ncols: Int64, threads: [Int]) throws -> String {
        let rp: [Int64] = [0, 1], ci: [Int64] = [0], va: [T] = [1.5]
        let outputBytes = try CheckedSize.add(CheckedSize.mul(ncols + 1, 8, "column pointers"), 8 + Int64(MemoryLayout<T>.size), "output")
        var extras: [String] = []
        for t in threads {
            try ctx.request(threads: t)
            let trp = try LazyMemory(bytes: Int(ncols + 1) * 8), tci = try LazyMemory(bytes: 8), tva = try LazyMemory(bytes: MemoryLayout<T>.size)
            let p: UnsafeMutablePointer<Int64> = trp.pointer()
            let extra = try boundedExtraMemory(ctx, outputBytes: outputBytes, what: "\(letter(T.self))csr_transpose 1 x \(ncols), \(t) threads") {
                try ctx.expectOK(transpose(ctx.library, 1, ncols, rp, ci, va, p, tci.pointer(), tva.pointer() as UnsafeMutablePointer<T>),
                                 "bt_\(letter(T.self))csr_transpose(1 x \(ncols), \(t) threads)")
            }
            try expect(p[0] == 0, "t_row_ptr[0] is \(p[0]), expected 0")
            for j in 1...Int(ncols) where p[j] != 1 { throw ReproFailure("\(t) threads: t_row_ptr[\(j)] is \(p[j]), expected 1") }
            let r: Int64 = tci.pointer()[0], v: T = tva.pointer()[0]
            try expect(r == 0 && v == 1.5, "\(t) threads: the one entry came back as row \(r), value \(v); expected row 0, value 1.5")
            extras.append("\(t): \(extra)")
        }
        return "bt_\(letter(T.self))csr_transpose of 1 x \(ncols) with one nonzero: exact at \(threads.map(String.init).joined(separator: ", ")) requested threads; memory beyond the \(formatBytes(outputBytes)) output by threads: \(extras.joined(separator: ", "))"
    }

    static func mklOneRow(_ ctx: ReproContext) throws -> [String] {
        let threads = ctx.threadCounts([1, 2, 64])
        return [try oneRow(ctx, Double.self, ncols: 100_000_000, threads: threads),
                try oneRow(ctx, Float.self, ncols: 100_000_000, threads: threads)]
    }

    /// Case `transpose-thread-buffers`: 10,000,000 columns at 1024 requested threads.
    static func threadBuffers(_ ctx: ReproContext) throws -> [String] {
        let threads = ctx.threadCounts([1024])
        let ncols: Int64 = 10_000_000
        return [try oneRow(ctx, Double.self, ncols: ncols, threads: threads),
                try structured(ctx, Double.self, nrows: 1000, ncols: ncols, nnz: 2 * ncols + 12345, threads: threads)]
    }

    /// Case `transpose-nnz-over-2^31`.
    static let bigNnz: Int64 = (1 << 31) + (1 << 24), bigCols: Int64 = 1 << 24, bigRows: Int64 = 4

    static func bigTranspose(_ ctx: ReproContext) throws -> [String] {
        [try structured(ctx, Float.self, nrows: bigRows, ncols: bigCols, nnz: bigNnz, threads: ctx.threadCounts([0]))]
    }

    /// The memory ``structured(_:_:nrows:ncols:nnz:threads:)`` commits: input, output and the
    /// extra memory the library may add (a quarter of the output).
    static func structuredNeeds<T>(_: T.Type, nrows: Int64, ncols: Int64, nnz: Int64) throws -> Int64 {
        let entry = Int64(8 + MemoryLayout<T>.size)
        let input = try CheckedSize.add(CheckedSize.mul(nnz, entry, "input entries"), CheckedSize.mul(nrows + 1, 8, "row pointers"), "input")
        let output = try CheckedSize.add(CheckedSize.mul(nnz, entry, "output entries"), CheckedSize.mul(ncols + 1, 8, "column pointers"), "output")
        return try CheckedSize.add(CheckedSize.add(input, output, "input and output"), output / 4 + (64 << 20), "memory")
    }

    /// A transpose whose result is known in closed form, checked entry by entry without a
    /// reference copy: nonzero p sits in column p mod ncols with value floor(p / ncols),
    /// rows hold equal shares of the nonzeros, so column c of A^T lists the p = c + q ncols
    /// in order, and its q-th entry has value q and row row_of(p).
    /// `boundMemory` false skips the memory bound (for callers sharing their process).
    static func structured<T: CSRScalar>(_ ctx: ReproContext, _: T.Type, nrows: Int64, ncols: Int64, nnz: Int64, threads: [Int],
                                         boundMemory: Bool = true) throws -> String {
        try expect(nnz / ncols < 1 << 24, "internal: values must stay exact in \(T.self)")
        let rpMem = try LazyMemory(bytes: Int(nrows + 1) * 8), ciMem = try LazyMemory(bytes: Int(nnz) * 8)
        let vaMem = try LazyMemory(bytes: Int(nnz) * MemoryLayout<T>.size)
        let rp: UnsafeMutablePointer<Int64> = rpMem.pointer(), ci: UnsafeMutablePointer<Int64> = ciMem.pointer()
        let va: UnsafeMutablePointer<T> = vaMem.pointer()
        for r in 0...nrows { rp[Int(r)] = Int64((Int128(nnz) * Int128(r)) / Int128(nrows)) }
        for p in 0..<Int(nnz) { ci[p] = Int64(p) % ncols; va[p] = T(Int64(p) / ncols) }
        let outputBytes = try CheckedSize.add(CheckedSize.mul(nnz, Int64(8 + MemoryLayout<T>.size), "output"), (ncols + 1) * 8, "output")
        var extras: [String] = []
        for t in threads {
            try ctx.request(threads: t)
            let trpMem = try LazyMemory(bytes: Int(ncols + 1) * 8), tciMem = try LazyMemory(bytes: Int(nnz) * 8)
            let tvaMem = try LazyMemory(bytes: Int(nnz) * MemoryLayout<T>.size)
            let trp: UnsafeMutablePointer<Int64> = trpMem.pointer(), tci: UnsafeMutablePointer<Int64> = tciMem.pointer()
            let tva: UnsafeMutablePointer<T> = tvaMem.pointer()
            let what = "bt_\(letter(T.self))csr_transpose(\(nrows) x \(ncols), nnz \(nnz), \(t) threads)"
            let call = { try ctx.expectOK(transpose(ctx.library, nrows, ncols, rp, ci, va, trp, tci, tva), what) }
            let extra = boundMemory ? try boundedExtraMemory(ctx, outputBytes: outputBytes, what: what, call) : "not measured"
            if !boundMemory { try call() }
            let (per, rest) = (nnz / ncols, nnz % ncols)
            for c in 0...ncols {
                let want = c * per + min(c, rest)
                if trp[Int(c)] != want { throw ReproFailure("\(what): t_row_ptr[\(c)] is \(trp[Int(c)]), expected \(want)") }
            }
            for c in 0..<ncols {
                var q: Int64 = 0
                for at in Int(trp[Int(c)])..<Int(trp[Int(c) + 1]) {
                    let p = c + q * ncols
                    var row: Int64 = 0, hi = nrows - 1   // row_of(p): the last row starting at or before p
                    while row < hi { let mid = (row + hi + 1) / 2; if rp[Int(mid)] <= p { row = mid } else { hi = mid - 1 } }
                    if tci[at] != row || tva[at] != T(q) {
                        throw ReproFailure("\(what): entry \(at) (column \(c), position \(q)) is row \(tci[at]) value \(tva[at]); expected row \(row) value \(q)")
                    }
                    q += 1
                }
            }
            extras.append("\(t == 0 ? "default" : String(t)): \(extra)")
        }
        return "bt_\(letter(T.self))csr_transpose of \(nrows) x \(ncols) with \(nnz) nonzeros: every entry exact; memory beyond the \(formatBytes(outputBytes)) output by threads: \(extras.joined(separator: ", "))"
    }

    /// Case `spmv-nnz-over-2^31`: nnz = 2^31 + 2^20 in untouched zero pages with a few
    /// entries planted past 2^31; one row (the report's 1 x N), then three rows, the second
    /// starting just below 2^31 and the third just above it.
    static func nnzOver2to31(_ ctx: ReproContext) throws -> [String] {
        var checks: [String] = []
        for t in ctx.threadCounts([1, 2]) {
            checks.append(try hugeNnz(ctx, Double.self, rows: 1, threads: t))
            checks.append(try hugeNnz(ctx, Float.self, rows: 3, threads: t))
        }
        return checks
    }

    static let hugeNnzCount: Int64 = (1 << 31) + (1 << 20)

    static func hugeNnz<T: CSRScalar>(_ ctx: ReproContext, _: T.Type, rows: Int, threads: Int) throws -> String {
        let nnz = hugeNnzCount, ncols: Int64 = 1 << 20
        let rp: [Int64] = rows == 1 ? [0, nnz] : [0, (1 << 31) - 3, (1 << 31) + 7, nnz]
        let ciMem = try LazyMemory(bytes: Int(nnz) * 8), vaMem = try LazyMemory(bytes: Int(nnz) * MemoryLayout<T>.size)
        let ci: UnsafeMutablePointer<Int64> = ciMem.pointer(), va: UnsafeMutablePointer<T> = vaMem.pointer()
        let planted: [Int64] = [0, 5, (1 << 31) - 4, (1 << 31) - 3, (1 << 31) - 1, 1 << 31, (1 << 31) + 6, (1 << 31) + 7, nnz - 2, nnz - 1]
        let x = (0..<Int(ncols)).map { T($0 % 7 + 1) }
        var want = [Double](repeating: 0, count: rows)
        for (n, p) in planted.enumerated() {
            ci[Int(p)] = Int64(n * 1000 + 1)
            va[Int(p)] = T(n + 1)
            let r = rp.lastIndex(where: { $0 <= p })!
            want[r] += Double(n + 1) * Double(x[n * 1000 + 1])
        }
        var y = [T](repeating: 4, count: rows)
        try ctx.request(threads: threads)
        let st = x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            spmv(ctx.library, Int64(rows), ncols, rp, ci, va, T(2), xp.baseAddress!, T(0.5), yp.baseAddress!)
        } }
        try ctx.expectOK(st, "bt_\(letter(T.self))csr_spmv(nnz = 2^31 + 2^20)")
        for r in 0..<rows {
            let expected = T(2 * want[r] + 2)
            try expect(y[r] == expected, "\(letter(T.self))csr_spmv nnz 2^31+2^20, \(threads) threads: y[\(r)] is \(y[r]), expected \(expected)")
        }
        return "bt_\(letter(T.self))csr_spmv of \(rows) x 2^20 with nnz 2^31 + 2^20\(rows == 1 ? "" : " (rows split at 2^31 - 3 and 2^31 + 7)"), \(threads == 0 ? "default" : String(threads)) threads: y exact (\(y.map { "\($0)" }.joined(separator: ", ")))"
    }
}
