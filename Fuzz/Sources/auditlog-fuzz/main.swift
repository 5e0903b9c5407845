import CLibFuzzer
import FuzzTargets
import Glibc

// auditlog-fuzz <target> [libFuzzer arguments]: picks a harness, seeds an empty corpus directory, and hands the
// rest of the command line to libFuzzer's driver.

let usage = """
    OVERVIEW: libFuzzer harnesses for the parsers of swift-audit-log.

    USAGE: auditlog-fuzz <target> [<corpus-dir> ...] [-<libFuzzer flag>=<value> ...]
           auditlog-fuzz <target> <input-file> ...     (runs those inputs once, e.g. a saved crash)

    An empty corpus directory is first filled with seeds written by the library's own encoders. Every other
    argument is libFuzzer's (-help=1 lists them), for example -max_total_time=60, -jobs=2, -runs=1000.
    A broken property prints "fuzz property violated: ..." and aborts; libFuzzer saves the input as crash-*.

    TARGETS:
    \(FuzzTarget.allCases.map { "  " + $0.rawValue.padding(12) + $0.summary }.joined(separator: "\n"))

    EXAMPLE: auditlog-fuzz record .fuzz/corpus/record -max_total_time=60
    """

func say(_ text: String, to fd: CInt = 2) {
    var text = text
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(1, width - count)) }
}

var arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
    let asked = arguments.count >= 2 && ["-h", "--help", "help"].contains(arguments[1])
    if !asked && arguments.count >= 2 { say("error: unknown fuzz target '\(arguments[1])'\n\n") }
    say(usage + "\n", to: asked ? 1 : 2)
    exit(asked ? 0 : 2)
}
arguments.remove(at: 1)

/// Seeds the first corpus directory named on the command line when it is empty.
if let corpus = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }), let dir = opendir(corpus) {
    var isEmpty = true
    while let entry = readdir(dir) {
        let first = entry.pointee.d_name.0
        if first != 0x2e { isEmpty = false }  // names other than "." and ".." (and dot files)
    }
    closedir(dir)
    if isEmpty {
        let seeds = target.seeds()
        for (i, seed) in seeds.enumerated() {
            let fd = open("\(corpus)/seed-\(i)", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { break }
            _ = seed.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        say("auditlog-fuzz: wrote \(seeds.count) seeds to \(corpus)\n")
    }
}

nonisolated(unsafe) var selected = target

/// Runs one input on the selected target (libFuzzer's entry point; `-sanitize=fuzzer` also expects the symbol).
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
var argc = CInt(arguments.count)
let status = cArguments.withUnsafeMutableBufferPointer { buffer in
    var argv = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in testOneInput(data, size) }
}
exit(status)
