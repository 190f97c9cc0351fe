#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Summary of repeated timings of one operation (seconds per call).
public struct TimingStats: Codable, Hashable, Sendable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// Interquartile range over the median: the relative spread of the samples.
    public var spread: Double
    public var samples: Int

    public init(_ times: [Double]) {
        let s = times.sorted()
        func q(_ f: Double) -> Double {
            let x = f * Double(s.count - 1), i = Int(x), r = x - Double(i)
            return i + 1 < s.count ? s[i] * (1 - r) + s[i + 1] * r : s[i]
        }
        median = q(0.5)
        min = s.first ?? 0
        max = s.last ?? 0
        spread = median > 0 ? (q(0.75) - q(0.25)) / median : 0
        samples = s.count
    }
}

/// Interleaved timing of two operations in one process: after a warm-up, samples of
/// A and B alternate (A B A B ...), each sample repeats its operation long enough to
/// dwarf timer noise, and sampling goes on (up to a cap) while the spread is wide.
public struct InterleavedTimer: Sendable {
    /// Minimum duration of one sample.
    public var sampleSeconds = 0.02
    /// Samples of each operation at first, and at most.
    public var samples = 7
    public var maxSamples = 21
    /// Spread above which more samples are taken.
    public var targetSpread = 0.03

    public init(sampleSeconds: Double = 0.02, samples: Int = 7, maxSamples: Int = 21, targetSpread: Double = 0.03) {
        self.sampleSeconds = sampleSeconds
        self.samples = samples
        self.maxSamples = maxSamples
        self.targetSpread = targetSpread
    }

    /// Times `a` and `b`; returns their per-call statistics.
    public func compare(_ a: () -> Void, _ b: () -> Void) -> (a: TimingStats, b: TimingStats) {
        withoutActuallyEscaping(a) { a in
            withoutActuallyEscaping(b) { b in
                let s = compareAll([a, b])
                return (s[0], s[1])
            }
        }
    }

    /// Times several operations round-robin (A B C A B C ...); per-call statistics of each.
    public func compareAll(_ ops: [() -> Void]) -> [TimingStats] {
        let reps = ops.map { repetitions($0) }
        var times = [[Double]](repeating: [], count: ops.count)
        func sample(_ f: () -> Void, _ n: Int) -> Double {
            let t0 = monotonicSeconds()
            for _ in 0..<n { f() }
            return (monotonicSeconds() - t0) / Double(n)
        }
        while times[0].count < maxSamples {
            for i in ops.indices { times[i].append(sample(ops[i], reps[i])) }
            if times[0].count >= samples && times.allSatisfy({ TimingStats($0).spread <= targetSpread }) { break }
        }
        return times.map { TimingStats($0) }
    }

    /// Times `a` alone.
    public func time(_ a: () -> Void) -> TimingStats {
        compare(a, {}).a
    }

    /// Calls per sample so that one sample lasts `sampleSeconds` (after a warm-up call).
    func repetitions(_ f: () -> Void) -> Int {
        f()
        var reps = 1
        while true {
            let t0 = monotonicSeconds()
            for _ in 0..<reps { f() }
            let t = monotonicSeconds() - t0
            if t >= sampleSeconds / 4 || reps >= 1 << 24 {
                return Swift.max(1, Int((Double(reps) * sampleSeconds / Swift.max(t, 1e-9)).rounded(.up)))
            }
            reps *= 4
        }
    }
}

/// The geometric mean of positive values (0 for none).
func geometricMean(_ x: [Double]) -> Double {
    x.isEmpty ? 0 : exp(x.map { log($0) }.reduce(0, +) / Double(x.count))
}
