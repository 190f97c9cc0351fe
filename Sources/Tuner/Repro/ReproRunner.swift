import Foundation
import MicroKernels

/// How one case ended.
public struct ReproOutcome: Codable, Sendable {
    public enum Verdict: String, Codable, Sendable { case pass = "PASS", fail = "FAIL", skipped = "SKIPPED" }
    public var name: String
    public var verdict: Verdict
    /// Why it failed or was skipped.
    public var reason: String?
    /// What was checked.
    public var checks: [String] = []
    public var seconds: Double = 0
    /// Peak memory of the case's process (resident; proportional where windows repeat).
    public var peakMemory: Int64?
}

/// Runs reproductions: each case in a process of its own (`blastune repro case`), so that a
/// crash is a verdict rather than the end of the run, and the case's peak memory is its own.
public enum ReproRunner {
    /// Runs `c` in this process: the child side. Requested thread counts are honoured
    /// exactly (`BLASTUNE_EXACT_THREADS=1`), as a library that sized buffers by its
    /// maximum thread count would be driven.
    public static func execute(_ c: ReproCase, libraryPath: String, scale: ReproScale, threads: [Int]?) -> ReproOutcome {
        setenv("BLASTUNE_EXACT_THREADS", "1", 1)
        let start = Date()
        var outcome = ReproOutcome(name: c.name, verdict: .pass)
        do {
            let library = try KernelLibrary(path: libraryPath)
            outcome.checks = try c.body(ReproContext(library: library, scale: scale, threads: threads))
        } catch {
            outcome.verdict = .fail
            outcome.reason = "\(error)"
        }
        outcome.seconds = Date().timeIntervalSince(start)
        // A window mapped again and again counts in VmHWM at every repetition: such cases
        // sample proportional memory where it peaks instead.
        outcome.peakMemory = LazyMemory.everAliased ? ProcessMemory.proportionalPeak : ProcessMemory.lifetimePeak
        return outcome
    }

    /// Why `c` cannot run here at `scale`, or nil when it can: the memory it commits
    /// against MemAvailable, and its address space where the kernel does not overcommit.
    public static func skipReason(_ c: ReproCase, scale: ReproScale) -> String? {
        let needs: ReproNeeds
        do { needs = try c.needs(scale) } catch { return "its sizes do not fit in 64 bits here: \(error)" }
        if let available = ProcessMemory.available, needs.memory > available {
            return "needs \(formatBytes(needs.memory)) of memory; this machine has \(formatBytes(available)) available (\(formatBytes(ProcessMemory.total ?? 0)) in all)"
        }
        if let headroom = ProcessMemory.commitHeadroom, needs.addressSpace > headroom {
            return "maps \(formatBytes(needs.addressSpace)) of address space, mostly never touched, but vm.overcommit_memory = 2 leaves \(formatBytes(headroom))"
        }
        return nil
    }

    /// Runs `cases` one after another, each in a child started with `command` followed by
    /// the case's arguments, killed after `timeout` seconds; `report` sees each outcome.
    public static func run(_ cases: [ReproCase], command: [String], libraryPath: String, scale: ReproScale, threads: [Int]?,
                           timeout: Double, report: (ReproOutcome) -> Void) -> [ReproOutcome] {
        var outcomes: [ReproOutcome] = []
        for c in cases {
            var args = command + [c.name, "--library", libraryPath, "--scale", scale.rawValue]
            if let threads { args += ["--threads", threads.map(String.init).joined(separator: ",")] }
            let outcome: ReproOutcome
            if let why = skipReason(c, scale: scale) {
                outcome = ReproOutcome(name: c.name, verdict: .skipped, reason: why)
            } else {
                outcome = runChild(name: c.name, args: args, timeout: timeout)
            }
            report(outcome)
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// Runs one child and reads its verdict (the last line of its stdout, as JSON).
    static func runChild(name: String, args: [String], timeout: Double) -> ReproOutcome {
        let start = Date()
        let tmp = FileManager.default.temporaryDirectory
        let outURL = tmp.appendingPathComponent("blastune-repro-\(getpid())-\(UUID().uuidString).out")
        let errURL = tmp.appendingPathComponent("blastune-repro-\(getpid())-\(UUID().uuidString).err")
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        func failed(_ why: String) -> ReproOutcome {
            ReproOutcome(name: name, verdict: .fail, reason: why, seconds: Date().timeIntervalSince(start))
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        // A crash is a verdict here: no backtrace (slow, and noise in the reason).
        p.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do {
            _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: outURL)
            p.standardError = try FileHandle(forWritingTo: errURL)
            try p.run()
        } catch { return failed("cannot start \(args[0]): \(error)") }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            done.wait()
            return failed("did not finish within \(Int(timeout)) s (killed)")
        }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let tail = err.split(separator: "\n").suffix(3).joined(separator: " | ")
        if p.terminationReason == .uncaughtSignal {
            return failed("crashed with signal \(p.terminationStatus) (\(String(cString: strsignal(p.terminationStatus))))\(tail.isEmpty ? "" : ": \(tail)")")
        }
        guard let line = out.split(separator: "\n").last,
              var outcome = try? JSONDecoder().decode(ReproOutcome.self, from: Data(line.utf8)) else {
            return failed("exited with status \(p.terminationStatus) without a verdict\(tail.isEmpty ? "" : ": \(tail)")")
        }
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }
}
