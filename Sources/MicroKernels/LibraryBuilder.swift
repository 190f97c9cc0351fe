import Foundation
import KernelSpec

/// Writes a generated library folder: `kernels.c`, `kernels.h`, `kernels.json`,
/// `kernels.pc` and the compiled `libkernels.so` (generated C -> built library).
public struct LibraryBuilder: Sendable {
    public var toolchain: Toolchain

    public init(toolchain: Toolchain = .fromEnvironment()) {
        self.toolchain = toolchain
    }

    /// The files of a built library folder.
    public struct Output: Sendable {
        public let directory: URL
        public var library: URL { directory.appendingPathComponent("libkernels.so") }
        public var source: URL { directory.appendingPathComponent("kernels.c") }
        public var header: URL { directory.appendingPathComponent("kernels.h") }
        public var json: URL { directory.appendingPathComponent("kernels.json") }
        public var pkgConfig: URL { directory.appendingPathComponent("kernels.pc") }
        public var cmakeConfig: URL { directory.appendingPathComponent("kernelsConfig.cmake") }
    }

    /// Generates and compiles `config` into `directory`.
    /// Everything is built in a staging folder first and moved into place only when the
    /// compiler succeeded, so a failure leaves `directory` as it was. On a compiler
    /// failure the error names the generated source, kept in a temporary folder.
    @discardableResult
    public func build(_ config: KernelsConfig, into directory: URL, extraFlags: [String] = []) throws -> Output {
        let sources = try LibraryGenerator.sources(for: config)
        return try install(into: directory, version: config.version, files: [
            "kernels.c": sources.source, "kernels.h": sources.header, "kernels.json": sources.json,
        ], compiled: ["kernels.c"], extraFlags: extraFlags)
    }

    /// Generates and compiles one library holding every configuration of `configurations`
    /// (see ``MultiLibraryEmitter``): `kernels-<i>.c` per configuration, `kernels-dispatch.c`,
    /// and `kernels.json` listing them; staged and moved into place as ``build(_:into:extraFlags:)`` does.
    @discardableResult
    public func buildMulti(_ configurations: [MachineConfiguration], into directory: URL, extraFlags: [String] = []) throws -> Output {
        let (files, compiled) = try LibraryGenerator.sources(for: configurations)
        return try install(into: directory, version: configurations[0].config.version, files: files, compiled: compiled, extraFlags: extraFlags)
    }

    /// Writes `files` and the package files into a staging folder, compiles `compiled` into
    /// `libkernels.so` there and moves everything into `directory`.
    private func install(into directory: URL, version: String, files generated: [String: String], compiled: [String],
                         extraFlags: [String]) throws -> Output {
        let fm = FileManager.default
        let dir = directory.standardizedFileURL
        let created = try Self.makeFolder(dir)
        var done = false
        // A failed build leaves no folder behind that it made (the innermost first).
        defer { if !done { for url in created.reversed() { rmdir(url.path) } } }
        guard access(dir.path, W_OK) == 0 else { throw BuildFolderError(path: dir.path, reason: "the output folder is not writable") }
        let staging = dir.appendingPathComponent(".blastune-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        let openMP = toolchain.supportsOpenMP()
        let files = generated.merging([
            "kernels.pc": HeaderEmitter.pkgConfig(directory: dir.path, version: version, openMP: openMP),
            "kernelsConfig.cmake": HeaderEmitter.cmakeConfig(directory: dir.path, version: version),
            "kernelsConfigVersion.cmake": HeaderEmitter.cmakeConfigVersion(version: version),
        ]) { mine, _ in mine }
        for (name, text) in files { try Data(text.utf8).write(to: staging.appendingPathComponent(name)) }
        do {
            try toolchain.buildSharedLibrary(sources: compiled.map { staging.appendingPathComponent($0) },
                                             output: staging.appendingPathComponent("libkernels.so"),
                                             includeDirs: [staging], openMP: openMP, extraFlags: extraFlags)
        } catch {
            guard case .compileFailed(let cc, _, let message) = error else { throw error }
            let kept = fm.temporaryDirectory.appendingPathComponent("blastune-failed-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try? fm.createDirectory(at: kept, withIntermediateDirectories: true)
            let keptNames = compiled + ["kernels.h"]
            for name in keptNames {
                try? fm.copyItem(at: staging.appendingPathComponent(name), to: kept.appendingPathComponent(name))
            }
            throw ToolchainError.compileFailed(compiler: cc, source: kept.appendingPathComponent(keptNames[0]).path, message: message)
        }
        // Sources of another kind of build (kernels.c against kernels-<i>.c) would mislead: remove them.
        let present = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
        var stale: [String] = []
        for name in present where (name == "kernels.c" || (name.hasPrefix("kernels-") && name.hasSuffix(".c"))) && files[name] == nil {
            stale.append(name)
        }
        for name in files.keys.sorted() + ["libkernels.so"] {
            try AtomicFile.replace(dir.appendingPathComponent(name), with: staging.appendingPathComponent(name))
        }
        for name in stale { try? fm.removeItem(at: dir.appendingPathComponent(name)) }
        done = true
        return Output(directory: dir)
    }

    /// Creates `dir` and its missing parents; returns the folders it created, outermost
    /// first. The error names the path at fault and why (a file in the way, no permission).
    static func makeFolder(_ dir: URL) throws -> [URL] {
        var missing: [URL] = []
        var at = dir
        var isDir: ObjCBool = false
        while !FileManager.default.fileExists(atPath: at.path, isDirectory: &isDir) && at.path != "/" {
            missing.insert(at, at: 0)
            at = at.deletingLastPathComponent()
        }
        if !isDir.boolValue {
            throw BuildFolderError(path: dir.path, reason: "cannot create the output folder: \(at.path) is a file, not a folder")
        }
        var created: [URL] = []
        for url in missing {
            guard mkdir(url.path, 0o755) == 0 || errno == EEXIST else {
                let why = String(cString: strerror(errno))
                for c in created.reversed() { rmdir(c.path) }
                throw BuildFolderError(path: dir.path, reason: "cannot create the output folder: \(url.path): \(why)")
            }
            created.append(url)
        }
        return created
    }
}

/// An output folder that cannot be used.
public struct BuildFolderError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Atomic file replacement: a file is either its old or its new content, never half-written.
public enum AtomicFile {
    /// Moves `source` over `destination` with rename(2) (same file system).
    public static func replace(_ destination: URL, with source: URL) throws {
        if rename(source.path, destination.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path,
                NSLocalizedDescriptionKey: "cannot move \(source.path) to \(destination.path): \(String(cString: strerror(errno)))"])
        }
    }

    /// Writes `data` to `url` through a temporary file in the same folder and a rename.
    public static func write(_ data: Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: tmp)
            let fd = open(tmp.path, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            try replace(url, with: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }
}
