import Foundation
import KernelSpec
import MicroKernels

/// Decides what a library is built from: a spec file, this machine's tuned results,
/// or the analytical model, in that order.
public struct ConfigResolver: Sendable {
    public var machine: MachineProfile
    public var results: ResultsStore

    public init(machine: MachineProfile, results: ResultsStore) {
        self.machine = machine
        self.results = results
    }

    /// The configuration for `isa` (nil: the spec file's ISA, else the host's best).
    /// `specFile` may hold a `kernels.json`, a library spec
    /// (`{"isa": ..., "gemm": [...]}`), one GEMM spec or a list of them; a dtype it does
    /// not cover comes from the tuned results or the model.
    public func resolve(isa requested: ISA?, specFile: URL? = nil) throws -> KernelsConfig {
        var variants: [GemmVariant] = []
        var origins: [String] = []
        if let url = specFile {
            variants = try Self.readSpecFile(url)
            origins.append("file")
        }
        let isa = requested ?? variants.first?.spec.isa ?? machine.bestISA
        for dtype in DType.allCases where !variants.contains(where: { $0.spec.dtype == dtype }) {
            if let tuned = try results.loadGemm(dtype, machine: machine), tuned.classes.allSatisfy({ $0.spec.isa == isa }),
               !tuned.classes.isEmpty {
                variants += tuned.classes.map { GemmVariant(shapeClass: $0.shapeClass, spec: $0.spec) }
                variants += tuned.classes.compactMap { c in c.threadedSpec.map { GemmVariant(shapeClass: c.shapeClass, spec: $0, threaded: true) } }
                origins.append("tuned")
                if !tuned.classes.contains(where: { $0.shapeClass == .large || $0.shapeClass == .any }) {
                    // A partial tuning: the shapes of the untuned classes go to the model's kernel.
                    variants.append(GemmVariant(spec: AnalyticalModel.gemmSpec(dtype: dtype, isa: isa, machine: machine)))
                    origins.append("analytical")
                }
            } else {
                variants.append(GemmVariant(spec: AnalyticalModel.gemmSpec(dtype: dtype, isa: isa, machine: machine)))
                origins.append("analytical")
            }
        }
        var library = LibrarySpec(isa: isa, gemm: variants)
        let fromFile = try specFile.map(Self.readSparseVariants) ?? ([], [], [])
        library.spmv = fromFile.0.filter { $0.spec.isa == isa }
        library.transpose = fromFile.1.filter { $0.spec.isa == isa }
        library.shapes = fromFile.2.filter { $0.isa == isa }
        for dtype in DType.allCases where !library.shapes.contains(where: { $0.dtype == dtype }) && variants.contains(where: { $0.spec.dtype == dtype }) {
            let mine = try results.loadShapes(dtype, machine: machine)?.shapes.map(\.spec).filter { $0.isa == isa } ?? []
            library.shapes += mine
            if !mine.isEmpty { origins.append("tuned") }
        }
        for dtype in DType.allCases where !library.spmv.contains(where: { $0.spec.dtype == dtype }) {
            if let tuned = try results.loadSparse(.spmv, dtype: dtype, machine: machine) {
                let mine = tuned.classes.compactMap { c in c.spmv.map { SparseVariant(matrixClass: c.matrixClass, spec: $0) } }.filter { $0.spec.isa == isa }
                library.spmv += mine
                if !mine.isEmpty { origins.append("tuned") }
            }
        }
        if library.transpose.isEmpty, let tuned = try results.loadSparse(.transpose, dtype: nil, machine: machine) {
            library.transpose = tuned.classes.compactMap { c in c.transpose.map { SparseVariant(matrixClass: c.matrixClass, spec: $0) } }.filter { $0.spec.isa == isa }
            if !library.transpose.isEmpty { origins.append("tuned") }
        }
        // Untuned sparse kernels: the model's for this machine, not another machine's defaults.
        for dtype in DType.allCases where !library.spmv.contains(where: { $0.spec.dtype == dtype }) {
            library.spmv.append(SparseVariant(spec: AnalyticalModel.spmvSpec(dtype: dtype, isa: isa, machine: machine)))
        }
        if library.transpose.isEmpty { library.transpose = [SparseVariant(spec: AnalyticalModel.transposeSpec(isa: isa, machine: machine))] }
        try library.validate()
        return KernelsConfig(version: blastuneVersion, machine: machine,
                             origin: Array(Set(origins)).sorted().joined(separator: "+"), library: library)
    }

    /// The configurations of one library for several machines: each machine of
    /// `fingerprints` (nil: every machine with tuned GEMM results in `results`) with the
    /// ISA it was tuned for, then the analytical model's for each ISA of `fallbackISAs`.
    public static func machineConfigurations(results: ResultsStore, fingerprints: [String]?,
                                             fallbackISAs: [ISA] = ISA.allCases) throws -> [MachineConfiguration] {
        let tuned = try results.tunedMachines()
        var machines = tuned
        if let wanted = fingerprints {
            machines = try wanted.map { fp in
                guard let m = tuned.first(where: { $0.fingerprint == fp }) else {
                    throw ResultsError(path: results.root.appendingPathComponent(fp).path, reason: "no tuned GEMM results for machine \(fp) "
                        + "(machines with results: \(tuned.isEmpty ? "none" : tuned.map(\.fingerprint).joined(separator: ", ")))")
                }
                return m
            }
        }
        var configurations = try machines.map { m -> MachineConfiguration in
            let isa = try DType.allCases.lazy.compactMap { try results.loadGemm($0, machine: m)?.classes.first?.spec.isa }.first ?? m.bestISA
            return MachineConfiguration(name: m.fingerprint, tuned: true,
                                        config: try ConfigResolver(machine: m, results: results).resolve(isa: isa))
        }
        for isa in fallbackISAs {
            let nominal = MachineProfile.nominal(isa)
            configurations.append(MachineConfiguration(name: "analytical-\(isa.rawValue)", tuned: false, config: KernelsConfig(
                version: blastuneVersion, machine: nominal, origin: "analytical", library: AnalyticalModel.librarySpec(isa: isa, machine: nominal))))
        }
        return configurations
    }

    /// The sparse variants and exact-shape kernels of a spec file holding a kernels.json or a
    /// library spec (none otherwise).
    static func readSparseVariants(_ url: URL) throws -> ([SparseVariant<SpmvSpec>], [SparseVariant<TransposeSpec>], [ShapeKernelSpec]) {
        guard let data = FileManager.default.contents(atPath: url.path) else { return ([], [], []) }
        let dec = JSONDecoder()
        if let cfg = try? dec.decode(KernelsConfig.self, from: data) { return (cfg.library.spmv, cfg.library.transpose, cfg.library.shapes) }
        if let lib = try? dec.decode(LibrarySpec.self, from: data) { return (lib.spmv, lib.transpose, lib.shapes) }
        return ([], [], [])
    }

    /// Reads the GEMM variants of a spec file.
    public static func readSpecFile(_ url: URL) throws -> [GemmVariant] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ResultsError(path: url.path, reason: "cannot read the spec file")
        }
        let dec = JSONDecoder()
        if let cfg = try? dec.decode(KernelsConfig.self, from: data) { return cfg.library.gemm }
        if let lib = try? dec.decode(LibrarySpec.self, from: data) { return lib.gemm }
        if let list = try? dec.decode([GemmSpec].self, from: data) { return list.map { GemmVariant(spec: $0) } }
        do { return [GemmVariant(spec: try dec.decode(GemmSpec.self, from: data))] } catch {
            throw ResultsError(path: url.path, reason: "not a GEMM spec (\(describeDecodingError(error)))")
        }
    }
}
