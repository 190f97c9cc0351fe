import Foundation
import SparseCSR

/// Case `matrix-market-huge-header`: Matrix Market headers whose sizes pass 2^31, 2^32 and
/// 2^63, read with blastune's reader: the right matrix or a clear error, and no allocation
/// the file's contents do not justify.
enum MatrixMarketRepro {
    /// A file and what reading it must give: the entries (0-based), or an error containing
    /// `error` (the memory check or the truncation check, whichever comes first here).
    struct Probe {
        let name: String
        let text: String
        let entries: [(Int64, Int64, Double)]?
        let shape: (Int64, Int64)?
        let error: String?
    }

    static let probes: [Probe] = [
        Probe(name: "columns past 2^31 and 2^32",
              text: "%%MatrixMarket matrix coordinate real general\n1 5000000000 4\n1 1 1.5\n1 2147483649 2.5\n1 4294967297 -3\n1 5000000000 4\n",
              entries: [(0, 0, 1.5), (0, 2147483648, 2.5), (0, 4294967296, -3), (0, 4999999999, 4)], shape: (1, 5_000_000_000), error: nil),
        Probe(name: "3e9 rows (24 GB of row pointers)",
              text: "%%MatrixMarket matrix coordinate real general\n3000000000 1 1\n3000000000 1 7\n",
              entries: nil, shape: nil, error: "row pointers"),
        Probe(name: "2^31 declared entries in a 1-entry file",
              text: "%%MatrixMarket matrix coordinate pattern general\n10 10 2147483648\n1 1\n",
              entries: nil, shape: nil, error: "2147483648 entries"),
        Probe(name: "symmetric, 1.5e9 declared entries (expansion 3e9 > 2^31)",
              text: "%%MatrixMarket matrix coordinate real symmetric\n100000 100000 1500000000\n2 1 1.0\n",
              entries: nil, shape: nil, error: "1500000000 entries"),
        Probe(name: "symmetric, 2^62 + 1 declared entries (expansion past 2^63)",
              text: "%%MatrixMarket matrix coordinate real symmetric\n4 4 4611686018427387905\n2 1 1.0\n",
              entries: nil, shape: nil, error: "more than 2^63 bytes"),
        Probe(name: "size 2^63 (past Int64)",
              text: "%%MatrixMarket matrix coordinate real general\n1 9223372036854775808 1\n1 1 1\n",
              entries: nil, shape: nil, error: "fit in 64 bits"),
        Probe(name: "array 46341 x 46341 (2^31 + 4633 values declared, 3 given)",
              text: "%%MatrixMarket matrix array real general\n46341 46341\n1\n2\n3\n",
              entries: nil, shape: nil, error: "2147488281 values expected, 3 found"),
        Probe(name: "symmetric 65536 x 65536 with entries at the last row (i * n past 2^32)",
              text: "%%MatrixMarket matrix coordinate real symmetric\n65536 65536 2\n65536 1 2\n65536 65536 3\n",
              entries: [(0, 65535, 2), (65535, 0, 2), (65535, 65535, 3)], shape: (65536, 65536), error: nil),
    ]

    static func run(_ ctx: ReproContext) throws -> [String] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-repro-mm-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var checks: [String] = []
        for (n, probe) in probes.enumerated() {
            let path = dir.appendingPathComponent("probe\(n).mtx").path
            try probe.text.write(toFile: path, atomically: true, encoding: .utf8)
            let before = ProcessMemory.resident ?? 0
            ProcessMemory.resetPeak()
            let outcome: String
            do {
                let m = try MatrixMarket.read(path, as: Double.self)
                guard let entries = probe.entries, let shape = probe.shape else {
                    throw ReproFailure("\(probe.name): read a \(m.nrows) x \(m.ncols) matrix where an error containing '\(probe.error ?? "")' was expected")
                }
                try expect(m.nrows == shape.0 && m.ncols == shape.1, "\(probe.name): read \(m.nrows) x \(m.ncols), expected \(shape.0) x \(shape.1)")
                var got: [(Int64, Int64, Double)] = []
                for r in 0..<Int(m.nrows) where m.rowPtr[r] < m.rowPtr[r + 1] {
                    for p in Int(m.rowPtr[r])..<Int(m.rowPtr[r + 1]) { got.append((Int64(r), m.colIdx[p], m.values?[p] ?? 1)) }
                }
                try expect(got.count == entries.count && zip(got, entries).allSatisfy { $0 == $1 },
                           "\(probe.name): read entries \(got), expected \(entries)")
                outcome = "read exactly (\(m.nrows) x \(m.ncols), \(m.nnz) nonzeros)"
            } catch let e as MatrixMarketError {
                guard let want = probe.error, e.message.contains(want) else {
                    throw ReproFailure("\(probe.name): unexpected error '\(e)'\(probe.error.map { " (expected one containing '\($0)')" } ?? "")")
                }
                outcome = "refused: \(e.message)"
            }
            // A header is not a reason to allocate: the read may add little beyond what it returns.
            let added = max(0, (ProcessMemory.peakResident ?? before) - before)
            try expect(added < 256 << 20, "\(probe.name): reading a \(probe.text.utf8.count)-byte file raised peak memory by \(formatBytes(added))")
            checks.append("\(probe.name): \(outcome); peak memory +\(formatBytes(added))")
        }
        return checks
    }
}
