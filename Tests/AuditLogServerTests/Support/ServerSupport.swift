import AuditLogTestSupport
import Foundation
import Testing

/// An `auditlog serve` child process listening on 127.0.0.1 at a port of its own, on a log directory.
final class ServerProcess: @unchecked Sendable {
    let directory: String
    let port: Int
    let baseURL: String
    private let process: Process
    private let outputPath: String

    private init(directory: String, port: Int, baseURL: String, process: Process, outputPath: String) {
        self.directory = directory
        self.port = port
        self.baseURL = baseURL
        self.process = process
        self.outputPath = outputPath
    }

    /// Starts `auditlog serve --dir directory --listen 127.0.0.1:0 arguments…` and returns once it listens.
    static func start(directory: String, arguments: [String] = []) async throws -> ServerProcess {
        let outputPath = directory + ".serve-\(UUID().uuidString.prefix(8)).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: auditlogExecutable())
        process.arguments = ["serve", "--dir", directory, "--listen", "127.0.0.1:0"] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try output.close()
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"listening on https?://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                let url = String(text[range].dropFirst("listening on ".count))
                let port = Int(url.split(separator: ":").last!)!
                return ServerProcess(
                    directory: directory, port: port, baseURL: url, process: process, outputPath: outputPath)
            }
            if !process.isRunning {
                throw TestFailure("auditlog serve exited with \(process.terminationStatus):\n\(text)")
            }
            // The deadline is checked after the output: a test kept off its thread past the deadline (a loaded
            // machine, sanitizers) still sees a server that started meanwhile.
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw TestFailure("auditlog serve did not start listening within 120 s")
    }

    /// Everything the server printed (stdout and stderr).
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits for the exit: the exit status, or the signal's number if it killed the process.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) async throws -> (status: Int32, bySignal: Bool) {
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("auditlog serve did not exit within 60 s of signal \(signal)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}

/// Creates an API key with `auditlog keys create` and returns its token.
func createKey(_ directory: String, _ name: String, _ permissions: [String], org: String? = nil) throws -> String {
    var arguments = ["keys", "create", "--dir", directory, "--name", name]
    for permission in permissions { arguments += ["--permission", "auditLogs:" + permission] }
    if let org { arguments += ["--org", org] }
    let result = try runAuditlog(arguments)
    guard result.status == 0 else { throw TestFailure("keys create failed: \(result.stderr)") }
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// An HTTP answer.
struct Reply: Sendable {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    /// Trailers of a chunked answer, names in lower case.
    var trailers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(text)")
        }
        return object
    }

    /// The error object of an error answer.
    var error: [String: Any] { ((try? json())?["error"] as? [String: Any]) ?? [:] }

    /// From curl's header dump (`--dump-header`): the status line and headers of each answer (interim `100`
    /// ones first), then the trailers of a chunked body.
    init(headerDump: String, body: Data) throws {
        let blocks = headerDump.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        guard let final = blocks.last(where: { $0.hasPrefix("HTTP/") }) else {
            throw TestFailure("no HTTP answer in: \(headerDump)")
        }
        func fields(_ lines: some Sequence<String>) -> [String: String] {
            var fields: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return fields
        }
        var lines = final.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let code = Int(statusLine[1]) else {
            throw TestFailure("bad status line in: \(final)")
        }
        status = code
        headers = fields(lines)
        trailers = blocks.last.map { $0.hasPrefix("HTTP/") ? [:] : fields($0.components(separatedBy: "\r\n")) } ?? [:]
        self.body = body
    }
}

/// A real HTTP client, curl, for one server, with an optional bearer token. (Foundation's URLSession on Linux
/// can abort the process: "Transfer completed, but there's no response".)
struct Client: Sendable {
    let baseURL: String
    var token: String?
    /// curl's extra options, e.g. `--cacert` for HTTPS.
    var options: [String] = []

    init(_ server: ServerProcess, token: String? = nil) {
        baseURL = server.baseURL
        self.token = token
    }

    func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws
        -> Reply
    {
        let scratch = NSTemporaryDirectory() + "auditlog-curl-" + UUID().uuidString
        let (bodyFile, headerFile, outputFile) = (scratch + ".body", scratch + ".head", scratch + ".out")
        defer { for file in [bodyFile, headerFile, outputFile] { try? FileManager.default.removeItem(atPath: file) } }
        var arguments = ["--silent", "--show-error", "--http1.1", "--max-time", "60", "-X", method]
        arguments += ["--dump-header", headerFile, "--output", outputFile]
        arguments += options + ["-H", "Expect:"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        // The token goes in a config on stdin, not on the command line where `ps` would show it.
        var config = ""
        if let token { config += "header = \"Authorization: Bearer \(token)\"\n" }
        if let body {
            try body.write(to: URL(fileURLWithPath: bodyFile))
            config += "data-binary = \"@\(bodyFile)\"\n"
        }
        let result = try await runProcess(
            "/usr/bin/curl", arguments + ["--config", "-", baseURL + path], input: Data(config.utf8))
        guard result.status == 0 else { throw TestFailure("curl \(method) \(path): \(result.stderr)") }
        return try Reply(
            headerDump: String(contentsOfFile: headerFile, encoding: .utf8),
            body: (try? Data(contentsOf: URL(fileURLWithPath: outputFile))) ?? Data())
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send("GET", path, headers: headers)
    }

    func post(_ path: String, _ body: String, contentType: String = "application/json", headers: [String: String] = [:])
        async throws -> Reply
    {
        try await send(
            "POST", path, body: Data(body.utf8), headers: headers.merging(["Content-Type": contentType]) { a, _ in a })
    }

    /// The log's tree size, from /healthz.
    func treeSize() async throws -> Int {
        let reply = try await get("/healthz")
        guard let size = try reply.json()["treeSize"] as? Int else { throw TestFailure("no treeSize: \(reply.text)") }
        return size
    }

    /// Every event the key sees that matches `query` (a query string without `limit`/`cursor`), oldest first,
    /// following the cursors.
    func allEvents(_ query: String = "") async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        var cursor: String?
        repeat {
            var path = "/v1/events?order=oldest&limit=1000" + (query.isEmpty ? "" : "&" + query)
            if let cursor { path += "&cursor=" + cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
            let reply = try await get(path)
            guard reply.status == 200 else { throw TestFailure("GET \(path): \(reply.status) \(reply.text)") }
            let page = try reply.json()
            events += page["events"] as? [[String: Any]] ?? []
            cursor = page["nextCursor"] as? String
        } while cursor != nil
        return events
    }
}

/// One event of the contract as JSON, for request bodies.
func eventJSON(
    actor: String = "user_1", action: String = "project.update", resource: String = "p1", org: String? = nil,
    extra: String = ""
) -> String {
    var json = #"{"actor":{"type":"user","id":"\#(actor)"},"action":"\#(action)","#
    json += #""resource":{"type":"project","id":"\#(resource)"}"#
    if let org { json += #","org":{"id":"\#(org)"}"# }
    if !extra.isEmpty { json += "," + extra }
    return json + "}"
}

/// A plain TCP connection to the server, for what an HTTP library will not do: stop in the middle of a body,
/// read trailers.
final class RawConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect: \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send: \(errno)") }
            sent += n
        }
    }

    /// Reads until the server closes the connection, or `timeout` passes (then `closed` is false).
    func receiveUntilClosed(timeout: Duration) -> (data: Data, closed: Bool) {
        var data = Data()
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (data, true) }
            data.append(contentsOf: buffer[0..<n])
        }
        return (data, false)
    }
}
