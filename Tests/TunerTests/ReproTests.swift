import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Testing
@testable import Tuner

private func context(threads: [Int]? = nil) throws -> ReproContext {
    ReproContext(library: try modelLibrary.get(), scale: .ci, threads: threads)
}

/// Runs `blastune repro ARGS`; returns the exit status and stdout + stderr.
private func repro(_ args: [String]) throws -> (status: Int32, output: String) {
    try runCommand([blastuneExecutable, "repro"] + args)
}

@Suite("blastune repro", .serialized)
struct ReproRunTests {
    @Test("`repro run --all --scale ci` passes every case this machine can hold, and says why it skips the others")
    func allCases() throws {
        let r = try repro(["run", "--all", "--scale", "ci"])
        #expect(r.status == 0, "\(r.output)")
        for c in ReproCatalog.cases {
            let line = r.output.split(separator: "\n").first { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) == c.name }
            guard let line else { Issue.record("no verdict for \(c.name):\n\(r.output)"); continue }
            if let why = ReproRunner.skipReason(c, scale: .ci) {
                // What it needs is fixed; what is available moves with the machine's load.
                #expect(line.hasPrefix("SKIPPED") && line.contains(why.prefix { $0 != ";" }) && line.contains("available"), "\(line)")
            } else {
                #expect(line.hasPrefix("PASS"), "\(line)")
                #expect(line.contains(" s  peak "), "time and peak memory: \(line)")
            }
        }
    }

    @Test("a library that keeps sizes in 32-bit ints fails the cases, by crash or wrong result, and the run exits 1")
    func int32LibraryFails() throws {
        let src = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Faulty/int32_kernels.c")
        let lib = try tempDirectory("int32").appendingPathComponent("libkernels.so")
        try Toolchain(cc: "cc").buildExecutable(sources: [src], output: lib, flags: ["-shared", "-fPIC", "-O1", "-fwrapv"])
        let names = ["mkl-csr-transpose-1x100m", "dense-flat-index-2^31", "gemm-m-over-2^31", "spmv-nnz-over-2^31", "transpose-thread-buffers"]
        let r = try repro(["run"] + names + ["--library", lib.path])
        #expect(r.status == 1, "\(r.output)")
        for n in names { #expect(r.output.contains("FAIL     \(n)"), "\(n):\n\(r.output)") }
        #expect(r.output.contains("crashed with signal 11"), "\(r.output)")
    }

    @Test("a case named on the command line that this machine cannot hold exits 2 with what it needs and what there is")
    func namedSkip() throws {
        let big = try #require(ReproCatalog.named("transpose-nnz-over-2^31"))
        guard let why = ReproRunner.skipReason(big, scale: .ci) else { return } // a machine with ~60 GiB runs it
        #expect(why.contains("needs 54.6 GiB of memory") && why.contains("available"), "\(why)")
        let r = try repro(["run", big.name])
        #expect(r.status == 2, "\(r.output)")
        #expect(r.output.contains("SKIPPED  \(big.name)"), "\(r.output)")
    }

    @Test("bad requests: an unknown case, names with --all, nothing to run")
    func badRequests() throws {
        for args in [["run", "no-such-case"], ["run", "--all", "gemm-m-over-2^31"], ["run"], ["run", "--all", "--threads", "x"]] {
            let r = try repro(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.output.contains("Error:"), "\(args): \(r.output)")
        }
        let list = try repro(["list"])
        #expect(list.status == 0)
        #expect(list.output.split(separator: "\n").count == ReproCatalog.cases.count)
    }
}

/// The checked arithmetic each case exercises, at sizes near 2^31, 2^32 and 2^63.
@Suite("repro arithmetic")
struct ReproArithmeticTests {
    let big: Int64 = 1 << 62

    @Test("mkl-csr-transpose-1x100m, transpose-thread-buffers: output spans past 2^63 are refused untouched; thread requests past 1024 refused; the closed-form checker agrees with the library at 1, 2 and 7 threads")
    func transposeArithmetic() throws {
        let lib = try modelLibrary.get()
        var trp: [Int64] = [-7, -7], tci: [Int64] = [-7]
        var va: [Double] = [1], tva: [Double] = [-7]
        for ncols: Int64 in [Int64.max, big, (Int64.max - 1) / 8, Int64.max / 8 + 1] {
            let st = lib.dcsrTranspose(1, ncols, [0, 1], [0], &va, &trp, &tci, &tva)
            #expect(st == KernelLibrary.Status.overflow.rawValue, "ncols \(ncols): \(st)")
        }
        #expect(trp == [-7, -7] && tci == [-7] && tva == [-7])
        #expect(lib.setNumThreads(1025) == KernelLibrary.Status.invalid.rawValue)
        #expect(lib.setNumThreads(1024) == 0)
        lib.setNumThreads(0)
        setenv("BLASTUNE_EXACT_THREADS", "1", 1)
        let ctx = try context(threads: [1, 2, 7])
        // Other tests share this process: its memory is no measure of the call's (the runs in
        // child processes above bound it).
        let line = try SparseRepro.structured(ctx, Float.self, nrows: 5, ncols: 1 << 10, nnz: (1 << 20) + 3, threads: [1, 2, 7], boundMemory: false)
        #expect(line.contains("every entry exact"))
        lib.setNumThreads(0)
    }

    @Test("dense-flat-index-2^31: spans of huge leading dimensions are exact past 2^31 and 2^32, and refused past 2^63")
    func flatIndexArithmetic() throws {
        let ld: Int64 = (1 << 31) + 64
        #expect(try CheckedSize.matrixSpan(rows: 1000, cols: 3, ld: ld, "C") == 2 * ld + 1000)
        #expect(try CheckedSize.matrixSpan(rows: 46341, cols: 46341, ld: 46341, "C") == 46341 * 46341)
        #expect(46341 * 46341 > Int64(Int32.max))
        #expect(throws: SizeOverflowError.self) { try CheckedSize.matrixSpan(rows: 1, cols: (1 << 32) + 1, ld: 1 << 31, "C") }
        let lib = try modelLibrary.get()
        var c: [Float] = [-7, -7, -7, -7]
        let a: [Float] = [1, 1, 1, 1], b: [Float] = [1, 1, 1, 1]
        // C spans (n - 1) * ldc + m elements: past 2^63 bytes.
        for ldc: Int64 in [big, Int64.max / 4, (1 << 61) + 1] {
            #expect(lib.sgemm(102, 111, 111, 2, 3, 1, 1, a, 2, b, 1, 0, &c, ldc) == KernelLibrary.Status.overflow.rawValue, "ldc \(ldc)")
        }
        #expect(c == [-7, -7, -7, -7])
    }

    @Test("gemm-m-over-2^31: m past 2^31 is a size, not a wrapped int; m whose bytes pass 2^63 is refused untouched")
    func longMArithmetic() throws {
        let lib = try modelLibrary.get()
        var c: [Double] = [-7, -7]
        let a: [Double] = [1, 1], b: [Double] = [1]
        for m: Int64 in [big, Int64.max / 8 + 1, Int64.max] {
            let st = lib.dgemm(102, 111, 111, m, 1, 1, 1, a, m, b, 1, 0, &c, m)
            #expect(st == KernelLibrary.Status.overflow.rawValue, "m \(m): \(st)")
        }
        // What a 32-bit caller's m = 2^31 + 1 becomes: a negative size, refused.
        #expect(lib.dgemm(102, 111, 111, Int64(Int32(truncatingIfNeeded: (1 << 31) + 1)), 1, 1, 1, a, 1, b, 1, 0, &c, 1) == KernelLibrary.Status.invalid.rawValue)
        #expect(c == [-7, -7])
        #expect(try CheckedSize.mul((1 << 31) + 1, 8, "C") == (1 << 34) + 8)
    }

    @Test("spmv-nnz-over-2^31: nnz near 2^63 is refused; a row pointer wrapped negative is invalid; y untouched")
    func nnzArithmetic() throws {
        let lib = try modelLibrary.get()
        var y: [Double] = [-7]
        let x: [Double] = [1], ci: [Int64] = [0], va: [Double] = [1]
        for nnz: Int64 in [Int64.max, big, Int64.max / 8 + 1] {
            let st = lib.dcsrSpmv(1, 1, [0, nnz], ci, va, 1, x, 0, &y)
            #expect(st == KernelLibrary.Status.overflow.rawValue, "nnz \(nnz): \(st)")
        }
        for wrapped: Int64 in [Int64(Int32.min), -1] {
            #expect(lib.dcsrSpmv(1, 1, [0, wrapped], ci, va, 1, x, 0, &y) == KernelLibrary.Status.invalid.rawValue)
        }
        #expect(y == [-7])
        #expect(SparseRepro.hugeNnzCount > Int64(Int32.max) && SparseRepro.hugeNnzCount < Int64(UInt32.max))
    }

    @Test("matrix-market-huge-header: sizes at 2^31, 2^32 and 2^63 - 1 are read exactly; 2^63 and counts whose bytes pass 2^63 are refused")
    func matrixMarketArithmetic() throws {
        let dir = try tempDirectory("mm-arith")
        func header(_ size: String, _ banner: String = "coordinate real general") throws -> MatrixMarketHeader {
            let path = dir.appendingPathComponent("h.mtx").path
            try "%%MatrixMarket matrix \(banner)\n\(size)\n".write(toFile: path, atomically: true, encoding: .utf8)
            return try MatrixMarket.header(path)
        }
        for n in [Int64(1) << 31, 1 << 32, Int64.max] {
            let h = try header("\(n) 1 \(n)")
            #expect(h.nrows == n && h.entries == n)
        }
        #expect(throws: MatrixMarketError.self) { try header("9223372036854775808 1 1") }
        #expect(throws: MatrixMarketError.self) { try header("4294967296 4294967296", "array real general") }  // 2^64 entries
        let arr = try header("46341 46341", "array real general")
        #expect(arr.entries == 46341 * 46341)
        for probe in MatrixMarketRepro.probes where probe.error != nil {
            let path = dir.appendingPathComponent("p.mtx").path
            try probe.text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: MatrixMarketError.self, "\(probe.name)") { try MatrixMarket.read(path, as: Double.self) }
        }
    }

    @Test("transpose-nnz-over-2^31: the memory the case needs is computed exactly, and refused when it passes 2^63")
    func bigTransposeNeeds() throws {
        let nnz = SparseRepro.bigNnz, cols = SparseRepro.bigCols
        let output = nnz * 12 + (cols + 1) * 8
        let want = nnz * 12 + 5 * 8 + output + output / 4 + (64 << 20)
        #expect(try SparseRepro.structuredNeeds(Float.self, nrows: 4, ncols: cols, nnz: nnz) == want)
        #expect(want > 50 << 30)
        #expect(throws: SizeOverflowError.self) { try SparseRepro.structuredNeeds(Double.self, nrows: 4, ncols: cols, nnz: big) }
    }

    @Test("openblas-mnk-threading, openblas-gemv-m-4194305, libxsmm-ld-16bit: the products that overflowed there are exact here")
    func productArithmetic() throws {
        #expect(try CheckedSize.product([1291, 1291, 1291], "mnk") > Int64(Int32.max))
        #expect(try CheckedSize.product([1626, 1626, 1626], "mnk") > Int64(UInt32.max))
        #expect(throws: SizeOverflowError.self) { try CheckedSize.product([1 << 21, 1 << 21, 1 << 21], "mnk") }
        #expect(try CheckedSize.mul(4_194_305, 8, "gemv") > 32 << 20)
        #expect(try CheckedSize.mul((1 << 28) + 8, 8, "stride") > Int64(Int32.max))
        let lib = try modelLibrary.get()
        var c: [Double] = [-7]
        // lda past 2^63 / 8 with k = 2: A's byte span overflows; refused untouched.
        #expect(lib.dgemm(102, 111, 111, 1, 1, 2, 1, [1, 1], Int64.max / 4, [1, 1], 2, 0, &c, 1) == KernelLibrary.Status.overflow.rawValue)
        #expect(c == [-7])
    }
}
