#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One level of the data cache hierarchy, as sysfs describes it.
public struct CacheLevel: Codable, Hashable, Sendable {
    public var level: Int
    public var sizeBytes: Int
    public var ways: Int
    public var lineBytes: Int
    public var sets: Int

    public init(level: Int, sizeBytes: Int, ways: Int, lineBytes: Int, sets: Int) {
        self.level = level; self.sizeBytes = sizeBytes; self.ways = ways
        self.lineBytes = lineBytes; self.sets = sets
    }
}

/// The facts about the host that kernels are generated and tuned for.
public struct MachineProfile: Codable, Hashable, Sendable {
    public var cpuModel: String
    public var vendor: String
    /// CPU family and model numbers (x86), or 0.
    public var family: Int
    public var model: Int
    /// Online logical CPUs.
    public var cores: Int
    /// The ISA-relevant CPU flags present (sorted).
    public var flags: [String]
    /// Data and unified caches, L1 first.
    public var caches: [CacheLevel]

    public init(cpuModel: String, vendor: String, family: Int, model: Int, cores: Int, flags: [String], caches: [CacheLevel]) {
        self.cpuModel = cpuModel; self.vendor = vendor; self.family = family; self.model = model
        self.cores = cores; self.flags = flags.sorted(); self.caches = caches
    }

    /// Flags that decide which kernels can run; others are not recorded.
    public static let relevantFlags: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq", "sse2", "neon", "asimd"]

    /// Environment variable listing CPU flags to pretend are absent (comma-separated),
    /// used to test the fallbacks for CPUs without an ISA.
    public static let maskVariable = "BLASTUNE_CPU_MASK"

    /// Whether kernels for `isa` can run here.
    public func supports(_ isa: ISA) -> Bool {
        isa.requiredCPUFlags.allSatisfy(flags.contains)
    }

    /// The widest ISA the host supports.
    public var bestISA: ISA {
        [ISA.avx512, .avx2].first(where: supports) ?? .generic
    }

    /// The data cache at `level` (1, 2, 3), if known.
    public func cache(level: Int) -> CacheLevel? { caches.first { $0.level == level } }

    /// A stable identifier for this kind of machine: CPU model, cores, ISA flags and caches.
    /// Results are stored under `Results/<fingerprint>/`.
    public var fingerprint: String {
        let canon = ([cpuModel, vendor, "\(family)", "\(model)", "\(cores)"] + flags
            + caches.map { "L\($0.level):\($0.sizeBytes):\($0.ways):\($0.lineBytes)" }).joined(separator: "|")
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in canon.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let slug = cpuModel.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
            .reduce(into: "") { s, c in if !(c == "-" && (s.isEmpty || s.hasSuffix("-"))) { s.append(c) } }
        let trimmed = slug.hasSuffix("-") ? String(slug.dropLast()) : slug
        let hex = String(h, radix: 16)
        return "\(trimmed.isEmpty ? "cpu" : trimmed)-\(cores)c-\(String(repeating: "0", count: 16 - hex.count) + hex)"
    }

    /// The cache hierarchy assumed where none is known: a common x86 one.
    public static let assumedCaches = [CacheLevel(level: 1, sizeBytes: 32 << 10, ways: 8, lineBytes: 64, sets: 64),
                                       CacheLevel(level: 2, sizeBytes: 1 << 20, ways: 16, lineBytes: 64, sets: 1024),
                                       CacheLevel(level: 3, sizeBytes: 8 << 20, ways: 16, lineBytes: 64, sets: 8192)]

    /// A machine known only by its ISA, with the assumed caches: what the analytical
    /// fallback of a library built for several machines is derived for.
    public static func nominal(_ isa: ISA) -> MachineProfile {
        MachineProfile(cpuModel: "any \(isa.rawValue) CPU", vendor: "any", family: 0, model: 0, cores: 1,
                       flags: isa.requiredCPUFlags, caches: assumedCaches)
    }

    /// Reads the profile of the host from `/proc/cpuinfo` and sysfs.
    public static func current(environment: [String: String] = environment()) -> MachineProfile {
        let cpuinfo = readFile("/proc/cpuinfo") ?? ""
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty && !fields.isEmpty { break }   // first processor only
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces, value = line[line.index(after: colon)...].trimmingSpaces
            if fields[key] == nil { fields[key] = value }
        }
        let masked = Set((environment[maskVariable] ?? "").split(separator: ",").map { $0.trimmingSpaces })
        let flagText = fields["flags"] ?? fields["Features"] ?? ""
        let flags = Set(flagText.split(separator: " ").map(String.init))
            .intersection(relevantFlags).subtracting(masked)
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return MachineProfile(
            cpuModel: fields["model name"] ?? fields["CPU part"] ?? "unknown",
            vendor: fields["vendor_id"] ?? fields["CPU implementer"] ?? "unknown",
            family: Int(fields["cpu family"] ?? "") ?? 0,
            model: Int(fields["model"] ?? "") ?? 0,
            cores: cores, flags: Array(flags), caches: readCaches())
    }

    /// The process environment as a dictionary.
    public static func environment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return env
    }

    static func readCaches() -> [CacheLevel] {
        var levels: [CacheLevel] = []
        for index in 0..<8 {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let type = readFile(dir + "type")?.trimmingSpaces, type != "Instruction",
                  let level = readFile(dir + "level").flatMap({ Int($0.trimmingSpaces) }),
                  let size = readFile(dir + "size").flatMap({ parseSize($0.trimmingSpaces) }) else { continue }
            let ways = readFile(dir + "ways_of_associativity").flatMap { Int($0.trimmingSpaces) } ?? 8
            let line = readFile(dir + "coherency_line_size").flatMap { Int($0.trimmingSpaces) } ?? 64
            let sets = readFile(dir + "number_of_sets").flatMap { Int($0.trimmingSpaces) } ?? max(1, size / max(1, ways * line))
            levels.append(CacheLevel(level: level, sizeBytes: size, ways: max(1, ways), lineBytes: line, sets: sets))
        }
        return levels.isEmpty ? assumedCaches : levels.sorted { $0.level < $1.level }
    }

    /// Parses sysfs sizes such as `48K` or `32M`.
    static func parseSize(_ s: String) -> Int? {
        let mult: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = s.last, let m = mult[last] { return Int(s.dropLast()).map { $0 * m } }
        return Int(s)
    }
}

/// Reads a whole (small) file as UTF-8, or nil.
func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: buf[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" }).reversed()
            .drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" }).reversed())
    }
}
