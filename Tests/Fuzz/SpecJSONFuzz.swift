// libFuzzer target: any bytes as a JSON spec or results file. Decoding gives a value or an
// error; a spec that validates must generate C source; nothing traps or hangs.
// Built and run by scripts/fuzz.sh.
import Foundation
import KernelSpec
import MicroKernels
import Tuner

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpecJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let dec = JSONDecoder()
    var libraries: [LibrarySpec] = []
    if let c = try? dec.decode(KernelsConfig.self, from: bytes) { libraries.append(c.library) }
    if let l = try? dec.decode(LibrarySpec.self, from: bytes) { libraries.append(l) }
    if let g = try? dec.decode([GemmSpec].self, from: bytes), !g.isEmpty {
        libraries.append(LibrarySpec(isa: g[0].isa, gemm: g.map { GemmVariant(spec: $0) }))
    }
    if let g = try? dec.decode(GemmSpec.self, from: bytes) { libraries.append(LibrarySpec(isa: g.isa, gemm: [GemmVariant(spec: g)])) }
    if let r = try? dec.decode(GemmResultsFile.self, from: bytes) {
        libraries.append(LibrarySpec(isa: r.classes.first?.spec.isa ?? .generic, gemm: r.classes.map { GemmVariant(shapeClass: $0.shapeClass, spec: $0.spec) }))
    }
    if let r = try? dec.decode(SparseResultsFile.self, from: bytes) {
        var lib = LibrarySpec(isa: .generic, gemm: [])
        lib.spmv = r.classes.compactMap { c in c.spmv.map { SparseVariant(matrixClass: c.matrixClass, spec: $0) } }
        lib.transpose = r.classes.compactMap { c in c.transpose.map { SparseVariant(matrixClass: c.matrixClass, spec: $0) } }
        libraries.append(lib)
    }
    let machine = MachineProfile.current()
    for lib in libraries where (try? lib.validate()) != nil {
        let cfg = KernelsConfig(version: blastuneVersion, machine: machine, origin: "fuzz", library: lib)
        _ = try? LibraryGenerator.sources(for: cfg)
    }
    return 0
}
