// UTF-8 validation. Debian 12 packages no SIMD validator (simdutf is not in bookworm), so the
// published algorithm is written out here: Keiser & Lemire, "Validating UTF-8 In Less Than One
// Instruction Per Byte" (Software: Practice and Experience, 2021), the "lookup" variant that
// simdjson and simdutf use, on 32-byte AVX2 blocks. Every error is found by looking at each
// byte with the one, two and three bytes before it through three 16-entry tables.
#include "utf8check.h"
#include <string.h>

int hromada_utf8_valid_scalar(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t lead = p[i];
        if (lead < 0x80) { i += 1; continue; }
        if (lead >= 0xC2 && lead <= 0xDF) {
            if (i + 1 >= n || (p[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            uint8_t low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
            if (i + 2 >= n || p[i + 1] < low || p[i + 1] > high || (p[i + 2] & 0xC0) != 0x80) return 0;
            i += 3;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            uint8_t low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
            if (i + 3 >= n || p[i + 1] < low || p[i + 1] > high || (p[i + 2] & 0xC0) != 0x80 ||
                (p[i + 3] & 0xC0) != 0x80)
                return 0;
            i += 4;
        } else {
            return 0;  // a continuation byte without a lead, C0/C1 (overlong), F5...FF
        }
    }
    return 1;
}

#if defined(__x86_64__)
#include <immintrin.h>

// The error classes, one bit each, as in the paper.
#define TOO_SHORT (1 << 0)       // 11______ 0_______ or 11______ 11______
#define TOO_LONG (1 << 1)        // 0_______ 10______
#define OVERLONG_3 (1 << 2)      // 11100000 100_____
#define TOO_LARGE (1 << 3)       // 11110100 1001____ / 11110100 101_____ / 11110101+ 10______
#define SURROGATE (1 << 4)       // 11101101 101_____
#define OVERLONG_2 (1 << 5)      // 1100000_ 10______
#define TOO_LARGE_1000 (1 << 6)  // 11110101+ 1000____
#define OVERLONG_4 (1 << 6)      // 11110000 1000____
#define TWO_CONTS (1 << 7)       // 10______ 10______
#define CARRY (TOO_SHORT | TOO_LONG | TWO_CONTS)

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i table16(char a0, char a1, char a2, char a3, char a4, char a5, char a6, char a7, char a8,
                                   char a9, char a10, char a11, char a12, char a13, char a14, char a15) {
    return _mm256_setr_epi8(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a0, a1, a2, a3, a4,
                            a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
}

// The block's bytes shifted by n toward the end, the previous block's last n bytes in front.
#define PREV(input, previous, n) _mm256_alignr_epi8((input), _mm256_permute2x128_si256((previous), (input), 0x21), 16 - (n))

AVX2 static inline __m256i high_nibbles(__m256i v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F)); }

AVX2 static inline __m256i block_errors(__m256i input, __m256i previous) {
    const __m256i byte_1_high = table16(
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,  // 0_______ (ASCII)
        TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,                                      // 10______
        TOO_SHORT | OVERLONG_2,                                                          // 1100____
        TOO_SHORT,                                                                       // 1101____
        TOO_SHORT | OVERLONG_3 | SURROGATE,                                              // 1110____
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);                            // 1111____
    const __m256i byte_1_low = table16(
        CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,  // ____0000
        CARRY | OVERLONG_2,                            // ____0001
        CARRY, CARRY,                                  // ____001_
        CARRY | TOO_LARGE,                             // ____0100
        CARRY | TOO_LARGE | TOO_LARGE_1000,            // ____0101
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,  // ____011_
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,  // ____1___
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,  // ____1101
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000);
    const __m256i byte_2_high = table16(
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,  // 0_______
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,            // 1000____
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,                              // 1001____
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,                               // 101_____
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT);                                             // 11______
    __m256i prev1 = PREV(input, previous, 1);
    __m256i special = _mm256_and_si256(
        _mm256_and_si256(_mm256_shuffle_epi8(byte_1_high, high_nibbles(prev1)),
                         _mm256_shuffle_epi8(byte_1_low, _mm256_and_si256(prev1, _mm256_set1_epi8(0x0F)))),
        _mm256_shuffle_epi8(byte_2_high, high_nibbles(input)));
    // The third and fourth bytes of a sequence must be continuations, and nothing else may be
    // one there: the two-continuations class marks exactly the bytes that need a 3- or 4-byte lead.
    __m256i prev2 = PREV(input, previous, 2), prev3 = PREV(input, previous, 3);
    __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));   // >= 0x80 only after 111_____
    __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));  // >= 0x80 only after 1111____
    __m256i must_be_continuation = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(must_be_continuation, special);
}

// Non-zero where the block ends inside a sequence that needs more bytes than are left.
AVX2 static inline __m256i incomplete(__m256i input) {
    const __m256i max = _mm256_setr_epi8(
        (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255,
        (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255,
        (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255, (char)255,
        (char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));
    return _mm256_subs_epu8(input, max);
}

AVX2 static int valid_avx2(const uint8_t *p, size_t n) {
    __m256i error = _mm256_setzero_si256(), previous = _mm256_setzero_si256(), previous_incomplete = _mm256_setzero_si256();
    size_t i = 0;
    for (;; i += 32) {
        __m256i input;
        int last = n - i <= 32;
        if (!last) {
            input = _mm256_loadu_si256((const __m256i *)(p + i));
        } else {
            uint8_t tail[32] = {0};  // ASCII after the end: a truncated sequence is then too short
            memcpy(tail, p + i, n - i);
            input = _mm256_loadu_si256((const __m256i *)tail);
        }
        if (_mm256_movemask_epi8(input) == 0) {
            error = _mm256_or_si256(error, previous_incomplete);
            previous_incomplete = _mm256_setzero_si256();
        } else {
            error = _mm256_or_si256(error, block_errors(input, previous));
            previous_incomplete = incomplete(input);
        }
        previous = input;
        if (last) break;
        if ((i & 1023) == 0 && !_mm256_testz_si256(error, error)) return 0;  // stop early on bad input
    }
    error = _mm256_or_si256(error, previous_incomplete);
    return _mm256_testz_si256(error, error);
}
#endif

int hromada_utf8_valid(const uint8_t *data, size_t length) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return length == 0 ? 1 : valid_avx2(data, length);
#endif
    return hromada_utf8_valid_scalar(data, length);
}
