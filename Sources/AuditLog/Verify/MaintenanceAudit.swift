/// Cross-checks of the log's own maintenance records, after every segment was verified: each retention event's
/// root at its boundary must match the frontier kept there, and each redacted record must be covered, for every
/// field it lacks, by a redaction event after it (FORMAT.md, "Retention and redaction").
enum MaintenanceAudit {
    /// Each retention event's root at its boundary must match the frontier kept there; each redacted record
    /// must be covered, for every field it lacks, by redaction events after it.
    static func check(
        _ checks: [SegmentCheck], into report: inout VerificationReport, hasher: MerkleHasher
    ) {
        for check in checks {
            for (seq, retention) in check.retentions {
                guard let kept = checks.first(where: { $0.headerBase == retention.prunedBelow }),
                    let frontier = kept.headerFrontier
                else { continue }  // a later retention removed that boundary too
                let root = frontier.root(using: hasher)
                if root != retention.rootAtBoundary {
                    report.problems.append(
                        .init(
                            kind: .modified, file: kept.result.file, offset: 0, length: Int64(kept.headerSize),
                            seq: retention.prunedBelow,
                            message: "retention event \(seq) recorded root \(retention.rootAtBoundary.hex) at seq "
                                + "\(retention.prunedBelow), but the segment starting there carries \(root.hex)"))
                }
            }
        }
        var byActor: [String: [SystemEvents.RedactionRule]] = [:]
        var bySeq: [UInt64: [SystemEvents.RedactionRule]] = [:]
        for rule in checks.flatMap(\.redactionRules) {
            switch rule.target {
            case .actor(let id): byActor[id, default: []].append(rule)
            case .events(let seqs): for seq in Set(seqs) { bySeq[seq, default: []].append(rule) }
            }
        }
        for check in checks {
            for record in check.redacted {
                let covering = ((byActor[record.actorID] ?? []) + (bySeq[record.seq] ?? [])).filter {
                    $0.seq <= record.by && $0.covers(seq: record.seq, actorID: record.actorID)
                }
                let fields = covering.reduce(UInt16(0)) { $0 | RedactableField.mask(of: $1.fields) }
                if covering.contains(where: { $0.seq == record.by }) && record.fields & ~fields == 0 {
                    report.redactedEvents += 1
                    continue
                }
                report.problems.append(
                    .init(
                        kind: .unrecordedRedaction, file: check.result.file, offset: record.offset, length: nil,
                        seq: record.seq,
                        message:
                            "event \(record.seq) is redacted (\(RedactableField.fields(in: record.fields).map(\.rawValue).joined(separator: ", "))) "
                            + "but no redaction event in the log covers it: its data was removed without a record"))
            }
        }
    }

}
