/*
 * fuzz_proto.c : the protocol records (lib/sx_proto.h): telling a control
 * record by its bytes, reading a record, and keeping data from posing as
 * control.
 *
 * Properties, for any line:
 *  - sx_proto_kind() says "control" only for a line that starts {"sx":"
 *    and names the kind that follows;
 *  - sx_parse_object() gives libjq's object, or refuses with a message what
 *    libjq does not read as an object; sx_item_id(), sx_get_str() and
 *    sx_get_num() read what jv_object_get() reads;
 *  - for an object as sx-fetch writes it (validated, compact),
 *    sx_data_guard() gives a text that is data to sx (sx_proto_kind() says
 *    SX_DATA) and the same object to libjq, or refuses an object whose only
 *    key is "sx".
 */
#include "fuzz.h"
#include "sx_json.h"
#include "sx_pager.h"
#include "sx_proto.h"

static char *sorted(jv v)
{
    jv s = jv_dump_string(jv_copy(v), JV_PRINT_SORTED);
    char *out = strdup(jv_string_value(s));
    jv_free(s);
    return out;
}

static void check_kind(const char *line, size_t len)
{
    sx_kind k = sx_proto_kind(line, len);
    int prefix = len >= SX_CTL_PREFIX_LEN && !memcmp(line, SX_CTL_PREFIX, SX_CTL_PREFIX_LEN);
    if (k == SX_DATA)
        return;
    FUZZ_ASSERT(prefix, "kind %s without the control prefix", sx_kind_name(k));
    if (k != SX_CTL_OTHER) {
        const char *name = sx_kind_name(k);
        size_t n = strlen(name);
        FUZZ_ASSERT(len > SX_CTL_PREFIX_LEN + n && !memcmp(line + SX_CTL_PREFIX_LEN, name, n) &&
                        line[SX_CTL_PREFIX_LEN + n] == '"',
                    "kind %s for another name", name);
    }
}

static void check_fields(jv obj)
{
    jv id = sx_item_id(obj), want = jv_object_get(jv_copy(obj), jv_string("id"));
    if (!jv_is_valid(want)) {
        jv_free(want);
        want = jv_null();
    }
    char *a = fuzz_jv_text(id), *b = fuzz_jv_text(want);
    FUZZ_ASSERT(!strcmp(a, b), "sx_item_id %s, jq .id %s", a, b);
    free(a);
    free(b);
    jv_free(id);
    jv_free(want);
    static const char *const keys[] = {"sx", "id", "path", "total"};
    for (int i = 0; i < 4; i++) {
        jv v = jv_object_get(jv_copy(obj), jv_string(keys[i]));
        const char *s = sx_get_str(obj, keys[i]);
        double d = sx_get_num(obj, keys[i], -7.5);
        if (jv_get_kind(v) == JV_KIND_STRING)
            FUZZ_ASSERT(s && !strcmp(s, jv_string_value(v)), "sx_get_str(%s)", keys[i]);
        else
            FUZZ_ASSERT(!s, "sx_get_str(%s) of a %s", keys[i], jv_kind_name(jv_get_kind(v)));
        if (jv_get_kind(v) == JV_KIND_NUMBER) {
            double w = jv_number_value(v);
            FUZZ_ASSERT(d == w || (d != d && w != w), "sx_get_num(%s)", keys[i]);
        } else {
            FUZZ_ASSERT(d == -7.5, "sx_get_num(%s) of a %s", keys[i], jv_kind_name(jv_get_kind(v)));
        }
        jv_free(v);
    }
}

/* the guard on the compact text of a validated object */
static void check_guard(const char *line, size_t len, jv ref)
{
    const char *end = sx_json_scan(line, line + len);
    if (end != line + len || !len || line[0] != '{')
        return;
    char *compact = malloc(len);
    size_t n = sx_json_compact(line, len, compact);
    sx_buf out = {0};
    int rc = sx_data_guard(compact, n, &out);
    FUZZ_ASSERT(rc >= 0, "sx_data_guard fails on an object");
    if (rc == 2) {
        FUZZ_ASSERT(jv_object_length(jv_copy(ref)) == 1, "refused an object with other keys than sx");
    } else {
        const char *t = rc == 1 ? out.p : compact;
        size_t tl = rc == 1 ? out.len : n;
        FUZZ_ASSERT(sx_proto_kind(t, tl) == SX_DATA, "data passes as a control record: %s", fuzz_show(t, tl));
        jv got = jv_parse_sized(t, (int)tl);
        char *a = sorted(got), *b = sorted(ref);
        FUZZ_ASSERT(!strcmp(a, b), "the guarded record %s is not the object %s", a, b);
        free(a);
        free(b);
        jv_free(got);
    }
    sx_buf_free(&out);
    free(compact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    const char *line = (const char *)data;
    check_kind(line, size);
    jv ref = jv_parse_sized(line, (int)size);
    jv obj = sx_parse_object(line, size);
    if (jv_get_kind(ref) == JV_KIND_OBJECT) {
        FUZZ_ASSERT(jv_is_valid(obj), "sx_parse_object refuses an object libjq reads");
        char *a = fuzz_jv_text(obj), *b = fuzz_jv_text(ref);
        FUZZ_ASSERT(!strcmp(a, b), "sx_parse_object %s, libjq %s", a, b);
        free(a);
        free(b);
        check_fields(obj);
        check_guard(line, size, ref);
    } else {
        FUZZ_ASSERT(!jv_is_valid(obj), "sx_parse_object accepts what is not an object");
        jv msg = jv_invalid_get_msg(jv_copy(obj));
        FUZZ_ASSERT(jv_get_kind(msg) == JV_KIND_STRING, "a refusal without a message");
        jv_free(msg);
    }
    jv_free(obj);
    jv_free(ref);
    return 0;
}
