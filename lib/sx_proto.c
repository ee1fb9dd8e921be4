#include "sx_proto.h"
#include "sx_errbuf.h"
#include "sx_tape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [SX_DATA] = "data",         [SX_META] = "meta",   [SX_FILE] = "file",
    [SX_ERROR] = "error",       [SX_PROGRESS] = "progress",
    [SX_METRICS] = "metrics",   [SX_LOG] = "log",     [SX_RESULT] = "result",
    [SX_END] = "end",           [SX_WARNING] = "warning", [SX_CTL_OTHER] = "other",
};

sx_kind sx_proto_kind(const char *p, size_t n)
{
    if (n < SX_CTL_PREFIX_LEN + 2 || memcmp(p, SX_CTL_PREFIX, SX_CTL_PREFIX_LEN) != 0)
        return SX_DATA;
    p += SX_CTL_PREFIX_LEN;
    n -= SX_CTL_PREFIX_LEN;
    const char *q = memchr(p, '"', n);
    if (!q)
        return SX_DATA;
    size_t k = (size_t)(q - p);
    for (int i = SX_META; i <= SX_WARNING; i++)
        if (strlen(kind_names[i]) == k && memcmp(p, kind_names[i], k) == 0)
            return (sx_kind)i;
    return SX_CTL_OTHER;
}

int sx_data_guard(const char *text, size_t len, sx_buf *out)
{
    /* any value, not only a string: a reader may not check the value */
    static const char head[] = "{\"sx\":";
    if (len < sizeof head - 1 || memcmp(text, head, sizeof head - 1) != 0)
        return 0;
    jv v = sx_parse_object(text, len);
    if (!jv_is_valid(v)) {
        jv_free(v);
        return -1;
    }
    if (jv_object_length(jv_copy(v)) == 1) {
        jv_free(v);
        return 2;
    }
    jv sx = jv_object_get(jv_copy(v), jv_string("sx"));
    v = jv_object_set(jv_object_delete(v, jv_string("sx")), jv_string("sx"), sx);
    out->len = 0;
    int rc = sx_json_dump(out, v) < 0 ? -1 : 1;
    jv_free(v);
    return rc;
}

const char *sx_kind_name(sx_kind k)
{
    return (unsigned)k <= SX_CTL_OTHER ? kind_names[k] : "?";
}

/* Records are read onto one tape and their jv built from it: the same value
 * as libjq's parse, about twice as fast (sx_tape.h); libjq reads what the
 * tape refuses. One tape for the process: programs parse on their main
 * thread. */
static sx_tape *parse_tape;

static void free_parse_tape(void)
{
    sx_tape_free(parse_tape);
    parse_tape = NULL;
}

jv sx_parse_object(const char *line, size_t len)
{
    if (!parse_tape && (parse_tape = sx_tape_new()) != NULL)
        atexit(free_parse_tape);
    const sx_tnode *root = parse_tape ? sx_tape_parse(parse_tape, line, len) : NULL;
    if (root && root->kind == SX_T_OBJECT)
        return sx_tape_value(root);
    if (len > INT32_MAX)
        return jv_invalid_with_msg(jv_string("record larger than 2 GiB"));
    jv v = jv_parse_sized(line, (int)len);
    if (!jv_is_valid(v)) {
        jv msg = sx_parse_reason(v, line, len);
        jv m = jv_string_fmt("invalid JSON: %s", jv_string_value(msg));
        jv_free(msg);
        return jv_invalid_with_msg(m);
    }
    if (jv_get_kind(v) != JV_KIND_OBJECT) {
        jv m = jv_string_fmt("not a JSON object (%s)", jv_kind_name(jv_get_kind(v)));
        jv_free(v);
        return jv_invalid_with_msg(m);
    }
    return v;
}

jv sx_parse_reason(jv invalid, const char *text, size_t len)
{
    jv msg = jv_invalid_get_msg(invalid);
    if (jv_get_kind(msg) != JV_KIND_STRING) {
        jv_free(msg);
        return jv_string("invalid JSON");
    }
    const char *m = jv_string_value(msg);
    const char *cut = strstr(m, " (while parsing '");
    if (!cut)
        return msg;
    char q[SX_QUOTE_MAX + 80];
    jv r = jv_string_fmt("%.*s (while parsing %s)", (int)(cut - m), m, sx_quote(text, len, SX_QUOTE_MAX, q, sizeof q));
    jv_free(msg);
    return r;
}

jv sx_rec(const char *kind)
{
    return jv_object_set(jv_object(), jv_string("sx"), jv_string(kind));
}

jv sx_rec_end(uint64_t count)
{
    return jv_object_set(sx_rec("end"), jv_string("count"), jv_number((double)count));
}

jv sx_rec_error(jv item, const char *stage, const char *message)
{
    jv r = sx_rec("error");
    r = jv_object_set(r, jv_string("item"), item);
    r = jv_object_set(r, jv_string("stage"), jv_string(stage));
    return jv_object_set(r, jv_string("message"), jv_string(message));
}

jv sx_rec_warning(jv item, const char *stage, const char *kind, const char *reason, uint64_t count,
                  const char *message)
{
    jv r = sx_rec("warning");
    r = jv_object_set(r, jv_string("item"), item);
    r = jv_object_set(r, jv_string("stage"), jv_string(stage));
    r = jv_object_set(r, jv_string("kind"), jv_string(kind));
    r = jv_object_set(r, jv_string("reason"), jv_string(reason));
    r = jv_object_set(r, jv_string("count"), jv_number((double)count));
    return jv_object_set(r, jv_string("message"), jv_string(message));
}

jv sx_rec_progress(const char *category, uint64_t current, uint64_t total)
{
    jv r = sx_rec("progress");
    r = jv_object_set(r, jv_string("category"), jv_string(category));
    r = jv_object_set(r, jv_string("current"), jv_number((double)current));
    return jv_object_set(r, jv_string("total"), jv_number((double)total));
}

int sx_rec_metrics_line(char *out, size_t n, const char *category, uint64_t stand_by, uint64_t success,
                        uint64_t failed)
{
    return snprintf(out, n, "{\"sx\":\"metrics\",\"category\":\"%s\",\"stand_by\":%llu,\"success\":%llu,\"failed\":%llu}",
                    category, (unsigned long long)stand_by, (unsigned long long)success, (unsigned long long)failed);
}

/* One definition of the record: its text. */
jv sx_rec_metrics(const char *category, uint64_t stand_by, uint64_t success, uint64_t failed)
{
    char line[256];
    int n = sx_rec_metrics_line(line, sizeof line, category, stand_by, success, failed);
    return jv_parse_sized(line, n);
}

jv sx_item_id(jv item)
{
    if (jv_get_kind(item) != JV_KIND_OBJECT)
        return jv_null();
    jv id = jv_object_get(jv_copy(item), jv_string("id"));
    if (!jv_is_valid(id)) {
        jv_free(id);
        return jv_null();
    }
    return id;
}

const char *sx_get_str(jv obj, const char *key)
{
    if (jv_get_kind(obj) != JV_KIND_OBJECT)
        return NULL;
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    const char *s = NULL;
    if (jv_get_kind(v) == JV_KIND_STRING)
        s = jv_string_value(v); /* obj still holds a reference */
    jv_free(v);
    return s;
}

double sx_get_num(jv obj, const char *key, double dflt)
{
    if (jv_get_kind(obj) != JV_KIND_OBJECT)
        return dflt;
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : dflt;
    jv_free(v);
    return d;
}
