// Hardware CRC-32C. Swift cannot emit the SSE4.2 crc32 instruction, and liblz4 and libcrypto export no CRC,
// so this is C. Callers check auditlog_crc32c_hw_available() first; other CPUs use the Swift table-driven
// implementation (Sources/AuditLog/Internal/CRC32C.swift).
//
// One crc32 instruction takes 3 cycles before the next one on the same register can start, but the CPU can
// start one every cycle: so long inputs are cut into three equal lanes, each lane's CRC is computed from zero
// side by side, and the three are joined. Joining uses linearity: the CRC register after lanes A then B is
// shift(crc after A, |B|) XOR (crc of B from zero), where shift(c, n) is what n zero bytes do to c; shift is
// linear too, so for the two lane lengths used it is four table lookups (a table per byte of c).
#include "ccrc32c.h"
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int auditlog_crc32c_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

// Lane lengths in bytes (multiples of 8): 3 x LONG_LANE per round for blocks, 3 x SHORT_LANE for index entries.
enum { LONG_LANE = 2048, SHORT_LANE = 256 };

// shift_long[k][b] = shift(b << 8k, LONG_LANE), shift_short likewise.
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2")))
static uint32_t shift_by_zeros(uint32_t crc, size_t length) {
    uint64_t c = crc;
    for (size_t i = 0; i < length; i += 8) c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

static void fill(uint32_t table[4][256], size_t length) {
    // The images of the 32 single-bit registers; every other register is a XOR of them.
    uint32_t basis[32];
    for (int bit = 0; bit < 32; bit++) basis[bit] = shift_by_zeros((uint32_t)1 << bit, length);
    for (int k = 0; k < 4; k++) {
        for (int b = 0; b < 256; b++) {
            uint32_t image = 0;
            for (int bit = 0; bit < 8; bit++) {
                if (b & (1 << bit)) image ^= basis[8 * k + bit];
            }
            table[k][b] = image;
        }
    }
}

static void fill_tables(void) {
    fill(shift_long, LONG_LANE);
    fill(shift_short, SHORT_LANE);
}

static inline uint32_t shift(const uint32_t table[4][256], uint32_t c) {
    return table[0][c & 0xFF] ^ table[1][(c >> 8) & 0xFF] ^ table[2][(c >> 16) & 0xFF] ^ table[3][c >> 24];
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

// Three lanes of `lane` bytes from p, joined onto c.
__attribute__((target("sse4.2")))
static inline uint64_t three_lanes(uint64_t c, const unsigned char *p, size_t lane, const uint32_t table[4][256]) {
    uint64_t c0 = c, c1 = 0, c2 = 0;
    const unsigned char *p1 = p + lane, *p2 = p + 2 * lane;
    for (size_t i = 0; i < lane; i += 8) {
        c0 = _mm_crc32_u64(c0, load64(p + i));
        c1 = _mm_crc32_u64(c1, load64(p1 + i));
        c2 = _mm_crc32_u64(c2, load64(p2 + i));
    }
    uint32_t joined = shift(table, (uint32_t)c0) ^ (uint32_t)c1;
    return shift(table, joined) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2")))
uint32_t auditlog_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    if (length >= 3 * SHORT_LANE) {
        pthread_once(&tables_once, fill_tables);
        while (length >= 3 * LONG_LANE) {
            c = three_lanes(c, p, LONG_LANE, shift_long);
            p += 3 * LONG_LANE;
            length -= 3 * LONG_LANE;
        }
        while (length >= 3 * SHORT_LANE) {
            c = three_lanes(c, p, SHORT_LANE, shift_short);
            p += 3 * SHORT_LANE;
            length -= 3 * SHORT_LANE;
        }
    }
    while (length >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p++;
        length--;
    }
    return ~c32;
}

#else

int auditlog_crc32c_hw_available(void) { return 0; }

uint32_t auditlog_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    (void)data;
    (void)length;
    return crc;
}

#endif
