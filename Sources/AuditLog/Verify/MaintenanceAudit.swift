/// Cross-checks of the log's own maintenance records, after every segment was verified: each retention event's
/// root at its boundary must match the frontier kept there, each redacted record must be covered, for every
/// field it lacks, by a redaction event after it, and each record a redaction event covers must be redacted of
/// its fields (FORMAT.md, "Verification").
enum MaintenanceAudit {
    /// Each retention event's root at its boundary must match the frontier kept there; each redacted record
    /// must be covered, for every field it lacks, by redaction events after it.
    /// - Parameter pending: A redaction a crash interrupted (the next open finishes it): its unredacted records
    ///   are not reported.
    static func check(
        _ checks: [SegmentCheck], pending: UInt64?, into report: inout VerificationReport, hasher: MerkleHasher
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
        checkApplied(checks.flatMap(\.redactionRules).filter { $0.seq != pending }, checks, into: &report)
    }

    /// Every record a redaction event covers (and the log still holds) must be redacted, with at least the
    /// event's fields: a segment from before the redaction put back (a backup, an old version in a bucket) brings
    /// back the data it erased, though every hash still matches.
    private static func checkApplied(
        _ rules: [SystemEvents.RedactionRule], _ checks: [SegmentCheck], into report: inout VerificationReport
    ) {
        guard !rules.isEmpty else { return }
        var redacted: [UInt64: (actorID: String, fields: UInt16)] = [:]
        for check in checks { for record in check.redacted { redacted[record.seq] = (record.actorID, record.fields) } }
        var found: Set<UInt64> = []
        func problem(_ check: SegmentCheck, seq: UInt64, offset: Int64?, _ rule: SystemEvents.RedactionRule) {
            guard found.insert(seq).inserted else { return }
            report.problems.append(
                .init(
                    kind: .unappliedRedaction, file: check.result.file, offset: offset, length: nil, seq: seq,
                    message: "event \(seq) still holds data that redaction event \(rule.seq) removed "
                        + "(\(rule.fields.map(\.rawValue).joined(separator: ", "))): this segment is from before the "
                        + "redaction (a restored copy or version?), or the redaction was not applied"))
        }
        for rule in rules {
            let mask = RedactableField.mask(of: rule.fields)
            switch rule.target {
            case .events(let seqs):
                for seq in Set(seqs) where seq < rule.seq {
                    guard let check = checks.first(where: { $0.result.baseSeq <= seq && seq < $0.result.endSeq }) else {
                        continue  // removed by retention, or not verified (a problem is reported for that)
                    }
                    if let record = redacted[seq], record.fields & mask == mask { continue }
                    problem(check, seq: seq, offset: nil, rule)
                }
            case .actor(let id):
                for check in checks {
                    if let first = check.unredactedActors.first(id: id), first.seq < rule.seq {
                        problem(check, seq: first.seq, offset: first.offset, rule)
                    }
                    for record in check.redacted
                    where record.actorID == id && record.seq < rule.seq && record.fields & mask != mask {
                        problem(check, seq: record.seq, offset: record.offset, rule)
                    }
                }
            }
        }
    }

}
