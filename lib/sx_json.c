#include "sx_json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sx_buf_reserve(sx_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void sx_buf_free(sx_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int sx_buf_put(sx_buf *b, const void *p, size_t n)
{
    if (n == 0) /* an empty buffer has no bytes to add to */
        return 0;
    if (sx_buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int sx_buf_puts(sx_buf *b, const char *s) { return sx_buf_put(b, s, strlen(s)); }

int sx_json_string(sx_buf *b, const char *s, size_t n)
{
    /* worst case: every byte becomes \u00XX */
    if (sx_buf_reserve(b, n * 6 + 2) < 0)
        return -1;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default: {
            static const char hex[] = "0123456789abcdef";
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return 0;
}

/* Most numbers in annotation data have a few decimals (1508.3, 0.25). When
 * d is M / 10^k exactly as the reader rounds it (M an integer of at most 15
 * digits, k <= 8) and 1e-4 <= |d| < 1e15, "%.15g" prints M with a decimal
 * point k digits from the right, trailing zeros dropped: that is written
 * here directly, several times faster than printf. @return its length, or
 * 0 when d is not such a number. */
static int short_decimal(double d, char *out)
{
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (int k = 1; k <= 8; k++) {
        double m = a * p10[k];
        if (m >= 1e15)
            return 0;
        if (m != floor(m) || m / p10[k] != a)
            continue;
        unsigned long long u = (unsigned long long)m;
        while (k > 1 && u % 10 == 0) /* cannot happen once it reads back; kept safe */
            u /= 10, k--;
        char digits[24];
        int nd = 0;
        do
            digits[nd++] = (char)('0' + u % 10);
        while (u /= 10);
        int o = 0;
        if (d < 0)
            out[o++] = '-';
        if (nd <= k) { /* 0.00123 */
            out[o++] = '0';
            out[o++] = '.';
            for (int z = 0; z < k - nd; z++)
                out[o++] = '0';
            while (nd)
                out[o++] = digits[--nd];
        } else {
            while (nd > k)
                out[o++] = digits[--nd];
            out[o++] = '.';
            while (nd)
                out[o++] = digits[--nd];
        }
        out[o] = 0;
        return o;
    }
    return 0;
}

int sx_json_number(sx_buf *b, double d)
{
    char tmp[40];
    int n;
    if (isnan(d))
        return sx_buf_put(b, "null", 4);
    if (isinf(d))
        d = d > 0 ? DBL_MAX : -DBL_MAX;
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        n = snprintf(tmp, sizeof tmp, "%lld", (long long)d);
        if (d == 0 && signbit(d))
            n = snprintf(tmp, sizeof tmp, "-0");
    } else if ((n = short_decimal(d, tmp)) > 0) {
        /* what "%.15g" prints, without printf */
    } else {
        /* shortest of 15, 16, 17 significant digits that reads back equal */
        n = snprintf(tmp, sizeof tmp, "%.15g", d);
        if (strtod(tmp, NULL) != d) {
            n = snprintf(tmp, sizeof tmp, "%.16g", d);
            if (strtod(tmp, NULL) != d)
                n = snprintf(tmp, sizeof tmp, "%.17g", d);
        }
    }
    return sx_buf_put(b, tmp, (size_t)n);
}

int sx_json_dump(sx_buf *b, jv v)
{
    switch (jv_get_kind(v)) {
    case JV_KIND_NULL: return sx_buf_put(b, "null", 4);
    case JV_KIND_TRUE: return sx_buf_put(b, "true", 4);
    case JV_KIND_FALSE: return sx_buf_put(b, "false", 5);
    case JV_KIND_NUMBER: return sx_json_number(b, jv_number_value(v));
    case JV_KIND_STRING:
        return sx_json_string(b, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
    case JV_KIND_ARRAY: {
        int n = jv_array_length(jv_copy(v));
        if (sx_buf_put(b, "[", 1) < 0)
            return -1;
        for (int i = 0; i < n; i++) {
            jv e = jv_array_get(jv_copy(v), i);
            int rc = (i && sx_buf_put(b, ",", 1) < 0) ? -1 : sx_json_dump(b, e);
            jv_free(e);
            if (rc < 0)
                return -1;
        }
        return sx_buf_put(b, "]", 1);
    }
    case JV_KIND_OBJECT: {
        if (sx_buf_put(b, "{", 1) < 0)
            return -1;
        int first = 1;
        for (int i = jv_object_iter(v); jv_object_iter_valid(v, i); i = jv_object_iter_next(v, i)) {
            jv k = jv_object_iter_key(v, i);
            jv e = jv_object_iter_value(v, i);
            int rc = (!first && sx_buf_put(b, ",", 1) < 0) ? -1 : 0;
            first = 0;
            if (rc == 0)
                rc = sx_json_string(b, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)));
            if (rc == 0)
                rc = sx_buf_put(b, ":", 1);
            if (rc == 0)
                rc = sx_json_dump(b, e);
            jv_free(k);
            jv_free(e);
            if (rc < 0)
                return -1;
        }
        return sx_buf_put(b, "}", 1);
    }
    default:
        return -1;
    }
}
