import Foundation
import KernelSpec
import MicroKernels
import Testing

/// The FMA probe's loops keep every accumulator in a register: a loop that spills measures
/// a peak below what the kernels reach (16 accumulators and 2 constants on AVX2's 16 ymm).
@Suite("FMA probe")
struct ProbeTests {
    @Test("the accumulator counts fit the ISA's register file with the two constants")
    func countsFit() {
        for isa in ISA.allCases {
            let counts = ProbeEmitter.accumulatorCounts(isa: isa)
            #expect(!counts.isEmpty && counts.allSatisfy { $0 >= 8 && $0 + 2 <= isa.registerCount }, "\(isa): \(counts)")
            #expect(counts.last == isa.registerCount - 2, "\(isa): the largest count fills the register file")
        }
    }

    @Test("every probe loop's compiled body (gcc -O2) touches no memory: no spill", arguments: ISA.allCases)
    func noSpill(_ isa: ISA) throws {
        let dir = try scratchDirectory("probe-asm-\(isa.rawValue)")
        let src = dir.appendingPathComponent("probe.c"), asm = dir.appendingPathComponent("probe.s")
        try ProbeEmitter.source(isa: isa).write(to: src, atomically: true, encoding: .utf8)
        let r = try shell(["gcc", "-std=gnu11", "-O2", "-fPIC", "-S", src.path, "-o", asm.path])
        try #require(r.status == 0, "\(r.output)")
        let lines = try String(contentsOf: asm, encoding: .utf8).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for dtype in DType.allCases {
            for n in ProbeEmitter.accumulatorCounts(isa: isa) {
                let name = ProbeEmitter.loopName(dtype: dtype, accumulators: n)
                let body = try #require(Self.loopBody(lines, function: name), "\(isa) \(name): no loop found")
                let memory = body.filter { $0.contains("(%") }
                #expect(memory.isEmpty, "\(isa) \(name) loop reads or writes memory (a spill): \(memory.prefix(3))")
                let fmas = body.filter { $0.hasPrefix("vfmadd") || $0.hasPrefix("vfmacc") || $0.hasPrefix("mul") || $0.hasPrefix("vmul") }.count
                if isa != .generic {
                    #expect(fmas > 0 && fmas % n == 0, "\(isa) \(name): \(fmas) FMAs in the loop, not a multiple of \(n)")
                }
            }
        }
    }

    /// The instructions of the innermost loop of `function`: from a label to the last
    /// backward branch to it, in the function's assembly.
    static func loopBody(_ lines: [String], function: String) -> [String]? {
        guard let start = lines.firstIndex(of: function + ":") else { return nil }
        let end = lines[start...].firstIndex { $0.hasPrefix(".size\t\(function)") || $0.hasPrefix(".size \(function)") } ?? lines.count
        let fn = Array(lines[start..<end])
        for (i, line) in fn.enumerated() where line.hasPrefix(".L") && line.hasSuffix(":") {
            let label = String(line.dropLast())
            if let j = fn.lastIndex(where: { $0.hasPrefix("j") && $0.hasSuffix("\t" + label) || $0.hasSuffix(" " + label) && $0.hasPrefix("j") }), j > i {
                return fn[(i + 1)..<j].filter { !$0.hasPrefix(".") }
            }
        }
        return nil
    }
}
