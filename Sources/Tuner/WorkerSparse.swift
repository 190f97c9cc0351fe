import Foundation
import KernelSpec
import MicroKernels
import SparseCSR

/// A matrix the worker times sparse kernels on, with the reference results to check them.
final class SparseCase<T: CSRScalar> {
    let matrix: CSRMatrix<T>
    let x: [T]
    let spmvRef: [T]
    let transposeRef: CSRMatrix<T>

    init(_ source: MatrixSource) throws {
        matrix = try source.load(Double.self).converted(to: T.self)
        x = (0..<Int(matrix.ncols)).map { T(Double($0 % 7) - 3) }
        var y = [T](repeating: 0, count: Int(matrix.nrows))
        ReferenceKernels.spmv(matrix, alpha: 1, x: x, beta: 0, y: &y)
        spmvRef = y
        transposeRef = ReferenceKernels.transpose(matrix)
    }

    /// Checks the library on this matrix, then times it (interleaved with `baseline` when
    /// given: candidate and baseline timings); a failure says what is wrong.
    func run(_ op: SparseOp, _ lib: KernelLibrary, baseline: KernelLibrary?, timer: InterleavedTimer)
        throws -> Result<[TimingStats], WorkerService.Failure> {
        let libs = [lib] + (baseline.map { [$0] } ?? [])
        switch op {
        case .spmv:
            var y = [T](repeating: .nan, count: Int(matrix.nrows))
            try matrix.multiply(x, into: &y, using: lib)
            let eps = T.self == Float.self ? 1e-5 : 1e-13
            for r in y.indices {
                let tol = eps * Double(matrix.rowPtr[r + 1] - matrix.rowPtr[r] + 4) * 3 * max(1, abs(Double(spmvRef[r])))
                if !(abs(Double(y[r]) - Double(spmvRef[r])) <= tol) {
                    return .failure(.init(wrong: true, message: "SpMV row \(r): \(y[r]) instead of \(spmvRef[r])"))
                }
            }
            var out = y
            let m = matrix
            return .success(timer.compareAll(libs.map { l in { try? m.multiply(self.x, into: &out, using: l) } }))
        case .spmm:
            return .failure(.init(wrong: false, message: "SpMM is not searched on its own"))
        case .transpose:
            let t = try matrix.transposed(using: lib)
            guard t == transposeRef else { return .failure(.init(wrong: true, message: "the transpose differs from the reference")) }
            // Timed into preallocated output, as a caller reusing its buffers would run it.
            var trp = t.rowPtr, tci = t.colIdx, tva = t.values ?? []
            let m = matrix
            let va = m.values ?? []
            let stats = m.rowPtr.withUnsafeBufferPointer { rp in
                m.colIdx.withUnsafeBufferPointer { ci in
                    va.withUnsafeBytes { v in
                        trp.withUnsafeMutableBufferPointer { a in
                            tci.withUnsafeMutableBufferPointer { b in
                                tva.withUnsafeMutableBytes { c in
                                    let (rpp, cip, vp) = (rp.baseAddress, ci.baseAddress, v.baseAddress)
                                    let (ap, bp, cp) = (a.baseAddress, b.baseAddress, c.baseAddress)
                                    let calls: [() -> Void] = libs.map { lib in {
                                        _ = T.self == Float.self
                                            ? lib.scsrTranspose(m.nrows, m.ncols, rpp, cip, vp?.assumingMemoryBound(to: Float.self), ap, bp, cp?.assumingMemoryBound(to: Float.self))
                                            : lib.dcsrTranspose(m.nrows, m.ncols, rpp, cip, vp?.assumingMemoryBound(to: Double.self), ap, bp, cp?.assumingMemoryBound(to: Double.self))
                                    } }
                                    return timer.compareAll(calls)
                                }
                            }
                        }
                    }
                }
            }
            return .success(stats)
        }
    }
}

extension WorkerService {
    /// `sparse` requests: each matrix checked against the reference, then timed.
    func sparse(_ req: WorkerRequest, lib: KernelLibrary) throws -> WorkerResponse {
        guard let op = req.op else { return WorkerResponse(error: "sparse request without an operation") }
        let baseline = try req.baseline.map(load)
        lib.setNumThreads(req.threads)
        baseline?.setNumThreads(req.threads)
        var out = WorkerResponse()
        for source in req.matrices {
            let key = "\(source) \(req.dtype.rawValue)"
            let result: Result<[TimingStats], Failure>
            if req.dtype == .f32 {
                let c = try sparseCases[key] as? SparseCase<Float> ?? SparseCase<Float>(source)
                sparseCases[key] = c
                result = try c.run(op, lib, baseline: baseline, timer: req.timer.timer)
            } else {
                let c = try sparseCases[key] as? SparseCase<Double> ?? SparseCase<Double>(source)
                sparseCases[key] = c
                result = try c.run(op, lib, baseline: baseline, timer: req.timer.timer)
            }
            switch result {
            case .success(let s):
                out.sparseTimes.append(s[0])
                if s.count > 1 { out.baselineTimes.append(s[1]) }
            case .failure(let f):
                if f.wrong { out.wrong = "\(source): \(f.message)" } else { out.error = "\(source): \(f.message)" }
                return out
            }
        }
        return out
    }
}
