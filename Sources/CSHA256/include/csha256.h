#ifndef AUDITLOG_CSHA256_H
#define AUDITLOG_CSHA256_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the SHA extensions (with SSSE3 and SSE4.1) that the functions below use.
int auditlog_sha256_ni_available(void);

/// SHA-256 of one byte `prefix` (none when negative) followed by `length` bytes of `data`, into `out` (32 bytes):
/// a Merkle leaf (prefix 0) or node (prefix 1) without copying the data. Only call when
/// auditlog_sha256_ni_available() returns 1.
void auditlog_sha256_ni(int prefix, const void *data, size_t length, uint8_t *out);

/// Two independent hashes as above, interleaved on one core: the two dependency chains of SHA-256's rounds fill
/// each other's latency. Only call when auditlog_sha256_ni_available() returns 1.
void auditlog_sha256_ni_2(
    int prefix, const void *data1, size_t length1, uint8_t *out1, const void *data2, size_t length2, uint8_t *out2);

#endif
