import AuditLogS3
import AuditLogTestSupport
import Foundation
import Testing

/// What a network can do to the client short of answering properly: close the connection, answer something that
/// is not HTTP, cut a body short, never answer. Each must be an error to retry, never a crash or a success. (One
/// case at a time: starting the servers blocks a thread while it waits for their ports.)
@Suite("S3 client against a hostile server", .serialized)
struct HostileServerTests {
    /// A TCP server (Python, one thread) that reads each request and misbehaves as `mode` says; its port.
    final class Server {
        let process = Process()
        let input = Pipe()
        let port: Int

        init(_ mode: String) throws {
            let script = """
                import os, socket, sys, threading, time
                # Gone with the test: standard input closes when the test process lets go of it or dies.
                threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", 0)); s.listen(16)
                print(s.getsockname()[1], flush=True)
                while True:
                    c, _ = s.accept()
                    c.recv(65536)
                    if sys.argv[1] == "garbage": c.sendall(b"hello there\\r\\n\\r\\n")
                    elif sys.argv[1] == "short": c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\nETag: \\"x\\"\\r\\n\\r\\nabc")
                    elif sys.argv[1] == "silent": time.sleep(30)
                    c.close()
                """
            let out = Pipe()
            process.standardInput = input
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, mode]
            process.standardOutput = out
            try process.run()
            var line = Data()
            while !line.contains(0x0A) {
                let chunk = out.fileHandleForReading.availableData
                guard !chunk.isEmpty else { break }
                line += chunk
            }
            port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        deinit {
            try? input.fileHandleForWriting.close()
            process.terminate()
        }
    }

    @Test("closed connections, non-HTTP answers, short bodies and silence are errors to retry", arguments: [
        "close", "garbage", "short", "silent",
    ])
    func misbehaviour(_ mode: String) async throws {
        let server = try Server(mode)
        #expect(server.port > 0)
        let client = S3Client(
            endpoint: URL(string: "http://127.0.0.1:\(server.port)")!, region: "us-east-1",
            credentials: SigV4.Credentials(accessKeyID: "AK", secretAccessKey: "SK"), timeout: 2)
        for attempt in 0..<3 {
            do {
                if attempt == 0 {
                    _ = try await client.getObject(bucket: "bucket", key: "k")
                } else if attempt == 1 {
                    try await client.putObject(bucket: "bucket", key: "k", body: [1, 2, 3])
                } else {
                    _ = try await client.listObjects(bucket: "bucket", prefix: "")
                }
                Issue.record("\(mode): attempt \(attempt) succeeded")
            } catch {
                #expect(error.isTransient || error.kind == .integrity, "\(mode): \(error)")
            }
        }
    }
}
