/// The blastune version, embedded in every generated library.
public let blastuneVersion = "0.1.0"
