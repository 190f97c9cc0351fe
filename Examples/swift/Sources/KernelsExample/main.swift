// Calls a generated libkernels.so from Swift: GEMM in f64 and f32 (with a transposed
// operand), CSR SpMV and transpose, and a refused call. Every result is checked against a
// plain Swift reference; the exit status is 1 on any mismatch.
//
//   blastune generate --out kernels
//   swift run --package-path Examples/swift KernelsExample kernels
import Foundation
import MicroKernels
import SparseCSR

let folder = CommandLine.arguments.dropFirst().first ?? "kernels"
let lib: KernelLibrary
do {
    lib = try KernelLibrary(path: folder + "/libkernels.so")
} catch {
    print("cannot load the library: \(error) (build one with: blastune generate --out \(folder))")
    exit(2)
}
print("loaded \(lib.path): blastune \(lib.version), threads: \(lib.numThreads == 0 ? "the tuned count of each call's class" : "\(lib.numThreads)")")
var failures = 0

@MainActor func check(_ what: String, _ error: Double, below bound: Double) {
    let ok = error <= bound
    if !ok { failures += 1 }
    print("\(ok ? "ok  " : "FAIL") \(what): relative error \(error)")
}

/// Reproducible values in [-1, 1).
var state: UInt64 = 42
@MainActor func next() -> Double {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Double(state >> 11) * 0x1.0p-52 - 1
}

/// C = op(A) op(B) by three loops, column-major.
func reference<T: BinaryFloatingPoint>(_ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, a: [T], lda: Int, b: [T], ldb: Int) -> [T] {
    var c = [T](repeating: 0, count: m * n)
    for j in 0..<n { for i in 0..<m {
        var s: Double = 0
        for p in 0..<k { s += Double(ta ? a[p + i * lda] : a[i + p * lda]) * Double(tb ? b[j + p * ldb] : b[p + j * ldb]) }
        c[i + j * m] = T(s)
    } }
    return c
}

func relativeError<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> Double {
    let d = zip(x, y).map { abs(Double($0) - Double($1)) }.max() ?? 0
    let s = y.map { abs(Double($0)) }.max() ?? 0
    return s > 0 ? d / s : d
}

do {
    // f64 GEMM, C = A B with A 300 x 100 and B 100 x 200.
    let (m, n, k) = (300, 200, 100)
    let a = (0..<m * k).map { _ in next() }, b = (0..<k * n).map { _ in next() }
    var c = [Double](repeating: 0, count: m * n)
    try lib.gemm(m: m, n: n, k: k, a: a, b: b, c: &c)
    check("dgemm 300x200x100", relativeError(c, reference(false, false, m: m, n: n, k: k, a: a, lda: m, b: b, ldb: k)), below: 1e-12)

    // f32 GEMM with A stored transposed (k x m), alpha 2 and beta 1 onto C = 1.
    let at = (0..<k * m).map { _ in Float(next()) }, bf = b.map(Float.init)
    var cf = [Float](repeating: 1, count: m * n)
    try lib.gemm(.transpose, .none, m: m, n: n, k: k, alpha: 2, a: at, b: bf, beta: 1, c: &cf)
    let rf = reference(true, false, m: m, n: n, k: k, a: at, lda: k, b: bf, ldb: k).map { 2 * $0 + 1 }
    check("sgemm A^T 300x200x100, alpha 2, beta 1", relativeError(cf, rf), below: 1e-5)

    // CSR SpMV and transpose on a 2-D stencil (64-bit indices).
    let s = CSRGenerators.stencil(Double.self, nx: 200, ny: 150)
    let x = (0..<Int(s.ncols)).map { _ in next() }
    var y = [Double](repeating: 0, count: Int(s.nrows)), yRef = y
    try s.multiply(x, into: &y, using: lib)
    ReferenceKernels.spmv(s, alpha: 1, x: x, beta: 0, y: &yRef)
    check("dcsr_spmv on a \(s.nrows) x \(s.ncols) stencil, nnz \(s.nnz)", relativeError(y, yRef), below: 1e-14)
    let t = try s.transposed(using: lib)
    check("dcsr_transpose", t == ReferenceKernels.transpose(s) ? 0 : 1, below: 0)
} catch {
    failures += 1
    print("FAIL: \(error)")
}

// A buffer too small for its shape is refused with the library's status, before the call.
do {
    var c = [Double](repeating: 0, count: 4)
    try lib.gemm(m: 2, n: 2, k: 3, a: [1, 2, 3], b: [1, 2, 3, 4, 5, 6], c: &c)
    failures += 1
    print("FAIL: a 3-element A for a 2 x 3 matrix was accepted")
} catch {
    print("ok   refused: \(error)")
}

print(failures == 0 ? "all checks passed" : "\(failures) check(s) failed")
exit(failures == 0 ? 0 : 1)
