extension AuditEvent {
    /// Checks the event against `limits` and the field rules of the event contract (README, "The event"). The
    /// same checks run for events decoded from JSON and events built in code.
    /// - Throws: ``AuditLogError/Code/invalidEvent``, naming the field.
    public func validate(limits: EventLimits = EventLimits()) throws(AuditLogError) {
        try validate(limits: limits, allowReserved: false)
    }

    /// `allowReserved`: the log's own retention and redaction events may use the reserved `system` actor.
    func validate(limits: EventLimits, allowReserved: Bool) throws(AuditLogError) {
        var record: [UInt8] = []
        RecordCodec.encode(self, seq: 0, into: &record)
        try record.withUnsafeBytes { bytes in
            Result { () throws(AuditLogError) in
                try RecordFields(trusted: bytes).validate(limits: limits, allowReserved: allowReserved)
            }
        }.get()
    }
}

extension RecordFields {
    /// Checks an event's record against the limits before it is appended: the one place the rules of the event
    /// contract are checked, whether the event came as JSON or as an ``AuditEvent``.
    /// - Parameter allowReserved: The log's own retention and redaction events may use the reserved `system` actor.
    func validate(limits: EventLimits, allowReserved: Bool) throws(AuditLogError) {
        func fail(_ field: String, _ message: String) -> AuditLogError {
            AuditLogError(.invalidEvent, message, field: field)
        }
        func check(_ value: UnsafeRawBufferPointer, _ field: @autoclosure () -> String, required: Bool = false,
            max: Int? = nil) throws(AuditLogError)
        {
            let count = value.count
            if required && count == 0 { throw fail(field(), "must not be empty") }
            let limit = max ?? limits.maxStringBytes
            if count > limit { throw fail(field(), "is \(count) bytes, over the limit of \(limit)") }
        }
        func check(_ value: UnsafeRawBufferPointer?, _ field: String) throws(AuditLogError) {
            if let value { try check(value, field) }
        }
        try check(id, "id", required: true, max: limits.maxIdBytes)
        let time = Timestamp(millisecondsSinceEpoch: timestamp)
        guard limits.timestampRange.contains(time), RFC3339.representable.contains(timestamp) else {
            throw fail(
                "timestamp",
                "\(timestamp) ms is outside the accepted range "
                    + "\(limits.timestampRange.lowerBound) to \(limits.timestampRange.upperBound)")
        }
        try check(actorID, "actor.id", required: true)
        if !allowReserved && actorType == .system && actorID.elementsEqual(SystemEvents.actorID.utf8) {
            throw fail(
                "actor.id",
                "\"\(SystemEvents.actorID)\" with type system is reserved for the log's own retention and redaction "
                    + "events; use another id")
        }
        try check(actorName, "actor.name")
        try check(authMethod, "actor.authMethod")
        if hasRoles {
            if roleCount > limits.maxRoles { throw fail("actor.roles", "more than \(limits.maxRoles) roles") }
            var i = 0
            try forEachRole { (role) throws(AuditLogError) in
                try check(role, "actor.roles[\(i)]")
                i += 1
            }
        }
        try check(action, "action", required: true)
        try check(resourceType, "resource.type", required: true)
        try check(resourceID, "resource.id", required: true)
        try check(resourceName, "resource.name")
        if let orgID {
            try check(orgID, "org.id", required: true)
            try check(orgName, "org.name")
        }
        if let projectID {
            try check(projectID, "project.id", required: true)
            try check(projectName, "project.name")
        }
        try check(source, "source")
        try check(userAgent, "userAgent")
        if let ip {
            try check(ip, "ip")
            guard IPAddress.isValid(ip) else {
                throw fail("ip", "\"\(UTF8Validator.string(trusted: ip))\" is not an IPv4 or IPv6 address")
            }
        }
        if let metadata, metadata.first != UInt8(ascii: "{") { throw fail("metadata", "must be a JSON object") }
    }
}
