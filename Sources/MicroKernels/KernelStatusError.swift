/// A function of a built library that returned a status other than `BT_OK`, or a call the
/// Swift wrapper refused before making it (status `BT_EINVAL` / `BT_EOVERFLOW`).
public struct KernelStatusError: Error, CustomStringConvertible, Equatable {
    /// The C function, e.g. `bt_dgemm`.
    public let function: String
    /// The `BT_*` status code.
    public let status: Int32
    public let message: String
    public var description: String { "\(function) returned \(status): \(message)" }
    public init(function: String, status: Int32, message: String) { self.function = function; self.status = status; self.message = message }
}
