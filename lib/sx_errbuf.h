/*
 * sx_errbuf.h : a message into a caller's buffer, the way libsx functions
 * that return -1 or NULL leave their reason (`char *err, size_t errlen`),
 * and how a message quotes a piece of its input.
 */
#ifndef SX_ERRBUF_H
#define SX_ERRBUF_H

#include <stddef.h>

/*! sx_errf() : formats into err (NUL-terminated); a message longer than the
 *  n bytes is cut between two UTF-8 characters and ends with "...", so that
 *  a cut never looks like the whole message. Nothing when err is NULL or n
 *  is 0. */
void sx_errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* How much of an input line a message quotes at most, in bytes. */
#define SX_QUOTE_MAX 120

/*! sx_quote() : the `len` bytes at `s` as a message quotes them, into out
 *  (n bytes, NUL-terminated): 'TEXT' when they fit in `max` bytes (and in
 *  out); else as many whole UTF-8 characters as fit, then "'… (cut: the
 *  first K of LEN bytes)", so that a cut quote never passes for the whole
 *  input. Bytes are copied as they are: the message printer (sx_cli.h)
 *  makes them safe for a terminal. @return out. */
const char *sx_quote(const char *s, size_t len, size_t max, char *out, size_t n);

/*! sx_utf8_cut() : the largest length <= `max` of a prefix of the `len`
 *  bytes at `s` that does not end inside a UTF-8 sequence. */
size_t sx_utf8_cut(const char *s, size_t len, size_t max);

#endif
