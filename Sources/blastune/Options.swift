import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import SparseCSR
import Tuner

let blastuneCLIVersion = blastuneVersion

extension ISA: ExpressibleByArgument {}
extension DType: ExpressibleByArgument {}

/// `--isa auto|avx512|avx2|generic`.
enum ISAChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, avx512, avx2, generic
    var isa: ISA? { ISA(rawValue: rawValue) }
}

/// `--dtype f32|f64|all`, shared by bench and search.
struct DTypeOption: ParsableArguments {
    @Option(help: "f32, f64 or all.")
    var dtype: String = "all"

    func validate() throws {
        guard dtype == "all" || DType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be f32, f64 or all (got '\(dtype)')") }
    }

    var selected: [DType] { DType(rawValue: dtype).map { [$0] } ?? DType.allCases }
}

/// Options shared by the commands that build a library.
struct LibraryOptions: ParsableArguments {
    @Option(help: "Instruction set: auto (the best this CPU has), avx512, avx2 or generic.")
    var isa: ISAChoice = .auto

    @Option(help: "A JSON spec file (kernels.json, a library spec, or GEMM specs) instead of the tuned or analytical configuration.")
    var spec: String?

    @Option(help: "The Results folder holding tuned configurations.")
    var results: String = "Results"

    /// The configuration these options select on this machine.
    func resolve(machine: MachineProfile) throws -> KernelsConfig {
        let resolver = ConfigResolver(machine: machine, results: ResultsStore(root: URL(fileURLWithPath: results)))
        let config = try resolver.resolve(isa: isa.isa, specFile: spec.map { URL(fileURLWithPath: $0) })
        if !machine.supports(config.library.isa) {
            warn("this CPU lacks \(config.library.isa.rawValue): the library will return BT_EUNSUPPORTED here")
        }
        return config
    }

    /// The configuration these options select, built into the library cache (reused when built before).
    func build(machine: MachineProfile) throws -> (config: KernelsConfig, output: LibraryBuilder.Output) {
        let config = try resolve(machine: machine)
        return (config, try LibraryCache().build(config))
    }
}

/// `--gen KIND:ARGS` and `--matrix FILE.mtx`, shared by the sparse bench and search.
struct MatrixOptions: ParsableArguments {
    @Option(help: "Sparse: a generated matrix KIND:ARGS (uniform:MxNxK, rmat:SCALE, stencil2d:N, stencil3d:N, hugerow:MxNxH, blocks:CxS, row:N, hypersparse:NxC, column:NxC, banded:NxW); repeatable. Without it or --matrix: the default suite.")
    var gen: [String] = []

    @Option(help: "Sparse: a Matrix Market file; repeatable.")
    var matrix: [String] = []

    func validate() throws {
        for g in gen { _ = try MatrixSource(parsing: g) }
    }

    /// Refuses matrices for an operation that takes none.
    func check(op: Op) throws {
        if op.sparse == nil && !(gen.isEmpty && matrix.isEmpty) { throw ValidationError("--gen and --matrix are for --op spmv or transpose") }
    }

    /// The matrices given, generators first.
    func sources() throws -> [MatrixSource] {
        try gen.map { try MatrixSource(parsing: $0) } + matrix.map { MatrixSource(kind: .file, args: [], path: $0) }
    }
}

/// Prints one line to stdout, unbuffered (so it interleaves with progress on stderr).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints one line to stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("blastune: warning: \(message)\n".utf8))
}

/// Parses a comma-separated list of integers.
func parseIntList(_ s: String, name: String) throws -> [Int] {
    try s.split(separator: ",").map {
        guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 0 else {
            throw ValidationError("--\(name): '\($0)' is not a non-negative integer")
        }
        return v
    }
}

/// Formats rows as an aligned text table.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
    func line(_ r: [String]) -> String {
        r.enumerated().map { i, s in i == 0 ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            : String(repeating: " ", count: widths[i] - s.count) + s }.joined(separator: "  ")
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
