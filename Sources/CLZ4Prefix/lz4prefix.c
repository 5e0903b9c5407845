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
            const uint8_t *from = ip;
            uint8_t *to = op;
            uint8_t *const stop = op + literals;
            do {
                memcpy(to, from, 16);
                to += 16;
                from += 16;
            } while (to < stop);
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
        if (offset >= 16 && (size_t)(oend - op) >= (size_t)length + 16) {
            // Each 16-byte copy reads bytes already written (offset >= 16), and may write up to 15 past the run,
            // inside dst, where the next sequence writes again.
            do {
                memcpy(op, match, 16);
                op += 16;
                match += 16;
            } while (op < stop);
        } else if (offset >= 8 && (size_t)(oend - op) >= (size_t)length + 8) {
            do {
                memcpy(op, match, 8);
                op += 8;
                match += 8;
            } while (op < stop);
        } else {
            // Overlapping (a repeated pattern shorter than 8 bytes) or near the end: byte by byte, as the format
            // defines the copy.
            while (op < stop) *op++ = *match++;
        }
        op = stop;
    }
    return (int64_t)(op - dst);
}
