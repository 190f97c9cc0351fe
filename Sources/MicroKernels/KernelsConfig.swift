import KernelSpec

/// The contents of `kernels.json`: what a library was generated from and for which machine.
public struct KernelsConfig: Codable, Hashable, Sendable {
    /// blastune version that generated it.
    public var version: String
    /// Fingerprint of the machine the configuration was made for.
    public var fingerprint: String
    public var machine: MachineProfile
    /// Where the specs came from: `tuned` (Results/), `analytical` (the model) or `file`.
    public var origin: String
    public var library: LibrarySpec

    public init(version: String, machine: MachineProfile, origin: String, library: LibrarySpec) {
        self.version = version
        self.fingerprint = machine.fingerprint
        self.machine = machine
        self.origin = origin
        self.library = library
    }
}
