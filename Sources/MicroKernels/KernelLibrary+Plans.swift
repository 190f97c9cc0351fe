import KernelSpec

/// The plan and batch entry points of a loaded library (kernels.h), per dtype.
extension KernelLibrary {
    public typealias SGemmPlanFn = @convention(c) (Int32, Int32, Int32, Int64, Int64, Int64, Float, Int64, Int64, Float, Int64,
                                                   Int32, UnsafeMutablePointer<Int32>?) -> OpaquePointer?
    public typealias DGemmPlanFn = @convention(c) (Int32, Int32, Int32, Int64, Int64, Int64, Double, Int64, Int64, Double, Int64,
                                                   Int32, UnsafeMutablePointer<Int32>?) -> OpaquePointer?
    public typealias SGemmExecuteFn = @convention(c) (OpaquePointer?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> Int32
    public typealias DGemmExecuteFn = @convention(c) (OpaquePointer?, UnsafePointer<Double>?, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?) -> Int32
    public typealias PlanDestroyFn = @convention(c) (OpaquePointer?) -> Void
    public typealias SGemmBatchStridedFn = @convention(c) (Int32, Int32, Int32, Int64, Int64, Int64, Float, UnsafePointer<Float>?, Int64, Int64,
                                                           UnsafePointer<Float>?, Int64, Int64, Float, UnsafeMutablePointer<Float>?, Int64, Int64, Int64) -> Int32
    public typealias DGemmBatchStridedFn = @convention(c) (Int32, Int32, Int32, Int64, Int64, Int64, Double, UnsafePointer<Double>?, Int64, Int64,
                                                           UnsafePointer<Double>?, Int64, Int64, Double, UnsafeMutablePointer<Double>?, Int64, Int64, Int64) -> Int32

    /// A column-major, no-transpose plan (alpha 1, beta 0, tight leading dimensions) for
    /// `m x n x k` on `threads` threads (0: the tuned count), with its status.
    public func plan(_ dtype: DType, m: Int, n: Int, k: Int, threads: Int = 0) -> (plan: OpaquePointer?, status: Int32) {
        var st: Int32 = -1
        let (m64, n64, k64) = (Int64(m), Int64(n), Int64(k))
        let p: OpaquePointer?
        if dtype == .f32 {
            p = symbol("bt_sgemm_plan", as: SGemmPlanFn.self)?(102, 111, 111, m64, n64, k64, 1, max(1, m64), max(1, k64), 0, max(1, m64), Int32(threads), &st)
        } else {
            p = symbol("bt_dgemm_plan", as: DGemmPlanFn.self)?(102, 111, 111, m64, n64, k64, 1, max(1, m64), max(1, k64), 0, max(1, m64), Int32(threads), &st)
        }
        return (p, st)
    }

    /// Destroys a plan of ``plan(_:m:n:k:threads:)``.
    public func destroy(plan: OpaquePointer?) { symbol("bt_plan_destroy", as: PlanDestroyFn.self)?(plan) }
}
