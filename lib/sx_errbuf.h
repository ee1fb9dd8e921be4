/*
 * sx_errbuf.h : a message into a caller's buffer, the way libsx functions
 * that return -1 or NULL leave their reason (`char *err, size_t errlen`).
 */
#ifndef SX_ERRBUF_H
#define SX_ERRBUF_H

#include <stddef.h>

/*! sx_errf() : formats into err (truncated to n bytes, NUL-terminated);
 *  nothing when err is NULL or n is 0. */
void sx_errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
