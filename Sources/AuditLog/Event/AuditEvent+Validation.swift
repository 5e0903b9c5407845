extension AuditEvent {
    /// Checks the event against `limits` and the field rules of the event contract (README, "The event"). The
    /// same checks run for events decoded from JSON and events built in code.
    /// - Throws: ``AuditLogError/Code/invalidEvent``, naming the field.
    public func validate(limits: EventLimits = EventLimits()) throws(AuditLogError) {
        try validate(limits: limits, allowReserved: false)
    }

    /// `allowReserved`: the log's own retention and redaction events may use the reserved `system` actor.
    func validate(limits: EventLimits, allowReserved: Bool) throws(AuditLogError) {
        func fail(_ field: String, _ message: String) -> AuditLogError {
            AuditLogError(.invalidEvent, message, field: field)
        }
        func check(_ value: String, _ field: String, required: Bool = false, max: Int? = nil) throws(AuditLogError) {
            let count = value.utf8.count
            if required && count == 0 { throw fail(field, "must not be empty") }
            let limit = max ?? limits.maxStringBytes
            if count > limit { throw fail(field, "is \(count) bytes, over the limit of \(limit)") }
        }
        func check(_ value: String?, _ field: String) throws(AuditLogError) {
            if let value { try check(value, field) }
        }
        try check(id, "id", required: true, max: limits.maxIdBytes)
        guard limits.timestampRange.contains(timestamp),
            RFC3339.representable.contains(timestamp.millisecondsSinceEpoch)
        else {
            throw fail(
                "timestamp",
                "\(timestamp.millisecondsSinceEpoch) ms is outside the accepted range "
                    + "\(limits.timestampRange.lowerBound) to \(limits.timestampRange.upperBound)")
        }
        try check(actor.id, "actor.id", required: true)
        if !allowReserved && SystemEvents.isReserved(actor) {
            throw fail(
                "actor.id",
                "\"\(SystemEvents.actorID)\" with type system is reserved for the log's own retention and redaction "
                    + "events; use another id")
        }
        try check(actor.name, "actor.name")
        try check(actor.authMethod, "actor.authMethod")
        if let roles = actor.roles {
            if roles.count > limits.maxRoles { throw fail("actor.roles", "more than \(limits.maxRoles) roles") }
            for (i, role) in roles.enumerated() { try check(role, "actor.roles[\(i)]") }
        }
        try check(action, "action", required: true)
        try check(resource.type, "resource.type", required: true)
        try check(resource.id, "resource.id", required: true)
        try check(resource.name, "resource.name")
        if let org {
            try check(org.id, "org.id", required: true)
            try check(org.name, "org.name")
        }
        if let project {
            try check(project.id, "project.id", required: true)
            try check(project.name, "project.name")
        }
        try check(source, "source")
        try check(userAgent, "userAgent")
        if let ip {
            try check(ip, "ip")
            guard IPAddress.isValid(ip) else { throw fail("ip", "\"\(ip)\" is not an IPv4 or IPv6 address") }
        }
        if let metadata, !metadata.isObject { throw fail("metadata", "must be a JSON object") }
    }
}
