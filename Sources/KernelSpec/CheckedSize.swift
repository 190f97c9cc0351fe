/// A size or offset computation that does not fit in a signed 64-bit integer.
public struct SizeOverflowError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What was being computed, e.g. "bytes of C (m x n, ldc)".
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "size overflow: \(what) does not fit in 64 bits" }
}

/// Overflow-checked arithmetic for every size, count and byte offset blastune computes.
///
/// All of blastune's sizes go through these functions: a product that does not fit
/// throws ``SizeOverflowError`` naming what was being computed, never traps or wraps.
public enum CheckedSize {
    /// `a * b`, or a ``SizeOverflowError`` naming `what`.
    public static func mul(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws(SizeOverflowError) -> Int64 {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        if o { throw SizeOverflowError(what: what()) }
        return r
    }

    /// `a + b`, or a ``SizeOverflowError`` naming `what`.
    public static func add(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws(SizeOverflowError) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw SizeOverflowError(what: what()) }
        return r
    }

    /// The product of all `factors`, checked at every step.
    public static func product(_ factors: [Int64], _ what: @autoclosure () -> String) throws(SizeOverflowError) -> Int64 {
        var r: Int64 = 1
        for f in factors { r = try mul(r, f, what()) }
        return r
    }

    /// Elements spanned by a `rows x cols` column-major matrix with leading dimension `ld`:
    /// `(cols - 1) * ld + rows`, or 0 for an empty matrix.
    public static func matrixSpan(rows: Int64, cols: Int64, ld: Int64, _ what: @autoclosure () -> String) throws(SizeOverflowError) -> Int64 {
        if rows == 0 || cols == 0 { return 0 }
        return try add(mul(cols - 1, ld, what()), rows, what())
    }

    /// `Int64` to `Int`, checked (relevant on 32-bit hosts only).
    public static func int(_ v: Int64, _ what: @autoclosure () -> String) throws(SizeOverflowError) -> Int {
        guard let r = Int(exactly: v) else { throw SizeOverflowError(what: what()) }
        return r
    }
}
