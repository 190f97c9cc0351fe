import Foundation

/// How a request to the worker ended.
public enum WorkerOutcome: Sendable {
    case answered(WorkerResponse)
    /// The worker died (a crash in generated code): how it ended and the end of its stderr.
    case crashed(String)
    /// The worker did not answer in time and was killed.
    case timedOut(Double)
}

/// Runs measurement requests in a separate worker process (`blastune worker`), so that a
/// candidate kernel that crashes or hangs costs the search one candidate, not the search.
/// A dead or killed worker is started again on the next request.
public final class WorkerClient: @unchecked Sendable {
    /// The command that starts a worker.
    public let command: [String]
    private var process: Process?
    private var input: FileHandle?
    private var lines: [String] = []
    private var buffer = Data()
    private var exited = false
    private let lock = NSCondition()
    private var stderrFile: URL?

    /// Variables added to the worker's environment (fault injection in tests, the peers'
    /// configurations); an empty value removes the variable.
    public let environment: [String: String]

    public init(command: [String], environment: [String: String] = [:]) {
        self.command = command
        self.environment = environment
    }

    deinit { stop() }

    /// Sends `request` and waits at most `timeout` seconds for the answer.
    public func send(_ request: WorkerRequest, timeout: Double) -> WorkerOutcome {
        do { try ensureRunning() } catch { return .crashed("cannot start the worker \(command.joined(separator: " ")): \(error)") }
        guard let data = try? JSONEncoder().encode(request) else { return .crashed("cannot encode the request") }
        do { try input?.write(contentsOf: data + Data("\n".utf8)) } catch {
            return .crashed(finish(reason: "the worker closed its input"))
        }
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        while lines.isEmpty && !exited {
            if !lock.wait(until: deadline) { break }
        }
        if let line = lines.first {
            lines.removeFirst()
            lock.unlock()
            guard let resp = try? JSONDecoder().decode(WorkerResponse.self, from: Data(line.utf8)) else {
                return .crashed("unreadable answer: \(line.prefix(200))")
            }
            return .answered(resp)
        }
        let died = exited
        lock.unlock()
        if died { return .crashed(finish(reason: "the worker died")) }
        kill(process?.processIdentifier ?? 0, SIGKILL)
        _ = finish(reason: "timed out")
        return .timedOut(timeout)
    }

    /// Stops the worker (it also stops when its input closes).
    public func stop() {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
        process?.waitUntilExit()
        process = nil
        input = nil
    }

    private func ensureRunning() throws {
        if let p = process, p.isRunning, !exited { return }
        stop()
        lock.lock()
        lines = []; buffer = Data(); exited = false
        lock.unlock()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        // An empty value unsets the variable (a peer's own detection of its configuration).
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.filter { !$0.value.isEmpty } }
        let inPipe = Pipe(), outPipe = Pipe()
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-worker-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        stderrFile = errURL
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = try FileHandle(forWritingTo: errURL)
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock()
            if d.isEmpty { self.exited = true; h.readabilityHandler = nil } else { self.buffer.append(d) }
            while let nl = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                self.lines.append(String(decoding: self.buffer[self.buffer.startIndex..<nl], as: UTF8.self))
                self.buffer.removeSubrange(self.buffer.startIndex...nl)
            }
            self.lock.broadcast()
            self.lock.unlock()
        }
        try p.run()
        process = p
        input = inPipe.fileHandleForWriting
    }

    /// Reaps a dead worker; returns how it ended with the end of its stderr.
    private func finish(reason: String) -> String {
        guard let p = process else { return reason }
        p.waitUntilExit()
        var why = reason
        if p.terminationReason == .uncaughtSignal { why += " (signal \(p.terminationStatus))" } else { why += " (exit \(p.terminationStatus))" }
        if let url = stderrFile, let text = try? String(contentsOf: url, encoding: .utf8), !text.isEmpty {
            why += ": " + text.split(separator: "\n").suffix(3).joined(separator: " | ")
        }
        process = nil
        input = nil
        if let url = stderrFile { try? FileManager.default.removeItem(at: url) }
        return why
    }
}
