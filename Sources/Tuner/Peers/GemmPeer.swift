import Foundation
import KernelSpec
import MicroKernels

/// A BLAS timed against the generated GEMM, through its CBLAS entry points: OpenBLAS (linked
/// into this process), BLIS and MKL (loaded when installed). Which configuration a peer runs
/// (`OPENBLAS_CORETYPE`, `BLIS_ARCH_TYPE`, `MKL_ENABLE_INSTRUCTIONS`) is chosen by
/// ``PeerCalibration`` and applied through the environment of the process that loads it.
public struct GemmPeer: @unchecked Sendable {
    public let name: String
    /// What the library reports it runs: OpenBLAS's core, BLIS's sub-configuration, MKL's version.
    public let configuration: String
    public let sgemm: KernelLibrary.CblasSGemm
    public let dgemm: KernelLibrary.CblasDGemm
    /// Sets the peer's thread count, when it has a call for it.
    let setThreadsFn: (@convention(c) (Int32) -> Void)?

    public func setThreads(_ threads: Int) { setThreadsFn?(Int32(threads)) }

    /// Column-major `C = A B` (alpha 1, beta 0) with leading dimensions m, k, m.
    public func gemm<T>(_ shape: GemmShape, _ a: UnsafeMutablePointer<T>, _ b: UnsafeMutablePointer<T>, _ c: UnsafeMutablePointer<T>) {
        let (m, n, k) = (Int32(shape.m), Int32(shape.n), Int32(shape.k))
        if T.self == Float.self {
            sgemm(102, 111, 111, m, n, k, 1, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), m,
                  UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), k, 0, UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), m)
        } else {
            dgemm(102, 111, 111, m, n, k, 1, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), m,
                  UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), k, 0, UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), m)
        }
    }

    /// The peers blastune knows: name, shared objects looked for, thread call, and how to
    /// ask the loaded library which configuration it runs.
    struct Kind: Sendable {
        var name: String
        var paths: [String]
        var threads: String
        /// Loaded into the global namespace (OpenBLAS, which this process links already).
        var linked: Bool
    }

    static let kinds: [Kind] = [
        Kind(name: "OpenBLAS", paths: ["libopenblas.so.0", "libopenblas.so"], threads: "openblas_set_num_threads", linked: true),
        Kind(name: "BLIS", paths: ["libblis.so.4", "libblis.so", "libblis-openmp.so.4", "libblis-pthread.so.4"], threads: "bli_thread_set_num_threads", linked: false),
        Kind(name: "MKL", paths: ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"], threads: "MKL_Set_Num_Threads", linked: false),
    ]

    /// The names of the peers blastune looks for, in the order tables list them.
    public static var names: [String] { kinds.map(\.name) }

    nonisolated(unsafe) private static var loaded: [GemmPeer]?
    private static let lock = NSLock()

    /// The peers installed here, loaded once per process with the configuration its
    /// environment selects. BLIS and MKL are loaded with RTLD_DEEPBIND so that their CBLAS
    /// layers call their own BLAS, not OpenBLAS's symbols of the same names.
    public static func discover() -> [GemmPeer] {
        lock.lock()
        defer { lock.unlock() }
        if let loaded { return loaded }
        let skip = Set((ProcessInfo.processInfo.environment[PeerCalibration.skipVariable] ?? "").split(separator: ",").map(String.init))
        let found = kinds.filter { !skip.contains($0.name) }.compactMap(load)
        loaded = found
        return found
    }

    /// The peer named `name`, if installed.
    public static func named(_ name: String) -> GemmPeer? { discover().first { $0.name == name } }

    /// `MKL_THREADING_GNU` of mkl_service.h (INTEL 0, SEQUENTIAL 1, PGI 2, GNU 3, TBB 4).
    public static let mklThreadingGNU: Int32 = 3

    private static func load(_ kind: Kind) -> GemmPeer? {
        guard let path = SparsePeers.locate(kind.paths) else { return nil }
        let flags = kind.linked ? RTLD_NOW | RTLD_GLOBAL : RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND
        guard let h = dlopen(path, flags), let s = dlsym(h, "cblas_sgemm"), let d = dlsym(h, "cblas_dgemm") else { return nil }
        if kind.name == "MKL", let layer = dlsym(h, "MKL_Set_Threading_Layer") {
            // GNU OpenMP, sharing libgomp's threads with ours. 1 is SEQUENTIAL, which the
            // bench used until 2026-12-06: every MKL figure on 2 threads before was MKL on one.
            _ = unsafeBitCast(layer, to: (@convention(c) (Int32) -> Int32).self)(mklThreadingGNU)
        }
        return GemmPeer(name: kind.name, configuration: describe(kind.name, handle: h),
                        sgemm: unsafeBitCast(s, to: KernelLibrary.CblasSGemm.self),
                        dgemm: unsafeBitCast(d, to: KernelLibrary.CblasDGemm.self),
                        setThreadsFn: dlsym(h, kind.threads).map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) })
    }

    /// The configuration a loaded peer reports (after initialising it with one tiny call for BLIS).
    private static func describe(_ name: String, handle h: UnsafeMutableRawPointer) -> String {
        typealias StringFn = @convention(c) () -> UnsafePointer<CChar>?
        func call(_ symbol: String) -> String? {
            dlsym(h, symbol).flatMap { unsafeBitCast($0, to: StringFn.self)() }.map { String(cString: $0) }
        }
        switch name {
        case "OpenBLAS":
            let core = call("openblas_get_corename") ?? "?"
            let version = (call("openblas_get_config") ?? "").split(separator: " ").prefix(2).joined(separator: " ")
            return "\(version) core \(core)"
        case "BLIS":
            guard let q = dlsym(h, "bli_arch_query_id"), let s = dlsym(h, "bli_arch_string") else { return "BLIS" }
            // Initialised first: BLIS 0.9 checks a BLIS_ARCH_TYPE id against its registry, which
            // bli_init fills, and aborts when asked before.
            if let i = dlsym(h, "bli_init") { unsafeBitCast(i, to: (@convention(c) () -> Void).self)() }
            let id = unsafeBitCast(q, to: (@convention(c) () -> Int32).self)()
            let arch = unsafeBitCast(s, to: (@convention(c) (Int32) -> UnsafePointer<CChar>?).self)(id).map { String(cString: $0) } ?? "?"
            let version = call("bli_info_get_version_str") ?? ""
            return "BLIS \(version) arch \(arch) (\(id))"
        default:
            var buf = [CChar](repeating: 0, count: 256)
            if let v = dlsym(h, "MKL_Get_Version_String") {
                unsafeBitCast(v, to: (@convention(c) (UnsafeMutablePointer<CChar>, Int32) -> Void).self)(&buf, Int32(buf.count))
                let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
            return name
        }
    }
}
