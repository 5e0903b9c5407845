#ifndef AUDITLOG_CGUARDEDCOPY_H
#define AUDITLOG_CGUARDEDCOPY_H

#include <stddef.h>

/// Installs (once per process) the SIGBUS handler auditlog_guarded_copy needs; 1 when it is in place, 0 when it
/// could not be installed (then the caller reads files with pread instead of mapping them).
int auditlog_guarded_copy_available(void);

/// Copies `length` bytes from `source`, which lies in a read-only memory mapping of a file, to `destination`.
/// Returns 0, or -1 when touching the mapping raised SIGBUS: the file was truncated under the mapping, or the disk
/// failed to fill the page. Only call once auditlog_guarded_copy_available() returned 1.
int auditlog_guarded_copy(void *destination, const void *source, size_t length);

#endif
