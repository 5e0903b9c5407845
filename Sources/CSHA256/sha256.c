// SHA-256 with the x86 SHA extensions. Swift cannot emit the sha256rnds2/sha256msg1/sha256msg2 instructions, and
// OpenSSL 3.0 offers no way to hash two messages at once, so this is C (FORMAT.md: the hashes are plain FIPS 180-4
// SHA-256; this only computes them faster). Callers check auditlog_sha256_ni_available() first; other CPUs use
// libcrypto's EVP (Sources/AuditLog/Internal/SHA256Hasher.swift).
#include "csha256.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

int auditlog_sha256_ni_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}

// FIPS 180-4 §4.2.2: the round constants, four per group of rounds.
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4 §5.3.3: the initial hash value H0..H7.
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// The state as the SHA instructions want it: one register with A, B, E, F and one with C, D, G, H.
typedef struct {
    __m128i abef;
    __m128i cdgh;
} state_t;

__attribute__((target("sha,sse4.1,ssse3"))) static inline state_t initial_state(void) {
    __m128i abcd = _mm_loadu_si128((const __m128i *)&H0[0]);
    __m128i efgh = _mm_loadu_si128((const __m128i *)&H0[4]);
    abcd = _mm_shuffle_epi32(abcd, 0xB1);  // B A D C
    efgh = _mm_shuffle_epi32(efgh, 0x1B);  // H G F E
    state_t s;
    s.abef = _mm_alignr_epi8(abcd, efgh, 8);
    s.cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);
    return s;
}

// The digest: A..H as big-endian words.
__attribute__((target("sha,sse4.1,ssse3"))) static inline void store_digest(state_t s, uint8_t *out) {
    __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    const __m128i swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(dcba, swap));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(hgfe, swap));
}

// One group of four rounds of lane L on message words M (group G): two sha256rnds2, two rounds each.
#define ROUNDS(L, M, G)                                                                  \
    do {                                                                                 \
        __m128i m_ = _mm_add_epi32(M, _mm_loadu_si128((const __m128i *)&K[4 * (G)]));    \
        cdgh##L = _mm_sha256rnds2_epu32(cdgh##L, abef##L, m_);                           \
        m_ = _mm_shuffle_epi32(m_, 0x0E);                                                \
        abef##L = _mm_sha256rnds2_epu32(abef##L, cdgh##L, m_);                           \
    } while (0)

// The message schedule, four words at a time (FIPS 180-4 §6.2.2: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) +
// W[t-16]): W0 holds W[t-16..t-13] and becomes W[t..t+3], from W1 = W[t-12..], W2 = W[t-8..], W3 = W[t-4..t-1].
#define SCHEDULE(W0, W1, W2, W3) \
    W0 = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(W0, W1), _mm_alignr_epi8(W3, W2, 4)), W3)

#define LOAD(L, P)                                                                        \
    __m128i w0##L = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(P)), byteswap);        \
    __m128i w1##L = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((P) + 16)), byteswap); \
    __m128i w2##L = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((P) + 32)), byteswap); \
    __m128i w3##L = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((P) + 48)), byteswap)

// One 64-byte block into one state, the state kept in registers.
__attribute__((target("sha,sse4.1,ssse3"))) static inline void compress1(state_t *state, const uint8_t *block) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abefA = state->abef, cdghA = state->cdgh;
    LOAD(A, block);
    ROUNDS(A, w0A, 0);
    ROUNDS(A, w1A, 1);
    ROUNDS(A, w2A, 2);
    ROUNDS(A, w3A, 3);
    for (int g = 4; g < 16; g += 4) {
        SCHEDULE(w0A, w1A, w2A, w3A);
        ROUNDS(A, w0A, g);
        SCHEDULE(w1A, w2A, w3A, w0A);
        ROUNDS(A, w1A, g + 1);
        SCHEDULE(w2A, w3A, w0A, w1A);
        ROUNDS(A, w2A, g + 2);
        SCHEDULE(w3A, w0A, w1A, w2A);
        ROUNDS(A, w3A, g + 3);
    }
    state->abef = _mm_add_epi32(abefA, state->abef);
    state->cdgh = _mm_add_epi32(cdghA, state->cdgh);
}

// One block into each of two states, their rounds interleaved: two independent dependency chains.
__attribute__((target("sha,sse4.1,ssse3"))) static inline void compress2(
    state_t *a, const uint8_t *blockA, state_t *b, const uint8_t *blockB) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abefA = a->abef, cdghA = a->cdgh, abefB = b->abef, cdghB = b->cdgh;
    LOAD(A, blockA);
    LOAD(B, blockB);
    ROUNDS(A, w0A, 0);
    ROUNDS(B, w0B, 0);
    ROUNDS(A, w1A, 1);
    ROUNDS(B, w1B, 1);
    ROUNDS(A, w2A, 2);
    ROUNDS(B, w2B, 2);
    ROUNDS(A, w3A, 3);
    ROUNDS(B, w3B, 3);
    for (int g = 4; g < 16; g += 4) {
        SCHEDULE(w0A, w1A, w2A, w3A);
        SCHEDULE(w0B, w1B, w2B, w3B);
        ROUNDS(A, w0A, g);
        ROUNDS(B, w0B, g);
        SCHEDULE(w1A, w2A, w3A, w0A);
        SCHEDULE(w1B, w2B, w3B, w0B);
        ROUNDS(A, w1A, g + 1);
        ROUNDS(B, w1B, g + 1);
        SCHEDULE(w2A, w3A, w0A, w1A);
        SCHEDULE(w2B, w3B, w0B, w1B);
        ROUNDS(A, w2A, g + 2);
        ROUNDS(B, w2B, g + 2);
        SCHEDULE(w3A, w0A, w1A, w2A);
        SCHEDULE(w3B, w0B, w1B, w2B);
        ROUNDS(A, w3A, g + 3);
        ROUNDS(B, w3B, g + 3);
    }
    a->abef = _mm_add_epi32(abefA, a->abef);
    a->cdgh = _mm_add_epi32(cdghA, a->cdgh);
    b->abef = _mm_add_epi32(abefB, b->abef);
    b->cdgh = _mm_add_epi32(cdghB, b->cdgh);
}

// A message `prefix || data` walked as 64-byte blocks: whole blocks straight from `data` (offset by the prefix),
// the first when it holds the prefix and the padded tail from a small buffer.
typedef struct {
    const uint8_t *data;
    size_t length;
    size_t prefixed;  // 1 if a prefix byte comes first, else 0
    size_t blocks;    // blocks in all, tail included
    size_t whole;     // blocks taken whole from the message
    uint8_t first[64];
    uint8_t tail[128];
} message_t;

static void message_init(message_t *m, int prefix, const void *data, size_t length) {
    m->data = (const uint8_t *)data;
    m->length = length;
    m->prefixed = prefix >= 0 ? 1 : 0;
    uint64_t total = (uint64_t)length + m->prefixed;
    m->whole = (size_t)(total / 64);
    size_t rest = (size_t)(total % 64);
    size_t tail = rest + 9 <= 64 ? 64 : 128;
    m->blocks = m->whole + tail / 64;
    if (m->prefixed && m->whole > 0) {
        m->first[0] = (uint8_t)prefix;
        memcpy(m->first + 1, m->data, 63);
    }
    memset(m->tail, 0, sizeof m->tail);
    if (m->whole == 0 && m->prefixed) {
        m->tail[0] = (uint8_t)prefix;
        if (length > 0) memcpy(m->tail + 1, m->data, length);
    } else if (rest > 0) {
        memcpy(m->tail, m->data + m->whole * 64 - m->prefixed, rest);
    }
    m->tail[rest] = 0x80;
    uint64_t bits = total * 8;
    for (int i = 0; i < 8; i++) m->tail[tail - 1 - i] = (uint8_t)(bits >> (8 * i));
}

static inline const uint8_t *message_block(const message_t *m, size_t k) {
    if (k >= m->whole) return m->tail + 64 * (k - m->whole);
    if (k == 0 && m->prefixed) return m->first;
    return m->data + 64 * k - m->prefixed;
}

__attribute__((target("sha,sse4.1,ssse3")))
void auditlog_sha256_ni(int prefix, const void *data, size_t length, uint8_t *out) {
    message_t m;
    message_init(&m, prefix, data, length);
    state_t s = initial_state();
    for (size_t k = 0; k < m.blocks; k++) compress1(&s, message_block(&m, k));
    store_digest(s, out);
}

__attribute__((target("sha,sse4.1,ssse3")))
void auditlog_sha256_ni_2(
    int prefix, const void *data1, size_t length1, uint8_t *out1, const void *data2, size_t length2, uint8_t *out2) {
    message_t m[2];
    message_init(&m[0], prefix, data1, length1);
    message_init(&m[1], prefix, data2, length2);
    state_t s[2] = {initial_state(), initial_state()};
    size_t both = m[0].blocks < m[1].blocks ? m[0].blocks : m[1].blocks;
    size_t k = 0;
    for (; k < both; k++) compress2(&s[0], message_block(&m[0], k), &s[1], message_block(&m[1], k));
    for (int i = 0; i < 2; i++) {
        for (size_t j = k; j < m[i].blocks; j++) compress1(&s[i], message_block(&m[i], j));
    }
    store_digest(s[0], out1);
    store_digest(s[1], out2);
}

#else

int auditlog_sha256_ni_available(void) { return 0; }

void auditlog_sha256_ni(int prefix, const void *data, size_t length, uint8_t *out) {
    (void)prefix;
    (void)data;
    (void)length;
    memset(out, 0, 32);
}

void auditlog_sha256_ni_2(
    int prefix, const void *data1, size_t length1, uint8_t *out1, const void *data2, size_t length2, uint8_t *out2) {
    (void)prefix;
    (void)data1;
    (void)length1;
    (void)data2;
    (void)length2;
    memset(out1, 0, 32);
    memset(out2, 0, 32);
}

#endif
