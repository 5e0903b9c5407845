extension LogWriter {
    /// Writes the facet summary (`.fct`, FORMAT.md "Indexes") of every sealed segment that lacks a valid one, so
    /// that readers list distinct values without reading records. Runs on the writer's maintenance thread, at open
    /// and after each seal; it stops early when the log closes. A summary is computed outside the commit path and
    /// written only if the segment is still the same file (redaction replaces segments, and removes their
    /// summaries, under the same exclusivity), so a summary never describes records that are gone.
    func writeMissingFacetSummaries() {
        guard let segments = try? LogFiles.segments(in: directory) else { return }
        for segment in segments.dropLast() {
            if isStopping { return }
            if SegmentFacets.stored(segment, directory: directory) != nil { continue }
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
