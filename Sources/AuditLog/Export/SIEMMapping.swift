/// How an event is classified for SIEMs: its OCSF 1.5 class and activity, and the matching ECS categorization
/// (FORMAT.md, "SIEM formats"). The defaults read the action's verb, the resource type and, for API requests, the
/// HTTP method and status in `metadata`; a mapping file puts rules of your own first.
public struct SIEMMapping: Sendable {
    /// The OCSF classes events map to.
    public enum OCSFClass: String, Sendable, CaseIterable {
        case accountChange = "account_change"
        case authentication
        case entityManagement = "entity_management"
        case apiActivity = "api_activity"

        public var uid: Int {
            switch self {
            case .accountChange: 3001
            case .authentication: 3002
            case .entityManagement: 3004
            case .apiActivity: 6003
            }
        }

        public var name: String {
            switch self {
            case .accountChange: "Account Change"
            case .authentication: "Authentication"
            case .entityManagement: "Entity Management"
            case .apiActivity: "API Activity"
            }
        }

        var categoryUID: Int { self == .apiActivity ? 6 : 3 }
        var categoryName: String { self == .apiActivity ? "Application Activity" : "Identity & Access Management" }

        /// The activities of the class in OCSF 1.5: id and name (99 is Other in every class).
        public var activities: [(id: Int, name: String)] {
            switch self {
            case .accountChange:
                [
                    (1, "Create"), (2, "Enable"), (3, "Password Change"), (4, "Password Reset"), (5, "Disable"),
                    (6, "Delete"), (7, "Attach Policy"), (8, "Detach Policy"), (9, "Lock"), (10, "MFA Factor Enable"),
                    (11, "MFA Factor Disable"), (12, "Unlock"), (99, "Other"),
                ]
            case .authentication:
                [
                    (1, "Logon"), (2, "Logoff"), (3, "Authentication Ticket"), (4, "Service Ticket Request"),
                    (5, "Service Ticket Renew"), (6, "Preauth"), (99, "Other"),
                ]
            case .entityManagement:
                [
                    (1, "Create"), (2, "Read"), (3, "Update"), (4, "Delete"), (5, "Move"), (6, "Enroll"),
                    (7, "Unenroll"), (8, "Enable"), (9, "Disable"), (10, "Activate"), (11, "Deactivate"),
                    (12, "Suspend"), (13, "Resume"), (99, "Other"),
                ]
            case .apiActivity: [(1, "Create"), (2, "Read"), (3, "Update"), (4, "Delete"), (99, "Other")]
            }
        }

        /// The activity named `name` ("Password Change", "password_change", "password-change"), if the class has it.
        public func activity(named name: String) -> (id: Int, name: String)? {
            let wanted = SIEMMapping.normalized(name)
            return activities.first { SIEMMapping.normalized($0.name) == wanted }
        }
    }

    /// A rule of a mapping file: events whose action matches `pattern` (`*` matches any run of characters) belong
    /// to `eventClass`, with `activity` (an activity name of the class), or the one the defaults would pick.
    public struct Rule: Sendable {
        public var pattern: String
        public var eventClass: OCSFClass
        public var activity: String?

        public init(pattern: String, eventClass: OCSFClass, activity: String? = nil) {
            self.pattern = pattern
            self.eventClass = eventClass
            self.activity = activity
        }
    }

    /// What an event maps to.
    public struct Classification: Sendable, Equatable {
        public var ocsfClass: OCSFClass
        public var activityID: Int
        public var activityName: String
        /// OCSF status_id: 0 unknown, 1 success, 2 failure.
        public var statusID: Int
        public var ecsCategory: String
        public var ecsTypes: [String]
    }

    public var rules: [Rule]

    public init(rules: [Rule] = []) {
        self.rules = rules
    }

    /// Reads a mapping file: one rule per line, `ACTION-PATTERN CLASS [ACTIVITY…]`, `#` starts a comment. CLASS is
    /// account_change, authentication, entity_management or api_activity; ACTIVITY an activity of that class in
    /// OCSF 1.5 (e.g. `update`, `password_change`, `logon`), or absent to let the defaults pick.
    ///
    ///     billing.invoice.*   entity_management
    ///     sso.saml.assert     authentication  logon
    ///     *.password.reset    account_change  password_reset
    public init(parsing text: String, path: String? = nil) throws(AuditLogError) {
        var rules: [Rule] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !words.isEmpty else { continue }
            func refuse(_ message: String) -> AuditLogError {
                AuditLogError(.invalidArgument, "mapping line \(index + 1): \(message)", path: path)
            }
            guard words.count >= 2 else {
                throw refuse("expected ACTION-PATTERN CLASS [ACTIVITY], got \"\(words[0])\" alone")
            }
            guard let eventClass = OCSFClass(rawValue: words[1]) else {
                throw refuse(
                    "unknown class \"\(words[1])\": one of "
                        + OCSFClass.allCases.map(\.rawValue).joined(separator: ", "))
            }
            var activity: String?
            if words.count > 2 {
                let name = words[2...].joined(separator: " ")
                guard eventClass.activity(named: name) != nil else {
                    throw refuse(
                        "\(eventClass.rawValue) has no activity \"\(name)\": one of "
                            + eventClass.activities.map { Self.normalized($0.name) }.joined(separator: ", "))
                }
                activity = name
            }
            rules.append(Rule(pattern: words[0], eventClass: eventClass, activity: activity))
        }
        self.rules = rules
    }

    /// The class, activity, status and ECS categorization of `event`.
    public func classify(_ event: AuditEvent) -> Classification {
        var metadata = event.metadata?.text
        let http = metadata?.withUTF8 { HTTPFacts(UnsafeRawBufferPointer($0)) } ?? HTTPFacts(nil)
        return classify(action: event.action, resourceType: event.resource.type, http: http)
    }

    /// ``classify(_:)`` with the HTTP facts of the event's metadata already read (the encoders use them too).
    func classify(action: String, resourceType: String, http: HTTPFacts) -> Classification {
        let words = Self.words(action)
        let verb = Self.verb(words, method: http.method)
        let ocsfClass: OCSFClass
        var chosen: (id: Int, name: String)?
        if let rule = rules.first(where: { Self.matches($0.pattern, action) }) {
            ocsfClass = rule.eventClass
            chosen = rule.activity.flatMap { rule.eventClass.activity(named: $0) }
        } else if verb == .logon || verb == .logoff {
            ocsfClass = .authentication
        } else if words.first == "api" && (words.count == 1 || words[1] != "key") || action == "apiRequest"
            || Self.normalized(resourceType) == "apirequest"
        {
            ocsfClass = .apiActivity
        } else if Self.accountResourceTypes.contains(Self.normalized(resourceType))
            || words.starts(with: ["api", "key"])
        {
            ocsfClass = .accountChange
        } else {
            ocsfClass = .entityManagement
        }
        let activity = chosen ?? Self.activity(of: verb, in: ocsfClass)
        return Classification(
            ocsfClass: ocsfClass, activityID: activity.id, activityName: activity.name, statusID: http.statusID,
            ecsCategory: Self.ecsCategory(ocsfClass), ecsTypes: Self.ecsTypes(verb, ocsfClass))
    }

    // MARK: The defaults

    /// Resource types whose changes are changes of accounts, memberships or credentials.
    static let accountResourceTypes: Set<String> = [
        "user", "account", "member", "membership", "apikey", "token", "accesstoken", "credential", "role",
        "password", "serviceaccount", "invitation",
    ]

    enum Verb {
        case create, read, update, delete, move, enable, disable, activate, deactivate, suspend, resume, lock, unlock
        case logon, logoff, passwordChange, passwordReset, other
    }

    static let verbs: [String: Verb] = [
        "create": .create, "created": .create, "add": .create, "added": .create, "new": .create, "insert": .create,
        "issue": .create, "issued": .create, "invite": .create, "invited": .create, "register": .create,
        "read": .read, "view": .read, "viewed": .read, "get": .read, "list": .read, "export": .read,
        "exported": .read, "download": .read, "downloaded": .read, "access": .read, "accessed": .read,
        "search": .read, "update": .update, "updated": .update, "set": .update, "edit": .update, "edited": .update,
        "change": .update, "changed": .update, "rename": .update, "renamed": .update, "modify": .update,
        "modified": .update, "patch": .update, "rotate": .update, "rotated": .update, "delete": .delete,
        "deleted": .delete, "remove": .delete, "removed": .delete, "destroy": .delete, "destroyed": .delete,
        "revoke": .delete, "revoked": .delete, "purge": .delete, "purged": .delete, "move": .move, "moved": .move,
        "transfer": .move, "transferred": .move, "enable": .enable, "enabled": .enable, "disable": .disable,
        "disabled": .disable, "activate": .activate, "activated": .activate, "deactivate": .deactivate,
        "deactivated": .deactivate, "suspend": .suspend, "suspended": .suspend, "resume": .resume,
        "resumed": .resume, "lock": .lock, "locked": .lock, "unlock": .unlock, "unlocked": .unlock,
        "login": .logon, "logon": .logon, "signin": .logon, "logout": .logoff, "logoff": .logoff,
        "signout": .logoff,
    ]

    /// The verb of an action: the last word that is one (`pipeline.run.triggered` has none, `apiKey.create` is
    /// create), "sign in"/"log in" as one word, a password change or reset as such; for API requests without a
    /// verb, the HTTP method.
    static func verb(_ words: [String], method: String?) -> Verb {
        let joined = words.joined()
        if joined.contains("password") || joined.contains("passwd") {
            if words.contains("reset") { return .passwordReset }
            if words.contains(where: { verbs[$0] == .update || verbs[$0] == .create }) { return .passwordChange }
        }
        for (i, word) in words.enumerated().reversed() {
            if i + 1 < words.count, word == "sign" || word == "log" {
                if words[i + 1] == "in" || words[i + 1] == "on" { return .logon }
                if words[i + 1] == "out" || words[i + 1] == "off" { return .logoff }
            }
            if let verb = verbs[word] { return verb }
        }
        switch method {
        case "POST": return .create
        case "GET", "HEAD": return .read
        case "PUT", "PATCH": return .update
        case "DELETE": return .delete
        default: return .other
        }
    }

    static func activity(of verb: Verb, in ocsfClass: OCSFClass) -> (id: Int, name: String) {
        let name: String
        switch (ocsfClass, verb) {
        case (.authentication, .logon): name = "Logon"
        case (.authentication, .logoff): name = "Logoff"
        case (.accountChange, .create): name = "Create"
        case (.accountChange, .delete): name = "Delete"
        case (.accountChange, .enable), (.accountChange, .activate), (.accountChange, .resume): name = "Enable"
        case (.accountChange, .disable), (.accountChange, .deactivate), (.accountChange, .suspend): name = "Disable"
        case (.accountChange, .lock): name = "Lock"
        case (.accountChange, .unlock): name = "Unlock"
        case (.accountChange, .passwordChange): name = "Password Change"
        case (.accountChange, .passwordReset): name = "Password Reset"
        case (.entityManagement, .create), (.apiActivity, .create): name = "Create"
        case (.entityManagement, .read), (.apiActivity, .read): name = "Read"
        case (.entityManagement, .update), (.apiActivity, .update), (.entityManagement, .passwordChange),
            (.entityManagement, .passwordReset):
            name = "Update"
        case (.entityManagement, .delete), (.apiActivity, .delete): name = "Delete"
        case (.entityManagement, .move): name = "Move"
        case (.entityManagement, .enable): name = "Enable"
        case (.entityManagement, .disable): name = "Disable"
        case (.entityManagement, .activate): name = "Activate"
        case (.entityManagement, .deactivate): name = "Deactivate"
        case (.entityManagement, .suspend): name = "Suspend"
        case (.entityManagement, .resume): name = "Resume"
        default: name = "Other"
        }
        return ocsfClass.activity(named: name) ?? (99, "Other")
    }

    static func ecsCategory(_ ocsfClass: OCSFClass) -> String {
        switch ocsfClass {
        case .accountChange: "iam"
        case .authentication: "authentication"
        case .entityManagement: "configuration"
        case .apiActivity: "api"
        }
    }

    /// ECS event.type values, from those ECS allows for the category.
    static func ecsTypes(_ verb: Verb, _ ocsfClass: OCSFClass) -> [String] {
        if ocsfClass == .authentication {
            return [verb == .logon ? "start" : verb == .logoff ? "end" : "info"]
        }
        switch verb {
        case .create: return ["creation"]
        case .delete: return ["deletion"]
        case .read: return ["access"]
        case .other, .logon, .logoff: return ["info"]
        default: return ["change"]
        }
    }

    /// The method and status of an API request, from `metadata.method` and `metadata.status` (or
    /// `metadata.statusCode`), and an outcome from them or from `metadata.outcome`/`metadata.result`.
    struct HTTPFacts {
        var method: String?
        var status: Int64?
        var statusID = 0

        /// The facts in `metadata`, stored (valid, canonical) JSON text.
        init(_ metadata: UnsafeRawBufferPointer?) {
            guard let metadata else { return }
            scan(metadata)
            if statusID == 0, let status, (100...599).contains(status) { statusID = status < 400 ? 1 : 2 }
        }

        /// Reads the few top-level members that matter, skipping the rest without building values: a full parse
        /// per exported event cost more than the rest of the mapping.
        private mutating func scan(_ b: UnsafeRawBufferPointer) {
            guard b.first == UInt8(ascii: "{") else { return }
            var i = 1
            var depth = 1
            var key: Range<Int>?  // the top-level key whose value comes next
            var expectKey = true
            while i < b.count {
                let c = b[i]
                switch c {
                case UInt8(ascii: "\""):
                    let start = i + 1
                    var escaped = false
                    i += 1
                    while i < b.count && b[i] != UInt8(ascii: "\"") {
                        if b[i] == UInt8(ascii: "\\") {
                            escaped = true
                            i += 1
                        }
                        i += 1
                    }
                    // An escaped key or value is none of the few plain ones looked for.
                    let bytes = escaped ? nil : start..<min(i, b.count)
                    i += 1
                    if depth == 1 && expectKey {
                        key = bytes
                        expectKey = false
                    } else if depth == 1, let name = key {
                        if let bytes { take(b[name], string: b[bytes]) }
                        key = nil
                    }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    key = depth == 2 ? nil : key
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                case UInt8(ascii: ","):
                    if depth == 1 { expectKey = true }
                case UInt8(ascii: ":"), 0x20, 0x09, 0x0A, 0x0D:
                    break
                default:
                    // A number, true, false or null: at the top level, possibly a value we want.
                    let start = i
                    scalar: while i < b.count {
                        switch b[i] {
                        case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x09, 0x0D: break scalar
                        default: i += 1
                        }
                    }
                    if depth == 1, let name = key {
                        take(b[name], scalar: b[start..<i])
                        key = nil
                    }
                    continue
                }
                i += 1
            }
        }

        private mutating func take(_ key: Slice<UnsafeRawBufferPointer>, string value: Slice<UnsafeRawBufferPointer>) {
            let key = UnsafeRawBufferPointer(rebasing: key)
            if key.equals("method") || key.equals("httpMethod") {
                // ASCII upper case (an HTTP method is a token), without `uppercased()`'s Unicode tables; a short
                // one makes a string without an allocation.
                method = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: value.count) { upper in
                    for (i, c) in value.enumerated() {
                        upper[i] = c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") ? c - 0x20 : c
                    }
                    return String(decoding: upper, as: UTF8.self)
                }
            } else if key.equals("outcome") || key.equals("result") {
                switch String(decoding: value, as: UTF8.self).lowercased() {
                case "success", "succeeded", "ok", "allowed": statusID = 1
                case "failure", "failed", "error", "denied": statusID = 2
                default: break
                }
            }
        }

        /// A JSON number that is an integer (`-`, digits) in range, or nil: `Int64(String)` without the string.
        static func integer(_ text: UnsafeRawBufferPointer) -> Int64? {
            let negative = text.first == UInt8(ascii: "-")
            let digits = negative ? UnsafeRawBufferPointer(rebasing: text.dropFirst()) : text
            guard !digits.isEmpty else { return nil }
            var value: Int64 = 0
            for c in digits {
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
                let digit = Int64(c - UInt8(ascii: "0"))
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
                guard !o1 && !o2 else { return nil }
                value = next
            }
            return value
        }

        private mutating func take(_ key: Slice<UnsafeRawBufferPointer>, scalar value: Slice<UnsafeRawBufferPointer>) {
            let key = UnsafeRawBufferPointer(rebasing: key)
            let value = UnsafeRawBufferPointer(rebasing: value)
            if key.equals("status") || key.equals("statusCode") || key.equals("status_code") {
                status = Self.integer(value)
            } else if key.equals("success") {
                if value.equals("true") { statusID = 1 } else if value.equals("false") { statusID = 2 }
            }
        }
    }

    // MARK: Words and patterns

    /// `pipeline.run.triggered` → pipeline, run, triggered; `setLabel` → set, label; `API_KEY-create` → api, key,
    /// create.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousLower = false
        for ch in text {
            if ch.isLetter || ch.isNumber {
                if ch.isUppercase && previousLower {
                    words.append(current)
                    current = ""
                }
                current += ch.lowercased()
                previousLower = ch.isLowercase || ch.isNumber
            } else {
                if !current.isEmpty { words.append(current) }
                current = ""
                previousLower = false
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Lower case without separators: "Password Change", "password_change" and "passwordChange" are the same.
    static func normalized(_ text: String) -> String {
        String(text.lowercased().filter { $0.isLetter || $0.isNumber })
    }

    /// Whether `text` matches `pattern`, where `*` matches any run of characters (also none).
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        var (i, j) = (0, 0)
        var star: (p: Int, t: Int)?
        while j < t.count {
            if i < p.count && p[i] == UInt8(ascii: "*") {
                star = (i, j)
                i += 1
            } else if i < p.count && p[i] == t[j] {
                i += 1
                j += 1
            } else if let s = star {
                // Let the last star take one more character.
                i = s.p + 1
                j = s.t + 1
                star = (s.p, s.t + 1)
            } else {
                return false
            }
        }
        while i < p.count && p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }
}
