/*
 * fuzz_number.c : number formatting (sx_json_number() of lib/sx_json.h;
 * sx_sb_fixed6() and sx_sb_num() of lib/sx_fmt.h), against printf and
 * strtod.
 *
 * The input is read as doubles (8 bytes each, any bit pattern) and, when
 * it is one, as a decimal number. Properties, for every double d:
 *  - sx_json_number() writes null for NaN, else strict JSON that strtod and
 *    libjq read back as d (the infinities as +-DBL_MAX, -0 as -0), and it
 *    is the text its header promises: an integer below 2^53 in full, else
 *    the shortest of %.15g, %.16g, %.17g that reads back;
 *  - sx_sb_fixed6() is printf's "%.6f" (0 for what is not finite, never
 *    "-0.000000"), and sx_sb_num() the same without trailing zeros.
 */
#include "fuzz.h"
#include "sx_fmt.h"
#include "sx_json.h"

#include <float.h>
#include <math.h>

static void check_json_number(double d)
{
    sx_buf b = {0};
    FUZZ_ASSERT(sx_json_number(&b, d) == 0, "out of memory");
    char text[64];
    FUZZ_ASSERT(b.len < sizeof text, "a number of %zu bytes", b.len);
    memcpy(text, b.p, b.len);
    text[b.len] = 0;
    sx_buf_free(&b);
    if (isnan(d)) {
        FUZZ_ASSERT(!strcmp(text, "null"), "NaN written as %s", text);
        return;
    }
    double want = isinf(d) ? (d > 0 ? DBL_MAX : -DBL_MAX) : d;
    char ref[64];
    if (want == floor(want) && fabs(want) < 9007199254740992.0) {
        if (want == 0 && signbit(want))
            snprintf(ref, sizeof ref, "-0");
        else
            snprintf(ref, sizeof ref, "%lld", (long long)want);
    } else {
        snprintf(ref, sizeof ref, "%.15g", want);
        if (strtod(ref, NULL) != want) {
            snprintf(ref, sizeof ref, "%.16g", want);
            if (strtod(ref, NULL) != want)
                snprintf(ref, sizeof ref, "%.17g", want);
        }
    }
    FUZZ_ASSERT(!strcmp(text, ref), "%a written as %s, not %s", d, text, ref);
    /* strict JSON: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *p = text;
    if (*p == '-')
        p++;
    FUZZ_ASSERT(*p >= '0' && *p <= '9' && !(p[0] == '0' && p[1] >= '0' && p[1] <= '9'), "not JSON: %s", text);
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        FUZZ_ASSERT(p[1] >= '0' && p[1] <= '9', "not JSON: %s", text);
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        FUZZ_ASSERT(*p >= '0' && *p <= '9', "not JSON: %s", text);
        while (*p >= '0' && *p <= '9')
            p++;
    }
    FUZZ_ASSERT(*p == 0, "not JSON: %s", text);
    double back = strtod(text, NULL);
    FUZZ_ASSERT(back == want && signbit(back) == signbit(want), "%s reads back as %a, not %a", text, back, want);
    jv v = jv_parse(text);
    FUZZ_ASSERT(jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) == want, "libjq reads %s otherwise", text);
    jv_free(v);
}

static void check_fixed6(double d)
{
    char ref[400], trimmed[400];
    snprintf(ref, sizeof ref, "%.6f", isfinite(d) ? d : 0.0);
    if (ref[0] == '-' && strspn(ref + 1, "0.") == strlen(ref + 1))
        memmove(ref, ref + 1, strlen(ref));
    snprintf(trimmed, sizeof trimmed, "%s", ref);
    size_t n = strlen(trimmed);
    while (n > 0 && trimmed[n - 1] == '0')
        trimmed[--n] = 0;
    if (n > 0 && trimmed[n - 1] == '.')
        trimmed[--n] = 0;
    sx_strbuf a = SX_SB_INIT, b = SX_SB_INIT;
    sx_sb_fixed6(&a, d);
    sx_sb_num(&b, d);
    FUZZ_ASSERT(a.p && !strcmp(a.p, ref), "sx_sb_fixed6(%a) is %s, not %s", d, a.p ? a.p : "", ref);
    FUZZ_ASSERT(b.p && !strcmp(b.p, trimmed), "sx_sb_num(%a) is %s, not %s", d, b.p ? b.p : "", trimmed);
    sx_sb_free(&a);
    sx_sb_free(&b);
}

static void check(double d)
{
    check_json_number(d);
    check_fixed6(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 8 <= size && i < 8 * 64; i += 8) {
        double d;
        memcpy(&d, data + i, 8);
        check(d);
    }
    if (size > 0 && size < 100) {
        char text[100], *end;
        memcpy(text, data, size);
        text[size] = 0;
        double d = strtod(text, &end);
        if (end != text && *end == 0)
            check(d);
    }
    return 0;
}
