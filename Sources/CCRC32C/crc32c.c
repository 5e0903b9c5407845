// Hardware CRC-32C. Swift cannot emit the SSE4.2 crc32 instruction, and liblz4 and libcrypto export no CRC,
// so this one function is C. Callers check auditlog_crc32c_hw_available() first; other CPUs use the Swift
// table-driven implementation (Sources/AuditLog/Internal/CRC32C.swift).
#include "ccrc32c.h"
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int auditlog_crc32c_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t auditlog_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
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
