#ifndef AUDITLOG_CLZ4PREFIX_H
#define AUDITLOG_CLZ4PREFIX_H

#include <stddef.h>
#include <stdint.h>

/// auditlog_lz4_decode_prefix found a match with offset 0 (which the LZ4 block format forbids) before `target`.
#define AUDITLOG_LZ4_OFFSET_ZERO (-2)
/// auditlog_lz4_decode_prefix found the input not to be an LZ4 block that fits `dst`.
#define AUDITLOG_LZ4_INVALID (-1)

/// Decodes the LZ4 block `src` (`src_size` bytes) into `dst` until at least `target` bytes are produced, or the
/// block ends. Returns the number of bytes produced (at least `target`, or all of the block's output if it ends
/// sooner), AUDITLOG_LZ4_OFFSET_ZERO if a match with offset 0 starts before `target`, or AUDITLOG_LZ4_INVALID for
/// a length that runs past either buffer or an offset that reaches before `dst`. Never reads outside `src` nor
/// writes outside `dst[0 ..< dst_capacity]`; bytes past the returned count are unspecified.
int64_t auditlog_lz4_decode_prefix(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_capacity, size_t target);

#endif
