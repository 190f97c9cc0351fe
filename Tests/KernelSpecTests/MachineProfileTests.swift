import KernelSpec
import Testing

@Suite("Machine profile")
struct MachineProfileTests {
    @Test("the host profile has caches, cores and a stable fingerprint")
    func host() {
        let m = MachineProfile.current()
        #expect(m.cores >= 1)
        #expect(m.cache(level: 1) != nil)
        #expect(m.fingerprint == MachineProfile.current().fingerprint)
        #expect(m.fingerprint.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" })
        #expect(m.supports(.generic))
    }

    @Test("BLASTUNE_CPU_MASK hides flags and lowers the best ISA")
    func masking() {
        let full = MachineProfile.current(environment: [:])
        let masked = MachineProfile.current(environment: [MachineProfile.maskVariable: "avx512f,avx2"])
        #expect(!masked.supports(.avx512) && !masked.supports(.avx2))
        #expect(masked.bestISA == .generic)
        if full.supports(.avx512) { #expect(masked.fingerprint != full.fingerprint) }
    }

    @Test("the fingerprint changes with the cache hierarchy")
    func fingerprint() {
        let a = MachineProfile(cpuModel: "Test CPU 9000", vendor: "v", family: 1, model: 2, cores: 2, flags: ["avx2"],
                               caches: [CacheLevel(level: 1, sizeBytes: 32768, ways: 8, lineBytes: 64, sets: 64)])
        var b = a
        b.caches[0].ways = 12
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint.hasPrefix("test-cpu-9000-2c-"))
    }
}
