import Foundation
import KernelSpec
import MicroKernels
import Testing

/// The tuned GEMM under programs built for another BLAS: reference LAPACK (Debian's
/// liblapack3, whose dgetrf_ and dpotrf_ call dgemm_) with libkernels.so LD_PRELOADed or
/// linked in front, and a gfortran program; each checks its answers and that the tuned
/// kernels served its calls.
@Suite("Interposition", .serialized)
struct InterpositionTests {
    static let lapackDir = "/usr/lib/x86_64-linux-gnu/lapack"
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/interpose").standardizedFileURL

    /// The served count printed by Examples/interpose/lapack_interpose.c.
    func served(_ output: String) -> String? {
        output.range(of: "tuned Fortran GEMM calls: ").map { String(output[$0.upperBound...].prefix { !$0.isNewline }) }
    }

    @Test("reference LAPACK's dgetrf_ and dpotrf_ run on the tuned dgemm_ when libkernels.so is LD_PRELOADed or linked in front, with residuals under LAPACK's threshold; without it they run on the installed BLAS")
    func referenceLAPACK() throws {
        try #require(FileManager.default.fileExists(atPath: Self.lapackDir + "/liblapack.so.3"), "needs liblapack3 (installed by scripts/setup.sh)")
        let (out, _) = try Fixtures.library(MachineProfile.current().bestISA, .analytical)
        let dir = try scratchDirectory("interpose")
        let source = Self.examples.appendingPathComponent("lapack_interpose.c").path
        let lapack = ["-L", Self.lapackDir, "-Wl,-rpath," + Self.lapackDir, "-llapack", "-lm", "-ldl"]
        let plain = dir.appendingPathComponent("plain").path, linked = dir.appendingPathComponent("linked").path
        var r = try shell(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", source, "-o", plain] + lapack)
        #expect(r.status == 0, "\(r.output)")
        // In front of the BLAS at link time (--no-as-needed: the program itself calls nothing in it).
        r = try shell(["gcc", "-O2", "-std=gnu11", source, "-o", linked, "-L", out.directory.path, "-Wl,-rpath," + out.directory.path,
                       "-Wl,--no-as-needed", "-lkernels", "-Wl,--as-needed"] + lapack)
        #expect(r.status == 0, "\(r.output)")

        let alone = try shell([plain, "200"])
        #expect(alone.status == 0, "\(alone.output)")
        #expect(served(alone.output) == "none", "\(alone.output)")
        for (name, run) in [("LD_PRELOAD", try shell([plain, "200"], env: ["LD_PRELOAD": out.library.path])), ("linked", try shell([linked, "200"]))] {
            #expect(run.status == 0, "\(name): \(run.output)")
            let count = served(run.output).flatMap { Int($0) } ?? 0
            #expect(count > 10, "\(name): LAPACK's dgemm_ calls must reach the tuned library: \(run.output)")
        }
        let verbose = try shell([plain, "200"], env: ["LD_PRELOAD": out.library.path, "BLASTUNE_VERBOSE": "1"])
        #expect(verbose.output.contains("Fortran GEMM calls (sgemm_, dgemm_, sgemm_64_, dgemm_64_) ran on the tuned kernels"), "\(verbose.output)")
    }

    @Test("ScaLAPACK's pdgemm_ and pdgetrf_ on 2 MPI ranks run on the tuned dgemm_ (LD_PRELOADed on every rank) and match serial results")
    func scalapackOnMPI() throws {
        try #require((try? shell(["which", "mpicc"]).status) == 0 && (try? shell(["which", "mpirun"]).status) == 0,
                     "needs libscalapack-openmpi-dev and openmpi-bin (installed by scripts/setup.sh)")
        let (out, _) = try Fixtures.library(MachineProfile.current().bestISA, .analytical)
        let exe = try scratchDirectory("scalapack").appendingPathComponent("pdgemm_pdgetrf").path
        let source = Self.examples.appendingPathComponent("../scalapack/pdgemm_pdgetrf.c").standardizedFileURL.path
        let build = try shell(["mpicc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", source, "-o", exe, "-lscalapack-openmpi", "-llapack", "-lm"])
        #expect(build.status == 0, "\(build.output)")
        let env = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]
        let mpi = ["mpirun", "-np", "2", "--oversubscribe", "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none",
                   "-x", "OPENBLAS_NUM_THREADS=1", "-x", "BLASTUNE_NUM_THREADS=1"]
        for n in ["200", "333"] {
            let run = try shell(mpi + ["-x", "LD_PRELOAD=" + out.library.path, "-x", "BLASTUNE_VERBOSE=1", exe, "check", n], env: env)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("scalapack n=\(n) ranks=2:") && run.output.contains(": ok"), "\(run.output)")
            let counts = run.output.split(separator: "\n").filter { $0.contains("Fortran GEMM calls") }
            #expect(counts.count == 2, "every rank reports the tuned calls: \(run.output)")
            #expect(counts.allSatisfy { !$0.hasPrefix("blastune: 0 ") }, "\(run.output)")
        }
    }

    @Test("a gfortran program calling SGEMM and DGEMM gets right answers from the tuned library, and goes on after a refused call with C untouched")
    func fortranProgram() throws {
        try #require((try? shell(["which", "gfortran"]).status) == 0, "needs gfortran (installed by scripts/setup.sh)")
        let (out, _) = try Fixtures.library(MachineProfile.current().bestISA, .analytical)
        let exe = try scratchDirectory("gfortran").appendingPathComponent("fortran_gemm").path
        let build = try shell(["gfortran", "-O2", Self.examples.appendingPathComponent("fortran_program.f90").path, "-o", exe,
                               "-L", out.directory.path, "-Wl,-rpath," + out.directory.path, "-lkernels"])
        #expect(build.status == 0, "\(build.output)")
        let run = try shell([exe], env: ["BLASTUNE_VERBOSE": "1"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("fortran ok after a refused call"), "\(run.output)")
        #expect(run.output.contains(" ** On entry to SGEMM parameter number  8 had an illegal value"), "\(run.output)")
        #expect(run.output.contains("blastune: 2 Fortran GEMM calls"), "\(run.output)")
    }
}
