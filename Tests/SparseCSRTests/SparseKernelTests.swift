import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Testing

/// Element-type hooks for the tests.
protocol TestScalar: CSRScalar {
    static var eps: Double { get }
}
extension Float: TestScalar { static var eps: Double { Double(Float.ulpOfOne) } }
extension Double: TestScalar { static var eps: Double { Double.ulpOfOne } }

struct LibraryCase: CustomTestStringConvertible, Sendable {
    let isa: ISA
    let kind: SparseFixtures.Kind
    var testDescription: String { "\(isa.rawValue)-\(kind.rawValue)" }
    static var all: [LibraryCase] {
        SparseFixtures.runnableISAs.flatMap { isa in SparseFixtures.Kind.allCases.map { LibraryCase(isa: isa, kind: $0) } }
    }
}

@Suite("Generated sparse kernels against the Swift references")
struct SparseKernelTests {
    static let threadCounts = [1, 2, 64]

    /// y from the library against the Double-accumulating reference, with a bound that
    /// grows with the row length.
    func checkSpmv<T: TestScalar>(_ a: CSRMatrix<T>, _ lib: KernelLibrary, alpha: T, beta: T, label: String,
                                  indices: CSRIndexWidth = .i64, plan: CSRPlan<T>? = nil) throws {
        let x = (0..<Int(a.ncols)).map { T(Double(($0 * 37) % 101) / 50 - 1) }
        let y0 = (0..<Int(a.nrows)).map { T(Double(($0 * 11) % 13) / 6 - 1) }
        var ours = beta == 0 ? [T](repeating: .nan, count: y0.count) : y0
        var ref = y0
        if let plan {
            try plan.multiply(x, alpha: alpha, beta: beta, into: &ours)
        } else {
            try a.multiply(x, alpha: alpha, beta: beta, into: &ours, using: lib, indices: indices)
        }
        ReferenceKernels.spmv(a, alpha: alpha, x: x, beta: beta, y: &ref)
        for r in 0..<Int(a.nrows) {
            var absSum = 0.0
            for p in Int(a.rowPtr[r])..<Int(a.rowPtr[r + 1]) { absSum += abs(Double(a.values![p]) * Double(x[Int(a.colIdx[p])])) }
            let len = Double(a.rowPtr[r + 1] - a.rowPtr[r])
            let bound = T.eps * (len + 4) * (abs(Double(alpha)) * absSum + abs(Double(beta) * Double(y0[r]))) + 1e-30
            let err = abs(Double(ours[r]) - Double(ref[r]))
            #expect(err <= bound, "\(label): row \(r): \(ours[r]) vs \(ref[r]) (bound \(bound))")
            if !(err <= bound) { return }
        }
    }

    /// Runs `body` for every matrix at every thread count, alone on the library.
    func forEachCase<T: TestScalar>(_: T.Type, _ c: LibraryCase, _ body: (KernelLibrary, Int, String, CSRMatrix<T>) throws -> Void) throws {
        let lib = try SparseFixtures.library(c.isa, c.kind)
        try SparseFixtures.exclusive {
            for threads in Self.threadCounts {
                lib.setNumThreads(threads)
                defer { lib.setNumThreads(0) }
                for (name, a) in SparseFixtures.matrices(T.self) { try body(lib, threads, name, a) }
            }
        }
    }

    func spmvAll<T: TestScalar>(_: T.Type, _ c: LibraryCase) throws {
        try forEachCase(T.self, c) { lib, threads, name, a in
            for (alpha, beta) in [(T(1), T(0)), (T(-0.5), T(2)), (T(0), T(3)), (T(2), T(1))] {
                try checkSpmv(a, lib, alpha: alpha, beta: beta, label: "\(name) t\(threads) alpha \(alpha) beta \(beta)")
            }
            // The int32 entry points on the same matrices.
            try checkSpmv(a, lib, alpha: T(-0.5), beta: T(2), label: "\(name) i32 t\(threads)", indices: .i32)
            // Plans: the most compact form the matrix allows, caps that leave the 32-bit copy or
            // the 16-bit deltas at most, and no copy.
            let narrow = (0..<Int(a.nrows)).allSatisfy { r in
                let cols = a.colIdx[Int(a.rowPtr[r])..<Int(a.rowPtr[r + 1])]
                return (cols.max() ?? 0) - (cols.min() ?? 0) < 65536
            }
            // Runs of consecutive columns within rows.
            let runsPerRow = Self.runsPerRow(a)
            let runs = Int64(runsPerRow.reduce(0, +)), single = runsPerRow.allSatisfy { $0 <= 1 }
            let header = try CSRPlan(a, using: lib, maxBytes: 0).bytes
            let d16 = a.nnz * 2 + a.nrows * 8, c32 = a.nnz * 4, rb = single ? a.nrows * 8 : (a.nrows + 1) * 8 + runs * 12
            let dia = Self.diagonalBytes(a), sell = Self.sliceBytes(a, lanes: c.isa == .generic ? 0 : c.isa.lanes(T.self == Float.self ? .f32 : .f64))
            // Every cap on 2 threads; the uncapped plan at each thread count.
            for cap: Int64 in threads == 2 ? [-1, max(c32, 1), max(d16, 1), max(dia, 1), max(sell, 1), 0] : [-1] {
                let plan = try CSRPlan(a, using: lib, maxBytes: cap)
                let form: CSRPlan<T>.Format = a.nnz == 0 || cap == 0 ? .index64
                    : a.nnz >= 6 * runs && (cap < 0 || rb <= cap) ? .runs
                    : narrow && (cap < 0 || d16 <= cap) ? .delta16 : cap < 0 || c32 <= cap ? .index32 : .index64
                // By diagonals where that streams fewer bytes than the form with the values and row pointers.
                let size = Int64(MemoryLayout<T>.size), formBytes: [CSRPlan<T>.Format: Int64] = [.runs: rb, .delta16: d16, .index32: c32, .index64: a.nnz * 8]
                let streamed = Double(a.nnz * size + (a.nrows + 1) * 8 + formBytes[form]!)
                // Else in slices of one vector's rows where that streams no more.
                let want: CSRPlan<T>.Format = a.nnz > 0 && dia > 0 && Double(dia) <= streamed && (cap < 0 || dia <= cap) ? .diagonals
                    : a.nnz > 0 && sell > 0 && Double(sell) <= streamed && (cap < 0 || sell <= cap) ? .slices : form
                #expect(plan.format == want, "\(name): plan with cap \(cap) kept \(String(describing: plan.format)), expected \(want)")
                #expect(plan.bytes == header + [.runs: rb, .delta16: d16, .index32: c32, .index64: 0, .diagonals: dia, .slices: sell][want]!,
                        "\(name): plan bytes")
                try checkSpmv(a, lib, alpha: T(-0.5), beta: T(2), label: "\(name) plan \(want) t\(threads)", plan: plan)
            }
        }
    }

    /// The bytes of a plan by diagonals (per chunk of 64 rows, its diagonals: 64 values, a
    /// mask and an offset each; a start per chunk), or -1 where a chunk has more than 64.
    static func diagonalBytes<T: CSRScalar>(_ a: CSRMatrix<T>) -> Int64 {
        var cells: Int64 = 0
        for r0 in stride(from: 0, to: Int(a.nrows), by: 64) {
            var offsets = Set<Int64>()
            for r in r0..<min(r0 + 64, Int(a.nrows)) {
                for p in Int(a.rowPtr[r])..<Int(a.rowPtr[r + 1]) { offsets.insert(a.colIdx[p] - Int64(r)) }
            }
            if offsets.count > 64 { return -1 }
            cells += Int64(offsets.count)
        }
        return cells * (64 * Int64(MemoryLayout<T>.size) + 16) + ((a.nrows + 63) / 64 + 1) * 8
    }

    /// The bytes of a plan in slices of `lanes` rows (per slice its entries padded to the
    /// longest row, 32-bit columns and values; a start per slice and a length per row), or -1
    /// (no slices on this ISA, or columns beyond int32).
    static func sliceBytes<T: CSRScalar>(_ a: CSRMatrix<T>, lanes: Int) -> Int64 {
        guard lanes > 0, a.ncols <= Int64(Int32.max) else { return -1 }
        var padded: Int64 = 0
        for r0 in stride(from: 0, to: Int(a.nrows), by: lanes) {
            padded += Int64(lanes) * (r0..<min(r0 + lanes, Int(a.nrows))).map { a.rowPtr[$0 + 1] - a.rowPtr[$0] }.max()!
        }
        let slices = (a.nrows + Int64(lanes) - 1) / Int64(lanes)
        return padded * Int64(MemoryLayout<T>.size + 4) + (slices + 1) * 8 + slices * Int64(lanes) * 4
    }

    @Test("a plan in slices is exact where x is infinite in column 0, where the padding points", arguments: LibraryCase.all)
    func slicesExact(_ c: LibraryCase) throws {
        let lib = try SparseFixtures.library(c.isa, c.kind)
        try SparseFixtures.exclusive {
            // 200 rows of 16 entries, every eighth of 15 (a slice pads it), spread over 200,000
            // columns (no 16-bit deltas), none in column 0.
            let n = 200_000
            var rp: [Int64] = [0], ci: [Int64] = [], va: [Double] = []
            for r in 0..<200 {
                let cols = Set((0..<(r % 8 == 7 ? 15 : 16)).map { j in Int64(1 + (r * 7919 + j * 12347) % (n - 1)) }).sorted()
                for col in cols { ci.append(col); va.append(Double(col % 5) - 2) }
                rp.append(Int64(ci.count))
            }
            let a = try CSRMatrix(nrows: 200, ncols: Int64(n), rowPtr: rp, colIdx: ci, values: va)
            let plan = try CSRPlan(a, using: lib)
            if c.isa != .generic { #expect(plan.format == .slices) }
            var x = (0..<n).map { Double($0 % 3) - 1 }
            x[0] = .infinity
            var y = [Double](repeating: .nan, count: 200), ref = [Double](repeating: 0, count: 200)
            try plan.multiply(x, into: &y)
            ReferenceKernels.spmv(a, alpha: 1, x: x, beta: 0, y: &ref)
            #expect(y == ref, "the first difference: \(zip(y, ref).enumerated().first { $0.element.0 != $0.element.1 }.map { "row \($0.offset): \($0.element)" } ?? "")")
        }
    }

    @Test("a plan by diagonals is exact where x is infinite off the matrix's entries: masked, not multiplied by a zero", arguments: LibraryCase.all)
    func diagonalsExact(_ c: LibraryCase) throws {
        let lib = try SparseFixtures.library(c.isa, c.kind)
        try SparseFixtures.exclusive {
            // Tridiagonal over 300 rows, except that row 130 (inside the third chunk) lacks its entry
            // in column 129, and x[129] is infinite: only rows 128 and 129 see it.
            var rp: [Int64] = [0], ci: [Int64] = [], va: [Double] = []
            for r in 0..<300 {
                for col in [r - 1, r, r + 1] where col >= 0 && col < 300 && !(r == 130 && col == 129) {
                    ci.append(Int64(col)); va.append(Double(col % 7) - 3)
                }
                rp.append(Int64(ci.count))
            }
            let a = try CSRMatrix(nrows: 300, ncols: 300, rowPtr: rp, colIdx: ci, values: va)
            let plan = try CSRPlan(a, using: lib)
            #expect(plan.format == .diagonals)
            var x = (0..<300).map { Double($0 % 5) - 2 }
            x[129] = .infinity
            var y = [Double](repeating: 0, count: 300), ref = y
            try plan.multiply(x, into: &y)
            ReferenceKernels.spmv(a, alpha: 1, x: x, beta: 0, y: &ref)
            for r in 0..<300 {
                #expect(y[r] == ref[r] || (y[r].isNaN && ref[r].isNaN), "row \(r): \(y[r]) against \(ref[r])")
            }
            #expect(y[130].isFinite && !y[129].isFinite)
        }
    }

    /// Per row, the runs of consecutive columns (a run ends where a column is not its
    /// predecessor's plus one).
    static func runsPerRow<T: CSRScalar>(_ a: CSRMatrix<T>) -> [Int] {
        var out: [Int] = []
        for r in 0..<Int(a.nrows) {
            var n = 0
            for p in Int(a.rowPtr[r])..<Int(a.rowPtr[r + 1]) where p == Int(a.rowPtr[r]) || a.colIdx[p] != a.colIdx[p - 1] + 1 { n += 1 }
            out.append(n)
        }
        return out
    }

    @Test("SpMV f32 over every generator at 1, 2 and 64 threads", arguments: LibraryCase.all)
    func spmvF32(_ c: LibraryCase) throws { try spmvAll(Float.self, c) }

    @Test("SpMV f64 over every generator at 1, 2 and 64 threads", arguments: LibraryCase.all)
    func spmvF64(_ c: LibraryCase) throws { try spmvAll(Double.self, c) }

    func transposeAll<T: TestScalar>(_: T.Type, _ c: LibraryCase) throws {
        try forEachCase(T.self, c) { lib, threads, name, a in
                    let ref = ReferenceKernels.transpose(a)
                    let ours = try a.transposed(using: lib)
                    let same = ours == ref
                    #expect(same, "\(name) at \(threads) threads")
                    // Pattern only.
                    let pattern = try CSRMatrix<T>(nrows: a.nrows, ncols: a.ncols, rowPtr: a.rowPtr, colIdx: a.colIdx, values: nil)
                    let pt = try pattern.transposed(using: lib)
                    let samePattern = pt.rowPtr == ref.rowPtr && pt.colIdx == ref.colIdx && pt.values == nil
                    #expect(samePattern, "\(name) pattern at \(threads) threads")
                    // Twice transposed: A with its rows sorted (stably).
                    let back = try ours.transposed(using: lib)
                    let sameBack = back.rowPtr == a.rowPtr && back == ReferenceKernels.transpose(ref)
                    #expect(sameBack, "\(name) twice at \(threads) threads")
                    let ours32 = try a.transposed(using: lib, indices: .i32)
                    #expect(ours32 == ref, "\(name) with int32 indices at \(threads) threads")
                    let pt32 = try pattern.transposed(using: lib, indices: .i32)
                    #expect(pt32.rowPtr == ref.rowPtr && pt32.colIdx == ref.colIdx && pt32.values == nil, "\(name) pattern, int32, at \(threads) threads")
        }
    }

    @Test("Transpose f32 (values and pattern) over every generator at 1, 2 and 64 threads", arguments: LibraryCase.all)
    func transposeF32(_ c: LibraryCase) throws { try transposeAll(Float.self, c) }

    @Test("Transpose f64 (values and pattern) over every generator at 1, 2 and 64 threads", arguments: LibraryCase.all)
    func transposeF64(_ c: LibraryCase) throws { try transposeAll(Double.self, c) }

    @Test("A 1 x 100,000,000 transpose (the MKL LP64 crash) is exact")
    func hugeRowVector() throws {
        let isa = SparseFixtures.runnableISAs.first!
        let lib = try SparseFixtures.library(isa, .defaults)
        let n = 100_000_000
        let a = try CSRMatrix<Float>(nrows: 1, ncols: Int64(n), rowPtr: [0, Int64(n)],
                                     colIdx: [Int64](unsafeUninitializedCapacity: n) { b, c in
                                         for i in 0..<n { b[i] = Int64(i) }
                                         c = n
                                     },
                                     values: [Float](unsafeUninitializedCapacity: n) { b, c in
                                         for i in 0..<n { b[i] = Float(i & 1023) }
                                         c = n
                                     })
        try SparseFixtures.exclusive {
            for threads in [1, 64] {
                lib.setNumThreads(threads)
                defer { lib.setNumThreads(0) }
                let t = try a.transposed(using: lib)
                #expect(t.nrows == Int64(n) && t.ncols == 1 && t.nnz == Int64(n))
                var bad = -1
                t.rowPtr.withUnsafeBufferPointer { rp in
                    t.colIdx.withUnsafeBufferPointer { ci in
                        t.values!.withUnsafeBufferPointer { v in
                            for i in 0..<n where rp[i] != Int64(i) || ci[i] != 0 || v[i] != Float(i & 1023) { bad = i; break }
                        }
                    }
                }
                #expect(bad == -1 && t.rowPtr[n] == Int64(n), "first wrong entry at \(bad), \(threads) threads")
            }
        }
    }
}

@Suite("Generated sparse kernels under AddressSanitizer and UBSan")
struct SparseSanitizerTests {
    static let harness = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/csr_harness.c")

    @Test("SpMV and transpose run clean with exact-size arrays at 1, 2 and 64 threads", arguments: LibraryCase.all)
    func sanitized(_ c: LibraryCase) throws {
        let out = try SparseFixtures.cache.build(SparseFixtures.config(c.isa, c.kind))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-tests-\(getpid())/csr-asan-\(c.testDescription)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let exe = dir.appendingPathComponent("harness").path
        let build = try runCommand(["gcc", "-std=gnu11", "-O0", "-g", "-fopenmp", "-fsanitize=address,undefined",
                                    "-fno-sanitize-recover=all", "-I", out.directory.path, out.source.path,
                                    Self.harness.path, "-o", exe, "-lm"])
        #expect(build.status == 0, "\(build.output)")
        let run = try runCommand([exe], environment: ["ASAN_OPTIONS": "detect_leaks=1"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains(" 0 failed"), "\(run.output)")
        #expect(!run.output.contains("runtime error"), "\(run.output)")
    }
}
