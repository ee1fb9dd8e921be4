#include "sx_errbuf.h"
#include "sx_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

size_t sx_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t k = max;
    /* back over continuation bytes to the start of the cut character */
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

void sx_errf(char *err, size_t n, const char *fmt, ...)
{
    if (!err || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(err, n, fmt, ap);
    va_end(ap);
    if (w >= 0 && (size_t)w >= n && n > 4) {
        size_t k = sx_utf8_cut(err, n - 1, n - 4);
        memcpy(err + k, "...", 4);
    }
}

const char *sx_quote(const char *s, size_t len, size_t max, char *out, size_t n)
{
    if (!n)
        return out;
    char tail[80];
    size_t room = n > 3 ? n - 3 : 0; /* the quotes and the NUL */
    if (len <= max && len <= room) {
        snprintf(out, n, "'%.*s'", (int)len, s);
        return out;
    }
    size_t k = max < room ? max : room;
    for (int i = 0; i < 3; i++) {
        k = sx_utf8_cut(s, len, k);
        int tl = snprintf(tail, sizeof tail, "'\xE2\x80\xA6 (cut: the first %zu of %zu bytes)", k, len);
        size_t fit = n > (size_t)tl + 2 ? n - 2 - (size_t)tl : 0; /* the opening quote and the NUL */
        if (k <= fit)
            break;
        k = fit;
    }
    k = sx_utf8_cut(s, len, k);
    snprintf(tail, sizeof tail, "'\xE2\x80\xA6 (cut: the first %zu of %zu bytes)", k, len);
    snprintf(out, n, "'%.*s%s", (int)k, s, tail);
    /* a buffer too small for the note itself: no character cut in two */
    size_t l = strlen(out), b = l;
    while (b > 0 && ((unsigned char)out[b - 1] & 0xC0) == 0x80)
        b--;
    if (b > 0 && (unsigned char)out[b - 1] >= 0x80 &&
        sx_utf8_seq((unsigned char *)out + b - 1, (unsigned char *)out + l) != l - b + 1)
        out[b - 1] = 0;
    return out;
}
