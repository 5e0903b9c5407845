import Workloads

#if canImport(Glibc)
    import Glibc
#endif

/// `make compare`: the log against SQLite and against this machine's limits, in one run, as one table.
///
///     compare [--events N] [--json PATH] [--dir PATH] [--tool PATH] [--keep]
let usage = """
    usage: compare [--events N] [--json PATH] [--dir PATH] [--tool PATH] [--keep]

      --events N   events to generate (default 1000000)
      --json PATH  also write the results as JSON to PATH
      --dir PATH   scratch directory (default .build/compare-data; removed at the end unless --keep)
      --tool PATH  the auditlog executable (default ../.build/release/auditlog)
      --keep       keep the scratch directory (the log and the SQLite database)
    """

/// Writes a line to standard error.
func printError(_ line: String) {
    let text = line + "\n"
    _ = write(2, text, text.utf8.count)
}

var events = 1_000_000
var jsonPath: String?
var directory = ".build/compare-data"
var tool = "../.build/release/auditlog"
var keep = false
var arguments = CommandLine.arguments.dropFirst()
func fail(_ message: String) -> Never {
    printError("compare: \(message)\n\(usage)")
    exit(64)
}
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let value = arguments.popFirst() else { fail("\(argument) needs a value") }
        return value
    }
    switch argument {
    case "--events":
        guard let n = Int(value().filter { $0 != "_" }), n >= 1000 else {
            fail("--events takes a whole number of at least 1000")
        }
        events = n
    case "--json": jsonPath = value()
    case "--dir": directory = value()
    case "--tool": tool = value()
    case "--keep": keep = true
    case "-h", "--help":
        print(usage)
        exit(0)
    default: fail("unknown argument \(argument)")
    }
}
guard access(tool, X_OK) == 0 else { fail("no auditlog executable at \(tool); run `swift build -c release` first") }

// Progress lines carry the time since the start, so that a long run (10M events) shows where its minutes go.
func monotonicSeconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int(now.tv_sec)
}
let started = monotonicSeconds()
func elapsed(since started: Int) -> String {
    let seconds = monotonicSeconds() - started
    let minutes = String(seconds / 60)
    let rest = String(seconds % 60)
    return "[" + String(repeating: "0", count: max(0, 2 - minutes.count)) + minutes + ":"
        + String(repeating: "0", count: 2 - rest.count) + rest + "]"
}
let comparison = Comparison(events: events, directory: directory, tool: tool) {
    printError("\(elapsed(since: started)) \($0)")
}
do {
    try comparison.run()
} catch {
    printError("compare: \(error)")
    exit(1)
}
if !keep { removeTree(directory) }

let report = Report(comparison: comparison)
print(report.table)
if let jsonPath {
    let fd = open(jsonPath, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
    let text = report.json
    guard fd >= 0, text.utf8.count == write(fd, text, text.utf8.count) else { fail("cannot write \(jsonPath)") }
    close(fd)
    printError("wrote \(jsonPath)")
}
