import Foundation
import KernelSpec

/// The text of a generated library: `kernels.c`, `kernels.h` and `kernels.json`.
public struct GeneratedSources: Sendable {
    public let config: KernelsConfig
    public let source: String
    public let header: String
    public let json: String
}

/// Turns a ``KernelsConfig`` into C source (spec -> generated C).
public enum LibraryGenerator {
    /// Validates the configuration and writes the C of every kernel it names.
    public static func sources(for config: KernelsConfig) throws -> GeneratedSources {
        try config.library.validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self) + "\n"
        var parts = [RuntimeEmitter.prelude(isa: config.library.isa, version: config.version),
                     RuntimeEmitter.info(version: config.version, configJSON: json, identity: .init(config)),
                     GemmABIEmitter.check, GemmPlanEmitter.common, FortranABIEmitter.common]
        for dtype in DType.allCases {
            let variants = config.library.servingVariants(dtype)
            let indexed = variants.enumerated().map { (index: $0.offset, variant: $0.element) }
            parts.append(GemmABIEmitter.context(dtype: dtype))
            parts += indexed.map { GemmEmitter(spec: $0.variant.spec, index: $0.index).emit() }
            // The direct kernel for small problems, when the library has kernels of this dtype.
            let small = variants.isEmpty ? nil : SmallKernelEmitter(dtype: dtype, isa: config.library.isa,
                                                                    l1Bytes: config.machine.cache(level: 1)?.sizeBytes ?? 32 << 10)
            if let small { parts.append(small.emit()) }
            parts.append(GemmABIEmitter.entryPoints(dtype: dtype, variants: indexed, small: small,
                                                    shapes: variants.isEmpty ? [] : config.library.servingShapes(dtype)))
            parts.append(GemmPlanEmitter.entryPoints(dtype: dtype))
            parts.append(FortranABIEmitter.entryPoints(dtype: dtype))
        }
        parts += [CSRABIEmitter.common, SpmvEmitter.helpers(isa: config.library.isa)]
        let transpose = config.library.servingTranspose()
        // The same tuned variants for both index widths (32-bit: scipy's arrays, no copy).
        for index in CSRIndex.entryPoints {
            parts.append(CSRABIEmitter.indexed(index))
            for dtype in DType.allCases {
                parts.append(SpmvEmitter(dtype: dtype, isa: config.library.isa, index: index).emit(variants: config.library.servingSpmv(dtype)))
                parts.append(TransposeEmitter(dtype: dtype, isa: config.library.isa, index: index).emit(variants: transpose))
            }
        }
        // Plans: the kernels of the compressed forms, then the entry points.
        parts.append(CSRPlanEmitter.common)
        for dtype in DType.allCases {
            for index in CSRIndex.planned {
                parts.append(SpmvEmitter(dtype: dtype, isa: config.library.isa, index: index).emit(variants: config.library.servingSpmv(dtype)))
            }
            parts.append(SpmvEmitter(dtype: dtype, isa: config.library.isa).runsKernel())
            parts.append(DiagonalsEmitter(dtype: dtype, isa: config.library.isa).emit())
            parts.append(SlicesEmitter(dtype: dtype, isa: config.library.isa).emit())
            parts.append(CSRPlanEmitter.entryPoints(dtype: dtype, variants: config.library.servingSpmv(dtype)))
        }
        for dtype in DType.allCases {
            parts.append(SpmmEmitter(dtype: dtype, isa: config.library.isa).emit(variants: config.library.servingSpmv(dtype)))
        }
        return GeneratedSources(config: config, source: parts.joined(separator: "\n"),
                                header: HeaderEmitter.header(version: config.version), json: json)
    }

    /// The files of one library holding several configurations (see ``MultiLibraryEmitter``):
    /// `kernels-<i>.c` per configuration, `kernels-dispatch.c`, `kernels.h` and `kernels.json`
    /// listing them, and the names of the files to compile.
    public static func sources(for configurations: [MachineConfiguration]) throws -> (files: [String: String], compiled: [String]) {
        guard let first = configurations.first else { throw ConfigurationListError(reason: "no configuration to build") }
        var seen = Set<String>()
        for c in configurations where !seen.insert(c.name).inserted {
            throw ConfigurationListError(reason: "configuration \(c.name) is listed twice")
        }
        let generated = try configurations.map { try sources(for: $0.config) }
        let emitter = MultiLibraryEmitter(configurations: configurations, exportsOf: generated[0].source)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let manifest = MultiConfigManifest(version: first.config.version, configurations: configurations)
        var files = ["kernels.h": generated[0].header, "kernels-dispatch.c": emitter.dispatcher,
                     "kernels.json": String(decoding: try encoder.encode(manifest), as: UTF8.self) + "\n"]
        for (i, g) in generated.enumerated() { files["kernels-\(i).c"] = emitter.configurationSource(i, kernelsC: g.source) }
        return (files, ["kernels-dispatch.c"] + generated.indices.map { "kernels-\($0).c" })
    }
}

/// A list of configurations that cannot make one library.
public struct ConfigurationListError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
