import Foundation
import KernelSpec
import MicroKernels

/// libxsmm as a small-GEMM peer: its JIT-dispatched kernels for one exact shape (column-major,
/// alpha 1, beta 0, tight leading dimensions), one thread. Debian's `libxsmm-dev` ships static
/// archives only, so a small shim is linked against them into a shared object once per process
/// (nil when libxsmm or a C compiler is missing).
public final class XsmmPeer: @unchecked Sendable {
    public let name = "libxsmm"
    /// libxsmm's version and the code path its JIT targets on this CPU.
    public let configuration: String
    private typealias DispatchFn = @convention(c) (Int32, Int32, Int32, Int32) -> UnsafeRawPointer?
    private typealias RunFn = @convention(c) (UnsafeRawPointer?, Int32, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Void
    private let dispatchFn: DispatchFn
    private let runFn: RunFn

    static let archives = ["/usr/lib/libxsmm.a", "/usr/lib/libxsmmnoblas.a"]
    static let header = "/usr/include/libxsmm.h"

    static let shim = """
        #include <libxsmm.h>
        /* The dispatched kernel of C = A B (column-major, beta 0) for one shape, or NULL. */
        void *bt_xsmm_dispatch(int dbl, int m, int n, int k)
        {
            static int ready = 0;
            if (!ready) { libxsmm_init(); ready = 1; }
            const double one = 1, zero = 0;
            const float onef = 1, zerof = 0;
            return dbl ? (void *)libxsmm_dmmdispatch(m, n, k, NULL, NULL, NULL, &one, &zero, NULL, NULL)
                       : (void *)libxsmm_smmdispatch(m, n, k, NULL, NULL, NULL, &onef, &zerof, NULL, NULL);
        }
        void bt_xsmm_run(const void *kernel, int dbl, const void *a, const void *b, void *c)
        {
            if (dbl) ((libxsmm_dmmfunction)kernel)((const double *)a, (const double *)b, (double *)c);
            else ((libxsmm_smmfunction)kernel)((const float *)a, (const float *)b, (float *)c);
        }
        const char *bt_xsmm_describe(void)
        {
            static char text[128];
            libxsmm_init();
            snprintf(text, sizeof text, "libxsmm %s target %s", LIBXSMM_VERSION, libxsmm_get_target_arch());
            return text;
        }
        """

    private init(dispatch: DispatchFn, run: RunFn, configuration: String) {
        dispatchFn = dispatch; runFn = run; self.configuration = configuration
    }

    nonisolated(unsafe) private static var loaded: XsmmPeer??
    private static let lock = NSLock()

    /// The peer, built and loaded once per process; nil when libxsmm is not installed, when
    /// `BLASTUNE_SKIP_PEERS` names it, or when the shim does not build.
    public static func load() -> XsmmPeer? {
        lock.lock()
        defer { lock.unlock() }
        if let loaded { return loaded }
        let skip = (ProcessInfo.processInfo.environment[PeerCalibration.skipVariable] ?? "").split(separator: ",").contains("libxsmm")
        let fm = FileManager.default
        guard !skip, fm.fileExists(atPath: header), archives.allSatisfy(fm.fileExists) else { loaded = .some(nil); return nil }
        let dir = fm.temporaryDirectory.appendingPathComponent("blastune-xsmm-\(getpid())")
        defer { try? fm.removeItem(at: dir) }
        let source = dir.appendingPathComponent("xsmm_shim.c"), lib = dir.appendingPathComponent("libxsmm_shim.so")
        var peer: XsmmPeer?
        if (try? fm.createDirectory(at: dir, withIntermediateDirectories: true)) != nil,
           (try? ("#include <stdio.h>\n" + shim).write(to: source, atomically: true, encoding: .utf8)) != nil,
           (try? Toolchain.fromEnvironment().buildExecutable(sources: [source], output: lib, flags: ["-O2", "-shared", "-fPIC", "-Wl,--whole-archive"]
                + archives + ["-Wl,--no-whole-archive", "-lpthread", "-lm", "-ldl"])) != nil,
           let h = dlopen(lib.path, RTLD_NOW | RTLD_LOCAL),
           let d = dlsym(h, "bt_xsmm_dispatch"), let r = dlsym(h, "bt_xsmm_run"), let c = dlsym(h, "bt_xsmm_describe") {
            let describe = unsafeBitCast(c, to: (@convention(c) () -> UnsafePointer<CChar>?).self)
            peer = XsmmPeer(dispatch: unsafeBitCast(d, to: DispatchFn.self), run: unsafeBitCast(r, to: RunFn.self),
                            configuration: describe().map { String(cString: $0) } ?? "libxsmm")
        }
        loaded = .some(peer)
        return peer
    }

    /// The kernel for `shape` in `dtype`, or nil when libxsmm declines it.
    public func kernel(_ dtype: DType, _ shape: GemmShape) -> UnsafeRawPointer? {
        dispatchFn(dtype == .f64 ? 1 : 0, Int32(shape.m), Int32(shape.n), Int32(shape.k))
    }

    /// Runs a dispatched kernel: C = A B.
    public func run(_ kernel: UnsafeRawPointer, _ dtype: DType, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ c: UnsafeMutableRawPointer) {
        runFn(kernel, dtype == .f64 ? 1 : 0, a, b, c)
    }
}
