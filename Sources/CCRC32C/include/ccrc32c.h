#ifndef AUDITLOG_CCRC32C_H
#define AUDITLOG_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has a CRC-32C instruction (x86-64 SSE4.2) that auditlog_crc32c_hw can use.
int auditlog_crc32c_hw_available(void);

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start), with the CPU's crc32
/// instruction. Only call when auditlog_crc32c_hw_available() returns 1.
uint32_t auditlog_crc32c_hw(uint32_t crc, const void *data, size_t length);

#endif
