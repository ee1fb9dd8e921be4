#include "sx_fmt.h"
#include "sx_utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sx_sb_reserve(sx_strbuf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len > n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void sx_sb_put(sx_strbuf *b, const void *p, size_t n)
{
    if (sx_sb_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

void sx_sb_puts(sx_strbuf *b, const char *s) { sx_sb_put(b, s, strlen(s)); }

void sx_sb_putc(sx_strbuf *b, char c)
{
    if (sx_sb_reserve(b, 1) < 0)
        return;
    b->p[b->len++] = c;
    b->p[b->len] = 0;
}

void sx_sb_printf(sx_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sx_sb_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

void sx_sb_u64(sx_strbuf *b, unsigned long long v)
{
    char tmp[24];
    int i = sizeof tmp;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        tmp[--i] = digits2[d + 1];
        tmp[--i] = digits2[d];
    }
    if (v >= 10) {
        tmp[--i] = digits2[v * 2 + 1];
        tmp[--i] = digits2[v * 2];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    sx_sb_put(b, tmp + i, sizeof tmp - (size_t)i);
}

void sx_sb_i64(sx_strbuf *b, long long v)
{
    if (v < 0) {
        sx_sb_putc(b, '-');
        sx_sb_u64(b, (unsigned long long)(-(v + 1)) + 1);
    } else {
        sx_sb_u64(b, (unsigned long long)v);
    }
}

/* v in micro-units, rounded as %.6f would, when that is certain; else -1. */
static int to_micro(double v, long long *out)
{
    if (!(fabs(v) < 1e9))
        return -1;
    double m = v * 1e6;
    double f = m - floor(m);
    if (fabs(f - 0.5) < 1e-3)
        return -1; /* near a tie: let printf decide exactly */
    *out = llround(m);
    return 0;
}

static void put_micro(sx_strbuf *b, long long m, int trim)
{
    if (m < 0) {
        sx_sb_putc(b, '-');
        m = -m;
    }
    sx_sb_u64(b, (unsigned long long)(m / 1000000));
    unsigned f = (unsigned)(m % 1000000);
    if (trim && f == 0)
        return;
    char d[7];
    d[0] = '.';
    for (int i = 5; i >= 1; i -= 2) {
        unsigned q = (f % 100) * 2;
        f /= 100;
        d[i] = digits2[q];
        d[i + 1] = digits2[q + 1];
    }
    size_t n = 7;
    if (trim)
        while (d[n - 1] == '0')
            n--;
    sx_sb_put(b, d, n);
}

/* v with 6 decimals as printf("%.6f") writes it, the trailing zeros (and
 * point) dropped when `trim`; never "-0". */
static void put_fixed6(sx_strbuf *b, double v, int trim)
{
    long long m;
    if (!isfinite(v))
        v = 0;
    if (to_micro(v, &m) == 0) {
        put_micro(b, m, trim);
        return;
    }
    char tmp[400];
    size_t n = (size_t)snprintf(tmp, sizeof tmp, "%.6f", v);
    if (trim) {
        while (n > 0 && tmp[n - 1] == '0')
            n--;
        if (n > 0 && tmp[n - 1] == '.')
            n--;
    }
    size_t k = 1;
    while (k < n && (tmp[k] == '0' || tmp[k] == '.'))
        k++;
    int minus_zero = tmp[0] == '-' && k == n;
    sx_sb_put(b, tmp + minus_zero, n - (size_t)minus_zero);
}

void sx_sb_fixed6(sx_strbuf *b, double v) { put_fixed6(b, v, 0); }

void sx_sb_num(sx_strbuf *b, double v) { put_fixed6(b, v, 1); }

/* 1 for the bytes a JSON string must escape */
static const unsigned char json_esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

void sx_sb_json_str(sx_strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (sx_sb_reserve(b, n + 2) < 0)
        return;
    sx_sb_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !json_esc[(unsigned char)s[j]])
            j++;
        sx_sb_put(b, s + i, j - i);
        if (j == n)
            break;
        unsigned char c = (unsigned char)s[j];
        char e[6] = {'\\', 0};
        switch (c) {
        case '"': e[1] = '"'; sx_sb_put(b, e, 2); break;
        case '\\': e[1] = '\\'; sx_sb_put(b, e, 2); break;
        case '\n': e[1] = 'n'; sx_sb_put(b, e, 2); break;
        case '\r': e[1] = 'r'; sx_sb_put(b, e, 2); break;
        case '\t': e[1] = 't'; sx_sb_put(b, e, 2); break;
        default:
            e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hex[c >> 4]; e[5] = hex[c & 15];
            sx_sb_put(b, e, 6);
        }
        i = j + 1;
    }
    sx_sb_putc(b, '"');
}

void sx_sb_json_cstr(sx_strbuf *b, const char *s) { sx_sb_json_str(b, s, strlen(s)); }

void sx_sb_yaml_str(sx_strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    sx_sb_putc(b, '"');
    while (p < e) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            sx_sb_putc(b, (char)c);
            p++;
            continue;
        }
        if (c == '"' || c == '\\') {
            sx_sb_putc(b, '\\');
            sx_sb_putc(b, (char)c);
            p++;
            continue;
        }
        if (c < 0x80) { /* C0 controls and DEL: \t \n \r or \xXX */
            const char *named = c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
            if (named) {
                sx_sb_puts(b, named);
            } else {
                char x[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
                sx_sb_put(b, x, 4);
            }
            p++;
            continue;
        }
        size_t len = sx_utf8_seq(p, e);
        unsigned cp = 0xFFFD; /* a byte that is not UTF-8: YAML text cannot hold it */
        if (len == 2)
            cp = (c & 0x1Fu) << 6 | (p[1] & 0x3Fu);
        else if (len == 3)
            cp = (c & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        /* C1 controls, NEL and the line and paragraph separators (line
         * breaks to YAML 1.1), the BOM and the non-characters U+FFFE/FFFF */
        if (!len || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE ||
            cp == 0xFFFF) {
            char u[6] = {'\\', 'u', hex[cp >> 12], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15]};
            sx_sb_put(b, u, 6);
            p += len ? len : 1;
            continue;
        }
        sx_sb_put(b, p, len);
        p += len;
    }
    sx_sb_putc(b, '"');
}

void sx_sb_xml(sx_strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': sx_sb_puts(b, "&amp;"); break;
        case '<': sx_sb_puts(b, "&lt;"); break;
        case '>': sx_sb_puts(b, "&gt;"); break;
        case '"': sx_sb_puts(b, "&quot;"); break;
        case '\'': sx_sb_puts(b, "&apos;"); break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                sx_sb_puts(b, "\xEF\xBF\xBD");
            else
                sx_sb_putc(b, (char)c);
        }
    }
}

void sx_sb_csv(sx_strbuf *b, const char *s, size_t n)
{
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        sx_sb_put(b, s, n);
        return;
    }
    sx_sb_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            sx_sb_putc(b, '"');
        sx_sb_putc(b, s[i]);
    }
    sx_sb_putc(b, '"');
}

void sx_sb_reset(sx_strbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

void sx_sb_free(sx_strbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
