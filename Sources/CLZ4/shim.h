#ifndef AUDITLOG_CLZ4_SHIM_H
#define AUDITLOG_CLZ4_SHIM_H
#include <lz4.h>
#endif
