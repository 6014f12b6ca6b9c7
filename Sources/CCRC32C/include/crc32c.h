#ifndef HROMADA_CRC32C_H
#define HROMADA_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78), as used by iSCSI,
/// ext4 and LevelDB. `crc` is the value returned by an earlier call (0 to start).
/// The check value of "123456789" is 0xE3069283.
uint32_t hromada_crc32c(uint32_t crc, const void *data, size_t length);

#endif
