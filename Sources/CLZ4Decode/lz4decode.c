// The library's LZ4 block decoder: for queries, which need the first records of a format-version-1 block (up to
// the block index's record end), and for the frames of format version 2, decoded against their segment's
// dictionary (FORMAT.md, "Block"); both refuse what the format forbids as they decode. liblz4 1.9.4 decodes a match with offset 0 instead of
// refusing it, and its whole and partial decoders then disagree, so the library used to scan every stream's
// sequence headers for such matches before a partial decode: two parses of each stream, the scan 22% of an actor
// page query (`perf`). This decoder parses once and stops at the first offset-0 match (the caller then decodes
// a version 1 block whole with liblz4, as before; in version 2 such a match is damage). Whole version 1 blocks
// (verify, exports, recovery) still go through liblz4.
//
// Block format (lz4_Block_format.md): sequences of a token (high nibble: literal count, low nibble: match length
// - 4; 15 means more length bytes follow, each added, while they are 255), the literals, then a 2-byte
// little-endian offset back into the output; the last sequence has literals only.
#include "clz4decode.h"
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

/// The one decoding loop. Stops once `target` bytes are out (or at the block's last sequence); with `whole`, the
/// block must then be consumed and the output exactly `dst_capacity` bytes. A match may reach `dict_size` bytes
/// back past `dst` into `dict`.
static inline int64_t decode(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_capacity, size_t target, const uint8_t *dict,
    size_t dict_size, int whole) {
    const uint8_t *ip = src;
    const uint8_t *const iend = src + src_size;
    uint8_t *op = dst;
    uint8_t *const oend = dst + dst_capacity;
    if (src_size == 0) return AUDITLOG_LZ4_INVALID;
    while ((size_t)(op - dst) < target) {
        if (ip >= iend) return AUDITLOG_LZ4_INVALID;
        const unsigned token = *ip++;

        if ((token >> 4) < 15 && (size_t)(iend - ip) >= 18 && (size_t)(oend - op) >= 16) {
            // Fewer than 15 literals, far from both ends (most sequences): one 16-byte copy, and a match follows.
            memcpy(op, ip, 16);
            ip += token >> 4;
            op += token >> 4;
        } else {
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
        }

        if (iend - ip < 2) return AUDITLOG_LZ4_INVALID;
        const size_t offset = (size_t)ip[0] | (size_t)ip[1] << 8;
        ip += 2;
        if (offset == 0) return AUDITLOG_LZ4_OFFSET_ZERO;
        int64_t length = read_length(&ip, iend, token & 15);
        if (length < 0) return AUDITLOG_LZ4_INVALID;
        length += 4;
        if ((size_t)length > (size_t)(oend - op)) return AUDITLOG_LZ4_INVALID;
        uint8_t *const stop = op + length;

        if (offset > (size_t)(op - dst)) {
            // Into the dictionary, which ends where the output starts; the match may run on into the output.
            const size_t back = offset - (size_t)(op - dst);
            if (back > dict_size) return AUDITLOG_LZ4_INVALID;
            if (back >= (size_t)length + 16 && (size_t)(oend - op) >= (size_t)length + 16) {
                // Wholly inside the dictionary, with room to copy 16 bytes at a time in both buffers.
                wild_copy(16, op, dict + dict_size - back, stop);
                op = stop;
                continue;
            }
            const size_t from_dict = back < (size_t)length ? back : (size_t)length;
            memcpy(op, dict + dict_size - back, from_dict);
            op += from_dict;
            const uint8_t *match = dst;
            while (op < stop) *op++ = *match++;
            continue;
        }
        const uint8_t *match = op - offset;
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
    if (whole && (ip != iend || op != oend)) return AUDITLOG_LZ4_INVALID;
    return (int64_t)(op - dst);
}

int64_t auditlog_lz4_decode_prefix(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_capacity, size_t target) {
    return decode(src, src_size, dst, dst_capacity, target, NULL, 0, 0);
}

int64_t auditlog_lz4_decode_with_dictionary(
    const uint8_t *src, size_t src_size, uint8_t *dst, size_t dst_size, size_t target, const uint8_t *dict,
    size_t dict_size) {
    if (dst_size == 0) return src_size == 1 && src[0] == 0 ? 0 : AUDITLOG_LZ4_INVALID;
    if (target >= dst_size) return decode(src, src_size, dst, dst_size, dst_size, dict, dict_size, 1);
    return decode(src, src_size, dst, dst_size, target, dict, dict_size, 0);
}
