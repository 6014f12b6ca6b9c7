#ifndef HROMADA_CZSTD_SHIM_H
#define HROMADA_CZSTD_SHIM_H
#include <zstd.h>
#endif
