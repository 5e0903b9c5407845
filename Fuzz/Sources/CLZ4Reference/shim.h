// liblz4 itself, as the reference the library's own LZ4 decoder is compared with.
#ifndef AUDITLOG_FUZZ_CLZ4REFERENCE_H
#define AUDITLOG_FUZZ_CLZ4REFERENCE_H
#include <lz4.h>
#endif
