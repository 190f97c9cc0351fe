import ArgumentParser
import Foundation
import SparseCSR

struct CSR: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "csr", abstract: "Sparse matrix tools.", subcommands: [Info.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read and validate a Matrix Market file and describe it.")

        @Argument(help: "A Matrix Market (.mtx) file.")
        var file: String

        func run() throws {
            let header = try MatrixMarket.header(file)
            let m = try MatrixMarket.read(file, as: Double.self)
            let s = m.rowStats
            say("\(file): \(header.format.rawValue) \(header.field.rawValue) \(header.symmetry.rawValue)")
            say("shape        \(m.nrows) x \(m.ncols)")
            say("nnz          \(m.nnz) (\(header.entries) stored\(header.symmetry == .general ? "" : ", expanded"), duplicates summed)")
            say("row length   min \(s.min), max \(s.max), mean \(String(format: "%.2f", s.mean)), skew (max/mean) \(String(format: "%.2f", s.skew))")
            say("index width  \(m.indexBitsNeeded)-bit indices suffice")
        }
    }
}
