import Foundation

/// Memory that could not be mapped.
public struct LazyMemoryError: Error, CustomStringConvertible {
    public let bytes: Int
    public let reason: String
    public var description: String { "cannot map \(formatBytes(Int64(bytes))): \(reason)" }
}

/// Anonymous memory mapped without reserving it: a page is committed only when written,
/// and reading an untouched page maps the kernel's shared zero page. Large inputs whose
/// contents are mostly zero therefore cost address space, not memory. The mapping sits
/// between inaccessible guard pages (an access just before or after it faults) and is
/// unmapped when the value is released.
public final class LazyMemory: @unchecked Sendable {
    /// The first byte (aligned to 2 MiB).
    public let base: UnsafeMutableRawPointer
    /// The usable bytes.
    public let bytes: Int
    private let reservation: UnsafeMutableRawPointer
    private let reserved: Int
    private var fd: Int32 = -1
    /// The bytes that repeat one window (empty unless made with a window).
    public private(set) var aliased: Range<Int> = 0..<0

    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    private static let huge = 2 << 20

    /// `bytes` of zero-filled memory; `hugePages` advises 2 MiB pages (fewer faults, and
    /// reads of untouched memory map the huge zero page).
    public init(bytes: Int, hugePages: Bool = true) throws(LazyMemoryError) {
        let size = max(Self.roundUp(bytes, Self.page), Self.page)
        let total = size + 2 * Self.huge
        guard let r = mmap(nil, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), r != MAP_FAILED else {
            throw LazyMemoryError(bytes: bytes, reason: String(cString: strerror(errno)))
        }
        reservation = r
        reserved = total
        self.bytes = bytes
        base = UnsafeMutableRawPointer(bitPattern: Self.roundUp(Int(bitPattern: r) + Self.page, Self.huge))!
        guard mprotect(base, size, PROT_READ | PROT_WRITE) == 0 else {
            munmap(r, total)
            throw LazyMemoryError(bytes: bytes, reason: String(cString: strerror(errno)))
        }
        if hugePages { _ = madvise(base, size, 14) } // MADV_HUGEPAGE
    }

    /// `bytes` whose first `head` and last `tail` bytes are private, and whose middle is one
    /// `window` of physical memory mapped again and again: every address stays distinct,
    /// but the middle commits only `window` bytes however large it is. Writes to the middle
    /// land in the shared window, so only values that agree across the repetitions can be
    /// checked there; check exact values in the head and tail.
    public convenience init(bytes: Int, head: Int, tail: Int, window: Int) throws(LazyMemoryError) {
        try self.init(bytes: bytes, hugePages: false)
        let w = Self.roundUp(max(window, Self.page), Self.page)
        let start = Self.roundUp(head, w)
        let end = (bytes - tail) / w * w
        guard end > start else { return }
        // The window: an unlinked file in memory (/dev/shm), else in the temporary folder.
        var f: Int32 = -1
        for dir in ["/dev/shm", NSTemporaryDirectory()] where f < 0 {
            let path = "\(dir)/blastune-window-\(getpid())-\(UUID().uuidString)"
            f = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
            if f >= 0 { unlink(path) }
        }
        guard f >= 0, ftruncate(f, off_t(w)) == 0 else {
            throw LazyMemoryError(bytes: bytes, reason: "window file: \(String(cString: strerror(errno)))")
        }
        fd = f
        var at = start
        while at < end {
            guard let p = mmap(base + at, w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f, 0), p != MAP_FAILED else {
                throw LazyMemoryError(bytes: bytes, reason: "aliasing the window: \(String(cString: strerror(errno)))")
            }
            at += w
        }
        aliased = start..<end
        Self.lock.lock()
        Self.aliasedOnce = true
        Self.lock.unlock()
    }

    deinit {
        munmap(reservation, reserved)
        if fd >= 0 { close(fd) }
    }

    /// Whether a window was ever mapped repeatedly in this process: resident-memory figures
    /// (VmRSS, VmHWM) then count it at every repetition; use proportional memory instead.
    public static var everAliased: Bool {
        lock.lock(); defer { lock.unlock() }
        return aliasedOnce
    }

    nonisolated(unsafe) private static var aliasedOnce = false
    private static let lock = NSLock()

    /// The memory as `count` elements of `T`.
    public func pointer<T>(_: T.Type = T.self) -> UnsafeMutablePointer<T> { base.assumingMemoryBound(to: T.self) }

    private static func roundUp(_ x: Int, _ to: Int) -> Int { (x + to - 1) / to * to }
}
