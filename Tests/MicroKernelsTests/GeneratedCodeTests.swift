import Foundation
import KernelSpec
import MicroKernels
import Testing

/// Runs a command, returning its exit status and merged output.
func shell(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, output: String) {
    try runCommand(args, environment: env)
}

let harnessSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/gemm_harness.c")

func scratchDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-tests-\(getpid())/\(name)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Compilers on this machine to check warnings with: gcc always, clang when present.
let warningCompilers: [String] = ["gcc", "clang"].filter { (try? shell(["which", $0]).status) == 0 }
/// Whether the fixtures' compiler (CC, else cc) is GCC: their -Werror build is then gcc's warning check.
let fixturesBuiltByGCC = (try? shell([Fixtures.cache.builder.toolchain.cc, "--version"]))?.output.contains("Free Software Foundation") ?? false

@Suite("Generated C", .serialized)
struct GeneratedCodeTests {
    @Test("compiles without warnings under -Wall -Wextra", arguments: LibraryUnderTest.all)
    func noWarnings(_ lut: LibraryUnderTest) throws {
        // The fixture is built by the toolchain's compiler with -Wall -Wextra -Werror (-O3):
        // a warning fails it. The probe, and kernels.c with any other compiler, are checked here.
        let (out, _) = try Fixtures.library(lut.isa, lut.kind)
        let probe = try scratchDirectory("probe-\(lut.isa.rawValue)").appendingPathComponent("probe.c")
        try ProbeEmitter.source(isa: lut.isa).write(to: probe, atomically: true, encoding: .utf8)
        for cc in warningCompilers {
            let omp = cc == "gcc" ? ["-fopenmp"] : []
            // clang's warnings come from its front end whatever the optimization level: parsing
            // is enough (and saves a minute per library). gcc warns from its optimizer too.
            let mode = cc == "clang" ? ["-fsyntax-only"] : ["-O2", "-c", "-o", "/dev/null"]
            for src in cc == "gcc" && fixturesBuiltByGCC ? [probe] : [out.source, probe] {
                let r = try shell([cc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", out.directory.path, src.path] + mode + omp)
                #expect(r.status == 0, "\(cc) on \(src.lastPathComponent): \(r.output)")
                #expect(!r.output.contains("warning"), "\(r.output)")
            }
        }
    }

    @Test("a class's threaded variant serves its calls on more than one thread, its unthreaded one the others")
    func threadedDispatch() throws {
        let config = Fixtures.config(.generic, .perClass)
        let source = try LibraryGenerator.sources(for: config).source
        for d in DType.allCases {
            let serving = config.library.servingVariants(d)
            func index(_ cls: ShapeClass, threaded: Bool) -> Int? {
                serving.firstIndex { $0.shapeClass == cls && $0.threaded == threaded }
            }
            for cls in ShapeClass.dispatchOrder {
                guard let plain = index(cls, threaded: false) else { continue }
                // The choice of the class: from its comment to the return of the plain variant.
                guard let start = source.range(of: "/* \(cls.rawValue) */ {", range: source.range(of: "bt_\(d.blasLetter)_select(int transa")!.upperBound..<source.endIndex) else {
                    Issue.record("\(d) \(cls): no dispatch block"); continue
                }
                let end = source.range(of: "return bt_\(d.blasLetter)\(plain)_gemm;", range: start.upperBound..<source.endIndex)!
                let block = String(source[start.upperBound..<end.lowerBound])
                if let t = index(cls, threaded: true) {
                    #expect(block.contains("if (*nt > 1) return bt_\(d.blasLetter)\(t)_gemm;"), "\(d) \(cls): \(block)")
                } else {
                    #expect(!block.contains("nt > 1"), "\(d) \(cls): \(block)")
                }
            }
            #expect(serving.filter(\.threaded).map(\.shapeClass) == [.large, .smallK])
        }
    }

    @Test("the portable backend compiles for aarch64 without warnings (clang, cross headers)")
    func portableOnAArch64() throws {
        let headers = "/usr/aarch64-linux-gnu/include"
        try #require(warningCompilers.contains("clang") && FileManager.default.fileExists(atPath: headers),
                     "needs clang and libc6-dev-arm64-cross (installed by scripts/setup.sh)")
        let (out, _) = try Fixtures.library(.generic, .analytical)
        let obj = try scratchDirectory("aarch64").appendingPathComponent("kernels.o")
        let r = try shell(["clang", "--target=aarch64-linux-gnu", "-std=gnu11", "-O2", "-c", "-Wall", "-Wextra", "-Werror",
                           "-isystem", headers, "-I", out.directory.path, out.source.path, "-o", obj.path])
        #expect(r.status == 0, "\(r.output)")
        let kind = try shell(["od", "-An", "-tx1", "-j18", "-N2", obj.path])
        #expect(kind.output.trimmingCharacters(in: .whitespacesAndNewlines) == "b7 00", "not an aarch64 object (e_machine \(kind.output))")
    }

    @Test("edge shapes and bad arguments run clean under AddressSanitizer and UBSan", arguments: LibraryUnderTest.all)
    func sanitized(_ lut: LibraryUnderTest) throws {
        let (out, _) = try Fixtures.library(lut.isa, lut.kind)
        let exe = try scratchDirectory("asan-\(lut.isa.rawValue)-\(lut.kind.rawValue)").appendingPathComponent("harness")
        let build = try shell(["gcc", "-std=gnu11", "-O0", "-g", "-fopenmp", "-fsanitize=address,undefined",
                               "-fno-sanitize-recover=all", "-I", out.directory.path, out.source.path, harnessSource.path,
                               "-o", exe.path, "-lm"])
        #expect(build.status == 0, "\(build.output)")
        let run = try shell([exe.path, "edges"], env: ["ASAN_OPTIONS": "detect_leaks=1"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains(" 0 failed"), "\(run.output)")
        #expect(!run.output.contains("runtime error"), "\(run.output)")

        let cblas = try shell([exe.path, "cblas-bad"])
        #expect(cblas.status == 0)
        #expect(cblas.output.contains("cblas_sgemm: parameter 9 (lda) had an illegal value"), "\(cblas.output)")

        if lut.isa != .generic {
            // A CPU without the ISA (masked) gets BT_EUNSUPPORTED, not an illegal instruction.
            let masked = try shell([exe.path, "unsupported"], env: ["BLASTUNE_CPU_MASK": lut.isa.requiredCPUFlags[0]])
            #expect(masked.status == 0, "\(masked.output)")
        }
    }

    @Test("every bt_* entry point, called 100,000 times with hostile arguments under ASan and UBSan: a refusal with outputs untouched, or the right result", arguments: ISA.allCases.filter { MachineProfile.current().supports($0) })
    func hostileCalls(_ isa: ISA) throws {
        let (out, _) = try Fixtures.library(isa, .analytical)
        let exe = try scratchDirectory("hostile-\(isa.rawValue)").appendingPathComponent("hostile")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/hostile_harness.c")
        let build = try shell(["gcc", "-std=gnu11", "-O0", "-g", "-fopenmp", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                               "-Wall", "-Wextra", "-Werror", "-I", out.directory.path, out.source.path, source.path, "-o", exe.path, "-lm"])
        #expect(build.status == 0, "\(build.output)")
        let run = try shell([exe.path, "100000"], env: ["ASAN_OPTIONS": "detect_leaks=1"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains(" 0 failed"), "\(run.output)")
        #expect(!run.output.contains("runtime error"), "\(run.output)")
    }

    @Test("plans and batches against a reference under ASan and UBSan: every layout, transpose and scalar, strides of any sign, groups with empty and zero-sized problems, shared plans, and refusals that write nothing and name the argument", arguments: ISA.allCases.filter { MachineProfile.current().supports($0) })
    func plansAndBatches(_ isa: ISA) throws {
        // The per-class library (threaded variants, every kernel mode) on the best ISA; the model's elsewhere.
        let (out, _) = try Fixtures.library(isa, isa == MachineProfile.current().bestISA ? .perClass : .analytical)
        let exe = try scratchDirectory("batch-\(isa.rawValue)").appendingPathComponent("batch")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/batch_harness.c")
        let build = try shell(["gcc", "-std=gnu11", "-O0", "-g", "-fopenmp", "-pthread", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                               "-Wall", "-Wextra", "-Werror", "-I", out.directory.path, out.source.path, source.path, "-o", exe.path, "-lm"])
        #expect(build.status == 0, "\(build.output)")
        for threads in ["1", "2"] {
            let run = try shell([exe.path], env: ["ASAN_OPTIONS": "detect_leaks=1", "BLASTUNE_NUM_THREADS": threads])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains(" 0 failed"), "\(run.output)")
            #expect(!run.output.contains("runtime error"), "\(run.output)")
        }
    }

    @Test("kernels of exact shapes against a reference under ASan and UBSan: each listed shape through bt_gemm, cblas_gemm and a plan (tight and padded, several alpha and beta, beta 0 over NaN), and its neighbours through the classes", arguments: [MachineProfile.current().bestISA, .generic])
    func exactShapes(_ isa: ISA) throws {
        let config = Fixtures.config(isa, .perClass)
        let (out, _) = try Fixtures.library(isa, .perClass)
        let exe = try scratchDirectory("shapes-\(isa.rawValue)").appendingPathComponent("shapes")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/shapes_harness.c")
        let build = try shell(["gcc", "-std=gnu11", "-O0", "-g0", "-fopenmp", "-pthread", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                               "-Wall", "-Wextra", "-Werror", "-I", out.directory.path, out.source.path, source.path, "-o", exe.path, "-lm"])
        #expect(build.status == 0, "\(build.output)")
        let shapes = config.library.shapes.map { s in
            "\(s.dtype.rawValue):\(s.shape.m)x\(s.shape.n)x\(s.shape.k):\(s.shape.rowMajor ? "row" : "col"):\(s.shape.transA ? "t" : "n"):\(s.shape.transB ? "t" : "n")"
        }
        #expect(shapes.count == 9)
        let run = try shell([exe.path] + shapes, env: ["ASAN_OPTIONS": "detect_leaks=1"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("shapes: \(shapes.count * 4 * 2 * 3 * 3) passed, 0 failed"), "\(run.output)")
        #expect(!run.output.contains("runtime error"), "\(run.output)")
    }

    @Test("the exact-shape dispatch: a perfect hash with one slot per listed shape, looked up before the classes, and plans call the shape's kernel directly")
    func exactShapeDispatch() throws {
        var rng = SystemRandomNumberGenerator()
        for count in [1, 2, 9, 64, 200] {
            let keys = Array(Set((0..<count * 2).map { _ in
                GemmShapeKey(m: Int.random(in: 1...256, using: &rng), n: Int.random(in: 1...256, using: &rng), k: Int.random(in: 1...256, using: &rng),
                             transA: Bool.random(using: &rng)).dispatchKey
            }).prefix(count))
            let hash = ShapeDispatchEmitter.PerfectHash(keys)
            #expect(Set(keys.map(hash.slot)).count == keys.count)
            #expect(1 << hash.bits <= max(4, 4 * keys.count), "table of \(1 << hash.bits) slots for \(keys.count) keys")
        }
        let config = Fixtures.config(.generic, .perClass)
        let source = try LibraryGenerator.sources(for: config).source
        for d in DType.allCases {
            let l = d.blasLetter
            let select = source.range(of: "bt_\(l)_select(int transa")!
            let find = source.range(of: "bt_\(l)_shape_find(transa, transb, m, n, k)", range: select.upperBound..<source.endIndex)!
            let small = source.range(of: "return bt_\(l)_small;", range: select.upperBound..<source.endIndex)!
            #expect(find.lowerBound < small.lowerBound, "the exact shapes come first")
            #expect(source.contains("bt_\(l)_shape_plans[\(config.library.servingShapes(d).count)]"))
            #expect(source.contains("if (p->direct) return ((bt_\(l)_direct)p->direct)(p, a, b, c);"))
        }
        // A library without shapes has a lookup that finds nothing.
        let plain = try LibraryGenerator.sources(for: Fixtures.config(.generic, .analytical)).source
        #expect(plain.contains("return -1;") && !plain.contains("bt_s_shape_slots"))
    }

    @Test("the Fortran BLAS ABI (sgemm_, dgemm_, sgemm_64_, dgemm_64_) against a reference under ASan and UBSan, and every bad argument with the reference parameter number: to the program's xerbla_ (xerbla_64_), else the reference message, with C untouched")
    func fortranABI() throws {
        // The ABI layer is the same C for every ISA: the best one is enough.
        let isa = MachineProfile.current().bestISA
        let (out, _) = try Fixtures.library(isa, .analytical)
        let dir = try scratchDirectory("fortran-\(isa.rawValue)")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/fortran_harness.c")
        for (name, extra) in [("fortran", [String]()), ("fortran-noxerbla", ["-DNO_XERBLA"])] {
            let exe = dir.appendingPathComponent(name)
            let build = try shell(["gcc", "-std=gnu11", "-O0", "-g0", "-fopenmp", "-pthread", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                                   "-Wall", "-Wextra", "-Werror"] + extra + ["-I", out.directory.path, out.source.path, source.path, "-o", exe.path, "-lm"])
            #expect(build.status == 0, "\(build.output)")
        }
        let check = try shell([dir.appendingPathComponent("fortran").path, "check"], env: ["ASAN_OPTIONS": "detect_leaks=1", "BLASTUNE_VERBOSE": "1"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("fortran: 152 passed, 0 failed (152 calls counted)"), "\(check.output)")
        #expect(check.output.contains("blastune: 152 Fortran GEMM calls"), "BLASTUNE_VERBOSE=1 reports the count at exit: \(check.output)")
        #expect(!check.output.contains("runtime error"), "\(check.output)")
        let bad = try shell([dir.appendingPathComponent("fortran").path, "bad"])
        #expect(bad.status == 0 && bad.output.contains("fortran bad: 96 passed, 0 failed (0 calls counted)"), "\(bad.output)")
        #expect(!bad.output.contains("On entry to"), "the program's xerbla_ took the reports: \(bad.output)")
        let printed = try shell([dir.appendingPathComponent("fortran-noxerbla").path, "bad"])
        #expect(printed.status == 0 && printed.output.contains("fortran bad: 48 passed, 0 failed"), "\(printed.output)")
        let lines = printed.output.split(separator: "\n").filter { $0.contains("On entry to") }
        #expect(lines.count == 48)
        #expect(lines.contains(" ** On entry to DGEMM parameter number  8 had an illegal value"))
        #expect(lines.contains(" ** On entry to SGEMM parameter number 13 had an illegal value"))
    }

    @Test("an allocation failing inside a kernel (address space limited as by ulimit -v) gives BT_ENOMEM with outputs untouched, and the next call succeeds", arguments: ISA.allCases.filter { MachineProfile.current().supports($0) })
    func outOfMemory(_ isa: ISA) throws {
        let (out, _) = try Fixtures.library(isa, .analytical)
        let exe = try scratchDirectory("nomem-\(isa.rawValue)").appendingPathComponent("nomem")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/nomem_harness.c")
        let build = try shell(["gcc", "-std=gnu11", "-O2", "-fopenmp", "-Wall", "-Wextra", "-Werror", "-I", out.directory.path,
                               out.source.path, source.path, "-o", exe.path, "-lm"])
        #expect(build.status == 0, "\(build.output)")
        let run = try shell([exe.path])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("nomem: 8 checks, 0 failed"), "\(run.output)")
    }
}
