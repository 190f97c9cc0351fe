import Foundation

/// This process's memory and the machine's, as Linux reports them (`/proc`); nil where unsupported.
public enum ProcessMemory {
    /// Resident memory now (VmRSS).
    public static var resident: Int64? { statusField("VmRSS:") }

    /// Peak resident memory since start or the last ``resetPeak()`` (VmHWM).
    public static var peakResident: Int64? { statusField("VmHWM:") }

    /// Resets the peak to the current resident memory (/proc/self/clear_refs); false where unsupported.
    @discardableResult public static func resetPeak() -> Bool {
        lock.lock(); defer { lock.unlock() }
        earlierPeak = max(earlierPeak, peakResident ?? 0)
        return (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
    }

    /// Peak resident memory over the life of the process, resets included.
    public static var lifetimePeak: Int64? {
        lock.lock(); defer { lock.unlock() }
        return peakResident.map { max($0, earlierPeak) }
    }

    /// Proportional memory now (Pss of /proc/self/smaps_rollup): a page mapped n times
    /// counts 1/n at each mapping, so a window mapped again and again counts once.
    public static var proportional: Int64? { kilobytes(in: "/proc/self/smaps_rollup", "Pss:") }

    /// Records ``proportional`` now into ``proportionalPeak`` (resident figures overcount
    /// repeated windows; call this where such memory is at its largest).
    public static func sampleProportional() {
        guard let p = proportional else { return }
        lock.lock(); defer { lock.unlock() }
        sampledPeak = max(sampledPeak, p)
    }

    /// The largest ``sampleProportional()`` recorded (nil when none was).
    public static var proportionalPeak: Int64? {
        lock.lock(); defer { lock.unlock() }
        return sampledPeak > 0 ? sampledPeak : nil
    }

    nonisolated(unsafe) private static var earlierPeak: Int64 = 0
    nonisolated(unsafe) private static var sampledPeak: Int64 = 0
    private static let lock = NSLock()

    /// Peak resident memory `body` adds beyond what is resident before it.
    public static func extra(_ body: () throws -> Void) rethrows -> Int64? {
        guard resetPeak(), let before = resident else { try body(); return nil }
        try body()
        return peakResident.map { max(0, $0 - before) }
    }

    /// Memory the machine can give without swapping (MemAvailable).
    public static var available: Int64? { meminfoField("MemAvailable:") }

    /// Bytes of physical memory of the machine.
    public static var physical: Int64 { Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))) }

    /// Physical memory (MemTotal).
    public static var total: Int64? { meminfoField("MemTotal:") }

    /// The address space still committable when the kernel refuses to overcommit
    /// (`vm.overcommit_memory` = 2: CommitLimit - Committed_AS); nil when it overcommits.
    public static var commitHeadroom: Int64? {
        guard let mode = try? String(contentsOfFile: "/proc/sys/vm/overcommit_memory", encoding: .utf8),
              mode.trimmingCharacters(in: .whitespacesAndNewlines) == "2",
              let limit = meminfoField("CommitLimit:"), let used = meminfoField("Committed_AS:") else { return nil }
        return limit - used
    }

    private static func statusField(_ key: String) -> Int64? { kilobytes(in: "/proc/self/status", key) }
    private static func meminfoField(_ key: String) -> Int64? { kilobytes(in: "/proc/meminfo", key) }

    private static func kilobytes(in file: String, _ key: String) -> Int64? {
        guard let s = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix(key) {
            // "VmHWM:\t    1956 kB": the tab is followed by padding only below 8 digits.
            return Int64(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "").map { $0 * 1024 }
        }
        return nil
    }
}

/// A byte count for people: "1.5 GiB", "12.0 MiB", "512 B".
public func formatBytes(_ b: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(b), u = 0
    while abs(v) >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(b) B" : String(format: "%.1f %@", v, units[u])
}
