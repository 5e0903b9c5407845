extension LogWriter {
    /// Writes what sealed segments lack of their summaries (FORMAT.md "Indexes"): the sorted actor index
    /// (`.aix`), missing when the segment already held records as this writer opened it (open does not read the
    /// active segment's block index whole), or of version 1 (rewritten as version 2, whose block table lets a
    /// reader build its view of the segment lazily), and the facet summary (`.fct`), so that readers list distinct
    /// values without reading records. Runs on the writer's maintenance thread after each seal, and at open when a
    /// sealed segment lacks a summary file (or the log has a retention policy or an archive; a version 1 actor index
    /// alone waits for the next seal); it stops early when the log closes. Each is computed outside the commit path and written only if the segment is still
    /// the same file (redaction replaces segments, and removes their summaries, under the same exclusivity), so a
    /// summary never describes records that are gone.
    func writeMissingSummaries() {
        guard let segments = try? LogFiles.segments(in: directory) else { return }
        for segment in segments.dropLast() {
            if isStopping { return }
            let actorIndex = SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: segment.baseSeq)
            // Missing, or version 1 (written before the block table: a reader's view of the segment then parses
            // its whole block index, ~3 ms for 32 MiB).
            if !FileSystem.exists(actorIndex)
                || ActorIndexFile.version(directory: directory, baseSeq: segment.baseSeq) == 1
            {
                let inode = FileSystem.inode(segment.path)
                if let index = try? SegmentIndex(directory: directory, baseSeq: segment.baseSeq, path: segment.path),
                    index.sealed
                {
                    _ = try? exclusively { () throws(AuditLogError) in
                        guard FileSystem.inode(segment.path) == inode else { return }
                        try SegmentIndexFiles.replace(actorIndex, with: try index.encodedActorIndex())
                    }
                }
            }
            if isStopping { return }
            if SegmentFacets.isStored(segment, directory: directory) { continue }
            let inode = FileSystem.inode(segment.path)
            guard let facets = try? SegmentFacets.compute(segment) else { continue }
            _ = try? exclusively { () throws(AuditLogError) in
                guard FileSystem.inode(segment.path) == inode else { return }
                try SegmentIndexFiles.replace(
                    SegmentFacets.path(directory: directory, baseSeq: segment.baseSeq), with: facets.encode())
            }
        }
    }
}
