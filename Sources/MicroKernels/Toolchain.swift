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
/// this process's, and returns its exit status and merged stdout and stderr.
public func runCommand(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    // Output goes to a file read after the exit: reading a pipe through FileHandle traps
    // when a signal (another child's SIGCHLD) interrupts the read.
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-cmd-\(getpid())-\(UUID().uuidString).log")
    guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: log.path])
    }
    defer { try? FileManager.default.removeItem(at: log) }
    let out = try FileHandle(forWritingTo: log)
    p.standardOutput = out
    p.standardError = out
    try p.run()
    p.waitUntilExit()
    try? out.close()
    let data = (try? Data(contentsOf: log)) ?? Data()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
