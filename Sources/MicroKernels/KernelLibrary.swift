import Foundation

/// A built `libkernels.so`, loaded into this process with its entry points resolved.
public final class KernelLibrary: @unchecked Sendable {
    public typealias SGemm = @convention(c) (Int32, Int32, Int32, Int64, Int64, Int64, Float,
        UnsafePointer<Float>?, Int64, UnsafePointer<Float>?, Int64, Float, UnsafeMutablePointer<Float>?, Int64) -> Int32
    public typealias DGemm = @convention(c) (Int32, Int32, Int32, Int64, Int64, Int64, Double,
        UnsafePointer<Double>?, Int64, UnsafePointer<Double>?, Int64, Double, UnsafeMutablePointer<Double>?, Int64) -> Int32
    public typealias CblasSGemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    public typealias CblasDGemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Double,
        UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void

    public typealias SCSRSpmv = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?,
        UnsafePointer<Float>?, Float, UnsafePointer<Float>?, Float, UnsafeMutablePointer<Float>?) -> Int32
    public typealias DCSRSpmv = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?,
        UnsafePointer<Double>?, Double, UnsafePointer<Double>?, Double, UnsafeMutablePointer<Double>?) -> Int32
    public typealias SCSRTranspose = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?,
        UnsafePointer<Float>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Float>?) -> Int32
    public typealias DCSRTranspose = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?,
        UnsafePointer<Double>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Double>?) -> Int32
    public typealias CSRCheck = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?,
        UnsafeMutablePointer<Int64>?) -> Int32
    /// The sparse entry points with the index arrays untyped: the `_i32` twins (int32_t
    /// row pointers and column indices) go through these.
    /// `bt_scsr_spmm` / `bt_dcsr_spmm`: (layout, nrows, ncols, k, row_ptr, col_idx, val, alpha, x, ldx, beta, y, ldy).
    public typealias SCSRSpmm = @convention(c) (Int32, Int64, Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafePointer<Float>?,
                                                Float, UnsafePointer<Float>?, Int64, Float, UnsafeMutablePointer<Float>?, Int64) -> Int32
    public typealias DCSRSpmm = @convention(c) (Int32, Int64, Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafePointer<Double>?,
                                                Double, UnsafePointer<Double>?, Int64, Double, UnsafeMutablePointer<Double>?, Int64) -> Int32
    public typealias SCSRSpmvAny = @convention(c) (Int64, Int64, UnsafeRawPointer?, UnsafeRawPointer?,
        UnsafePointer<Float>?, Float, UnsafePointer<Float>?, Float, UnsafeMutablePointer<Float>?) -> Int32
    public typealias DCSRSpmvAny = @convention(c) (Int64, Int64, UnsafeRawPointer?, UnsafeRawPointer?,
        UnsafePointer<Double>?, Double, UnsafePointer<Double>?, Double, UnsafeMutablePointer<Double>?) -> Int32
    public typealias SCSRTransposeAny = @convention(c) (Int64, Int64, UnsafeRawPointer?, UnsafeRawPointer?,
        UnsafePointer<Float>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Float>?) -> Int32
    public typealias DCSRTransposeAny = @convention(c) (Int64, Int64, UnsafeRawPointer?, UnsafeRawPointer?,
        UnsafePointer<Double>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Double>?) -> Int32

    public let path: String
    private let handle: UnsafeMutableRawPointer

    public let sgemm: SGemm
    public let dgemm: DGemm
    public let cblasSgemm: CblasSGemm
    public let cblasDgemm: CblasDGemm
    public let scsrSpmv: SCSRSpmv
    public let dcsrSpmv: DCSRSpmv
    public let scsrTranspose: SCSRTranspose
    public let dcsrTranspose: DCSRTranspose
    public let csrCheck: CSRCheck
    private let strerrorFn: @convention(c) (Int32) -> UnsafePointer<CChar>?
    private let versionFn: @convention(c) () -> UnsafePointer<CChar>?
    private let configFn: @convention(c) () -> UnsafePointer<CChar>?
    private let setThreadsFn: @convention(c) (Int32) -> Int32
    private let getThreadsFn: @convention(c) () -> Int32

    /// Loads the library at `path` (kept loaded for the life of the process).
    public init(path: String) throws {
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw LoadError(path: path, reason: dlerror().map { String(cString: $0) } ?? "dlopen failed")
        }
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(h, name) else { throw LoadError(path: path, reason: "missing symbol \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        self.path = path
        handle = h
        sgemm = try sym("bt_sgemm", SGemm.self)
        dgemm = try sym("bt_dgemm", DGemm.self)
        cblasSgemm = try sym("cblas_sgemm", CblasSGemm.self)
        cblasDgemm = try sym("cblas_dgemm", CblasDGemm.self)
        scsrSpmv = try sym("bt_scsr_spmv", SCSRSpmv.self)
        dcsrSpmv = try sym("bt_dcsr_spmv", DCSRSpmv.self)
        scsrTranspose = try sym("bt_scsr_transpose", SCSRTranspose.self)
        dcsrTranspose = try sym("bt_dcsr_transpose", DCSRTranspose.self)
        csrCheck = try sym("bt_csr_check", CSRCheck.self)
        strerrorFn = try sym("bt_strerror", (@convention(c) (Int32) -> UnsafePointer<CChar>?).self)
        versionFn = try sym("bt_version", (@convention(c) () -> UnsafePointer<CChar>?).self)
        configFn = try sym("bt_config_json", (@convention(c) () -> UnsafePointer<CChar>?).self)
        setThreadsFn = try sym("bt_set_num_threads", (@convention(c) (Int32) -> Int32).self)
        getThreadsFn = try sym("bt_get_num_threads", (@convention(c) () -> Int32).self)
    }

    public func strerror(_ status: Int32) -> String { strerrorFn(status).map { String(cString: $0) } ?? "" }

    /// The entry point `name` as a C function of type `T`, nil when the library lacks it.
    public func symbol<T>(_ name: String, as _: T.Type) -> T? { dlsym(handle, name).map { unsafeBitCast($0, to: T.self) } }
    /// `bt_last_error()`: why the last refused plan or batch call on this thread was refused.
    public var lastError: String {
        symbol("bt_last_error", as: (@convention(c) () -> UnsafePointer<CChar>?).self).flatMap { $0() }.map { String(cString: $0) } ?? ""
    }
    public var version: String { versionFn().map { String(cString: $0) } ?? "" }
    public var configJSON: String { configFn().map { String(cString: $0) } ?? "" }
    /// `bt_config()`: the active configuration and why it was chosen (nil in a library
    /// generated before it existed).
    public var activeConfiguration: String? {
        typealias Fn = @convention(c) () -> UnsafePointer<CChar>?
        return symbol("bt_config", as: Fn.self).flatMap { $0() }.map { String(cString: $0) }
    }
    @discardableResult public func setNumThreads(_ n: Int) -> Int32 { setThreadsFn(Int32(truncatingIfNeeded: n)) }
    public var numThreads: Int { Int(getThreadsFn()) }

    /// Status codes of the C ABI.
    public enum Status: Int32, Sendable { case ok = 0, invalid = 1, overflow = 2, noMemory = 3, unsupported = 4 }

    /// A library that could not be loaded.
    public struct LoadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public init(path: String, reason: String) { self.path = path; self.reason = reason }
        public var description: String { "cannot load \(path): \(reason)" }
    }
}
