// libFuzzer target: any bytes as a Matrix Market file. The reader must return a valid CSR
// matrix or a MatrixMarketError, never trap, hang or allocate what the file cannot justify.
// Built and run by scripts/fuzz.sh.
import Foundation
import SparseCSR

nonisolated(unsafe) private var path: String = {
    "\(NSTemporaryDirectory())/blastune-fuzz-\(getpid()).mtx"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMatrixMarket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let f = fopen(path, "w") else { return 0 }
    fwrite(data, 1, size, f)
    fclose(f)
    // 64 MiB: the reader must refuse anything larger by arithmetic, not by trying.
    if let m = try? MatrixMarket.read(path, as: Double.self, memoryLimit: 64 << 20) {
        // What was read is a valid CSR: the checked initializer accepts its arrays again.
        precondition((try? CSRMatrix<Double>(nrows: m.nrows, ncols: m.ncols, rowPtr: m.rowPtr, colIdx: m.colIdx, values: m.values)) != nil,
                     "the reader returned an invalid CSR matrix")
    }
    _ = try? MatrixMarket.read(path, as: Float.self, memoryLimit: 64 << 20)
    return 0
}
