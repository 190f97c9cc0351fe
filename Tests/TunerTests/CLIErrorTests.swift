import Foundation
import KernelSpec
import MicroKernels
import Testing
import Tuner

/// Bad input on the command line: one clear line on stderr, a non-zero exit, nothing left behind.
@Suite("Command-line errors")
struct CLIErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let args: [String]
        let env: [String: String]
        let says: String
        var testDescription: String { (env.map { "\($0)=\($1) " }.joined()) + args.joined(separator: " ") }
    }

    /// Runs blastune with stdout and stderr apart.
    static func run(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = try tempDirectory("cli")
        let (out, err) = (dir.appendingPathComponent("out"), dir.appendingPathComponent("err"))
        let r = try runCommand(["sh", "-c", "\"$0\" \"$@\" > '\(out.path)' 2> '\(err.path)'", blastuneExecutable] + args, environment: env)
        return (r.status, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("blastune-cli-\(getpid())")
    static let fingerprint = MachineProfile.current().fingerprint

    /// A results folder holding this machine's gemm-f32.json edited by `edit`.
    static func results(_ name: String, _ edit: (inout [String: Any]) -> Void) -> String {
        let dir = scratch.appendingPathComponent(name).appendingPathComponent(fingerprint)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Results/amd-epyc-2c-3a8598152e892fa6/gemm-f32.json").standardizedFileURL
        var obj = (try? JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any]) ?? [:]
        obj["fingerprint"] = fingerprint
        edit(&obj)
        try? JSONSerialization.data(withJSONObject: obj).write(to: dir.appendingPathComponent("gemm-f32.json"))
        return dir.deletingLastPathComponent().path
    }

    static let cases: [Case] = {
        let file = scratch.appendingPathComponent("a-file")
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try? "x".write(to: file, atomically: true, encoding: .utf8)
        let bad = scratch.appendingPathComponent("bad.mtx")
        try? "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n".write(to: bad, atomically: true, encoding: .utf8)
        let out = { (n: String) in scratch.appendingPathComponent("out-\(n)").path }
        return [
            Case(args: ["bench", "--op", "qr"], env: [:], says: "'qr' is invalid for '--op"),
            Case(args: ["bench", "--op", "lu", "--dtype", "f32"], env: [:], says: "--op lu is f64 only"),
            Case(args: ["bench", "--op", "cholesky", "--block-size", "0"], env: [:], says: "--block-size must be at least 1"),
            Case(args: ["bench", "--op", "lu", "--sizes", "0"], env: [:], says: "--sizes: 0 is not an order"),
            Case(args: ["bench", "--op", "lu", "--sizes", "3000000"], env: [:], says: "needs"),
            Case(args: ["bench", "--op", "gemm", "--samples", "3"], env: [:], says: "are for --op lu or cholesky"),
            Case(args: ["bench", "--op", "gemm", "--sizes=-5"], env: [:], says: "--sizes: '-5' is not n or MxNxK"),
            Case(args: ["bench", "--op", "gemm", "--sizes", "99999999999999999999"], env: [:], says: "--sizes"),
            Case(args: ["search", "--op", "gemm", "--budget=-3"], env: [:], says: "--budget must be a positive number"),
            Case(args: ["search", "--op", "gemm", "--classes", "nonsense"], env: [:], says: "unknown class 'nonsense'"),
            Case(args: ["search", "--op", "gemm-small"], env: [:], says: "--op gemm-small is for bench only"),
            Case(args: ["search", "--op", "lu"], env: [:], says: "--op lu is for bench only"),
            Case(args: ["search", "--op", "gemm", "--shapes", "8x8"], env: [:], says: "expected MxNxK"),
            Case(args: ["search", "--op", "gemm", "--shapes", "8x8x0"], env: [:], says: "0 is outside 1...256"),
            Case(args: ["search", "--op", "gemm", "--shapes", "8x8x8:col:q:n"], env: [:], says: "transpose 'q' is neither n nor t"),
            Case(args: ["search", "--op", "spmv", "--shapes", "8x8x8"], env: [:], says: "are for --op gemm"),
            Case(args: ["search", "--op", "gemm", "--shapes-file", "/nonexistent/shapes.txt"], env: [:], says: "cannot read /nonexistent/shapes.txt"),
            Case(args: ["search", "--op", "gemm", "--shapes-file", bad.path], env: [:], says: "line 1"),
            Case(args: ["bench", "--op", "gemm-batch", "--sizes", "8x8"], env: [:], says: "--sizes: '8x8' is not n or MxNxK"),
            Case(args: ["csr", "info", "/nonexistent/x.mtx"], env: [:], says: "cannot open"),
            Case(args: ["csr", "info", bad.path], env: [:], says: "bad.mtx:3: row index 3 is outside 1 ... 2"),
            Case(args: ["bench", "--op", "spmv", "--matrix", "/nonexistent/x.mtx", "--out", out("spmv")], env: [:], says: "cannot open"),
            Case(args: ["generate", "--out", file.appendingPathComponent("sub").path], env: [:], says: "is a file, not a folder"),
            Case(args: ["generate", "--out", "/proc/self/blastune-out"], env: [:], says: "cannot create the output folder"),
            Case(args: ["generate", "--out", out("nocc")], env: ["CC": "no-such-cc-blastune"], says: "C compiler 'no-such-cc-blastune' not found"),
            Case(args: ["generate", "--out", out("falsecc")], env: ["CC": "false"], says: "C compiler 'false' failed"),
            Case(args: ["generate", "--out", out("old"), "--results", results("old") { $0["format"] = 0 }], env: [:], says: "results format 0"),
            Case(args: ["generate", "--out", out("other"), "--results", results("other") { $0["fingerprint"] = "intel-xeon-8c-0123456789abcdef" }],
                 env: [:], says: "not of this machine"),
            Case(args: ["generate", "--out", out("garbled"), "--results", results("garbled") { $0["classes"] = "garbled" }], env: [:],
                 says: "not a readable results file"),
            Case(args: ["generate", "--out", out("spec"), "--spec", bad.path], env: [:], says: "not a GEMM spec"),
            Case(args: ["generate", "--machines", "nope-2c-0000000000000000", "--out", out("nomachine")], env: [:],
                 says: "no tuned GEMM results for machine nope-2c-0000000000000000 (machines with results: "),
            Case(args: ["generate", "--machines", "all", "--out", out("misplaced"), "--results", results("misplaced") { _ in }], env: [:],
                 says: "not of the machine its folder names"),
            Case(args: ["generate", "--machines", "all", "--spec", bad.path, "--out", out("machinespec")], env: [:], says: "cannot be combined with --spec"),
        ]
    }()

    @Test("one clear line on stderr, a non-zero exit, and no output folder left behind", arguments: cases)
    func badInput(_ c: Case) throws {
        let r = try Self.run(c.args, env: c.env)
        #expect(r.status != 0)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("Error: ") && first.contains(c.says), "stderr: \(r.stderr)")
        for (i, a) in c.args.enumerated() where a == "--out" {
            let path = c.args[i + 1]
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) was left behind")
        }
    }
}
