#ifndef HROMADA_UTF8CHECK_H
#define HROMADA_UTF8CHECK_H
#include <stddef.h>
#include <stdint.h>

/// 1 when `data` holds well-formed UTF-8 (RFC 3629, the Unicode standard's table 3-7: no
/// overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence), else 0.
/// AVX2 where the CPU has it (the lookup algorithm of Keiser and Lemire, "Validating UTF-8 In
/// Less Than One Instruction Per Byte", 2021), a byte-by-byte check otherwise.
int hromada_utf8_valid(const uint8_t *data, size_t length);

/// The byte-by-byte check alone (what the CPU without AVX2 runs; tests compare the two).
int hromada_utf8_valid_scalar(const uint8_t *data, size_t length);

#endif
