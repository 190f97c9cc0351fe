import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

/// A library of several machines' configurations: the fingerprint its C computes is the one
/// blastune computes, and each way of choosing a configuration (this machine's, one forced
/// by BLASTUNE_FINGERPRINT, the nearest tuned machine, the analytical model's) picks the
/// expected one and answers right, under ASan and UBSan.
@Suite("Multi-machine library", .serialized)
struct MultiMachineLibraryTests {
    static let harness = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Harness/multi_harness.c")
    static let sanitize = ["gcc", "-std=gnu11", "-O0", "-g0", "-fopenmp", "-pthread", "-fsanitize=address,undefined",
                           "-fno-sanitize-recover=all", "-Wall", "-Wextra", "-Werror"]

    /// A tuned-looking configuration (the model's kernels) for `machine`.
    static func tuned(_ machine: MachineProfile, _ isa: ISA) -> MachineConfiguration {
        MachineConfiguration(name: machine.fingerprint, tuned: true, config: KernelsConfig(
            version: blastuneVersion, machine: machine, origin: "tuned", library: AnalyticalModel.librarySpec(isa: isa, machine: machine)))
    }

    /// Builds `configurations` into one sanitized libkernels.so (as `generate --machines`
    /// does, with the sanitizers added) and the harness against it.
    static func program(_ configurations: [MachineConfiguration], name: String) throws -> (exe: URL, library: LibraryBuilder.Output) {
        let dir = try scratchDirectory(name)
        let out = try LibraryBuilder().buildMulti(configurations, into: dir.appendingPathComponent("lib"),
                                                  extraFlags: ["-O0", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        let exe = dir.appendingPathComponent("multi")
        let build = try shell(sanitize + ["-I", out.directory.path, harness.path, "-o", exe.path, "-L", out.directory.path,
                                          "-Wl,-rpath," + out.directory.path, "-lkernels", "-lm"])
        #expect(build.status == 0, "\(build.output)")
        return (exe, out)
    }

    /// The functions a shared library exports.
    static func exports(_ library: URL) throws -> [String] {
        let r = try shell(["nm", "-D", "--defined-only", library.path])
        return r.output.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            return f.count == 3 && f[1] == "T" ? String(f[2]) : nil
        }.sorted()
    }

    /// The configuration line and the active configuration's JSON fingerprint of a run.
    static func run(_ exe: URL, env: [String: String] = [:]) throws -> (config: String, json: String) {
        let r = try shell([exe.path], env: env.merging(["ASAN_OPTIONS": "detect_leaks=1"]) { a, _ in a })
        #expect(r.status == 0, "\(env): \(r.output)")
        #expect(r.output.contains("multi harness: ") && r.output.contains(" passed, 0 failed"), "\(env): \(r.output)")
        #expect(!r.output.contains("runtime error"), "\(r.output)")
        func line(_ prefix: String) -> String {
            r.output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } ?? ""
        }
        return (line("config: "), line("json fingerprint: "))
    }

    @Test("the fingerprint a generated library computes in C is blastune's, with and without BLASTUNE_CPU_MASK, and bt_config() of a one-machine library says whether it was built for this machine")
    func fingerprintInC() throws {
        let host = MachineProfile.current()
        let (out, lib) = try Fixtures.library(host.bestISA, .analytical)
        let label = "\(host.fingerprint) (\(Fixtures.config(host.bestISA, .analytical).origin) \(host.bestISA.rawValue) configuration)"
        #expect(lib.activeConfiguration == "\(label): built for this machine; this machine: \(host.fingerprint)")
        let dir = try scratchDirectory("fingerprint")
        let source = dir.appendingPathComponent("config.c"), exe = dir.appendingPathComponent("config")
        try Data("#include \"kernels.h\"\n#include <stdio.h>\nint main(void) { puts(bt_config()); return 0; }\n".utf8).write(to: source)
        let build = try shell(["gcc", "-Wall", "-Wextra", "-Werror", "-I", out.directory.path, source.path, "-o", exe.path,
                               "-L", out.directory.path, "-Wl,-rpath," + out.directory.path, "-lkernels"])
        #expect(build.status == 0, "\(build.output)")
        let plain = try shell([exe.path])
        #expect(plain.output == "\(label): built for this machine; this machine: \(host.fingerprint)\n", "\(plain.output)")
        let forced = try shell([exe.path], env: ["BLASTUNE_FINGERPRINT": "some-other-machine-2c-0000000000000000"])
        #expect(forced.output == "\(label): the one configuration of this library, built for another machine; this machine: some-other-machine-2c-0000000000000000\n",
                "\(forced.output)")
        for flag in host.flags {   // each relevant flag masked changes the fingerprint alike in C and in Swift
            let masked = MachineProfile.current(environment: ["BLASTUNE_CPU_MASK": "sse2, \(flag)"])
            #expect(masked.fingerprint != host.fingerprint)
            let r = try shell([exe.path], env: ["BLASTUNE_CPU_MASK": "sse2, \(flag)"])
            #expect(r.output.hasSuffix("this machine: \(masked.fingerprint)\n"), "\(flag): \(r.output)")
        }
    }

    @Test("a library of several machines picks this machine's configuration, the one BLASTUNE_FINGERPRINT names, the nearest tuned machine of the CPU's best ISA, or the analytical model's for that ISA, and answers right with each (ASan, UBSan)")
    func choices() throws {
        let host = MachineProfile.current()
        let isa = host.bestISA
        var sibling = host                    // the same CPU family, another model
        sibling.model += 1
        var stranger = host                   // another vendor, family and cache size
        stranger.vendor = "OtherVendor"; stranger.family += 7; stranger.cpuModel = "Other CPU"
        stranger.caches = stranger.caches.map { var c = $0; if c.level == 2 { c.sizeBytes *= 4 }; return c }
        let fallbacks = ISA.allCases.filter { host.supports($0) }
        let configurations = [Self.tuned(host, isa), Self.tuned(sibling, isa), Self.tuned(stranger, isa)] + fallbacks.map { f in
            let nominal = MachineProfile.nominal(f)
            return MachineConfiguration(name: "analytical-\(f.rawValue)", tuned: false, config: KernelsConfig(
                version: blastuneVersion, machine: nominal, origin: "analytical", library: AnalyticalModel.librarySpec(isa: f, machine: nominal)))
        }
        let (exe, out) = try Self.program(configurations, name: "choices")
        // The exported functions are a one-machine library's, no configuration's own.
        let single = try Fixtures.library(isa, .analytical).output.library
        #expect(try Self.exports(out.library) == Self.exports(single))
        #expect(try Self.exports(out.library).contains("bt_config"))

        let mine = try Self.run(exe)
        #expect(mine.config.hasPrefix("\(host.fingerprint) (tuned \(isa.rawValue) configuration): tuned on this machine"), "\(mine.config)")
        #expect(mine.json == host.fingerprint)

        let forced = try Self.run(exe, env: ["BLASTUNE_FINGERPRINT": stranger.fingerprint])
        #expect(forced.config.hasPrefix("\(stranger.fingerprint) (tuned \(isa.rawValue) configuration): tuned on this machine; this machine: \(stranger.fingerprint)"),
                "\(forced.config)")
        #expect(forced.json == stranger.fingerprint)

        // Another fingerprint, this machine's facts: the identical tuned machine is the nearest.
        let unknown = "unknown-cpu-2c-0123456789abcdef"
        let same = try Self.run(exe, env: ["BLASTUNE_FINGERPRINT": unknown])
        #expect(same.config.hasPrefix("\(host.fingerprint) (tuned \(isa.rawValue) configuration): no configuration tuned on this machine; the nearest of 3 tuned \(isa.rawValue) machine(s)"),
                "\(same.config)")
        #expect(same.config.hasSuffix("this machine: \(unknown)"))
        #expect(same.json == host.fingerprint)

        // Without it, the same CPU family's other model beats another vendor's CPU.
        let (others, _) = try Self.program([Self.tuned(stranger, isa), Self.tuned(sibling, isa)], name: "nearest")
        let nearest = try Self.run(others)
        #expect(nearest.config.hasPrefix("\(sibling.fingerprint) (tuned \(isa.rawValue) configuration): no configuration tuned on this machine; the nearest of 2 tuned \(isa.rawValue) machine(s): vendor the same, family \(host.family) (here \(host.family)), model \(sibling.model) (here \(host.model))"),
                "\(nearest.config)")
        #expect(nearest.json == sibling.fingerprint)

        // Without the best ISA's flag the CPU's best is the next ISA, which no tuned machine has.
        if isa != .generic {
            let next = ISA.allCases[ISA.allCases.firstIndex(of: isa)! + 1]
            let analytical = try Self.run(exe, env: ["BLASTUNE_CPU_MASK": isa == .avx512 ? "avx512f" : "avx2"])
            #expect(analytical.config.hasPrefix("analytical-\(next.rawValue) (analytical \(next.rawValue) configuration): no tuned \(next.rawValue) machine in this library"),
                    "\(analytical.config)")
            #expect(analytical.json == MachineProfile.nominal(next).fingerprint)
        }
    }
}
