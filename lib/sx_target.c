#include "sx_target.h"
#include "sx_jqprog.h"
#include "sx_errbuf.h"

#include "sx_http.h" /* sx_url_escape */
#include "sx_pager.h" /* JSON text helpers */
#include "sx_proto.h"

#include <jq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mapping that only picks fields, run on the record's text. */
#define PROJ_FIELDS 16
#define PROJ_DEPTH 8
#define PROJ_NAME 64
struct proj_step {
    char key[PROJ_NAME]; /* "" for to_entries[0].value */
};
struct proj_field {
    char name[PROJ_NAME];
    int n;
    struct proj_step step[PROJ_DEPTH];
};

struct sx_target {
    jv def;        /* the target object */
    char *name, *path;
    jq_state *jq;
    int compiled;  /* jq holds the item mapping (compiled when first
                      needed when the projection covers it: libjq's
                      compile, with its builtins, costs more CPU than
                      fetching thousands of items) */
    char jqerr[512];
    int nproj;     /* fields of the projection; 0: none, run jq */
    struct proj_field proj[PROJ_FIELDS];
};

static const char builtin[] =
    "[{\"name\": \"assignment\", \"path\": \"sdk/assignments/\",\n"
    "  \"params\": {\"expand\": [\"data\"]}, \"required\": [\"project\"], \"rename\": {},\n"
    "  \"item\": \"{id: .id, files: .file, data: .data}\"},\n"
    " {\"name\": \"ground_truth\", \"path\": \"sdk/ground_truth_events/\",\n"
    "  \"params\": {\"expand\": [\"data\"]}, \"required\": [\"ground_truth_dataset_version\"],\n"
    "  \"rename\": {\"ground_truth_dataset_version\": \"ground_truth_dataset_versions\"},\n"
    "  \"lookups\": {\"ground_truth_dataset_version\":\n"
    "              \"ground_truth_dataset_versions/{ground_truth_dataset_version}/\"},\n"
    "  \"project_field\": \"project\",\n"
    "  \"item\": \"{id: .id, files: (.data_unit.files | to_entries[0].value), data: .data}\"},\n"
    " {\"name\": \"task\", \"path\": \"sdk/tasks/\",\n"
    "  \"params\": {\"expand\": [\"data_unit\", \"assignment\", \"workshop\"]}, \"required\": [\"project\"],\n"
    "  \"rename\": {},\n"
    "  \"item\": \"{id: .id, files: (.data_unit.files | to_entries[0].value), data: .data}\"}]\n";

const char *sx_target_builtin_json(void) { return builtin; }

static jv invalid(const char *f, ...) __attribute__((format(printf, 1, 2)));
static jv invalid(const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return jv_invalid_with_msg(jv_string(buf));
}

/* The message of an invalid jv (consumed) as text in buf. */
static const char *invalid_text(jv v, char *buf, size_t n)
{
    jv m = jv_invalid_get_msg(v);
    if (jv_get_kind(m) == JV_KIND_STRING)
        snprintf(buf, n, "%s", jv_string_value(m));
    else
        snprintf(buf, n, "invalid value");
    jv_free(m);
    return buf;
}

static int is_kind(jv obj, const char *key, jv_kind k, int optional)
{
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    jv_kind got = jv_get_kind(v);
    jv_free(v);
    if (got == JV_KIND_INVALID || got == JV_KIND_NULL)
        return optional;
    return got == k;
}

/* Checks one target object (borrowed); a message names what is wrong. */
static int check_shape(jv t, char *err, size_t n)
{
    if (jv_get_kind(t) != JV_KIND_OBJECT) {
        sx_errf(err, n, "a target is not a JSON object");
        return -1;
    }
    const char *name = sx_get_str(t, "name");
    if (!name || !*name) {
        sx_errf(err, n, "a target has no 'name' string");
        return -1;
    }
    const char *path = sx_get_str(t, "path");
    if (!path || !*path) {
        sx_errf(err, n, "target '%s' has no 'path' string", name);
        return -1;
    }
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0 || strchr(path, '?')) {
        sx_errf(err, n, "target '%s': 'path' must be a path on the backend, without query", name);
        return -1;
    }
    if (!is_kind(t, "params", JV_KIND_OBJECT, 1) || !is_kind(t, "required", JV_KIND_ARRAY, 1) ||
        !is_kind(t, "rename", JV_KIND_OBJECT, 1) || !is_kind(t, "item", JV_KIND_STRING, 1) ||
        !is_kind(t, "lookups", JV_KIND_OBJECT, 1) || !is_kind(t, "project_field", JV_KIND_STRING, 1)) {
        sx_errf(err, n,
                "target '%s': 'params', 'rename' and 'lookups' must be objects, 'required' an array, 'item' and "
                "'project_field' strings",
                name);
        return -1;
    }
    jv lk = jv_object_get(jv_copy(t), jv_string("lookups"));
    int bad = 0;
    if (jv_get_kind(lk) == JV_KIND_OBJECT) {
        jv_object_foreach(lk, k, v) {
            const char *path = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
            if (!bad && (!path || !*path || strstr(path, "://") || strchr(path, '?'))) {
                sx_errf(err, n, "target '%s': lookup '%s' must be a path on the backend, without query", name,
                        jv_string_value(k));
                bad = 1;
            }
            jv_free(k);
            jv_free(v);
        }
    }
    jv_free(lk);
    return bad ? -1 : 0;
}

jv sx_target_list(const char *file)
{
    jv all = jv_parse(builtin);
    if (!file)
        return all;
    jv user = jv_load_file(file, 0);
    if (!jv_is_valid(user)) {
        char m[600];
        jv_free(all);
        invalid_text(user, m, sizeof m);
        FILE *f = fopen(file, "r");
        if (!f)
            return invalid("cannot read target file '%s'", file);
        fclose(f);
        return invalid("target file '%s' is not JSON: %s", file, m);
    }
    /* jv_load_file with raw=0 gives an array of the file's values */
    if (jv_array_length(jv_copy(user)) != 1) {
        jv_free(all);
        jv_free(user);
        return invalid("target file '%s' must hold one JSON object or array", file);
    }
    jv v = jv_array_get(user, 0);
    if (jv_get_kind(v) == JV_KIND_OBJECT)
        v = JV_ARRAY(v);
    if (jv_get_kind(v) != JV_KIND_ARRAY) {
        jv_free(all);
        jv_free(v);
        return invalid("target file '%s' must hold a target object or an array of them", file);
    }
    jv out = jv_array();
    int len = jv_array_length(jv_copy(v));
    for (int i = 0; i < len; i++) {
        jv t = jv_array_get(jv_copy(v), i);
        char m[600];
        if (check_shape(t, m, sizeof m) < 0) {
            jv_free(t);
            jv_free(v);
            jv_free(all);
            jv_free(out);
            return invalid("target file '%s': %s", file, m);
        }
        out = jv_array_append(out, t);
    }
    jv_free(v);
    /* the file's targets first: they are found before a built-in of the same name */
    return jv_array_concat(out, all);
}

static void jq_err_cb(void *data, jv msg)
{
    sx_target *t = data;
    if (!t->jqerr[0]) {
        if (jv_get_kind(msg) == JV_KIND_STRING)
            snprintf(t->jqerr, sizeof t->jqerr, "%s", jv_string_value(msg));
        else if (jv_is_valid(msg)) {
            jv s = jv_dump_string(jv_copy(msg), 0);
            snprintf(t->jqerr, sizeof t->jqerr, "%s", jv_string_value(s));
            jv_free(s);
        }
    }
    jv_free(msg);
}

/* ---- mappings that only pick fields ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *ident(const char *p, char *out)
{
    size_t n = 0;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
        return NULL;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_') {
        if (n + 1 >= PROJ_NAME)
            return NULL;
        out[n++] = *p++;
    }
    out[n] = 0;
    return p;
}

/* (.a.b) or .a.b, with an optional `| to_entries[0].value` inside parentheses */
static const char *path(const char *p, struct proj_field *f)
{
    int paren = *p == '(';
    if (paren)
        p = skip_ws(p + 1);
    if (*p != '.')
        return NULL;
    while (*p == '.') {
        if (f->n >= PROJ_DEPTH || !(p = ident(p + 1, f->step[f->n].key)))
            return NULL;
        f->n++;
    }
    p = skip_ws(p);
    if (paren) {
        static const char first[] = "to_entries[0].value";
        if (*p == '|') {
            p = skip_ws(p + 1);
            if (strncmp(p, first, sizeof first - 1) != 0 || f->n >= PROJ_DEPTH)
                return NULL;
            f->step[f->n++].key[0] = 0;
            p = skip_ws(p + sizeof first - 1);
        }
        if (*p != ')')
            return NULL;
        p = skip_ws(p + 1);
    }
    return p;
}

/* The fields of `{name: PATH, name, ...}`, or 0 when prog is anything else. */
static int parse_projection(const char *prog, struct proj_field *proj)
{
    const char *p = skip_ws(prog);
    int n = 0;
    if (*p++ != '{')
        return 0;
    for (;;) {
        p = skip_ws(p);
        if (n >= PROJ_FIELDS)
            return 0;
        struct proj_field *f = &proj[n];
        memset(f, 0, sizeof *f);
        if (!(p = ident(p, f->name)))
            return 0;
        for (int i = 0; i < n; i++)
            if (strcmp(proj[i].name, f->name) == 0)
                return 0;
        p = skip_ws(p);
        if (*p == ':') {
            if (!(p = path(skip_ws(p + 1), f)))
                return 0;
        } else {
            snprintf(f->step[0].key, PROJ_NAME, "%s", f->name);
            f->n = 1;
        }
        n++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '}')
            return 0;
        p = skip_ws(p + 1);
        return *p ? 0 : n;
    }
}

/* Makes *buf (of *cap bytes) hold at least `need` bytes. */
static int grow(char **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}

long sx_target_map_text(const sx_target *t, const char *rec, size_t len, char **out, size_t *cap)
{
    if (!t->nproj)
        return -1;
    /* the record's own members, all in one walk */
    const char *keys[PROJ_FIELDS], *top[PROJ_FIELDS];
    size_t topl[PROJ_FIELDS];
    int at[PROJ_FIELDS], found[PROJ_FIELDS], nk = 0;
    for (int i = 0; i < t->nproj; i++) {
        const struct proj_field *f = &t->proj[i];
        at[i] = f->n > 0 && f->step[0].key[0] ? nk++ : -1;
        if (at[i] >= 0)
            keys[at[i]] = f->step[0].key;
    }
    const char *r = rec;
    size_t rl = len;
    while (rl && (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t'))
        r++, rl--;
    if (nk && (!rl || *r != '{' || sx_json_members(r, rl, nk, keys, found, top, topl) < 0))
        return -1; /* jq says what is wrong */
    size_t used = 0;
    if (grow(out, cap, 2) < 0)
        return -1;
    (*out)[used++] = '{';
    for (int i = 0; i < t->nproj; i++) {
        const struct proj_field *f = &t->proj[i];
        const char *v = rec;
        size_t vl = len;
        int k = 0;
        if (at[i] >= 0) {
            v = found[at[i]] ? top[at[i]] : "null";
            vl = found[at[i]] ? topl[at[i]] : 4;
            k = 1;
        }
        for (; k < f->n; k++) {
            while (vl && (*v == ' ' || *v == '\n' || *v == '\r' || *v == '\t'))
                v++, vl--;
            int first = f->step[k].key[0] == 0;
            if (*v == 'n' && !first) /* null.key is null */
                continue;
            if (*v != '{') /* jq fails here: let it say so */
                return -1;
            int r = first ? sx_json_first(v, vl, &v, &vl) : sx_json_member(v, vl, f->step[k].key, &v, &vl);
            if (r < 0)
                return -1;
            if (r == 0) {
                v = "null";
                vl = 4;
            }
        }
        /* a value may be picked twice: room for each as it comes */
        if (grow(out, cap, used + vl + PROJ_NAME + 8) < 0)
            return -1;
        used += (size_t)sprintf(*out + used, "%s\"%s\":", i ? "," : "", f->name);
        used += sx_json_compact(v, vl, *out + used);
    }
    (*out)[used++] = '}';
    return (long)used;
}

sx_target *sx_target_open(const char *name, const char *file, char *err, size_t errlen)
{
    jv list = sx_target_list(file);
    if (!jv_is_valid(list)) {
        invalid_text(list, err, errlen);
        return NULL;
    }
    if (!name && !file)
        name = "assignment";
    jv found = jv_invalid();
    int len = jv_array_length(jv_copy(list));
    for (int i = 0; i < len; i++) {
        jv t = jv_array_get(jv_copy(list), i);
        const char *n = sx_get_str(t, "name");
        if (!name || (n && strcmp(n, name) == 0)) {
            found = t;
            break;
        }
        jv_free(t);
    }
    jv_free(list);
    if (!jv_is_valid(found)) {
        jv_free(found);
        sx_errf(err, errlen, "unknown target '%s' (see --list-targets)", name);
        return NULL;
    }
    sx_target *t = calloc(1, sizeof *t);
    if (!t) {
        jv_free(found);
        sx_errf(err, errlen, "out of memory");
        return NULL;
    }
    t->def = found;
    t->name = strdup(sx_get_str(found, "name"));
    t->path = strdup(sx_get_str(found, "path"));
    const char *item = sx_get_str(found, "item");
    t->jq = jq_init();
    if (t->jq)
        sx_jq_library_path(t->jq, jv_null()); /* an import is a compile error, not an abort */
    if (!t->name || !t->path || !t->jq) {
        sx_errf(err, errlen, "out of memory");
        sx_target_free(t);
        return NULL;
    }
    jq_set_error_cb(t->jq, jq_err_cb, t);
    t->nproj = parse_projection(item ? item : ".", t->proj);
    if (t->nproj > 0)
        return t; /* a projection is valid jq by its grammar */
    if (!(t->compiled = jq_compile(t->jq, item ? item : "."))) {
        sx_errf(err, errlen, "%s%s%starget '%s': the item mapping does not compile: %s", file ? "'" : "",
            file ? file : "", file ? "': " : "", t->name, t->jqerr[0] ? t->jqerr : "jq error");
        sx_target_free(t);
        return NULL;
    }
    return t;
}

void sx_target_free(sx_target *t)
{
    if (!t)
        return;
    if (t->jq)
        jq_teardown(&t->jq);
    jv_free(t->def);
    free(t->name);
    free(t->path);
    free(t);
}

const char *sx_target_name(const sx_target *t) { return t->name; }
const char *sx_target_path(const sx_target *t) { return t->path; }

jv sx_filter_add(jv filter, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        jv_free(filter);
        return invalid("filter '%s' is not key=value", arg);
    }
    jv key = jv_string_sized(arg, (int)(eq - arg));
    return jv_array_append(filter, JV_ARRAY(key, jv_string(eq + 1)));
}

/* A scalar as filter text, or an invalid jv. @v consumed. */
static jv scalar_text(jv v, const char *key)
{
    switch (jv_get_kind(v)) {
    case JV_KIND_STRING:
        return v;
    case JV_KIND_NUMBER:
    case JV_KIND_TRUE:
    case JV_KIND_FALSE:
        return jv_dump_string(v, 0);
    default:
        jv_free(v);
        return invalid("--filter: value of '%s' must be a string, number, boolean or array of them", key);
    }
}

jv sx_filter_add_json(jv filter, const char *json)
{
    jv obj = jv_parse(json);
    if (!jv_is_valid(obj)) {
        char m[600];
        invalid_text(obj, m, sizeof m);
        jv_free(filter);
        return invalid("--filter: not JSON: %s", m);
    }
    if (jv_get_kind(obj) != JV_KIND_OBJECT) {
        jv_free(obj);
        jv_free(filter);
        return invalid("--filter: not a JSON object");
    }
    int iter = jv_object_iter(obj);
    while (jv_object_iter_valid(obj, iter)) {
        jv key = jv_object_iter_key(obj, iter);
        jv val = jv_object_iter_value(obj, iter);
        iter = jv_object_iter_next(obj, iter);
        const char *k = jv_string_value(key);
        if (!*k) {
            jv_free(val);
            jv_free(key);
            jv_free(obj);
            jv_free(filter);
            return invalid("--filter: empty key");
        }
        jv vals = jv_get_kind(val) == JV_KIND_ARRAY ? val : jv_get_kind(val) == JV_KIND_NULL ? (jv_free(val), jv_array()) : JV_ARRAY(val);
        int n = jv_array_length(jv_copy(vals));
        for (int i = 0; i < n; i++) {
            jv s = scalar_text(jv_array_get(jv_copy(vals), i), k);
            if (!jv_is_valid(s)) {
                jv_free(vals);
                jv_free(key);
                jv_free(obj);
                jv_free(filter);
                return s;
            }
            filter = jv_array_append(filter, JV_ARRAY(jv_copy(key), s));
        }
        jv_free(vals);
        jv_free(key);
    }
    jv_free(obj);
    return filter;
}

const char *sx_filter_get(jv filter, const char *key)
{
    int n = jv_array_length(jv_copy(filter));
    for (int i = 0; i < n; i++) {
        jv p = jv_array_get(jv_copy(filter), i);
        jv k = jv_array_get(jv_copy(p), 0);
        int same = strcmp(jv_string_value(k), key) == 0;
        jv_free(k);
        if (same) {
            /* the string lives inside filter: p and v are copies sharing it */
            jv v = jv_array_get(p, 1);
            const char *s = jv_string_value(v);
            jv_free(v);
            return s;
        }
        jv_free(p);
    }
    return NULL;
}

jv sx_filter_object(jv filter)
{
    jv o = jv_object();
    int n = jv_array_length(jv_copy(filter));
    for (int i = 0; i < n; i++) {
        jv p = jv_array_get(jv_copy(filter), i);
        jv k = jv_array_get(jv_copy(p), 0);
        jv v = jv_array_get(p, 1);
        jv old = jv_object_get(jv_copy(o), jv_copy(k));
        if (jv_get_kind(old) == JV_KIND_INVALID) {
            jv_free(old);
            o = jv_object_set(o, k, v);
        } else if (jv_get_kind(old) == JV_KIND_ARRAY) {
            o = jv_object_set(o, k, jv_array_append(old, v));
        } else {
            o = jv_object_set(o, k, JV_ARRAY(old, v));
        }
    }
    return o;
}

int sx_target_check(const sx_target *t, jv filter, char *err, size_t errlen)
{
    jv req = jv_object_get(jv_copy(t->def), jv_string("required"));
    int rc = 0;
    if (jv_get_kind(req) == JV_KIND_ARRAY) {
        int n = jv_array_length(jv_copy(req));
        for (int i = 0; i < n && rc == 0; i++) {
            jv k = jv_array_get(jv_copy(req), i);
            if (jv_get_kind(k) == JV_KIND_STRING && !sx_filter_get(filter, jv_string_value(k))) {
                sx_errf(err, errlen, "target '%s' needs filter '%s' (-f %s=...)", t->name, jv_string_value(k),
                    jv_string_value(k));
                rc = -1;
            }
            jv_free(k);
        }
    }
    jv_free(req);
    return rc;
}

/* Appends "&key=value", both escaped, to *q (length *len). */
static int append_pair(char **q, size_t *len, const char *key, const char *val)
{
    char *k = sx_url_escape(key), *v = sx_url_escape(val);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    size_t add = strlen(k) + strlen(v) + 2;
    char *n = realloc(*q, *len + add + 1);
    if (!n) {
        free(k);
        free(v);
        return -1;
    }
    *q = n;
    *len += (size_t)sprintf(n + *len, "%s%s=%s", *len ? "&" : "", k, v);
    free(k);
    free(v);
    return 0;
}

char *sx_target_query(const sx_target *t, jv filter, unsigned page_size)
{
    char *q = calloc(1, 1);
    size_t len = 0;
    if (!q)
        return NULL;
    jv rename = jv_object_get(jv_copy(t->def), jv_string("rename"));
    int n = jv_array_length(jv_copy(filter));
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        jv p = jv_array_get(jv_copy(filter), i);
        jv k = jv_array_get(jv_copy(p), 0);
        jv v = jv_array_get(p, 1);
        jv to = jv_get_kind(rename) == JV_KIND_OBJECT ? jv_object_get(jv_copy(rename), jv_copy(k)) : jv_invalid();
        const char *key = jv_get_kind(to) == JV_KIND_STRING ? jv_string_value(to) : jv_string_value(k);
        ok = append_pair(&q, &len, key, jv_string_value(v)) == 0;
        jv_free(to);
        jv_free(k);
        jv_free(v);
    }
    jv_free(rename);
    jv params = jv_object_get(jv_copy(t->def), jv_string("params"));
    if (ok && jv_get_kind(params) == JV_KIND_OBJECT) {
        int it = jv_object_iter(params);
        while (ok && jv_object_iter_valid(params, it)) {
            jv key = jv_object_iter_key(params, it);
            jv val = jv_object_iter_value(params, it);
            it = jv_object_iter_next(params, it);
            if (jv_get_kind(val) != JV_KIND_ARRAY)
                val = JV_ARRAY(val);
            int m = jv_array_length(jv_copy(val));
            for (int i = 0; i < m && ok; i++) {
                jv s = jv_array_get(jv_copy(val), i);
                if (jv_get_kind(s) != JV_KIND_STRING)
                    s = jv_dump_string(s, 0);
                ok = append_pair(&q, &len, jv_string_value(key), jv_string_value(s)) == 0;
                jv_free(s);
            }
            jv_free(val);
            jv_free(key);
        }
    }
    jv_free(params);
    if (ok && page_size > 0) {
        char num[32];
        snprintf(num, sizeof num, "%u", page_size);
        ok = append_pair(&q, &len, "page_size", num) == 0;
    }
    if (!ok) {
        free(q);
        return NULL;
    }
    return q;
}

/* `tmpl` with each {key} replaced by the filter's value of key, escaped.
 * @return malloc'ed, or NULL with a message. */
static char *fill_path(const char *tmpl, jv filter, char *err, size_t errlen)
{
    size_t cap = strlen(tmpl) + 1, len = 0;
    char *out = malloc(cap);
    for (const char *p = tmpl; out && *p;) {
        const char *add = p, *close = NULL;
        size_t n = 1;
        char *esc = NULL;
        if (*p == '{' && (close = strchr(p, '}'))) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(close - p - 1), p + 1);
            const char *v = sx_filter_get(filter, key);
            if (!v) {
                sx_errf(err, errlen, "the lookup '%s' needs filter '%s'", tmpl, key);
                free(out);
                return NULL;
            }
            if (!(esc = sx_url_escape(v))) {
                free(out);
                out = NULL;
                break;
            }
            add = esc;
            n = strlen(esc);
            p = close + 1;
        } else {
            p++;
        }
        if (len + n + 1 > cap) {
            char *q = realloc(out, cap = 2 * (len + n + 1));
            if (!q) {
                free(out);
                free(esc);
                out = NULL;
                break;
            }
            out = q;
        }
        memcpy(out + len, add, n);
        len += n;
        free(esc);
    }
    if (!out)
        sx_errf(err, errlen, "out of memory");
    else
        out[len] = 0;
    return out;
}

jv sx_target_lookups(const sx_target *t, jv filter, char *err, size_t errlen)
{
    jv lk = jv_object_get(jv_copy(t->def), jv_string("lookups"));
    jv out = jv_array();
    if (jv_get_kind(lk) == JV_KIND_OBJECT) {
        jv_object_foreach(lk, k, v) {
            char *path = jv_is_valid(out) ? fill_path(jv_string_value(v), filter, err, errlen) : NULL;
            if (path)
                out = jv_array_append(out, JV_ARRAY(jv_copy(k), jv_string(path)));
            else if (jv_is_valid(out)) {
                jv_free(out);
                out = jv_invalid();
            }
            free(path);
            jv_free(k);
            jv_free(v);
        }
    }
    jv_free(lk);
    return out;
}

const char *sx_target_project_field(const sx_target *t) { return sx_get_str(t->def, "project_field"); }

jv sx_target_map(sx_target *t, jv record)
{
    t->jqerr[0] = 0;
    if (!t->compiled && !(t->compiled = jq_compile(t->jq, sx_get_str(t->def, "item")))) {
        jv_free(record);
        return jv_invalid_with_msg(jv_string_fmt("item mapping does not compile: %s", t->jqerr[0] ? t->jqerr : "jq error"));
    }
    jq_start(t->jq, record, 0);
    jv out = jq_next(t->jq);
    if (!jv_is_valid(out)) {
        if (jv_invalid_has_msg(jv_copy(out))) {
            jv m = jv_invalid_get_msg(out);
            char buf[600];
            if (jv_get_kind(m) == JV_KIND_STRING)
                snprintf(buf, sizeof buf, "item mapping: %s", jv_string_value(m));
            else {
                jv s = jv_dump_string(jv_copy(m), 0);
                snprintf(buf, sizeof buf, "item mapping: %s", jv_string_value(s));
                jv_free(s);
            }
            jv_free(m);
            return jv_invalid_with_msg(jv_string(buf));
        }
        jv_free(out);
        return jv_invalid_with_msg(jv_string("item mapping gave no output"));
    }
    if (jv_get_kind(out) != JV_KIND_OBJECT) {
        char buf[200];
        snprintf(buf, sizeof buf, "item mapping gave %s %s, not an object",
                 jv_get_kind(out) == JV_KIND_ARRAY || jv_get_kind(out) == JV_KIND_OBJECT ? "an" : "a",
                 jv_kind_name(jv_get_kind(out)));
        jv_free(out);
        return jv_invalid_with_msg(jv_string(buf));
    }
    return out;
}
