#include "sx_items.h"
#include "sx_hash.h"

#include <stdlib.h>
#include <string.h>

/* Keys and file nodes live in one arena, referred to by offsets (the arena
 * moves when it grows). A file node is a node_head followed by the path and
 * its NUL; heads are read and written with memcpy (no alignment). */
typedef struct {
    size_t next;        /* offset + 1 of the next node of the item, 0: last */
    int cat;
} node_head;

typedef struct {
    uint64_t h;         /* 0: an empty slot */
    size_t key;         /* arena offset of the key */
    size_t klen;
    size_t head, tail;  /* offset + 1 of the first and last file node, 0: none */
    int failed;         /* 1 failed here, 2 failed upstream (or both: 3) */
} item_slot;

typedef struct {
    uint64_t a, b;      /* both 0: an empty slot */
} path_slot;

struct sx_items {
    char *arena;
    size_t alen, acap;
    item_slot *items;
    size_t icap, in;
    path_slot *paths;
    size_t pcap, pn;
};

/* Never 0, which marks an empty slot. */
static uint64_t hash(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = sx_mix64(sx_fnv1a(SX_FNV_BASIS ^ seed, s, n));
    return h ? h : 1;
}

sx_items *sx_items_new(void) { return calloc(1, sizeof(sx_items)); }

void sx_items_free(sx_items *t)
{
    if (!t)
        return;
    free(t->arena);
    free(t->items);
    free(t->paths);
    free(t);
}

/* @return the offset of n new bytes in the arena, or (size_t)-1. */
static size_t arena_take(sx_items *t, size_t n)
{
    if (t->alen + n > t->acap) {
        size_t cap = t->acap ? t->acap : 1 << 16;
        while (cap < t->alen + n)
            cap *= 2;
        char *a = realloc(t->arena, cap);
        if (!a)
            return (size_t)-1;
        t->arena = a;
        t->acap = cap;
    }
    size_t off = t->alen;
    t->alen += n;
    return off;
}

/* The slot of key (h its hash): where it is, or the empty one it would take. */
static item_slot *item_slot_of(const sx_items *t, const char *key, size_t klen, uint64_t h)
{
    size_t i = h & (t->icap - 1);
    for (;;) {
        item_slot *s = &t->items[i];
        if (s->h == 0 || (s->h == h && s->klen == klen && memcmp(t->arena + s->key, key, klen) == 0))
            return s;
        i = (i + 1) & (t->icap - 1);
    }
}

static int items_grow(sx_items *t)
{
    size_t cap = t->icap ? t->icap * 2 : 1024;
    item_slot *old = t->items, *nw = calloc(cap, sizeof *nw);
    if (!nw)
        return -1;
    size_t ocap = t->icap;
    t->items = nw;
    t->icap = cap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].h)
            *item_slot_of(t, t->arena + old[i].key, old[i].klen, old[i].h) = old[i];
    free(old);
    return 0;
}

/* The item's slot, made when new. @return it, or NULL when out of memory. */
static item_slot *item_get(sx_items *t, const char *key, size_t klen)
{
    if ((t->in + 1) * 2 > t->icap && items_grow(t) < 0)
        return NULL;
    uint64_t h = hash(key, klen, 0);
    item_slot *s = item_slot_of(t, key, klen, h);
    if (s->h)
        return s;
    size_t off = arena_take(t, klen);
    if (off == (size_t)-1)
        return NULL;
    memcpy(t->arena + off, key, klen);
    *s = (item_slot){.h = h, .key = off, .klen = klen};
    t->in++;
    return s;
}

static const item_slot *item_find(const sx_items *t, const char *key, size_t klen)
{
    if (!t->icap)
        return NULL;
    const item_slot *s = item_slot_of(t, key, klen, hash(key, klen, 0));
    return s->h ? s : NULL;
}

int sx_items_touch(sx_items *t, const char *key, size_t klen) { return item_get(t, key, klen) ? 0 : -1; }

int sx_items_failed(const sx_items *t, const char *key, size_t klen)
{
    const item_slot *s = item_find(t, key, klen);
    return s && s->failed;
}

int sx_items_add_file(sx_items *t, const char *key, size_t klen, const char *path, int cat)
{
    if (!item_get(t, key, klen))
        return -1;
    size_t pl = strlen(path);
    size_t off = arena_take(t, sizeof(node_head) + pl + 1);
    if (off == (size_t)-1)
        return -1;
    node_head nh = {0, cat};
    memcpy(t->arena + off, &nh, sizeof nh);
    memcpy(t->arena + off + sizeof nh, path, pl + 1);
    item_slot *s = (item_slot *)item_find(t, key, klen); /* the arena may have moved, the table not */
    if (s->tail) {
        node_head last;
        memcpy(&last, t->arena + s->tail - 1, sizeof last);
        last.next = off + 1;
        memcpy(t->arena + s->tail - 1, &last, sizeof last);
    } else {
        s->head = off + 1;
    }
    s->tail = off + 1;
    return 0;
}

int sx_items_fail(sx_items *t, const char *key, size_t klen, int upstream,
                  void (*each)(void *ctx, const char *path, int cat), void *ctx)
{
    item_slot *s = item_get(t, key, klen);
    if (!s)
        return -1;
    size_t at = s->head;
    s->head = s->tail = 0;
    s->failed |= upstream ? 2 : 1;
    while (at) {
        node_head nh;
        memcpy(&nh, t->arena + at - 1, sizeof nh);
        each(ctx, t->arena + at - 1 + sizeof nh, nh.cat);
        at = nh.next;
    }
    return 0;
}

void sx_items_count(const sx_items *t, uint64_t *ok, uint64_t *failed_upstream, uint64_t *failed_here)
{
    *ok = *failed_upstream = *failed_here = 0;
    for (size_t i = 0; i < t->icap; i++)
        if (t->items[i].h) {
            if (t->items[i].failed & 2)
                (*failed_upstream)++;
            else if (t->items[i].failed)
                (*failed_here)++;
            else
                (*ok)++;
        }
}

/* ---- paths ---- */

static path_slot *path_slot_of(const sx_items *t, path_slot k)
{
    size_t i = k.a & (t->pcap - 1);
    for (;;) {
        path_slot *s = &t->paths[i];
        if ((s->a == 0 && s->b == 0) || (s->a == k.a && s->b == k.b))
            return s;
        i = (i + 1) & (t->pcap - 1);
    }
}

static path_slot path_key(const char *path)
{
    size_t n = strlen(path);
    return (path_slot){hash(path, n, 0), hash(path, n, 0x9e3779b97f4a7c15ULL)};
}

int sx_paths_has(const sx_items *t, const char *path)
{
    if (!t->pcap)
        return 0;
    path_slot *s = path_slot_of(t, path_key(path));
    return s->a != 0;
}

int sx_paths_add(sx_items *t, const char *path)
{
    if ((t->pn + 1) * 2 > t->pcap) {
        size_t cap = t->pcap ? t->pcap * 2 : 1024, ocap = t->pcap;
        path_slot *old = t->paths, *nw = calloc(cap, sizeof *nw);
        if (!nw)
            return -1;
        t->paths = nw;
        t->pcap = cap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].a)
                *path_slot_of(t, old[i]) = old[i];
        free(old);
    }
    path_slot k = path_key(path), *s = path_slot_of(t, k);
    if (!s->a) {
        *s = k;
        t->pn++;
    }
    return 0;
}
