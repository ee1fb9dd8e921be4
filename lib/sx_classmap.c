#include "sx_classmap.h"
#include "sx_hash.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *s;
    size_t len;
} name_t;

struct sx_classmap {
    name_t *names;      /* by insertion (provisional) index */
    int n, cap;
    int *table;         /* open addressing: index into names, -1 empty */
    size_t tcap;
    int fixed, sealed;
    int *final;         /* provisional -> final */
    int *order;         /* final -> provisional */
};

static uint64_t hash(const char *s, size_t n) { return sx_fnv1a(SX_FNV_BASIS, s, n); }

sx_classmap *sx_classmap_new(void) { return calloc(1, sizeof(sx_classmap)); }

static int rehash(sx_classmap *cm, size_t cap)
{
    int *t = malloc(cap * sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < cap; i++)
        t[i] = -1;
    for (int i = 0; i < cm->n; i++) {
        size_t k = hash(cm->names[i].s, cm->names[i].len) & (cap - 1);
        while (t[k] >= 0)
            k = (k + 1) & (cap - 1);
        t[k] = i;
    }
    free(cm->table);
    cm->table = t;
    cm->tcap = cap;
    return 0;
}

static int find(const sx_classmap *cm, const char *s, size_t len)
{
    if (!cm->tcap)
        return -1;
    size_t k = hash(s, len) & (cm->tcap - 1);
    while (cm->table[k] >= 0) {
        const name_t *nm = &cm->names[cm->table[k]];
        if (nm->len == len && memcmp(nm->s, s, len) == 0)
            return cm->table[k];
        k = (k + 1) & (cm->tcap - 1);
    }
    return -1;
}

static int add(sx_classmap *cm, const char *s, size_t len)
{
    if (cm->n == cm->cap) {
        int cap = cm->cap ? cm->cap * 2 : 16;
        name_t *p = realloc(cm->names, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        cm->names = p;
        cm->cap = cap;
    }
    if ((size_t)(cm->n + 1) * 2 > cm->tcap && rehash(cm, cm->tcap ? cm->tcap * 2 : 32) < 0)
        return -1;
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, s, len);
    c[len] = 0;
    cm->names[cm->n] = (name_t){c, len};
    size_t k = hash(s, len) & (cm->tcap - 1);
    while (cm->table[k] >= 0)
        k = (k + 1) & (cm->tcap - 1);
    cm->table[k] = cm->n;
    return cm->n++;
}

int sx_classmap_load_file(sx_classmap *cm, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        if (find(cm, line, (size_t)n) >= 0) {
            snprintf(err, errlen, "%s:%d: class '%.*s' listed twice", path, lineno, (int)n, line);
            rc = -1;
            break;
        }
        if (add(cm, line, (size_t)n) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && cm->n == 0) {
        snprintf(err, errlen, "'%s' lists no class", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    cm->fixed = rc == 0;
    return rc;
}

/* The list of classes a configuration gives a tool: the value itself when
 * it is a list, else the list an object wraps (`classification_schema`,
 * `classes`, or its only list). @v consumed. @return an array, or invalid. */
static jv tool_list(jv v)
{
    if (jv_get_kind(v) == JV_KIND_ARRAY)
        return v;
    if (jv_get_kind(v) != JV_KIND_OBJECT) {
        jv_free(v);
        return jv_invalid();
    }
    static const char *const keys[] = {"classification_schema", "classes"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        jv l = jv_object_get(jv_copy(v), jv_string(keys[i]));
        if (jv_get_kind(l) == JV_KIND_ARRAY) {
            jv_free(v);
            return l;
        }
        jv_free(l);
    }
    jv only = jv_invalid();
    int lists = 0;
    jv_object_foreach(v, k, e) {
        if (jv_get_kind(e) == JV_KIND_ARRAY && lists++ == 0) {
            jv_free(only);
            only = jv_copy(e);
        }
        jv_free(k);
        jv_free(e);
    }
    jv_free(v);
    if (lists != 1) {
        jv_free(only);
        return jv_invalid();
    }
    return only;
}

/* A class of a list: a name, or an object whose `code`, else `name`, is
 * one. @e consumed. @return a non-empty string, or invalid. */
static jv class_name(jv e)
{
    jv name = jv_invalid();
    if (jv_get_kind(e) == JV_KIND_STRING) {
        name = jv_copy(e);
    } else if (jv_get_kind(e) == JV_KIND_OBJECT) {
        name = jv_object_get(jv_copy(e), jv_string("code"));
        if (jv_get_kind(name) != JV_KIND_STRING) {
            jv_free(name);
            name = jv_object_get(jv_copy(e), jv_string("name"));
        }
    }
    jv_free(e);
    if (jv_get_kind(name) != JV_KIND_STRING || jv_string_length_bytes(jv_copy(name)) == 0) {
        jv_free(name);
        return jv_invalid();
    }
    return name;
}

/* Calls fn(cm, name) for each class `cls` (the classification, borrowed)
 * gives `tool`. @return the number of names. */
static int each_class(jv cls, const char *tool, sx_classmap *cm)
{
    jv list = tool_list(jv_object_get(jv_copy(cls), jv_string(tool)));
    int n = 0;
    if (jv_get_kind(list) == JV_KIND_ARRAY) {
        jv_array_foreach(list, i, e) {
            jv name = class_name(e);
            if (jv_is_valid(name)) {
                n++;
                const char *s = jv_string_value(name);
                size_t len = (size_t)jv_string_length_bytes(jv_copy(name));
                if (cm && find(cm, s, len) < 0)
                    add(cm, s, len);
            }
            jv_free(name);
        }
    }
    jv_free(list);
    return n;
}

int sx_classmap_load_config(sx_classmap *cm, jv config, const char *const *tools)
{
    if (cm->fixed || cm->n > 0 || jv_get_kind(config) != JV_KIND_OBJECT)
        return 0;
    jv cls = jv_object_get(jv_copy(config), jv_string("classification"));
    if (jv_get_kind(cls) == JV_KIND_OBJECT)
        for (const char *const *t = tools; *t; t++)
            each_class(cls, *t, cm);
    jv_free(cls);
    cm->fixed = cm->n > 0;
    return cm->n;
}

int sx_classmap_config_empty(jv meta)
{
    if (jv_get_kind(meta) != JV_KIND_OBJECT)
        return 0;
    jv conf = jv_object_get(jv_copy(meta), jv_string("configuration"));
    jv_kind kind = jv_get_kind(conf);
    int n = 0;
    if (kind == JV_KIND_OBJECT) {
        jv cls = jv_object_get(jv_copy(conf), jv_string("classification"));
        if (jv_get_kind(cls) == JV_KIND_OBJECT) {
            jv_object_foreach(cls, k, v) {
                n += each_class(cls, jv_string_value(k), NULL);
                jv_free(k);
                jv_free(v);
            }
        }
        jv_free(cls);
    }
    jv_free(conf);
    return kind != JV_KIND_INVALID && kind != JV_KIND_NULL && n == 0;
}

int sx_classmap_fixed(const sx_classmap *cm) { return cm->fixed; }

int sx_classmap_get(sx_classmap *cm, const char *name, size_t len)
{
    int i = find(cm, name, len);
    if (i >= 0 || cm->fixed || cm->sealed)
        return i;
    return add(cm, name, len);
}

static const sx_classmap *sort_cm;
static int cmp_idx(const void *a, const void *b)
{
    const name_t *x = &sort_cm->names[*(const int *)a], *y = &sort_cm->names[*(const int *)b];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

int sx_classmap_seal(sx_classmap *cm)
{
    if (cm->sealed)
        return 0;
    int n = cm->n ? cm->n : 1;
    cm->final = malloc((size_t)n * sizeof(int));
    cm->order = malloc((size_t)n * sizeof(int));
    if (!cm->final || !cm->order)
        return -1;
    for (int i = 0; i < cm->n; i++)
        cm->order[i] = i;
    if (!cm->fixed) {
        sort_cm = cm;
        qsort(cm->order, (size_t)cm->n, sizeof(int), cmp_idx);
    }
    for (int i = 0; i < cm->n; i++)
        cm->final[cm->order[i]] = i;
    cm->sealed = 1;
    return 0;
}

int sx_classmap_final(const sx_classmap *cm, int idx)
{
    return cm->sealed ? cm->final[idx] : idx;
}

int sx_classmap_count(const sx_classmap *cm) { return cm->n; }

const char *sx_classmap_name(const sx_classmap *cm, int i, size_t *len)
{
    int p = cm->sealed ? cm->order[i] : i;
    if (len)
        *len = cm->names[p].len;
    return cm->names[p].s;
}

void sx_classmap_free(sx_classmap *cm)
{
    if (!cm)
        return;
    for (int i = 0; i < cm->n; i++)
        free(cm->names[i].s);
    free(cm->names);
    free(cm->table);
    free(cm->final);
    free(cm->order);
    free(cm);
}

int sx_classmap_load_meta(sx_classmap *cm, jv meta, const char *const *tools)
{
    if (jv_get_kind(meta) != JV_KIND_OBJECT)
        return 0;
    jv conf = jv_object_get(jv_copy(meta), jv_string("configuration"));
    int n = sx_classmap_load_config(cm, conf, tools);
    jv_free(conf);
    return n;
}
