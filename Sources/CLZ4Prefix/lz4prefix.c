// The LZ4 block decoder for queries, which need the first records of a block (up to the block index's record end)
// and must refuse what the format forbids as they decode. liblz4 1.9.4 decodes a match with offset 0 instead of
// refusing it, and its whole and partial decoders then disagree, so the library used to scan every stream's
// sequence headers for such matches before a partial decode: two parses of each stream, the scan 22% of an actor
// page query (`perf`). This decoder parses once and stops at the first offset-0 match (the caller then decodes
// the block whole with liblz4, as before). Whole blocks (verify, exports, recovery) still go through liblz4.
//
// Block format (lz4_Block_format.md): sequences of a token (high nibble: literal count, low nibble: match length
// - 4; 15 means more length bytes follow, each added, while they are 255), the literals, then a 2-byte
// little-endian offset back into the output; the last sequence has literals only.
#include "clz4prefix.h"
#include <string.h>

/// Reads a length continued by bytes of 255 after a nibble of 15; -1 when the input ends first.
static inline int64_t read_length(const uint8_t **ip, const uint8_t *end, size_t length) {
    if (length != 15) return (int64_t)length;
    uint8_t more;
    do {
        if (*ip >= end) return -1;
        more = *(*ip)++;
        length += more;
    } while (more == 255);
    return (int64_t)length;
}

/// Copies from `from` to `to` until `to` reaches `stop`, `step` (8 or 16) bytes at a time: it may read and write
/// up to step - 1 bytes past the run, so the caller makes sure both buffers have that room. For a match it reads
/// only bytes already written when the offset is at least `step`.
__attribute__((always_inline)) static inline void wild_copy(
    size_t step, uint8_t *to, const uint8_t *from, const uint8_t *stop) {
    do {
        memcpy(to, from, step);
        to += step;
        from += step;
    } while (to < stop);
}

int64_t auditlog_lz4_decode_prefix(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_capacity, size_t target) {
    const uint8_t *ip = src;
    const uint8_t *const iend = src + src_size;
    uint8_t *op = dst;
    uint8_t *const oend = dst + dst_capacity;
    if (src_size == 0) return AUDITLOG_LZ4_INVALID;
    while ((size_t)(op - dst) < target) {
        if (ip >= iend) return AUDITLOG_LZ4_INVALID;
        const unsigned token = *ip++;

        int64_t literals = read_length(&ip, iend, token >> 4);
        if (literals < 0 || (size_t)literals > (size_t)(iend - ip) || (size_t)literals > (size_t)(oend - op))
            return AUDITLOG_LZ4_INVALID;
        // 16 bytes at a time where both buffers have room past the run; exactly otherwise.
        if ((size_t)(iend - ip) >= (size_t)literals + 16 && (size_t)(oend - op) >= (size_t)literals + 16) {
            wild_copy(16, op, ip, op + literals);
        } else {
            memcpy(op, ip, (size_t)literals);
        }
        ip += literals;
        op += literals;
        if (ip == iend) break;  // the last sequence: literals only

        if (iend - ip < 2) return AUDITLOG_LZ4_INVALID;
        const size_t offset = (size_t)ip[0] | (size_t)ip[1] << 8;
        ip += 2;
        if (offset == 0) return AUDITLOG_LZ4_OFFSET_ZERO;
        if (offset > (size_t)(op - dst)) return AUDITLOG_LZ4_INVALID;
        int64_t length = read_length(&ip, iend, token & 15);
        if (length < 0) return AUDITLOG_LZ4_INVALID;
        length += 4;
        if ((size_t)length > (size_t)(oend - op)) return AUDITLOG_LZ4_INVALID;

        const uint8_t *match = op - offset;
        uint8_t *const stop = op + length;
        // What the copies write past the run lies inside dst, where the next sequence writes again.
        if (offset >= 16 && (size_t)(oend - op) >= (size_t)length + 16) {
            wild_copy(16, op, match, stop);
        } else if (offset >= 8 && (size_t)(oend - op) >= (size_t)length + 8) {
            wild_copy(8, op, match, stop);
        } else {
            // Overlapping (a repeated pattern shorter than 8 bytes) or near the end: byte by byte, as the format
            // defines the copy.
            while (op < stop) *op++ = *match++;
        }
        op = stop;
    }
    return (int64_t)(op - dst);
}
