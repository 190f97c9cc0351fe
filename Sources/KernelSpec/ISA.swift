/// Instruction set a kernel is generated for.
public enum ISA: String, Codable, CaseIterable, Sendable {
    /// AVX-512F (512-bit vectors, 32 registers, mask registers).
    case avx512
    /// AVX2 with FMA (256-bit vectors, 16 registers).
    case avx2
    /// Portable C with compiler vector extensions (16-byte vectors); builds on any CPU.
    case generic

    /// Width of one vector register in bytes.
    public var vectorBytes: Int { switch self { case .avx512: 64; case .avx2: 32; case .generic: 16 } }
    /// Architectural vector registers available to a micro-kernel.
    public var registerCount: Int { self == .avx512 ? 32 : 16 }
    /// Elements of `dtype` per vector.
    public func lanes(_ dtype: DType) -> Int { vectorBytes / Int(dtype.size) }
    /// Whether SpMV's model seed loads x by vector gathers (AVX-512's are pipelined on the
    /// machines seen) rather than scalar loads (AVX2 gathers are microcoded on Zen 2-3).
    /// The sparse search measures both.
    public var seedsGather: Bool { self == .avx512 }
    /// The `/proc/cpuinfo` flags this ISA needs.
    public var requiredCPUFlags: [String] {
        switch self {
        case .avx512: ["avx512f", "avx2", "fma"]
        case .avx2: ["avx2", "fma"]
        case .generic: []
        }
    }
}
