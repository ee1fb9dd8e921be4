/*
 * sx_utf8.h : one UTF-8 check for the places that must tell valid text from
 * bytes (the tape reader, messages quoting their input), and what makes
 * text from a stream safe on a terminal.
 */
#ifndef SX_UTF8_H
#define SX_UTF8_H

#include <stddef.h>
#include <string.h>

/*! sx_utf8_seq() : the length (2 to 4) of the valid UTF-8 sequence that
 *  starts at p, whose first byte is >= 0x80; 0 when it is not one (a stray
 *  continuation byte, an overlong form, a surrogate, beyond U+10FFFF, or cut
 *  by `e`). */
static inline size_t sx_utf8_seq(const unsigned char *p, const unsigned char *e)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/*! sx_utf8_neutralise() : makes `n` bytes at `s` safe to show on a
 *  terminal, in place: control characters (C0 but tab and newline, DEL, and
 *  the C1 controls U+0080..U+009F, which some terminals obey as escapes) and
 *  bytes that are not UTF-8 become '?', and so does U+FFFD, the character
 *  libjq puts where its input was not UTF-8, so that bad bytes look the
 *  same whichever reader met them first. `newline` 0: a newline is a
 *  control too. @return the new length (U+FFFD's three bytes become one);
 *  a NUL follows the text when it got shorter. */
static inline size_t sx_utf8_neutralise(char *s, size_t n, int newline)
{
    unsigned char *p = (unsigned char *)s, *e = p + n, *q = p;
    while (p < e) {
        size_t k = *p < 0x80 ? 1 : sx_utf8_seq(p, e);
        int c1 = k == 2 && p[0] == 0xC2 && p[1] < 0xA0;
        int fffd = k == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] == 0xBD;
        if (fffd) {
            *q++ = '?';
            p += 3;
            continue;
        }
        if (k == 0 || c1 || (*p < 0x20 && *p != '\t' && !(newline && *p == '\n')) || *p == 0x7f) {
            size_t w = k ? k : 1;
            for (size_t i = 0; i < w; i++)
                *q++ = '?';
            p += w;
            continue;
        }
        memmove(q, p, k);
        q += k;
        p += k;
    }
    size_t len = (size_t)(q - (unsigned char *)s);
    if (len < n)
        *q = 0;
    return len;
}

#endif
