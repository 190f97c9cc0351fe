import Foundation

/// A failure of the C toolchain, with what the compiler said.
public enum ToolchainError: Error, CustomStringConvertible {
    case compilerNotFound(String)
    case compileFailed(compiler: String, source: String, message: String)

    public var description: String {
        switch self {
        case .compilerNotFound(let cc):
            return "C compiler '\(cc)' not found (set CC or install gcc)"
        case .compileFailed(let cc, let source, let message):
            let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
            return "C compiler '\(cc)' failed on \(source)" + (text.isEmpty ? " without a message" : ":\n\(text)")
        }
    }
}

/// The system C compiler, honouring `CC` and `CFLAGS`.
public struct Toolchain: Sendable {
    /// The compiler command (`CC`, default `cc`).
    public var cc: String
    /// Extra flags from `CFLAGS`, appended after blastune's own so they take precedence.
    public var cflags: [String]

    public init(cc: String, cflags: [String] = []) {
        self.cc = cc
        self.cflags = cflags
    }

    /// The toolchain named by the environment.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Toolchain {
        let cc = env["CC"].flatMap { $0.isEmpty ? nil : $0 } ?? "cc"
        let flags = (env["CFLAGS"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        return Toolchain(cc: cc, cflags: flags)
    }

    /// Flags for optimized, warning-clean, position-independent kernels.
    public static let baseFlags = ["-std=gnu11", "-O3", "-fPIC", "-Wall", "-Wextra", "-fvisibility=hidden"]

    /// The first line of `cc --version`, for the record of results.
    public func versionLine() -> String {
        guard let r = try? run([cc, "--version"]), r.status == 0 else { return cc }
        return r.output.split(separator: "\n").first.map(String.init) ?? cc
    }

    private static let openMPLock = NSLock()
    nonisolated(unsafe) private static var openMPKnown: [String: Bool] = [:]

    /// Whether the compiler builds and links OpenMP programs (probed once per compiler).
    public func supportsOpenMP() -> Bool {
        Self.openMPLock.lock()
        defer { Self.openMPLock.unlock() }
        if let known = Self.openMPKnown[cc] { return known }
        let ok = probeOpenMP()
        Self.openMPKnown[cc] = ok
        return ok
    }

    private func probeOpenMP() -> Bool {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-omp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("omp.c")
        try? "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n".write(to: src, atomically: true, encoding: .utf8)
        return (try? run([cc, "-fopenmp", src.path, "-o", dir.appendingPathComponent("omp").path])).map { $0.status == 0 } ?? false
    }

    /// Compiles C sources into a shared library at `output`.
    public func buildSharedLibrary(sources: [URL], output: URL, includeDirs: [URL] = [], openMP: Bool, extraFlags: [String] = []) throws(ToolchainError) {
        var args = [cc] + Self.baseFlags + ["-shared", "-Wl,-Bsymbolic"] + (openMP ? ["-fopenmp"] : [])
        args += includeDirs.map { "-I" + $0.path } + extraFlags + cflags
        args += sources.map(\.path) + ["-o", output.path, "-lm"]
        try compile(args, source: sources.first?.path ?? "")
    }

    /// Compiles and links an executable.
    public func buildExecutable(sources: [URL], output: URL, flags: [String]) throws(ToolchainError) {
        try compile([cc] + flags + sources.map(\.path) + ["-o", output.path], source: sources.first?.path ?? "")
    }

    private func compile(_ args: [String], source: String) throws(ToolchainError) {
        let result: (status: Int32, output: String)
        do { result = try run(args) } catch { throw .compilerNotFound(cc) }
        if result.status == 127 { throw .compilerNotFound(cc) }   // env: command not found
        guard result.status == 0 else { throw .compileFailed(compiler: cc, source: source, message: result.output) }
    }

    func run(_ args: [String]) throws -> (status: Int32, output: String) { try runCommand(args) }
}

/// Runs a command through `/usr/bin/env` (so PATH is searched), with `environment` added to
/// this process's, and returns its exit status (128 + the signal when killed by one) and
/// merged stdout and stderr.
///
/// Spawned with posix_spawn, an empty signal mask and default signal actions: a child
/// started from a thread that blocks signals (Swift's test runner) would otherwise inherit
/// SIGCHLD blocked, and programs that wait for their own children (cmake) would hang.
/// Output goes to a file read after the exit (reading a pipe through FileHandle traps when
/// a signal interrupts it).
public func runCommand(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-cmd-\(getpid())-\(UUID().uuidString).log")
    defer { try? FileManager.default.removeItem(at: log) }
    var actions = posix_spawn_file_actions_t()
    var attr = posix_spawnattr_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawnattr_init(&attr)
    defer { posix_spawn_file_actions_destroy(&actions); posix_spawnattr_destroy(&attr) }
    posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
    let argv = (["/usr/bin/env"] + args).map { strdup($0) } + [nil]
    let envp = env.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/usr/bin/env", &actions, &attr, argv, envp)
    guard rc == 0 else {
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "cannot run \(args.first ?? ""): \(String(cString: strerror(rc)))"])
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let data = (try? Data(contentsOf: log)) ?? Data()
    return (code, String(decoding: data, as: UTF8.self))
}
