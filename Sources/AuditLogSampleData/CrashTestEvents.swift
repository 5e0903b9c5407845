import AuditLog

/// The events of the crash loop: event `index` of writer thread `thread` in round `round` is always the same,
/// so the checker rebuilds exactly what the killed writer appended.
public enum CrashTestEvents {
    /// A unique id that names its origin: `r<round>-t<thread>-<index>`.
    public static func id(round: Int, thread: Int, index: Int) -> String { "r\(round)-t\(thread)-\(index)" }

    public static func event(round: Int, thread: Int, index: Int) -> AuditEvent {
        let n = index % 37
        let milliseconds: Int64 = 1_767_225_600_000 + Int64(round) * 3_600_000 + Int64(index) * 10 + Int64(thread)
        return AuditEvent(
            id: id(round: round, thread: thread, index: index),
            timestamp: Timestamp(millisecondsSinceEpoch: milliseconds),
            actor: .init(type: .user, id: "user_\(n)", name: "User \(n)", roles: n % 3 == 0 ? ["admin"] : nil),
            action: ["create", "update", "delete"][index % 3],
            resource: .init(type: "prompt", id: "prompt_\(index % 101)", name: "prompt \(index)"),
            project: .init(id: "proj_\(thread)"),
            source: "ui", ip: "10.0.\(thread).\(n)", userAgent: "torture/1.0",
            before: index % 3 == 1 ? try? JSONText(#"{"version":\#(index),"text":"old \#(round)"}"#) : nil,
            after: index % 3 != 2 ? try? JSONText(#"{"version":\#(index + 1),"text":"new \#(round)"}"#) : nil,
            metadata: try? JSONText(#"{"round":\#(round),"thread":\#(thread)}"#))
    }
}
