#if canImport(Glibc)
import Glibc
#endif

/// A Matrix Market file that cannot be read, with the line at fault (0: the file itself).
public struct MatrixMarketError: Error, Equatable, CustomStringConvertible, Sendable {
    public let path: String
    public let line: Int
    public let message: String
    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

/// The banner and size line of a Matrix Market file.
public struct MatrixMarketHeader: Equatable, Sendable {
    public enum Format: String, Sendable { case coordinate, array }
    public enum Field: String, Sendable { case real, integer, pattern }
    public enum Symmetry: String, Sendable { case general, symmetric, skewSymmetric = "skew-symmetric" }
    public var format: Format
    public var field: Field
    public var symmetry: Symmetry
    public var nrows: Int64
    public var ncols: Int64
    /// Entries the file declares (coordinate), or nrows x ncols (array, general).
    public var entries: Int64
}

/// Matrix Market reading and writing.
///
/// Reading streams the file twice: the first pass validates every line and counts the
/// entries of each row (symmetric and skew-symmetric entries expanded, the count
/// overflow-checked), the second fills the CSR arrays in place; duplicates are summed. The
/// memory needed is the result's, checked against the machine's before anything is
/// allocated. Indices are 1-based; `%` comments, blank lines, CRLF line ends and tabs
/// are accepted; complex and hermitian matrices are rejected. Array files keep their
/// nonzeros only.
public enum MatrixMarket {
    /// Reads `path` into a CSR matrix of `T` (pattern files give `values == nil`).
    public static func read<T: CSRScalar>(_ path: String, as _: T.Type = T.self,
                                          memoryLimit: Int64 = physicalMemory()) throws(MatrixMarketError) -> CSRMatrix<T> {
        // Pass 1: header, validation, per-row counts.
        var reader = try LineReader(path: path)
        let header = try readHeader(&reader)
        let nrows = header.nrows
        let expandsSym = header.symmetry != .general
        // Bytes of the result: row pointers + indices (+ values); checked before allocating.
        func fail(_ line: Int, _ msg: String) -> MatrixMarketError { MatrixMarketError(path: path, line: line, message: msg) }
        let (rowsPlusOne, o1) = nrows.addingReportingOverflow(1)
        let (ptrBytes, o2) = rowsPlusOne.multipliedReportingOverflow(by: 8)
        guard !o1, !o2, ptrBytes <= memoryLimit else {
            throw fail(reader.headerLine, "\(nrows) rows need \(o1 || o2 ? "more than 2^63" : "\(ptrBytes >> 20) MiB of") row pointers; this machine has \(memoryLimit >> 20) MiB")
        }
        let bytesPerEntry: Int64 = 8 + (header.field == .pattern ? 0 : Int64(MemoryLayout<T>.size))
        if header.format == .coordinate {
            // Every declared entry gives at least one nonzero: refuse before reading what cannot fit.
            let (bytes, o) = header.entries.multipliedReportingOverflow(by: bytesPerEntry)
            if o || bytes > memoryLimit - ptrBytes {
                throw fail(reader.headerLine, "the header declares \(header.entries) entries, which need \(o ? "more than 2^63 bytes" : "\(bytes >> 20) MiB") at \(bytesPerEntry) bytes each; this machine has \(memoryLimit >> 20) MiB")
            }
        }
        var counts = [Int64](repeating: 0, count: Int(rowsPlusOne))
        var total: Int64 = 0
        var seen: Int64 = 0
        func addEntry(_ i: Int64, _ j: Int64, line: Int) throws(MatrixMarketError) {
            if header.symmetry == .skewSymmetric && i == j { throw fail(line, "a skew-symmetric matrix has no diagonal entries (\(i), \(j))") }
            if expandsSym && i < j { throw fail(line, "entry (\(i), \(j)) is above the diagonal of a \(header.symmetry.rawValue) matrix; only the lower triangle is stored") }
            let add: Int64 = expandsSym && i != j ? 2 : 1
            let (t, o) = total.addingReportingOverflow(add)
            guard !o else { throw fail(line, "the expanded number of entries overflows 64 bits") }
            total = t
            let (bytes, ob) = total.multipliedReportingOverflow(by: bytesPerEntry)
            if ob || bytes > memoryLimit - ptrBytes {
                throw fail(line, "the matrix needs more than \(memoryLimit >> 20) MiB (the memory of this machine)")
            }
            counts[Int(i) + 1] += 1
            if add == 2 { counts[Int(j) + 1] += 1 }
        }
        try forEachEntry(&reader, header) { (i: Int64, j: Int64, _: Double, line: Int) throws(MatrixMarketError) in
            seen += 1
            try addEntry(i, j, line: line)
        }
        if header.format == .coordinate && seen < header.entries {
            throw fail(reader.lineNumber, "truncated: \(header.entries) entries declared, \(seen) found")
        }
        for r in 0..<Int(nrows) { counts[r + 1] += counts[r] }

        // Pass 2: fill.
        var again = try LineReader(path: path)
        _ = try readHeader(&again)
        var cols = [Int64](repeating: 0, count: Int(total))
        var vals: [T]? = header.field == .pattern ? nil : [T](repeating: 0, count: Int(total))
        // counts[r] is the next free slot of row r; afterwards the end of row r, shifted back below.
        try forEachEntry(&again, header) { (i: Int64, j: Int64, v: Double, _: Int) throws(MatrixMarketError) in
            let at = Int(counts[Int(i)]); counts[Int(i)] += 1
            cols[at] = j
            vals?[at] = T(v)
            if expandsSym && i != j {
                let at2 = Int(counts[Int(j)]); counts[Int(j)] += 1
                cols[at2] = i
                vals?[at2] = T(header.symmetry == .skewSymmetric ? -v : v)
            }
        }
        for r in stride(from: Int(nrows), to: 0, by: -1) { counts[r] = counts[r - 1] }
        counts[0] = 0
        CSRCompaction.sortAndSumInPlace(nrows: nrows, rowPtr: &counts, colIdx: &cols, values: &vals)
        do { return try CSRMatrix(nrows: nrows, ncols: header.ncols, rowPtr: counts, colIdx: cols, values: vals) } catch {
            throw fail(0, "internal: \(error)")
        }
    }

    /// Reads and validates only the banner and size line.
    public static func header(_ path: String) throws(MatrixMarketError) -> MatrixMarketHeader {
        var reader = try LineReader(path: path)
        return try readHeader(&reader)
    }

    static func readHeader(_ r: inout LineReader) throws(MatrixMarketError) -> MatrixMarketHeader {
        func fail(_ msg: String) -> MatrixMarketError { MatrixMarketError(path: r.path, line: r.lineNumber, message: msg) }
        guard let banner = try r.next() else { throw MatrixMarketError(path: r.path, line: 0, message: "empty file") }
        let words = banner.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
        guard words.count == 5, words[0] == "%%matrixmarket" else {
            throw fail("not a Matrix Market banner (expected '%%MatrixMarket matrix coordinate|array real|integer|pattern general|symmetric|skew-symmetric')")
        }
        guard words[1] == "matrix" else { throw fail("object \(quoted(words[1][...])) is not supported (only 'matrix')") }
        guard let format = MatrixMarketHeader.Format(rawValue: words[2]) else { throw fail("unknown format \(quoted(words[2][...])) (coordinate or array)") }
        if words[3] == "complex" { throw fail("complex matrices are not supported (real, integer or pattern)") }
        guard let field = MatrixMarketHeader.Field(rawValue: words[3]) else { throw fail("unknown field \(quoted(words[3][...])) (real, integer or pattern)") }
        if words[4] == "hermitian" { throw fail("hermitian matrices are complex and not supported") }
        guard let symmetry = MatrixMarketHeader.Symmetry(rawValue: words[4]) else { throw fail("unknown symmetry \(quoted(words[4][...])) (general, symmetric or skew-symmetric)") }
        if format == .array && field == .pattern { throw fail("an array file cannot be a pattern") }
        // Size line: the first line that is neither a comment nor blank.
        while let line = try r.next() {
            let t = line.drop(while: { $0 == " " || $0 == "\t" })
            if t.isEmpty || t.hasPrefix("%") { continue }
            let nums = t.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let want = format == .coordinate ? 3 : 2
            guard nums.count == want, let values = Optional(nums.compactMap { Int64($0) }), values.count == want else {
                throw fail("size line must be '\(format == .coordinate ? "rows columns entries" : "rows columns")', integers >= 0 that fit in 64 bits: got \(quoted(t))")
            }
            guard values.allSatisfy({ $0 >= 0 }) else { throw fail("negative size in \(quoted(t))") }
            if symmetry != .general && values[0] != values[1] { throw fail("a \(symmetry.rawValue) matrix must be square (got \(values[0]) x \(values[1]))") }
            let entries: Int64
            if format == .coordinate { entries = values[2] } else {
                let (e, o) = values[0].multipliedReportingOverflow(by: values[1])
                guard !o else { throw fail("\(values[0]) x \(values[1]) entries overflow 64 bits") }
                entries = e
            }
            r.headerLine = r.lineNumber
            return MatrixMarketHeader(format: format, field: field, symmetry: symmetry, nrows: values[0], ncols: values[1], entries: entries)
        }
        throw fail("no size line")
    }

    /// Calls `body` with each entry's 0-based row and column, value and line number.
    static func forEachEntry(_ r: inout LineReader, _ h: MatrixMarketHeader,
                             _ body: (Int64, Int64, Double, Int) throws(MatrixMarketError) -> Void) throws(MatrixMarketError) {
        var count: Int64 = 0
        // Array files store column by column: all rows (general), the lower triangle with
        // the diagonal (symmetric) or without it (skew-symmetric).
        func firstRow(_ j: Int64) -> Int64 { h.symmetry == .general ? 0 : h.symmetry == .symmetric ? j : j + 1 }
        // The first column from j on that holds a value, in O(1) (firstRow grows with j, so
        // once a column is empty all later ones are; a loop over empty columns could run
        // 2^63 times: found by fuzzing with 0 rows and 5e9 columns).
        func nextColumn(_ j: Int64) -> Int64 { j < h.ncols && firstRow(j) < h.nrows ? j : h.ncols }
        var aj = nextColumn(0)
        var ai: Int64 = aj < h.ncols ? firstRow(aj) : 0
        while let fields = try r.nextFields() {
            let line = r.lineNumber
            func fail(_ msg: String) -> MatrixMarketError { MatrixMarketError(path: r.path, line: line, message: msg) }
            if fields.isEmpty { continue }
            if let long = fields.enumerated().first(where: { $0.element.text.utf8.count > Field.maxBytes }) {
                throw fail("field \(long.offset + 1) is longer than \(Field.maxBytes) bytes: \(quoted(long.element.text))")
            }
            switch h.format {
            case .coordinate:
                guard count < h.entries else { throw fail("more entries than the \(h.entries) declared") }
                let want = h.field == .pattern ? 2 : 3
                if h.field == .pattern && fields.count > 2 { throw fail("a pattern entry has no value (got \(fields.count) fields)") }
                guard fields.count == want else { throw fail("expected \(want) fields (row column\(want == 3 ? " value" : "")), got \(fields.count)") }
                guard let i = fields[0].int, let j = fields[1].int else { throw fail("row and column must be integers") }
                guard i >= 1 && i <= h.nrows else { throw fail("row index \(i) is outside 1 ... \(h.nrows)") }
                guard j >= 1 && j <= h.ncols else { throw fail("column index \(j) is outside 1 ... \(h.ncols)") }
                var v = 1.0
                if want == 3 {
                    guard let x = fields[2].double(integer: h.field == .integer) else { throw fail("\(quoted(fields[2].text)) is not a valid \(h.field.rawValue) value") }
                    v = x
                }
                count += 1
                try body(i - 1, j - 1, v, line)
            case .array:
                guard fields.count == 1 else { throw fail("an array entry is one value, got \(fields.count) fields") }
                guard aj < h.ncols else { throw fail("more values than the \(h.nrows) x \(h.ncols) declared") }
                guard let v = fields[0].double(integer: h.field == .integer) else { throw fail("\(quoted(fields[0].text)) is not a valid \(h.field.rawValue) value") }
                let (i, j) = (ai, aj)
                ai += 1
                if ai >= h.nrows {
                    aj += 1
                    aj = nextColumn(aj)
                    ai = aj < h.ncols ? firstRow(aj) : 0
                }
                count += 1
                if v != 0 { try body(i, j, v, line) }
            }
        }
        if h.format == .array {
            // In 128 bits: n (n + 1) / 2 passes 2^63 for n above about 2^32.
            let n = Int128(h.nrows)
            let full = h.symmetry == .general ? Int128(h.entries) : h.symmetry == .symmetric ? n * (n + 1) / 2 : n * (n - 1) / 2
            if Int128(count) < full { throw MatrixMarketError(path: r.path, line: r.lineNumber, message: "truncated: \(full) values expected, \(count) found") }
        }
    }

    /// Writes `m` as a coordinate general file (real, or pattern when it has no values), atomically.
    public static func write<T: CSRScalar>(_ m: CSRMatrix<T>, to path: String) throws(MatrixMarketError) {
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "w") else {
            throw MatrixMarketError(path: path, line: 0, message: "cannot write: \(String(cString: strerror(errno)))")
        }
        var ok = fputs("%%MatrixMarket matrix coordinate \(m.values == nil ? "pattern" : "real") general\n", f) >= 0
        ok = ok && fputs("\(m.nrows) \(m.ncols) \(m.nnz)\n", f) >= 0
        for r in 0..<Int(m.nrows) where ok {
            for p in Int(m.rowPtr[r])..<Int(m.rowPtr[r + 1]) {
                let line = m.values.map { "\(r + 1) \(m.colIdx[p] + 1) \(Double($0[p]))\n" } ?? "\(r + 1) \(m.colIdx[p] + 1)\n"
                if fputs(line, f) < 0 { ok = false; break }
            }
        }
        ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok
        fclose(f)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw MatrixMarketError(path: path, line: 0, message: "cannot write: \(String(cString: strerror(errno)))")
        }
    }

    /// The default memory a read may use: three quarters of this machine's physical memory.
    public static func physicalMemory() -> Int64 {
        Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))) / 4 * 3
    }
}

/// One whitespace-separated field of a line.
struct Field {
    /// The longest field read as a number.
    static let maxBytes = 1024
    let text: Substring
    var int: Int64? { Int64(text) }
    func double(integer: Bool) -> Double? {
        if integer { return Int64(text).map(Double.init) }
        guard let d = Double(text), d.isFinite || text.lowercased().contains("inf") || text.lowercased().contains("nan") else { return nil }
        return d
    }
}

/// Reads a file line by line through a fixed buffer (streaming: one line in memory at a
/// time, and never more than ``maxLine`` bytes of one). A data line longer than that is
/// refused as soon as its first ``maxLine`` bytes are read; a longer comment line is kept
/// to that length and the rest skipped. The file and the buffer are released at the end
/// of the file or when the reader goes away, whichever comes first.
final class LineReader {
    /// The longest line read in full (a data line is three numbers; a banner five words).
    static let maxLine = 64 << 10
    let path: String
    private var file: UnsafeMutablePointer<FILE>?
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 20
    private var start = 0, end = 0
    private(set) var lineNumber = 0
    var headerLine = 0

    init(path: String) throws(MatrixMarketError) {
        self.path = path
        guard let f = fopen(path, "r") else {
            throw MatrixMarketError(path: path, line: 0, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        file = f
        buffer = .allocate(capacity: capacity)
    }

    deinit { close(); buffer.deallocate() }

    private func close() {
        if let f = file { fclose(f) }
        file = nil
    }

    /// Moves the unread bytes to the front and reads more; false at the end of the file.
    private func refill() -> Bool {
        guard let f = file else { return false }
        if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            end -= start
            start = 0
        }
        let n = fread(buffer + end, 1, capacity - end, f)
        if n == 0 { close(); return false }
        end += n
        return true
    }

    /// The next line without its line end (LF or CRLF), or nil at the end.
    func next() throws(MatrixMarketError) -> String? {
        var scanned = 0
        while true {
            let from = start + scanned
            if from < end, let nl = memchr(buffer + from, 10, end - from) {
                let stop = buffer.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                if stop - start > Self.maxLine { return try overlong() }
                return take(upTo: stop)
            }
            scanned = end - start
            if scanned > Self.maxLine { return try overlong() }
            if !refill() { return end > start ? take(upTo: end) : nil }   // the last line, without a line end
        }
    }

    /// The line from `start` to `stop` (its line end, or the end of the file).
    private func take(upTo stop: Int) -> String {
        lineNumber += 1
        var len = stop - start
        while len > 0 && (buffer[start + len - 1] == 10 || buffer[start + len - 1] == 13) { len -= 1 }
        let line = String(decoding: UnsafeBufferPointer(start: buffer + start, count: len), as: UTF8.self)
        start = min(stop + 1, end)
        return line
    }

    /// A line of more than ``maxLine`` bytes from `start` (at least that many are buffered):
    /// a comment is cut there and the rest skipped, anything else is refused at once.
    private func overlong() throws(MatrixMarketError) -> String {
        let head = UnsafeBufferPointer(start: buffer + start, count: Self.maxLine)
        let text = String(decoding: head, as: UTF8.self)
        lineNumber += 1
        guard head.first(where: { $0 != 32 && $0 != 9 }) == UInt8(ascii: "%") else {
            throw MatrixMarketError(path: path, line: lineNumber, message: "line longer than \(Self.maxLine) bytes: \(quoted(text[...]))")
        }
        while true {   // skip to the end of the comment
            if start < end, let nl = memchr(buffer + start, 10, end - start) {
                start = buffer.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
                return text
            }
            start = end
            if !refill() { return text }
        }
    }

    /// The fields of the next data line (empty for a blank or comment line), or nil at the end.
    func nextFields() throws(MatrixMarketError) -> [Field]? {
        guard let line = try next() else { return nil }
        let t = line.drop(while: { $0 == " " || $0 == "\t" })
        if t.hasPrefix("%") { return [] }
        return t.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Field(text: $0) }
    }
}

/// Offending text for an error message: quoted, at most 40 characters of it.
func quoted(_ text: Substring) -> String {
    text.count <= 40 ? "'\(text)'" : "'\(text.prefix(40))...' (\(text.utf8.count >= LineReader.maxLine ? "\(LineReader.maxLine)+" : "\(text.utf8.count)") bytes)"
}

/// In-place sorting of CSR rows by column with duplicates summed.
enum CSRCompaction {
    static func sortAndSumInPlace<T: CSRScalar>(nrows: Int64, rowPtr: inout [Int64], colIdx: inout [Int64], values: inout [T]?) {
        var out = 0
        var lo = Int(rowPtr[0])
        for r in 0..<Int(nrows) {
            let hi = Int(rowPtr[r + 1])
            var seg = (lo..<hi).map { (colIdx[$0], values?[$0] ?? 0) }
            if !seg.indices.dropFirst().allSatisfy({ seg[$0 - 1].0 <= seg[$0].0 }) {
                seg.sort { $0.0 < $1.0 }   // duplicates are summed below, so order among equals does not matter
            }
            rowPtr[r] = Int64(out)
            var k = 0
            while k < seg.count {
                var sum = seg[k].1
                var j = k + 1
                while j < seg.count && seg[j].0 == seg[k].0 { sum += seg[j].1; j += 1 }
                colIdx[out] = seg[k].0
                values?[out] = sum
                out += 1
                k = j
            }
            lo = hi
        }
        rowPtr[Int(nrows)] = Int64(out)
        colIdx.removeLast(colIdx.count - out)
        if let count = values?.count { values?.removeLast(count - out) }
    }
}
