import ArgumentParser
import AuditLogCommandSupport
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// `auditlog serve` runs `auditlog-serve`, the server binary built beside `auditlog`, in its place (the same
/// process, so signals reach the server). Keeping the HTTP stack out of `auditlog` keeps the tool small and quick
/// to build.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a log over HTTP: ingest, queries, exports, proofs and metrics, behind API keys.",
        discussion: """
            Opens the log as its writer and serves the HTTP API described at /v1/openapi.json (README, "Run it as \
            a service"). Every route but /healthz and /metrics needs an API key: create them with \
            `auditlog keys create`, also while the server runs. Once it accepts connections it prints \
            `listening on http://HOST:PORT` on stderr (with --listen 127.0.0.1:0, the port it picked).

            With --key it signs a checkpoint of the log at start, at every segment seal, at close and every \
            --checkpoint-interval, and serves the latest at /v1/checkpoint and its verifier key at \
            /v1/verifier-key. SIGTERM or SIGINT: stop accepting, finish the requests in flight, close the log, \
            exit 0.

            Examples:
              auditlog serve --dir audit
              auditlog serve --dir audit --listen 0.0.0.0:8443 --key keys/prod.key \\
                  --tls-cert tls/cert.pem --tls-key tls/key.pem
            """
    )

    @OptionGroup var options: ServeOptions

    func run() throws {
        try runServer(Array(CommandLine.arguments.drop { $0 != "serve" }.dropFirst()))
    }
}

/// Replaces this process with `auditlog-serve ARGUMENTS`, the server built beside this binary; returns only by
/// throwing.
func runServer(_ arguments: [String]) throws -> Never {
    try runSibling("auditlog-serve", arguments)
}

/// Replaces this process with the binary `name` built beside this one, given `arguments`; returns only by
/// throwing.
func runSibling(_ name: String, _ arguments: [String]) throws -> Never {
    // This binary's own path (argv[0] is only the name typed when it was found through PATH).
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let tool = URL(fileURLWithPath: executable).resolvingSymlinksInPath()
    let sibling = tool.deletingLastPathComponent().appendingPathComponent(name).path
    guard FileManager.default.isExecutableFile(atPath: sibling) else {
        Console.error(
            "error: \(name) is missing: \(sibling). Build it beside auditlog: swift build -c release --product "
                + "\(name) (make build does)")
        throw ExitStatus.unavailable
    }
    var pointers = ([sibling] + arguments).map { strdup($0) } + [nil]
    execv(sibling, &pointers)
    Console.error("error: could not run \(sibling): \(String(cString: strerror(errno)))")
    throw ExitStatus.ioError
}
