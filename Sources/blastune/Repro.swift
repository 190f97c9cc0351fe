import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

extension ReproScale: ExpressibleByArgument {}

/// `blastune repro`: real large-index overflow bugs of other libraries, run against libkernels.so.
struct Repro: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce large-index overflow bugs of other libraries against the built libkernels.so.",
        subcommands: [List.self, Run.self, Case.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The catalog: one line a case with its origin and requirements.")

        @Flag(name: .shortAndLong, help: "Every field of each case: report, operation, arithmetic, symptom, expectation.")
        var verbose = false

        func run() throws {
            for c in ReproCatalog.cases {
                let ci = (try? c.needs(.ci)).map { formatBytes($0.memory) } ?? "?"
                let full = (try? c.needs(.full)).map { formatBytes($0.memory) } ?? "?"
                say("\(c.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(c.origin); needs \(ci) (ci), \(full) (full)")
                if verbose {
                    for (k, v) in [("report", c.report), ("operation", c.operation), ("overflow", c.overflow),
                                   ("symptom", c.symptom), ("expected", c.expectation)] {
                        say("    \(k.padding(toLength: 10, withPad: " ", startingAt: 0)) \(v)")
                    }
                }
            }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run cases against the built library: PASS, FAIL or SKIPPED with the reason, time and peak memory.",
            discussion: "Exits 1 when a case fails, 2 when none fails but a case named on the command line was skipped (a skip under --all is reported, not an error).")

        @Argument(help: "Case names (see `blastune repro list`).")
        var names: [String] = []

        @Flag(help: "Run every case.")
        var all = false

        @Option(help: "ci (each case under a minute and a few GiB, lazily committed memory where the arithmetic allows) or full (the reports' scale).")
        var scale: ReproScale = .ci

        @Option(help: "Thread counts to request in every case, comma-separated (default: each case's own).")
        var threads: String?

        @Option(help: "A built libkernels.so (or its folder) to test instead of building this machine's configuration.")
        var library: String?

        @Option(help: "Seconds a case may run before it is killed and failed (default: 300 at ci scale, 3600 at full).")
        var timeout: Double?

        @OptionGroup var build: LibraryOptions

        func validate() throws {
            if all == !names.isEmpty { throw ValidationError("name the cases to run or pass --all (not both)") }
            for n in names where ReproCatalog.named(n) == nil {
                throw ValidationError("no case named '\(n)'; `blastune repro list` shows the catalog")
            }
            if let t = threads { _ = try parseIntList(t, name: "threads") }
            if let t = timeout, !(t > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        }

        func run() throws {
            let libraryPath = try resolveLibrary()
            let cases = all ? ReproCatalog.cases : names.compactMap(ReproCatalog.named)
            say("repro: \(cases.count) case\(cases.count == 1 ? "" : "s") at \(scale.rawValue) scale against \(libraryPath)")
            let outcomes = ReproRunner.run(cases, command: [selfExecutable(), "repro", "case"], libraryPath: libraryPath, scale: scale,
                                           threads: try threads.map { try parseIntList($0, name: "threads") },
                                           timeout: timeout ?? (scale == .ci ? 300 : 3600)) { o in
                let peak = o.peakMemory.map { "peak \(formatBytes($0))" } ?? ""
                let head = "\(o.verdict.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(o.name.padding(toLength: 28, withPad: " ", startingAt: 0))"
                say(o.verdict == .skipped ? "\(head) \(o.reason ?? "")" : "\(head) \(fmt(o.seconds)) s  \(peak)")
                if o.verdict == .fail { say("    \(o.reason ?? "")") }
                for check in o.checks { say("    - \(check)") }
            }
            let count = { (v: ReproOutcome.Verdict) in outcomes.filter { $0.verdict == v }.count }
            say("\(count(.pass)) passed, \(count(.fail)) failed, \(count(.skipped)) skipped")
            if count(.fail) > 0 { throw ExitCode(1) }
            if !all && count(.skipped) > 0 { throw ExitCode(2) }
        }

        /// The library to test: `--library`, else this machine's configuration built into the cache.
        func resolveLibrary() throws -> String {
            if let given = library {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: given, isDirectory: &isDir) else {
                    throw ValidationError("--library: \(given) does not exist")
                }
                let path = isDir.boolValue ? URL(fileURLWithPath: given).appendingPathComponent("libkernels.so").path : given
                _ = try KernelLibrary(path: path) // one clear error now rather than one per case
                return path
            }
            return try build.build(machine: MachineProfile.current()).output.library.path
        }
    }

    /// One case in this process, its outcome printed as JSON (what `run` starts per case).
    struct Case: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one case in this process (used by `repro run`).", shouldDisplay: false)

        @Argument var name: String
        @Option var library: String
        @Option var scale: ReproScale = .ci
        @Option var threads: String?

        func run() throws {
            guard let c = ReproCatalog.named(name) else { throw ValidationError("no case named '\(name)'") }
            let outcome = ReproRunner.execute(c, libraryPath: library, scale: scale,
                                              threads: try threads.map { try parseIntList($0, name: "threads") })
            let data = try JSONEncoder().encode(outcome)
            say(String(decoding: data, as: UTF8.self))
            if outcome.verdict == .fail { throw ExitCode(1) }
        }
    }
}
