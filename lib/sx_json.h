/*
 * sx_json.h : compact JSON text of a jv value, written straight into a
 * growing buffer. libjq's jv_dump_string() builds its text through jv string
 * appends and is the larger half of a parse-and-print pass; this writer is
 * several times faster and prints the same JSON values (numbers in shortest
 * round-trip form, integers without exponent up to 2^53, NaN as null, the
 * infinities as +-DBL_MAX, non-ASCII as UTF-8, control characters escaped).
 */
#ifndef SX_JSON_H
#define SX_JSON_H

#include <stddef.h>
#include <jv.h>

typedef struct {
    char *p;
    size_t len, cap;
} sx_buf;

/*! sx_buf_reserve() : room for `n` more bytes. @return 0, or -1 when out of
 *  memory (the buffer is unchanged). */
int sx_buf_reserve(sx_buf *b, size_t n);

/*! sx_buf_put() : appends n bytes. @return 0, or -1 when out of memory
 *  (the buffer is unchanged). */
int sx_buf_put(sx_buf *b, const void *p, size_t n);

/*! sx_buf_puts() : appends a NUL-terminated string (without its NUL).
 *  @return 0, or -1 when out of memory. */
int sx_buf_puts(sx_buf *b, const char *s);

/*! sx_buf_free() : frees the bytes and empties the buffer. */
void sx_buf_free(sx_buf *b);

/*! sx_json_dump() : appends the compact JSON text of `v` (no newline).
 *  @v borrowed. @return 0, or -1 when out of memory or `v` is invalid. */
int sx_json_dump(sx_buf *b, jv v);

/*! sx_json_string() : appends `s` (n bytes of UTF-8) as a JSON string. */
int sx_json_string(sx_buf *b, const char *s, size_t n);

/*! sx_json_number() : appends a number as sx_json_dump() prints it. */
int sx_json_number(sx_buf *b, double d);

#endif
