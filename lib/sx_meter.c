#include "sx_meter.h"
#include "sx_utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CATS 16
#define DATA_CAT "dataset_conversion"

struct cat {
    char name[48];
    uint64_t current, total;
    double t0, c0;          /* first sighting, for the rate */
    int has_total, changed;
    int has_metrics, metrics_changed;
    uint64_t stand_by, success, failed;
};

struct sx_meter {
    struct cat cats[MAX_CATS];
    int ncats, shown;       /* shown: index of the category updated last, -1 */
    uint64_t meta_total, records, errors, warnings;
    char last_failed[64];   /* the item of the last error record */
    int has_result;
    uint64_t result_failed; /* the result's failed_count: the final word */
    int has_meta_total, ended;
    double start;
    char result[256];
};

sx_meter *sx_meter_new(double now)
{
    sx_meter *m = calloc(1, sizeof *m);
    if (m) {
        m->shown = -1;
        m->start = now;
    }
    return m;
}

void sx_meter_free(sx_meter *m) { free(m); }

static struct cat *cat_get(sx_meter *m, const char *raw, double now)
{
    /* a name from the stream, drawn on a terminal: neutralised first */
    char name[sizeof m->cats[0].name];
    snprintf(name, sizeof name, "%s", raw);
    sx_utf8_neutralise(name, strlen(name), 0);
    for (int i = 0; i < m->ncats; i++)
        if (strcmp(m->cats[i].name, name) == 0)
            return &m->cats[i];
    int i = m->ncats < MAX_CATS ? m->ncats++ : MAX_CATS - 1; /* reuse the last slot */
    struct cat *c = &m->cats[i];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->t0 = now;
    return c;
}

static int finished(const struct cat *c) { return c->has_total && c->current >= c->total; }

static void set_progress(sx_meter *m, struct cat *c, uint64_t cur, int has_total, uint64_t total)
{
    c->current = cur;
    c->has_total = has_total;
    c->total = total;
    c->changed = 1;
    /* show the category updated last, unless it just finished while the
     * one shown is still going (the converter's 100% mid-download) */
    if (m->shown < 0 || !finished(c) || finished(&m->cats[m->shown]))
        m->shown = (int)(c - m->cats);
}

void sx_meter_data(sx_meter *m, uint64_t n, double now)
{
    m->records += n;
    struct cat *c = cat_get(m, DATA_CAT, now);
    set_progress(m, c, m->records, m->has_meta_total, m->meta_total);
}

static uint64_t num(jv rec, const char *key, int *has)
{
    double d = sx_get_num(rec, key, -1);
    if (has)
        *has = d >= 0;
    return d >= 0 && d < 1e18 ? (uint64_t)d : 0;
}

void sx_meter_control(sx_meter *m, sx_kind kind, jv rec, double now)
{
    const char *cat = sx_get_str(rec, "category");
    switch (kind) {
    case SX_META:
        m->meta_total = num(rec, "total", &m->has_meta_total);
        break;
    case SX_PROGRESS: {
        if (!cat)
            break;
        int has_total;
        uint64_t total = num(rec, "total", &has_total);
        set_progress(m, cat_get(m, cat, now), num(rec, "current", NULL), has_total, total);
        break;
    }
    case SX_METRICS: {
        if (!cat)
            break;
        struct cat *c = cat_get(m, cat, now);
        c->stand_by = num(rec, "stand_by", NULL);
        c->success = num(rec, "success", NULL);
        c->failed = num(rec, "failed", NULL);
        c->has_metrics = c->metrics_changed = 1;
        break;
    }
    case SX_ERROR: {
        /* failed items: every failure has an error record; the records of
         * one item come together (sx-save's for each of its files) */
        jv item = jv_object_get(jv_copy(rec), jv_string("item"));
        jv text = jv_dump_string(item, 0);
        const char *t = jv_string_value(text);
        if (strcmp(t, "null") == 0 || strncmp(t, m->last_failed, sizeof m->last_failed - 1) != 0)
            m->errors++;
        snprintf(m->last_failed, sizeof m->last_failed, "%s", t);
        jv_free(text);
        break;
    }
    case SX_WARNING:
        m->warnings++;
        break;
    case SX_RESULT:
        m->has_result = 1;
        m->result_failed = num(rec, "failed_count", NULL);
        snprintf(m->result, sizeof m->result, "exported %llu, failed %llu of %llu to %s",
                 (unsigned long long)num(rec, "exported_count", NULL),
                 (unsigned long long)num(rec, "failed_count", NULL),
                 (unsigned long long)num(rec, "total_count", NULL),
                 sx_get_str(rec, "export_path") ? sx_get_str(rec, "export_path") : "?");
        sx_utf8_neutralise(m->result, strlen(m->result), 0);
        break;
    case SX_END:
        m->ended = 1;
        for (int i = 0; i < m->ncats; i++)
            m->cats[i].changed = 1;
        break;
    default:
        break;
    }
}

uint64_t sx_meter_failed(const sx_meter *m) { return m->has_result ? m->result_failed : m->errors; }

/* Items a second since the category was first seen; when that is too
 * recent to tell (its records came in one burst, as after sx-save), the
 * average since sx-progress began. */
static double rate_of(const sx_meter *m, const struct cat *c, double now)
{
    double dt = now - c->t0;
    if (dt > 0.05)
        return ((double)c->current - c->c0) / dt;
    dt = now - m->start;
    return dt > 0.05 ? (double)c->current / dt : 0;
}

static void human(double v, char *buf, size_t cap)
{
    if (v >= 1e6)
        snprintf(buf, cap, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

static void clock_of(double s, char *buf, size_t cap)
{
    if (!isfinite(s) || s < 0 || s > 359999) {
        snprintf(buf, cap, "--:--");
        return;
    }
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%d:%02d", t / 60, t % 60);
}

double sx_meter_percent(const sx_meter *m)
{
    if (m->shown < 0)
        return m->ended ? 100 : -1;
    const struct cat *c = &m->cats[m->shown];
    if (!c->has_total)
        return m->ended ? 100 : -1;
    if (c->total == 0)
        return 100;
    double p = 100.0 * (double)c->current / (double)c->total;
    return p > 100 ? 100 : p;
}

/* appends to buf at *len, never past cap - 1 */
static void add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = *len + (size_t)k < cap - 1 ? *len + (size_t)k : cap - 1;
}

size_t sx_meter_bar(const sx_meter *m, double now, int width, int color, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    if (cap < 2)
        return 0;
    const struct cat *c = m->shown >= 0 ? &m->cats[m->shown] : NULL;
    char cur[32], tot[32], rate[32], eta[48], tail[160];
    double r = c ? rate_of(m, c, now) : 0;
    human(c ? (double)c->current : 0, cur, sizeof cur);
    human(r, rate, sizeof rate);
    size_t tl = 0;
    tail[0] = 0;
    if (c && c->has_total) {
        human((double)c->total, tot, sizeof tot);
        double left = c->total > c->current ? (double)(c->total - c->current) : 0;
        clock_of(r > 0 ? left / r : (left == 0 ? 0 : NAN), eta, sizeof eta);
        add(tail, sizeof tail, &tl, " %s/%s %s/s ETA %s", cur, tot, rate, eta);
    } else {
        add(tail, sizeof tail, &tl, " %s %s/s", cur, rate);
    }
    uint64_t f = sx_meter_failed(m);
    if (f)
        add(tail, sizeof tail, &tl, color ? " \033[31m%llu failed\033[0m" : " %llu failed",
            (unsigned long long)f);
    add(buf, cap, &len, "[%s]", c ? c->name : DATA_CAT);
    double p = sx_meter_percent(m);
    if (p >= 0) {
        add(buf, cap, &len, " %5.1f%% ", p);
        int visible_tail = (int)tl - (f && color ? 9 : 0);
        int barw = width - (int)len - visible_tail - 3;
        if (barw > 50)
            barw = 50;
        if (barw >= 5) {
            int fill = (int)(p / 100.0 * barw + 0.5);
            add(buf, cap, &len, "[");
            for (int i = 0; i < barw; i++)
                add(buf, cap, &len, "%c", i < fill ? '=' : (i == fill ? '>' : ' '));
            add(buf, cap, &len, "]");
        }
    }
    add(buf, cap, &len, "%s", tail);
    return len;
}

char *sx_meter_lines(sx_meter *m, double now, int all, int what)
{
    size_t cap = 256 * (size_t)(m->ncats + 1), len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = 0;
    for (int i = 0; i < m->ncats; i++) {
        struct cat *c = &m->cats[i];
        if ((what & SX_METER_PROGRESS) && (c->changed || all) && (c->current || c->has_total || m->ended) &&
            !(c->has_metrics && !c->has_total && !c->current)) {
            if (c->has_total) {
                double p = c->total ? 100.0 * (double)c->current / (double)c->total : 100;
                double r = rate_of(m, c, now);
                double left = c->total > c->current ? (double)(c->total - c->current) : 0;
                if (p > 100)
                    p = 100;
                if (r > 0 || left == 0)
                    add(buf, cap, &len, "[%s] Progress: %.1f%% | ETA: %.2fs\n", c->name, p,
                        left == 0 ? 0 : left / r);
                else
                    add(buf, cap, &len, "[%s] Progress: %.1f%% | ETA: unknown\n", c->name, p);
            } else {
                add(buf, cap, &len, "[%s] Progress: %llu record%s\n", c->name,
                    (unsigned long long)c->current, c->current == 1 ? "" : "s");
            }
        }
        c->changed = 0;
        if ((what & SX_METER_METRICS) && c->has_metrics && (c->metrics_changed || all))
            add(buf, cap, &len, "[%s] Metrics: stand_by %llu, success %llu, failed %llu\n", c->name,
                (unsigned long long)c->stand_by, (unsigned long long)c->success,
                (unsigned long long)c->failed);
        c->metrics_changed = 0;
    }
    return buf;
}

jv sx_meter_snapshot(const sx_meter *m)
{
    if (m->shown < 0)
        return jv_null();
    const struct cat *c = &m->cats[m->shown];
    jv r = sx_rec("progress");
    r = jv_object_set(r, jv_string("category"), jv_string(c->name));
    r = jv_object_set(r, jv_string("current"), jv_number((double)c->current));
    return jv_object_set(r, jv_string("total"), c->has_total ? jv_number((double)c->total) : jv_null());
}

char *sx_meter_summary(const sx_meter *m, double now)
{
    char *buf = malloc(512);
    if (!buf)
        return NULL;
    size_t len = 0;
    buf[0] = 0;
    /* after sx-save the stream holds no data records: its result says what counts */
    if (m->records || !m->result[0])
        add(buf, 512, &len, "%llu record%s, %llu failed, ", (unsigned long long)m->records,
            m->records == 1 ? "" : "s", (unsigned long long)sx_meter_failed(m));
    if (m->warnings)
        add(buf, 512, &len, "%llu warning%s, ", (unsigned long long)m->warnings, m->warnings == 1 ? "" : "s");
    add(buf, 512, &len, "%.2fs", now - m->start);
    if (m->result[0])
        add(buf, 512, &len, "; %s", m->result);
    return buf;
}
