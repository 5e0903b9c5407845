#ifndef AUDITLOG_CLZ4DECODE_H
#define AUDITLOG_CLZ4DECODE_H

#include <stddef.h>
#include <stdint.h>

/// A match with offset 0 (which the LZ4 block format forbids) was found before the decoder stopped.
#define AUDITLOG_LZ4_OFFSET_ZERO (-2)
/// The input is not an LZ4 block that fits `dst` (or, for a whole frame, that fills it exactly).
#define AUDITLOG_LZ4_INVALID (-1)

/// Decodes the LZ4 block `src` (`src_size` bytes) into `dst` until at least `target` bytes are produced, or the
/// block ends. Returns the number of bytes produced (at least `target`, or all of the block's output if it ends
/// sooner), AUDITLOG_LZ4_OFFSET_ZERO if a match with offset 0 starts before `target`, or AUDITLOG_LZ4_INVALID for
/// a length that runs past either buffer or an offset that reaches before `dst`. Never reads outside `src` nor
/// writes outside `dst[0 ..< dst_capacity]`; bytes past the returned count are unspecified.
int64_t auditlog_lz4_decode_prefix(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_capacity, size_t target);

/// Decodes the LZ4 block `src`, whose output is `dst_size` bytes, into `dst`; matches may reach back past the
/// start of `dst` into the `dict_size` bytes of `dict` (which precede the output, as LZ4's dictionaries do; `dict`
/// may be NULL when `dict_size` is 0). With `target` ≥ `dst_size` the whole block: returns `dst_size`, or
/// AUDITLOG_LZ4_INVALID also when its output is shorter or longer or input follows its last sequence. With a
/// smaller `target`, only until at least `target` bytes are out: returns how many (bytes past them are
/// unspecified). AUDITLOG_LZ4_OFFSET_ZERO for a match with offset 0. Never reads outside `src` and `dict` nor
/// writes outside `dst[0 ..< dst_size]`.
int64_t auditlog_lz4_decode_with_dictionary(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_size, size_t target, const uint8_t *dict,
    size_t dict_size);

#endif
