/// Size limits enforced on every event, from JSON or from the API. Events over a limit are refused with an
/// error naming the field; the defaults suit audit events and bound memory on hostile input.
public struct EventLimits: Sendable, Equatable {
    /// Largest JSON line accepted, and largest encoded record. Default 1 MiB.
    public var maxEventBytes: Int = 1 << 20
    /// Largest `id`. Default 128 bytes.
    public var maxIdBytes: Int = 128
    /// Largest short text field: actor, resource, org and project ids and names, action, source, ip, user agent,
    /// roles. Default 4 KiB.
    public var maxStringBytes: Int = 4096
    /// Most roles on one actor. Default 256.
    public var maxRoles: Int = 256
    /// Deepest nesting of arrays and objects inside `before`, `after` and `metadata`. Default 64.
    public var maxNestingDepth: Int = 64
    /// Accepted timestamps. Default 1970-01-01 to 9999-12-31 (UTC).
    public var timestampRange: ClosedRange<Timestamp> =
        Timestamp(millisecondsSinceEpoch: 0)...Timestamp(millisecondsSinceEpoch: 253_402_300_799_999)

    public init() {}
}
