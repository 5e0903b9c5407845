import AuditLog
import AuditLogTestSupport
import Foundation
import Synchronization
import Testing

/// `POST /v1/events` through a real server process and a real HTTP client: formats, all-or-nothing refusals with
/// line and field, limits, idempotency across restarts, stalled clients, and a SIGKILL under load.
@Suite("HTTP ingest")
struct IngestTests {
    @Test("one event, an array and JSON Lines are appended in order and read back")
    func appendFormats() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write", "read"])
        let server = try await ServerProcess.start(directory: log)
        let client = Client(server, token: token)

        let one = try await client.post("/v1/events", eventJSON(actor: "a0", resource: "r0"))
        #expect(one.status == 201)
        let first = try #require(try one.json()["firstSeq"] as? Int)
        #expect(try one.json()["count"] as? Int == 1)

        let array = "[" + (1...3).map { eventJSON(actor: "a\($0)", resource: "r\($0)") }.joined(separator: ",") + "]"
        let two = try await client.post("/v1/events", array)
        #expect(two.status == 201)
        #expect(try two.json()["firstSeq"] as? Int == first + 1)
        #expect(try two.json()["count"] as? Int == 3)

        let lines = (4...8).map { eventJSON(actor: "a\($0)", resource: "r\($0)") + "\n" }.joined()
        let three = try await client.post("/v1/events", lines, contentType: "application/x-ndjson")
        #expect(three.status == 201)
        #expect(try three.json()["count"] as? Int == 5)
        #expect(try three.json()["treeSize"] as? Int == first + 9)

        let events = try await client.allEvents("action=project.update")
        #expect(events.map { ($0["actor"] as? [String: Any])?["id"] as? String } == (0...8).map { "a\($0)" })
        #expect(events.map { $0["seq"] as? Int } == (first...(first + 8)).map { $0 })
        try await server.stop()
    }

    @Test("a bad line refuses the whole request with its line and field; nothing is appended")
    func badLineRefusesAll() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write", "read"])
        let server = try await ServerProcess.start(directory: log)
        let client = Client(server, token: token)
        let before = try await client.treeSize()

        let bad = eventJSON().replacingOccurrences(of: #""type":"user""#, with: #""type":"robot""#)
        let lines = [eventJSON(), bad, eventJSON()].joined(separator: "\n")
        let reply = try await client.post("/v1/events", lines, contentType: "application/x-ndjson")
        #expect(reply.status == 400)
        #expect(reply.error["code"] as? String == "invalid_event")
        #expect(reply.error["line"] as? Int == 2)
        #expect(reply.error["field"] as? String == "actor.type")

        let unknown = try await client.post("/v1/events", eventJSON(extra: #""colour":"red""#))
        #expect(unknown.status == 400)
        #expect(unknown.error["field"] as? String == "colour")

        let truncated = try await client.post("/v1/events", "[" + eventJSON() + ",")
        #expect(truncated.status == 400)
        #expect(truncated.error["code"] as? String == "invalid_event")

        let empty = try await client.post("/v1/events", "")
        #expect(empty.status == 400)

        let text = try await client.post("/v1/events", eventJSON(), contentType: "text/plain")
        #expect(text.status == 415)
        #expect(text.error["code"] as? String == "unsupported_media_type")

        #expect(try await client.treeSize() == before)
        try await server.stop()
    }

    @Test("a body over --max-body gets 413 and appends nothing")
    func bodyTooLarge() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write"])
        let server = try await ServerProcess.start(directory: log, arguments: ["--max-body", "4KiB"])
        let client = Client(server, token: token)
        let before = try await client.treeSize()
        let big = "[" + Array(repeating: eventJSON(), count: 100).joined(separator: ",") + "]"
        let reply = try await client.post("/v1/events", big)
        #expect(reply.status == 413)
        #expect(reply.error["code"] as? String == "payload_too_large")
        // Chunked, with no Content-Length to refuse it early: cut off at the limit all the same.
        let chunked = try await client.post("/v1/events", big, headers: ["Transfer-Encoding": "chunked"])
        #expect(chunked.status == 413)
        #expect(try await client.treeSize() == before)
        #expect(try await client.post("/v1/events", eventJSON()).status == 201)
        try await server.stop()
    }

    @Test("Idempotency-Key: a retry is answered from the first request, also after a restart; another body is 422")
    func idempotency() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write"])
        let body = "[" + eventJSON(resource: "x1") + "," + eventJSON(resource: "x2") + "]"
        let key = ["Idempotency-Key": "order-7f3a"]

        var server = try await ServerProcess.start(directory: log)
        var client = Client(server, token: token)
        let first = try await client.post("/v1/events", body, headers: key)
        #expect(first.status == 201)
        #expect(first.headers["idempotent-replayed"] == nil)
        let size = try await client.treeSize()

        let retry = try await client.post("/v1/events", body, headers: key)
        #expect(retry.status == 201)
        #expect(retry.headers["idempotent-replayed"] == "true")
        #expect(try retry.json()["firstSeq"] as? Int == (try first.json()["firstSeq"] as? Int))
        #expect(try await client.treeSize() == size)

        let other = try await client.post("/v1/events", eventJSON(resource: "x3"), headers: key)
        #expect(other.status == 422)
        #expect(other.error["code"] as? String == "idempotency_key_reused")

        // Another key's identical Idempotency-Key is its own.
        let token2 = try createKey(log, "ingest-2", ["write"])
        let separate = try await Client(server, token: token2).post("/v1/events", body, headers: key)
        #expect(separate.status == 201)
        #expect(separate.headers["idempotent-replayed"] == nil)

        #expect(try await server.stop().status == 0)
        server = try await ServerProcess.start(directory: log)
        client = Client(server, token: token)
        let sizeAfterRestart = try await client.treeSize()
        let afterRestart = try await client.post("/v1/events", body, headers: key)
        #expect(afterRestart.status == 201)
        #expect(afterRestart.headers["idempotent-replayed"] == "true")
        #expect(try afterRestart.json()["firstSeq"] as? Int == (try first.json()["firstSeq"] as? Int))
        #expect(try await client.treeSize() == sizeAfterRestart)
        try await server.stop()
    }

    @Test("a client that stalls in the middle of its body is cut off at the idle timeout; nothing is appended")
    func stalledClient() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write"])
        let server = try await ServerProcess.start(directory: log, arguments: ["--idle-timeout", "1s"])
        let client = Client(server, token: token)
        let before = try await client.treeSize()

        let body = "[" + eventJSON() + "," + eventJSON() + "]"
        let connection = try RawConnection(port: server.port)
        try connection.send(
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                + String(body.prefix(body.count / 2)))
        let (answer, closed) = connection.receiveUntilClosed(timeout: .seconds(20))
        #expect(closed, "the server kept a stalled connection open")
        #expect(!String(decoding: answer, as: UTF8.self).contains("201"))
        #expect(try await client.treeSize() == before)
        #expect(server.isRunning)
        try await server.stop()
    }

    @Test(
        "SIGKILL while 16 clients append single events: every acknowledged event is in the log after a restart",
        .tags(.slow), .skippedInFastRuns)
    func killUnderLoad() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write", "read"])
        let server = try await ServerProcess.start(directory: log)
        let client = Client(server, token: token)

        let counter = AcknowledgedCount()
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var ids: [String] = []
                    for n in 0..<100_000 {
                        let id = "w\(worker)-\(n)"
                        let reply: Reply
                        do {
                            reply = try await client.post("/v1/events", eventJSON(extra: #""id":"\#(id)""#))
                        } catch {
                            return ids  // the server is gone
                        }
                        guard reply.status == 201 else { return ids }
                        ids.append(id)
                        counter.value.add(1, ordering: .relaxed)
                    }
                    return ids
                }
            }
            group.addTask {
                // Killed in full flight: once a few hundred appends are acknowledged (or after 120 s: a sanitizer
                // build acknowledges a few per second).
                let deadline = ContinuousClock.now + .seconds(120)
                while counter.value.load(ordering: .relaxed) < 300 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await server.stop(SIGKILL)
                return []
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(acknowledged.count >= 100, "too few appends before the kill to test anything")

        let restarted = try await ServerProcess.start(directory: log)
        let stored = Set(
            try await Client(restarted, token: token).allEvents("action=project.update").compactMap {
                $0["id"] as? String
            })
        let lost = acknowledged.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged but lost: \(lost.prefix(10))")
        #expect(try await restarted.stop().status == 0)
        let verify = try runAuditlog(["verify", "--dir", log])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("SIGTERM finishes, closes the log and exits 0")
    func gracefulStop() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "ingest", ["write"])
        let server = try await ServerProcess.start(directory: log)
        #expect(try await Client(server, token: token).post("/v1/events", eventJSON()).status == 201)
        let (status, bySignal) = try await server.stop(SIGTERM)
        #expect(status == 0 && !bySignal)
        #expect(server.output.contains("the log is closed"))
        let reader = try AuditLogReader(directory: log)
        #expect(try reader.state().treeSize >= 2)  // the key's creation and the event
    }
}

final class AcknowledgedCount: Sendable {
    let value = Atomic<Int>(0)
}
