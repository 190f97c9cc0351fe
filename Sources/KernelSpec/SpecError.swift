/// A kernel spec that cannot be generated, with the field at fault and the reason.
public struct SpecValidationError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The offending field, as named in the JSON spec (e.g. `nr`).
    public let field: String
    /// Why the value is impossible.
    public let reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "invalid spec: \(field): \(reason)" }
}
