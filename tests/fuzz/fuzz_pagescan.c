/*
 * fuzz_pagescan.c : sx-fetch's page validator (sx_json_scan(), lib/sx_pager.h)
 * and the text helpers that walk what it validated, against libjq.
 *
 * Properties, for any bytes:
 *  - what the validator passes, libjq reads (a page it passes never stops a
 *    later stage);
 *  - what libjq reads, the validator passes, unless the text uses one of
 *    libjq's extensions of JSON that the validator refuses on purpose
 *    (sx_pager.h: nan, 01, .5, a BOM, an RS byte, a raw U+0000 or U+001F
 *    in a string);
 *  - sx_json_compact() of a passed text is the same value;
 *  - in a passed object, sx_json_member() finds jq's `.[key]` and
 *    sx_json_first() jq's `to_entries[0].value`, or say they are unsure.
 */
#include "fuzz.h"
#include "sx_pager.h"

/* 1 when the token text[0..n) (outside strings) is strict JSON. */
static int strict_token(const char *t, size_t n)
{
    if ((n == 4 && !memcmp(t, "true", 4)) || (n == 5 && !memcmp(t, "false", 5)) || (n == 4 && !memcmp(t, "null", 4)))
        return 1;
    size_t i = 0;
    if (i < n && t[i] == '-')
        i++;
    if (i >= n || t[i] < '0' || t[i] > '9')
        return 0;
    if (t[i] == '0')
        i++;
    else
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    if (i < n && t[i] == '.') {
        if (++i >= n || t[i] < '0' || t[i] > '9')
            return 0;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i >= n || t[i] < '0' || t[i] > '9')
            return 0;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    }
    return i == n;
}

/* 1 when the text uses an extension of libjq's that the validator refuses:
 * tokens are cut as libjq's scanner cuts them. */
static int uses_extension(const char *p, size_t n)
{
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        return 1;
    if (memchr(p, 0x1e, n)) /* RS: libjq reads JSON text sequences (RFC 7464) */
        return 1;
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '[' || c == ']' || c == '{' || c == '}' ||
            c == ',' || c == ':') {
            i++;
        } else if (c == '"') {
            for (i++; i < n && p[i] != '"'; i++) {
                if (p[i] == '\\')
                    i++;
                else if (p[i] == 0 || p[i] == 0x1f)
                    return 1;
            }
            i++;
        } else {
            size_t s = i;
            while (i < n && !strchr(" \t\r\n[]{},:\"", p[i]))
                i++;
            if (!strict_token(p + s, i - s))
                return 1;
        }
    }
    return 0;
}

static jv parse(const char *p, size_t n) { return jv_parse_sized(p, (int)n); }

/* text[0..n) parses to `want` (borrowed) */
static void check_text_is(const char *what, const char *text, size_t n, jv want)
{
    jv got = parse(text, n);
    char *a = fuzz_jv_text(got), *b = fuzz_jv_text(want);
    FUZZ_ASSERT(!strcmp(a, b), "%s: %.200s, libjq %.200s", what, a, b);
    free(a);
    free(b);
    jv_free(got);
}

static void check_members(const char *p, size_t n, jv obj)
{
    const char *v;
    size_t vl;
    int r = sx_json_first(p, n, &v, &vl);
    int first = jv_object_iter(obj);
    if (!jv_object_iter_valid(obj, first)) {
        FUZZ_ASSERT(r == 0, "sx_json_first of {} gives %d", r);
        return;
    }
    if (r == 1) {
        jv want = jv_object_iter_value(obj, first);
        check_text_is("sx_json_first", v, vl, want);
        jv_free(want);
    } else {
        FUZZ_ASSERT(r == -1, "sx_json_first says an object is empty");
    }
    jv_object_foreach(obj, k, want) {
        const char *key = jv_string_value(k);
        size_t kl = (size_t)jv_string_length_bytes(jv_copy(k));
        if (strlen(key) == kl) {
            r = sx_json_member(p, n, key, &v, &vl);
            FUZZ_ASSERT(r != 0, "sx_json_member misses key '%.100s'", key);
            if (r == 1)
                check_text_is("sx_json_member", v, vl, want);
        }
        jv_free(k);
        jv_free(want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    const char *p = (const char *)data, *e = p + size;
    const char *end = sx_json_scan(p, e);
    while (end && end < e && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    int passed = end == e;
    jv ref = parse(p, size);
    if (passed) {
        FUZZ_ASSERT(jv_is_valid(ref), "the validator passes what libjq refuses: %s", fuzz_show(p, size));
        char *c = malloc(size ? size : 1);
        size_t cn = sx_json_compact(p, size, c);
        check_text_is("sx_json_compact", c, cn, ref);
        free(c);
        if (jv_get_kind(ref) == JV_KIND_OBJECT)
            check_members(p, size, ref);
    } else if (jv_is_valid(ref)) {
        FUZZ_ASSERT(uses_extension(p, size), "the validator refuses what libjq reads: %s", fuzz_show(p, size));
    }
    jv_free(ref);
    return 0;
}
