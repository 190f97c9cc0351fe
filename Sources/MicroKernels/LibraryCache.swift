import Foundation

/// Builds libraries into a per-user cache keyed by their source and toolchain, so a
/// configuration already built is reused (`$BLASTUNE_CACHE`, else `~/.cache/blastune`).
public struct LibraryCache: Sendable {
    public var root: URL
    public var builder: LibraryBuilder

    public init(root: URL? = nil, builder: LibraryBuilder = LibraryBuilder()) {
        let env = ProcessInfo.processInfo.environment
        let home = env["HOME"].map { URL(fileURLWithPath: $0).appendingPathComponent(".cache/blastune") }
        self.root = root ?? env["BLASTUNE_CACHE"].map { URL(fileURLWithPath: $0) } ?? home
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("blastune-cache")
        self.builder = builder
    }

    /// The built library folder for `config` (built now if not cached).
    public func build(_ config: KernelsConfig, extraFlags: [String] = []) throws -> LibraryBuilder.Output {
        let sources = try LibraryGenerator.sources(for: config)
        let key = stableHash([sources.source, builder.toolchain.cc] + builder.toolchain.cflags + extraFlags)
        let dir = root.appendingPathComponent(key)
        let out = LibraryBuilder.Output(directory: dir)
        if FileManager.default.fileExists(atPath: out.library.path) { return out }
        return try builder.build(config, into: dir, extraFlags: extraFlags)
    }

    /// A benchmark library `lib<name>.so` built from one C file of generated `source`, without
    /// the runtime (the search's tile and exact-shape candidates); cached by source and compiler.
    public func buildStandalone(source: String, name: String) throws -> URL {
        let dir = root.appendingPathComponent("\(name)-" + stableHash([source, builder.toolchain.cc]))
        let lib = dir.appendingPathComponent("lib\(name).so")
        if FileManager.default.fileExists(atPath: lib.path) { return lib }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent("\(name).c")
        try Data(source.utf8).write(to: src)
        let tmp = dir.appendingPathComponent("lib\(name).so.tmp-\(getpid())")
        try builder.toolchain.buildSharedLibrary(sources: [src], output: tmp, openMP: false)
        try AtomicFile.replace(lib, with: tmp)
        return lib
    }
}

/// A stable 64-bit FNV-1a hash of strings, as 16 hex digits.
public func stableHash(_ parts: [String]) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for part in parts {
        for b in part.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h = (h ^ 0xff) &* 0x0000_0100_0000_01b3
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
