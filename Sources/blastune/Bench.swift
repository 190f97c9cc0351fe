import ArgumentParser
import Foundation
import KernelSpec
import MicroKernels
import Tuner

/// The operations `bench` and `search` know.
enum Op: String, ExpressibleByArgument, CaseIterable {
    case gemm
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the generated kernels against OpenBLAS in the same process, interleaved.")

    @Option(help: "Operation: \(Op.allCases.map(\.rawValue).joined(separator: ", ")).")
    var op: Op

    @Option(help: "f32, f64 or all.")
    var dtype: String = "all"

    @Option(help: "Thread counts, comma-separated.")
    var threads: String = "1"

    @Option(help: "Sizes: n for n x n x n, or MxNxK; comma-separated.")
    var sizes: String = "256,512,1024,2048"

    @Option(help: "Use the built library in this folder instead of building one.")
    var lib: String?

    @OptionGroup var library: LibraryOptions

    func validate() throws {
        guard dtype == "all" || DType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be f32, f64 or all (got '\(dtype)')") }
        _ = try parseIntList(threads, name: "threads")
        _ = try Self.parseShapes(sizes)
    }

    static func parseShapes(_ s: String) throws -> [GemmShape] {
        try s.split(separator: ",").map { item in
            let dims = item.split(separator: "x").map { Int($0) }
            switch dims.count {
            case 1: if let n = dims[0], n > 0 { return GemmShape(m: n, n: n, k: n) }
            case 3: if let m = dims[0], let n = dims[1], let k = dims[2], m > 0, n > 0, k > 0 { return GemmShape(m: m, n: n, k: k) }
            default: break
            }
            throw ValidationError("--sizes: '\(item)' is not n or MxNxK with positive sizes")
        }
    }

    /// Refuses shapes whose operands would not fit in memory, before allocating anything.
    static func checkMemory(_ shapes: [GemmShape], dtype: DType) throws {
        let available = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
        for s in shapes {
            let (m, n, k) = (Int64(s.m), Int64(s.n), Int64(s.k))
            let elems = try CheckedSize.add(try CheckedSize.add(CheckedSize.mul(m, k, "m x k"), CheckedSize.mul(k, n, "k x n"), "operands"),
                                            CheckedSize.mul(2 * m, n, "2 x m x n"), "operands of \(s)")
            let bytes = try CheckedSize.mul(elems, dtype.size, "bytes of \(s)")
            guard bytes <= available / 2 else {
                throw ValidationError("--sizes: \(s) needs \(bytes >> 20) MiB of \(dtype.rawValue) operands; this machine has \(available >> 20) MiB")
            }
        }
    }

    func run() throws {
        let machine = MachineProfile.current()
        let libDir: URL
        let isa: ISA
        if let lib {
            libDir = URL(fileURLWithPath: lib)
            let data = try Data(contentsOf: libDir.appendingPathComponent("kernels.json"))
            isa = try JSONDecoder().decode(KernelsConfig.self, from: data).library.isa
        } else {
            let config = try library.resolve(machine: machine)
            libDir = try LibraryCache().build(config).directory
            isa = config.library.isa
        }
        let loaded = try KernelLibrary(path: libDir.appendingPathComponent("libkernels.so").path)
        let probe = try PeakProbe(isa: isa)
        let bench = GemmBench(library: loaded)
        let dtypes = dtype == "all" ? DType.allCases : [DType(rawValue: dtype)!]
        let threadCounts = try parseIntList(threads, name: "threads")
        for d in dtypes { try Self.checkMemory(try Self.parseShapes(sizes), dtype: d) }
        print("machine \(machine.fingerprint): \(machine.cpuModel), \(machine.cores) cores; library \(libDir.path) (\(isa.rawValue))")
        var rows: [[String]] = []
        for d in dtypes {
            for t in threadCounts {
                let peak = probe.gflops(d, threads: t)
                print("\(d.rawValue) FMA peak on \(t) thread(s): \(fmt(peak)) GFLOPS")
                for shape in try Self.parseShapes(sizes) {
                    let r = bench.run(dtype: d, shape: shape, threads: t, peakGflops: peak)
                    rows.append([d.rawValue, "\(shape)", "\(t)", fmt(r.oursGflops), fmt(r.peerGflops), fmt(r.ratio, 2),
                                 fmt(100 * r.fractionOfPeak), fmt(100 * r.peerFractionOfPeak),
                                 fmt(100 * max(r.ours.spread, r.peer.spread)), String(format: "%.1e", r.relativeError)])
                }
            }
        }
        print(table(["dtype", "shape", "thr", "ours GF/s", "OpenBLAS", "ratio", "ours %pk", "OB %pk", "spread%", "rel.err"], rows))
    }
}
