#include "sx_tally.h"
#include "sx_errbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char reason[208];
    uint64_t count, items;
    char ids[3][40];
    int nids;
    char last[40]; /* the item counted last under this reason */
} entry;

struct sx_tally {
    entry e[SX_TALLY_REASONS + 1]; /* the last one: "other" */
    int n;
    uint64_t total, items;
    char last[40];
};

sx_tally *sx_tally_new(void) { return calloc(1, sizeof(sx_tally)); }

void sx_tally_free(sx_tally *t) { free(t); }

static entry *entry_of(sx_tally *t, const char *reason)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].reason, reason))
            return &t->e[i];
    if (t->n < SX_TALLY_REASONS) {
        entry *e = &t->e[t->n++];
        snprintf(e->reason, sizeof e->reason, "%s", reason);
        return e;
    }
    entry *o = &t->e[SX_TALLY_REASONS];
    snprintf(o->reason, sizeof o->reason, "other");
    return o;
}

void sx_tally_add(sx_tally *t, const char *reason, uint64_t count, const char *item)
{
    entry *e = entry_of(t, reason);
    e->count += count;
    t->total += count;
    char id[40];
    snprintf(id, sizeof id, "%s", item ? item : "");
    if (!item || strcmp(id, t->last)) {
        t->items++;
        snprintf(t->last, sizeof t->last, "%s", id);
    }
    if (!item || strcmp(id, e->last)) {
        e->items++;
        snprintf(e->last, sizeof e->last, "%s", id);
        if (item && e->nids < 3)
            snprintf(e->ids[e->nids++], sizeof e->ids[0], "%s", id);
    }
}

uint64_t sx_tally_total(const sx_tally *t) { return t->total; }

uint64_t sx_tally_items(const sx_tally *t) { return t->items; }

char *sx_tally_format(const sx_tally *t, char *out, size_t n)
{
    size_t len = 0;
    int used[SX_TALLY_REASONS + 1] = {0};
    out[0] = 0;
    for (int k = 0; k <= SX_TALLY_REASONS; k++) {
        int best = -1;
        for (int i = 0; i <= SX_TALLY_REASONS; i++)
            if (!used[i] && t->e[i].count && (best < 0 || t->e[i].count > t->e[best].count))
                best = i;
        if (best < 0)
            break;
        used[best] = 1;
        const entry *e = &t->e[best];
        int w = snprintf(out + len, len < n ? n - len : 0, "%s%llu %s", len ? ", " : "",
                         (unsigned long long)e->count, e->reason);
        len += w > 0 ? (size_t)w : 0;
        for (int i = 0; i < e->nids; i++) {
            w = snprintf(out + len, len < n ? n - len : 0, "%s%s", i ? ", " : e->items > 1 ? " (items " : " (item ",
                         e->ids[i]);
            len += w > 0 ? (size_t)w : 0;
        }
        if (e->nids) {
            w = snprintf(out + len, len < n ? n - len : 0, "%s)", e->items > (uint64_t)e->nids ? ", …" : "");
            len += w > 0 ? (size_t)w : 0;
        }
    }
    if (len >= n && n > 4) /* cut between characters, and said to be cut */
        memcpy(out + sx_utf8_cut(out, n - 1, n - 4), "...", 4);
    return out;
}

char *sx_tally_reason(const char *m, char *out, size_t n)
{
    size_t j = 0, cap = n < 201 ? n : 201;
    int quoted = 0;
    for (const char *p = m; *p && j + 1 < cap; p++) {
        if (*p == '\'') {
            quoted = !quoted;
            if (quoted && j + 5 < cap) {
                memcpy(out + j, "'…'", 5); /* the quote, an ellipsis (3 bytes), the quote */
                j += 5;
            }
            continue;
        }
        if (!quoted)
            out[j++] = *p;
    }
    out[j] = 0;
    return out;
}
