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
        // Case mkl-csr-transpose-1x100m of `blastune repro`, as the original report ran it.
        let repro = try runExample("repro_mkl_transpose_1x100m", out: out, in: dir, env: ["BLASTUNE_EXACT_THREADS": "1"])
        for t in [1, 2, 64] { #expect(repro.contains("\(t) threads: exact (success)"), "\(repro)") }
    }

    /// Builds Examples/c/<name>.c against the library with pkg-config, runs it, returns its output.
    func runExample(_ name: String, out: LibraryBuilder.Output, in dir: URL, env: [String: String] = [:]) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Examples/c/\(name).c").standardizedFileURL
        let flags = try shell(["pkg-config", "--cflags", "--libs", out.pkgConfig.path])
        #expect(flags.status == 0, "\(flags.output)")
        let exe = dir.appendingPathComponent(name)
        let cc = try shell(["cc", source.path] + flags.output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty } + ["-o", exe.path])
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
