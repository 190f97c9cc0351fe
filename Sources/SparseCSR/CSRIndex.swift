/// Index type of blastune's CSR matrices: row pointers and column indices are 64-bit.
public typealias CSRIndex = Int64
