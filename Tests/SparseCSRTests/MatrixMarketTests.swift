import Foundation
import SparseCSR
import Testing

func mtx(_ text: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-mm-\(UUID().uuidString).mtx")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

func readError(_ text: String, limit: Int64 = MatrixMarket.physicalMemory()) throws -> MatrixMarketError? {
    let path = try mtx(text)
    do { _ = try MatrixMarket.read(path, as: Double.self, memoryLimit: limit); return nil } catch { return error }
}

@Suite("Matrix Market")
struct MatrixMarketTests {
    @Test("coordinate real general with comments, blank lines, CRLF, tabs and duplicates")
    func general() throws {
        let path = try mtx("%%MatrixMarket matrix coordinate real general\r\n% a comment\r\n\r\n2 3 4\r\n1\t1 1.5\r\n2 3 -2\r\n\r\n1 1 0.5\r\n2 1 4e0\r\n")
        let a = try MatrixMarket.read(path, as: Double.self)
        #expect(a.nrows == 2 && a.ncols == 3)
        #expect(a.rowPtr == [0, 1, 3] && a.colIdx == [0, 0, 2] && a.values == [2, 4, -2])
    }

    @Test("symmetric and skew-symmetric are expanded; pattern and integer fields")
    func symmetric() throws {
        let s = try MatrixMarket.read(try mtx("%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 1\n3 1 2\n3 2 5\n"), as: Double.self)
        #expect(s.rowPtr == [0, 2, 3, 5] && s.colIdx == [0, 2, 2, 0, 1] && s.values == [1, 2, 5, 2, 5])
        let k = try MatrixMarket.read(try mtx("%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n2 1 3\n"), as: Float.self)
        #expect(k.colIdx == [1, 0] && k.values == [-3, 3])
        let p = try MatrixMarket.read(try mtx("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n"), as: Double.self)
        #expect(p.values == nil && p.colIdx == [1, 0])
        let i = try MatrixMarket.read(try mtx("%%MatrixMarket matrix coordinate integer general\n1 1 1\n1 1 -7\n"), as: Double.self)
        #expect(i.values == [-7])
    }

    @Test("array files, general and symmetric, keep their nonzeros")
    func array() throws {
        // Column-major 2 x 2: [1 0; 3 4]
        let a = try MatrixMarket.read(try mtx("%%MatrixMarket matrix array real general\n2 2\n1\n3\n0\n4\n"), as: Double.self)
        #expect(a.rowPtr == [0, 1, 3] && a.colIdx == [0, 0, 1] && a.values == [1, 3, 4])
        // Symmetric 2 x 2 lower triangle: a11 = 1, a21 = 2, a22 = 3
        let s = try MatrixMarket.read(try mtx("%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n"), as: Double.self)
        #expect(s.values == [1, 2, 2, 3])
        let k = try MatrixMarket.read(try mtx("%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n"), as: Double.self)
        #expect(k.nnz == 6 && k.values == [-1, -2, 1, -3, 2, 3])
    }

    @Test("round trip through a file for every generator")
    func roundTrip() throws {
        let ms: [CSRMatrix<Double>] = [
            CSRGenerators.uniform(Double.self, nrows: 30, ncols: 40, perRow: 3),
            CSRGenerators.rmat(Double.self, scale: 6, edgeFactor: 4),
            CSRGenerators.stencil(Double.self, nx: 5, ny: 4),
            CSRGenerators.hypersparse(Double.self, n: 1000, count: 5, rowVector: false),
            try CSRMatrix<Double>(nrows: 0, ncols: 0, rowPtr: [0], colIdx: [], values: []),
            try CSRMatrix<Double>(nrows: 3, ncols: 0, rowPtr: [0, 0, 0, 0], colIdx: [], values: []),
        ]
        for m in ms {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-rt-\(UUID().uuidString).mtx").path
            try MatrixMarket.write(m, to: path)
            #expect(try MatrixMarket.read(path, as: Double.self) == m)
        }
        let pattern = try CSRMatrix<Double>(nrows: 2, ncols: 2, rowPtr: [0, 1, 2], colIdx: [1, 0], values: nil)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-rt-\(UUID().uuidString).mtx").path
        try MatrixMarket.write(pattern, to: path)
        #expect(try MatrixMarket.read(path, as: Double.self) == pattern)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let text: String, line: Int, says: String
        var testDescription: String { says }
    }

    static let malformed: [Bad] = [
        Bad(text: "", line: 0, says: "empty file"),
        Bad(text: "%%MatrixMarket matrix coordinate real\n1 1 0\n", line: 1, says: "not a Matrix Market banner"),
        Bad(text: "MatrixMarket matrix coordinate real general\n", line: 1, says: "not a Matrix Market banner"),
        Bad(text: "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", line: 1, says: "complex matrices are not supported"),
        Bad(text: "%%MatrixMarket matrix coordinate real hermitian\n1 1 0\n", line: 1, says: "hermitian"),
        Bad(text: "%%MatrixMarket vector coordinate real general\n1 1 0\n", line: 1, says: "only 'matrix'"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n% c\n2 x 1\n", line: 3, says: "size line"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2\n", line: 2, says: "size line"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n-2 2 1\n", line: 2, says: "negative size"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n99999999999999999999 2 1\n", line: 2, says: "size line"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n", line: 1, says: "no size line"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n0 1 1\n", line: 4, says: "row index 0 is outside"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 3 1\n", line: 3, says: "column index 3 is outside"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n2 2 2\n", line: 4, says: "truncated: 3 entries declared, 2 found"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 2\n", line: 4, says: "more entries than the 1 declared"),
        Bad(text: "%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 1.0\n", line: 3, says: "a pattern entry has no value"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1\n", line: 3, says: "expected 3 fields"),
        Bad(text: "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 abc\n", line: 3, says: "is not a valid real value"),
        Bad(text: "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 1.5\n", line: 3, says: "is not a valid integer value"),
        Bad(text: "%%MatrixMarket matrix coordinate real symmetric\n2 3 0\n", line: 2, says: "must be square"),
        Bad(text: "%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 2 1\n", line: 3, says: "above the diagonal"),
        Bad(text: "%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n1 1 1\n", line: 3, says: "no diagonal entries"),
        Bad(text: "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n", line: 5, says: "truncated: 4 values expected, 3 found"),
        Bad(text: "%%MatrixMarket matrix array real general\n1 1\n1\n2\n", line: 4, says: "more values than"),
        Bad(text: "%%MatrixMarket matrix array pattern general\n1 1\n", line: 1, says: "cannot be a pattern"),
    ]

    @Test("a 20 MB number, an overlong data line or field is refused at once with its line and at most 40 characters of it; a long comment is skipped")
    func boundedParsing() throws {
        let header = "%%MatrixMarket matrix coordinate real general\n% a comment\n2 2 1\n"
        let huge = header + "1 1 " + String(repeating: "1", count: 20 << 20) + "\n"
        let started = Date()
        let err = try #require(try readError(huge))
        #expect(Date().timeIntervalSince(started) < 1, "refused at once")
        #expect(err.line == 4 && err.message.contains("line longer than 65536 bytes"), "\(err)")
        #expect(err.description.count < 200, "\(err.description.count) characters: \(err)")
        // A field above 1 KiB on a line of sane length; a size line of one.
        let field = try #require(try readError(header + "1 1 " + String(repeating: "7", count: 2000) + "\n"))
        #expect(field.line == 4 && field.message.contains("field 3 is longer than 1024 bytes: '7777777777777777777777777777777777777777...' (2000 bytes)"), "\(field)")
        let size = try #require(try readError("%%MatrixMarket matrix coordinate real general\n2 2 " + String(repeating: "9", count: 5000) + "\n"))
        #expect(size.line == 2 && size.message.count < 140, "\(size)")
        let banner = try #require(try readError("%%MatrixMarket matrix coordinate real " + String(repeating: "x", count: 500) + "\n"))
        #expect(banner.line == 1 && banner.message.count < 140, "\(banner)")
        // Spaces count too: a data line past 64 KiB is refused even when its fields are short.
        let spaced = try #require(try readError(header + "1 1" + String(repeating: " ", count: 70_000) + "2\n"))
        #expect(spaced.line == 4 && spaced.message.contains("line longer than 65536 bytes"), "\(spaced)")
        // A comment line of 3 MB is skipped, and the line numbers after it stay right.
        let comment = "%%MatrixMarket matrix coordinate real general\n%" + String(repeating: "c", count: 3 << 20) + "\n2 2 2\n1 1 1.5\n2 2 x\n"
        let after = try #require(try readError(comment))
        #expect(after.line == 5 && after.message.contains("'x' is not a valid real value"), "\(after)")
        let ok = try MatrixMarket.read(try mtx("%%MatrixMarket matrix coordinate real general\n%" + String(repeating: "c", count: 3 << 20) + "\n2 2 1\n2 2 2.5"), as: Double.self)
        #expect(ok.rowPtr == [0, 0, 1] && ok.values == [2.5], "the last line needs no line end")
    }

    @Test("malformed files get an error with the line number", arguments: malformed)
    func malformedFiles(_ bad: Bad) throws {
        let err = try #require(try readError(bad.text), "accepted: \(bad.text)")
        #expect(err.line == bad.line, "\(err)")
        #expect(err.message.contains(bad.says), "\(err)")
    }

    @Test("a header claiming sizes above 2^31 is read exactly or refused before any large allocation")
    func hugeHeader() throws {
        // 1 x 3e9 with one entry: the result is small, so it is read.
        let wide = try MatrixMarket.read(try mtx("%%MatrixMarket matrix coordinate real general\n1 3000000000 1\n1 2999999999 5\n"), as: Double.self)
        #expect(wide.ncols == 3_000_000_000 && wide.colIdx == [2_999_999_998] && wide.values == [5])
        // 3e9 rows need 24 GB of row pointers: refused with what it needs.
        let tall = try #require(try readError("%%MatrixMarket matrix coordinate real general\n3000000000 1 1\n1 1 1\n", limit: 8 << 30))
        #expect(tall.line == 2 && tall.message.contains("row pointers"), "\(tall)")
        // Sizes whose row count + 1 overflows.
        let huge = try #require(try readError("%%MatrixMarket matrix coordinate real symmetric\n9223372036854775807 9223372036854775807 1\n1 1 1\n"))
        #expect(huge.message.contains("more than 2^63"), "\(huge)")
        // Entries beyond the memory limit are refused as they are counted, not allocated.
        let many = try #require(try readError("%%MatrixMarket matrix coordinate real symmetric\n4 4 3\n2 1 1\n3 1 1\n4 1 1\n", limit: 100))
        #expect(many.message.contains("needs more than"), "\(many)")
    }

    @Test("the fuzzing seed corpus and every input fuzzing found are read or refused without a crash")
    func fuzzCorpus() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fuzz").standardizedFileURL
        var files = 0
        for dir in ["corpus/mtx", "regressions/mtx"] {
            let d = fuzz.appendingPathComponent(dir)
            for name in try FileManager.default.contentsOfDirectory(atPath: d.path) where !name.hasPrefix(".") {
                _ = try? MatrixMarket.read(d.appendingPathComponent(name).path, as: Double.self, memoryLimit: 64 << 20)
                files += 1
            }
        }
        #expect(files >= 10)
    }

    @Test("a read that stops at an error closes its file (found by fuzzing: the reader leaked it)")
    func errorsCloseFiles() throws {
        func openFiles() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
        let bad = try mtx("%%MatrixMarket matrix coor\u{e4}inate real general\n0 0 0\n")
        let truncated = try mtx("%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n")
        let before = try openFiles()
        for _ in 0..<300 {
            #expect(throws: MatrixMarketError.self) { try MatrixMarket.read(bad, as: Double.self) }
            #expect(throws: MatrixMarketError.self) { try MatrixMarket.read(truncated, as: Double.self) }
        }
        // Other tests may open a few files meanwhile; 600 leaked handles would show.
        #expect(try openFiles() < before + 50)
    }

    @Test("a missing file is a clear error")
    func missing() {
        #expect(throws: MatrixMarketError.self) { try MatrixMarket.read("/nonexistent/x.mtx", as: Double.self) }
    }
}
