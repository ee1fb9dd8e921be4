/*
 * sx_fmt.h : growable byte buffers and the text formatting every converter
 * needs: numbers without exponent form, JSON and YAML string escaping, XML
 * escaping and RFC 4180 CSV fields.
 *
 * A buffer that fails to grow remembers it (sx_sb_failed()) and ignores
 * further appends, so a caller checks once after building a record instead
 * of after every append. Nothing here prints or exits.
 */
#ifndef SX_FMT_H
#define SX_FMT_H

#include <stddef.h>

typedef struct {
    char *p;        /* the bytes; NUL-terminated after any append */
    size_t len, cap;
    int failed;     /* an allocation failed: contents are incomplete */
} sx_strbuf;

#define SX_SB_INIT {NULL, 0, 0, 0}

/*! sx_sb_reserve() : makes room for `n` more bytes. @return 0, or -1 (and
 *  the buffer is marked failed) when out of memory. */
int sx_sb_reserve(sx_strbuf *b, size_t n);

/*! sx_sb_put() / sx_sb_puts() / sx_sb_putc() : append bytes. */
void sx_sb_put(sx_strbuf *b, const void *p, size_t n);
void sx_sb_puts(sx_strbuf *b, const char *s);
void sx_sb_putc(sx_strbuf *b, char c);

/*! sx_sb_printf() : appends printf-formatted text. */
void sx_sb_printf(sx_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*! sx_sb_u64() / sx_sb_i64() : append an integer in decimal. */
void sx_sb_u64(sx_strbuf *b, unsigned long long v);
void sx_sb_i64(sx_strbuf *b, long long v);

/*! sx_sb_num() : appends a finite number with at most 6 decimals, trailing
 *  zeros (and a trailing '.') removed, never in exponent form: 10, 10.5,
 *  0.333333, -0 printed as 0. Non-finite values are printed as 0 (callers
 *  reject them before). */
void sx_sb_num(sx_strbuf *b, double v);

/*! sx_sb_fixed6() : appends `v` as printf("%.6f") would (never exponent
 *  form); -0.000000 is printed as 0.000000. */
void sx_sb_fixed6(sx_strbuf *b, double v);

/*! sx_sb_json_str() : appends `n` bytes of UTF-8 text as a quoted JSON
 *  string (", \, control characters escaped; other bytes kept). */
void sx_sb_json_str(sx_strbuf *b, const char *s, size_t n);

/*! sx_sb_json_cstr() : sx_sb_json_str() of a NUL-terminated string. */
void sx_sb_json_cstr(sx_strbuf *b, const char *s);

/*! sx_sb_yaml_str() : appends `n` bytes as a YAML double-quoted scalar that
 *  every YAML reader (PyYAML: Ultralytics, Datumaro, FiftyOne) reads back as
 *  the same text: " and \ escaped, C0 controls and DEL as \t \n \r or
 *  \xXX, the C1 controls (U+0080..U+009F, NEL among them), U+2028, U+2029,
 *  U+FEFF, U+FFFE and U+FFFF as \uXXXX (PyYAML refuses most of them raw,
 *  YAML 1.1 folds the line breaks); a byte that is not UTF-8 becomes
 *  \uFFFD. */
void sx_sb_yaml_str(sx_strbuf *b, const char *s, size_t n);

/*! sx_sb_xml() : appends text escaped for XML content and attribute values
 *  (&amp; &lt; &gt; &quot; &apos;); control characters other than tab,
 *  newline and carriage return, invalid in XML 1.0, become U+FFFD. */
void sx_sb_xml(sx_strbuf *b, const char *s, size_t n);

/*! sx_sb_csv() : appends one RFC 4180 field: quoted (with "" for ") when it
 *  holds a comma, a quote, CR or LF, or starts or ends with a space. */
void sx_sb_csv(sx_strbuf *b, const char *s, size_t n);

/*! sx_sb_reset() : empties the buffer, keeping its memory. */
void sx_sb_reset(sx_strbuf *b);

/*! sx_sb_free() : releases the memory; the buffer is empty again. */
void sx_sb_free(sx_strbuf *b);

#endif
