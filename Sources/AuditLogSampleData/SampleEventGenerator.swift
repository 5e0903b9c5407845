import AuditLog

/// Generates realistic, deterministic audit events: the resources and actions of an LLM-engineering SaaS
/// (traces, prompts, API keys, memberships, pipeline runs, tokens, API requests), users and API keys as actors
/// with skewed popularity, and before/after state on updates. About 400–600 bytes per event as JSON.
///
/// The same seed always yields the same events, so the demo, tests and benchmarks agree on their data.
public struct SampleEventGenerator {
    private var random: SplitMix64
    private var clock: Int64
    public let userCount: Int
    public let apiKeyCount: Int

    /// - Parameters:
    ///   - seed: Selects the sequence.
    ///   - startTimestamp: Milliseconds since the epoch of the first event (default 2026-01-01T00:00:00Z).
    ///   - meanIntervalMilliseconds: Average time between events.
    public init(
        seed: UInt64 = 1, startTimestamp: Int64 = 1_767_225_600_000, userCount: Int = 500, apiKeyCount: Int = 60,
        meanIntervalMilliseconds: Int = 40
    ) {
        random = SplitMix64(seed: seed)
        clock = startTimestamp
        self.userCount = max(1, userCount)
        self.apiKeyCount = max(1, apiKeyCount)
        self.meanInterval = max(1, meanIntervalMilliseconds)
    }

    private let meanInterval: Int

    /// The next `count` events.
    public mutating func events(_ count: Int) -> [AuditEvent] {
        (0..<count).map { _ in next() }
    }

    /// The id of the `index`-th user actor, as it appears in events.
    public static func userID(_ index: Int) -> String { "user_" + padded(index, 5) }

    public mutating func next() -> AuditEvent {
        clock += Int64(random.below(2 * meanInterval + 1))
        // A few events arrive slightly out of order, as they do from many service instances.
        let timestamp = random.below(50) == 0 ? clock - Int64(random.below(2000)) : clock
        let org = skewed(orgs.count)
        let project = org * 4 + random.below(4)
        let actor = makeActor()
        let (action, resource, before, after) = makeChange(project: project)
        let source = actor.type == .apiKey ? "api" : sources[random.below(sources.count)]
        let method =
            action.hasPrefix("create") || action.hasSuffix("triggered")
            ? "POST" : action == "delete" ? "DELETE" : "PATCH"
        let metadata =
            #"{"endpoint":"/api/public/\#(resource.type)s","method":"\#(method)","status":\#(random.below(20) == 0 ? 403 : 200)}"#
        return AuditEvent(
            id: uuid(timestamp), timestamp: Timestamp(millisecondsSinceEpoch: timestamp), actor: actor, action: action, resource: resource,
            org: AuditEvent.Reference(id: "org_" + padded(org, 3), name: random.below(4) == 0 ? orgs[org] : nil),
            project: AuditEvent.Reference(id: "proj_" + padded(project, 4)),
            source: source, ip: makeIP(),
            userAgent: actor.type == .apiKey
                ? sdkAgents[random.below(sdkAgents.count)] : browserAgents[random.below(browserAgents.count)],
            before: before.flatMap { try? JSONText($0) }, after: after.flatMap { try? JSONText($0) },
            metadata: try? JSONText(metadata))
    }

    // MARK: Parts

    private mutating func makeActor() -> AuditEvent.Actor {
        if random.below(4) == 0 {
            let key = skewed(apiKeyCount)
            return AuditEvent.Actor(
                type: .apiKey, id: "pk-lf-" + hex(UInt64(key) &* 0x9E37_79B9_7F4A_7C15, 12), authMethod: "api_key")
        }
        let user = skewed(userCount)
        let first = firstNames[user % firstNames.count]
        let last = lastNames[(user / firstNames.count) % lastNames.count]
        return AuditEvent.Actor(
            type: .user, id: Self.userID(user), name: "\(first) \(last)",
            roles: [roles[user % roles.count]], authMethod: authMethods[user % authMethods.count])
    }

    private mutating func makeChange(project: Int) -> (String, AuditEvent.Resource, String?, String?) {
        switch random.below(100) {
        case 0..<30:
            let id = "trace_" + hex(random.next(), 16)
            let action = ["create", "update", "delete", "bookmark"][random.below(4)]
            let fields =
                #""name":"\#(traceNames[random.below(traceNames.count)])","tags":["\#(tags[random.below(tags.count)])"]"#
            let before = "{" + fields + #","public":false}"#
            let after = "{" + fields + #","public":\#(action != "bookmark")}"#
            return (
                action, AuditEvent.Resource(type: "trace", id: id), action == "create" ? nil : before,
                action == "delete" ? nil : after
            )
        case 30..<55:
            let name = promptNames[skewed(promptNames.count)]
            let version = 1 + random.below(40)
            let label = ["production", "staging"][random.below(2)]
            let model = models[random.below(models.count)]
            let before =
                #"{"version":\#(version),"labels":["latest"],"config":{"model":"\#(model)","temperature":0.\#(random.below(10))}}"#
            let after =
                #"{"version":\#(version + 1),"labels":["latest","\#(label)"],"config":{"model":"\#(model)","temperature":0.\#(random.below(10))}}"#
            let action = ["create", "update", "setLabel", "delete"][random.below(4)]
            return (
                action,
                AuditEvent.Resource(type: "prompt", id: "prompt_" + padded(project * 50 + version, 6), name: name),
                action == "create" ? nil : before, action == "delete" ? nil : after
            )
        case 55..<65:
            let action = ["create", "delete", "rotate"][random.below(3)]
            let note =
                #"{"note":"\#(["CI", "production backend", "staging", "notebook"][random.below(4)])","publicKey":"pk-lf-\#(hex(random.next(), 12))"}"#
            return (
                action, AuditEvent.Resource(type: "api_key", id: "key_" + hex(random.next(), 10)),
                action == "create" ? nil : note, action == "delete" ? nil : note
            )
        case 65..<72:
            let member = Self.userID(random.below(userCount))
            let old = roles[random.below(roles.count)]
            let new = roles[random.below(roles.count)]
            let action = ["create", "update", "delete"][random.below(3)]
            return (
                action, AuditEvent.Resource(type: "membership", id: "mem_" + member),
                action == "create" ? nil : #"{"userId":"\#(member)","role":"\#(old)"}"#,
                action == "delete" ? nil : #"{"userId":"\#(member)","role":"\#(new)"}"#
            )
        case 72..<82:
            let stage = ["pipeline.run.triggered", "pipeline.run.completed", "pipeline.run.failed"][random.below(3)]
            let after =
                #"{"pipeline":"\#(["nightly-eval", "regression-suite", "dataset-sync"][random.below(3)])","status":"\#(stage.split(separator: ".").last!)","items":\#(random.below(5000))}"#
            return (stage, AuditEvent.Resource(type: "pipeline_run", id: "run_" + hex(random.next(), 12)), nil, after)
        case 82..<88:
            let action = ["token.issued", "token.revoked"][random.below(2)]
            return (
                action, AuditEvent.Resource(type: "token", id: "tok_" + hex(random.next(), 12)), nil,
                #"{"scope":"\#(["read", "write", "admin"][random.below(3)])","expiresInDays":\#(1 + random.below(90))}"#
            )
        default:
            let path = ["/api/public/traces", "/api/public/scores", "/api/public/datasets", "/api/public/prompts"][
                random.below(4)]
            return (
                "api.request",
                AuditEvent.Resource(type: "api_request", id: "req_" + hex(random.next(), 16), name: path), nil, nil
            )
        }
    }

    private mutating func makeIP() -> String {
        if random.below(8) == 0 {
            return "2001:db8:\(String(random.below(65536), radix: 16))::\(String(random.below(65536), radix: 16))"
        }
        return "\(10 + random.below(200)).\(random.below(256)).\(random.below(256)).\(1 + random.below(254))"
    }

    /// An index in `0..<count`, low indexes much more likely (a few very active actors, a long tail).
    private mutating func skewed(_ count: Int) -> Int {
        let u = Double(random.next() >> 11) / Double(1 << 53)
        return min(count - 1, Int(Double(count) * u * u * u))
    }

    /// A UUIDv7-shaped id: the timestamp's low 48 bits, then random bits (the version and variant nibbles fixed).
    private mutating func uuid(_ timestamp: Int64) -> String {
        let r = random.next()
        let b = random.next()
        // Built as bytes: String formatting was a third of the generator's time (`perf`), and the benchmarks
        // generate 30M events at 10M.
        return String(unsafeUninitializedCapacity: 36) { out in
            var at = 0
            func put(_ value: UInt64, digits: Int) {
                writeHex(value, digits, into: out, at: at)
                at += digits
            }
            func put(_ character: Unicode.Scalar) {
                out[at] = UInt8(ascii: character)
                at += 1
            }
            put(UInt64(bitPattern: timestamp) >> 16, digits: 8)
            put("-")
            put(UInt64(bitPattern: timestamp), digits: 4)
            put("-")
            put("7")
            put(r >> 52, digits: 3)
            put("-")
            put("a")
            put(r >> 40, digits: 3)
            put("-")
            put(b, digits: 12)
            return at
        }
    }
}

/// SplitMix64: a tiny, fast random generator that gives the same sequence on every platform (for sample data
/// and reproducible tests; not for anything secret).
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The low `digits` hexadecimal digits of `value`, lowercase, zero-padded.
private func hex(_ value: UInt64, _ digits: Int) -> String {
    String(unsafeUninitializedCapacity: digits) { out in
        writeHex(value, digits, into: out, at: 0)
        return digits
    }
}

/// Writes the low `digits` hexadecimal digits of `value` into `out` from `at`.
private func writeHex(_ value: UInt64, _ digits: Int, into out: UnsafeMutableBufferPointer<UInt8>, at: Int) {
    var value = value
    for i in stride(from: at + digits - 1, through: at, by: -1) {
        out[i] = hexDigits[Int(value & 15)]
        value >>= 4
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// `value` in decimal, zero-padded to `digits` (longer if it needs more).
private func padded(_ value: Int, _ digits: Int) -> String {
    let text = String(value)
    return text.utf8.count >= digits ? text : String(repeating: "0", count: digits - text.utf8.count) + text
}

private let orgs = [
    "Acme Robotics", "Globex Research", "Initech AI", "Umbrella Health", "Hooli Labs", "Stark Analytics",
    "Wayne Logistics", "Tyrell Systems",
]
private let firstNames = [
    "Ada", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger", "Radia", "Donald", "Shafi",
    "Leslie", "Hedy", "Alan",
]
private let lastNames = [
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "Dijkstra", "Perlman",
    "Knuth", "Goldwasser", "Lamport", "Lamarr", "Turing",
]
private let roles = ["OWNER", "ADMIN", "MEMBER", "VIEWER"]
private let authMethods = ["password", "sso", "oauth"]
private let sources = ["web", "web", "web", "api", "mcp", "cli"]
private let sdkAgents = ["langfuse-python/2.59.1 python/3.12.4", "langfuse-js/3.32.0 node/20.18.0", "curl/8.5.0"]
private let browserAgents = [
    "Mozilla/5.0 (Macintosh) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0.0.0",
]
private let traceNames = ["chat-completion", "retrieval", "agent-run", "summarize-ticket", "classify-intent"]
private let tags = ["prod", "experiment", "regression", "customer-escalation", "eval"]
private let promptNames = [
    "support-answer", "ticket-summary", "sql-generator", "classifier", "rerank-instructions", "onboarding-email",
    "code-review",
]
private let models = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"]
