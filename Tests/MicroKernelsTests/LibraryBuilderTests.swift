import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

@Suite("Building libraries", .serialized)
struct LibraryBuilderTests {
    let config = Fixtures.config(.generic, .tinyBlocks)

    @Test("a generated folder holds every file, and kernels.pc links a C program that calls bt_sgemm")
    func folderAndPkgConfig() throws {
        let dir = try scratchDirectory("folder")
        let out = try LibraryBuilder().build(config, into: dir)
        for f in [out.library, out.source, out.header, out.json, out.pkgConfig] {
            #expect(FileManager.default.fileExists(atPath: f.path), "\(f.lastPathComponent) missing")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
        // The examples link the library through pkg-config and print hand-checked results.
        let sgemm = try runExample("sgemm_example", out: out, in: dir)
        #expect(sgemm.contains("19 22 43 50"), "\(sgemm)") // [1 2; 3 4] x [5 6; 7 8]
        let csr = try runExample("csr_example", out: out, in: dir)
        #expect(csr.contains("y = 3 3"), "\(csr)")
        #expect(csr.contains("t_row_ptr = 0 1 2 3"), "\(csr)")
        #expect(csr.contains("t_col_idx = 0 1 0, t_val = 1 3 2"), "\(csr)")
        // A CBLAS program linked with libkernels.so instead of a BLAS (cblas.h from OpenBLAS's headers).
        let cblasHeader = try shell(["pkg-config", "--cflags", "openblas"]).output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let cblas = try runExample("cblas_example", out: out, in: dir, extraFlags: cblasHeader)
        #expect(cblas.contains("cblas_sgemm: 19 22 43 50") && cblas.contains("cblas_dgemm: 19 22 43 50"), "\(cblas)")
        #expect(cblas.contains("after a bad lda: c[0] = -1") && cblas.contains("parameter 9 (lda)"), "\(cblas)")
        // Case mkl-csr-transpose-1x100m of `blastune repro`, as the original report ran it.
        let repro = try runExample("repro_mkl_transpose_1x100m", out: out, in: dir, env: ["BLASTUNE_EXACT_THREADS": "1"])
        for t in [1, 2, 64] { #expect(repro.contains("\(t) threads: exact (success)"), "\(repro)") }
    }

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples").standardizedFileURL

    @Test("find_package(kernels) with the generated folder on CMAKE_PREFIX_PATH links Examples/cmake (C and C++)")
    func cmakeConfig() throws {
        let dir = try scratchDirectory("cmake")
        let out = try LibraryBuilder().build(config, into: dir.appendingPathComponent("kernels"))
        #expect(FileManager.default.fileExists(atPath: out.cmakeConfig.path))
        let build = dir.appendingPathComponent("build").path
        let configure = try shell(["cmake", "-S", Self.examples.appendingPathComponent("cmake").path, "-B", build,
                                   "-DCMAKE_PREFIX_PATH=\(out.directory.path)"])
        #expect(configure.status == 0, "\(configure.output)")
        let make = try shell(["cmake", "--build", build])
        #expect(make.status == 0, "\(make.output)")
        let c = try shell([build + "/kernels_example"]), cxx = try shell([build + "/kernels_example_cxx"])
        #expect(c.output.contains("C = 19 22 43 50, y = 3 3"), "\(c.output)")
        #expect(cxx.output.contains("C++: C = 19 22 43 50"), "\(cxx.output)")
        // A version newer than the folder's is refused by kernelsConfigVersion.cmake.
        let newer = dir.appendingPathComponent("newer")
        try FileManager.default.createDirectory(at: newer, withIntermediateDirectories: true)
        try "cmake_minimum_required(VERSION 3.16)\nproject(n C)\nfind_package(kernels 99 REQUIRED)\n"
            .write(to: newer.appendingPathComponent("CMakeLists.txt"), atomically: true, encoding: .utf8)
        let refused = try shell(["cmake", "-S", newer.path, "-B", build + "-newer", "-DCMAKE_PREFIX_PATH=\(out.directory.path)"])
        #expect(refused.status != 0 && refused.output.contains("kernels"), "\(refused.output)")
    }

    @Test("Examples/python calls bt_sgemm, bt_dgemm, bt_dcsr_spmv and bt_dcsr_transpose on NumPy and scipy arrays through ctypes")
    func python() throws {
        guard (try? shell(["python3", "-c", "import numpy, scipy"]).status) == 0 else { return } // the issue: where python3 with NumPy is present
        let out = try LibraryBuilder().build(config, into: try scratchDirectory("python"))
        let r = try shell(["python3", Self.examples.appendingPathComponent("python/blastune_kernels.py").path, out.directory.path])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("python example: ok"), "\(r.output)")
    }

    @Test("Examples/swift, a package depending on blastune, calls GEMM, SpMV and transpose of a generated library through the Swift APIs")
    func swiftPackage() throws {
        let out = try LibraryBuilder().build(config, into: try scratchDirectory("swift"))
        // Its own build folder beside this package's, so that it persists between runs and stays out of the source tree.
        let scratch = Self.examples.appendingPathComponent("../.build/examples-swift").standardizedFileURL
        let r = try shell(["swift", "run", "--package-path", Self.examples.appendingPathComponent("swift").path,
                           "--scratch-path", scratch.path, "KernelsExample", out.directory.path])
        #expect(r.status == 0, "\(r.output)")
        for line in ["ok   dgemm 300x200x100", "ok   sgemm A^T", "ok   dcsr_spmv", "ok   dcsr_transpose", "ok   refused: bt_dgemm returned 1",
                     "all checks passed"] {
            #expect(r.output.contains(line), "\(r.output)")
        }
    }

    /// Builds Examples/c/<name>.c against the library with pkg-config, runs it, returns its output.
    func runExample(_ name: String, out: LibraryBuilder.Output, in dir: URL, env: [String: String] = [:], extraFlags: [String] = []) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Examples/c/\(name).c").standardizedFileURL
        let flags = try shell(["pkg-config", "--cflags", "--libs", out.pkgConfig.path])
        #expect(flags.status == 0, "\(flags.output)")
        let exe = dir.appendingPathComponent(name)
        let cc = try shell(["cc", source.path] + flags.output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty } + extraFlags + ["-o", exe.path])
        #expect(cc.status == 0, "\(cc.output)")
        let run = try shell([exe.path], env: env)
        #expect(run.status == 0, "\(run.output)")
        return run.output
    }

    @Test("a compiler failure names the compiler's message and the generated source, and leaves the folder as it was")
    func compilerFailure() throws {
        let dir = try scratchDirectory("fails")
        let good = try LibraryBuilder().build(config, into: dir)
        let before = try Data(contentsOf: good.library)
        let bad = LibraryBuilder(toolchain: Toolchain(cc: "gcc", cflags: ["-fno-such-flag-blastune"]))
        do {
            try bad.build(Fixtures.config(.generic, .analytical), into: dir)
            Issue.record("the build should have failed")
        } catch let ToolchainError.compileFailed(cc, source, message) {
            #expect(cc == "gcc")
            #expect(message.contains("no-such-flag-blastune"))
            #expect(source.hasSuffix("kernels.c") && FileManager.default.fileExists(atPath: source))
        }
        #expect(try Data(contentsOf: good.library) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test("a missing compiler is reported as such")
    func missingCompiler() throws {
        let bad = LibraryBuilder(toolchain: Toolchain(cc: "no-such-cc-blastune"))
        #expect(throws: ToolchainError.self) { try bad.build(config, into: try scratchDirectory("nocc")) }
    }

    @Test("an impossible spec is rejected before any C is written")
    func impossibleSpec() throws {
        var cfg = config
        cfg.library.gemm[0].spec.nr = 40
        let dir = try scratchDirectory("impossible")
        #expect(throws: SpecValidationError.self) { try LibraryBuilder().build(cfg, into: dir) }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("kernels.c").path))
    }
}
