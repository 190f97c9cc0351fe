import Foundation
import KernelSpec
import MicroKernels
import Tuner

/// The built `blastune` executable next to this test bundle (swift test builds it too).
let blastuneExecutable: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("blastune")
        if FileManager.default.isExecutableFile(atPath: candidate.path), !candidate.hasDirectoryPath { return candidate.path }
        dir = dir.deletingLastPathComponent()
    }
    return "blastune"
}()

func tempDirectory(_ name: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-tuner-\(getpid())-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// Builds the fault-injection stand-in library with `FAULT=fault`.
func faultyLibrary(_ fault: Int) throws -> String {
    let src = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Faulty/faulty_kernels.c")
    let out = try tempDirectory("faulty\(fault)").appendingPathComponent("libkernels.so")
    try Toolchain(cc: "cc").buildExecutable(sources: [src], output: out, flags: ["-shared", "-fPIC", "-O1", "-DFAULT=\(fault)"])
    return out.path
}

let testTimer = TimerSettings(sampleSeconds: 0.002, samples: 3, maxSamples: 3)

/// The library of the analytical model for this machine, built once into a test cache.
let modelLibrary: Result<KernelLibrary, Error> = Result {
    let machine = MachineProfile.current()
    let cfg = KernelsConfig(version: blastuneVersion, machine: machine, origin: "test",
                            library: AnalyticalModel.librarySpec(isa: machine.bestISA, machine: machine))
    return try KernelLibrary(path: LibraryCache(root: try tempDirectory("model-cache")).build(cfg).library.path)
}
