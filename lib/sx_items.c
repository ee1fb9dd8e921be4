#include "sx_items.h"
#include "sx_hash.h"

#include <stdlib.h>
#include <string.h>

/* An item: in a chained hash table by key, and in a list from the least to
 * the most recently used (the window forgets from the old end). */
typedef struct fnode {
    struct fnode *next;
    int cat;
    char path[];
} fnode;

typedef struct item {
    struct item *chain;          /* next in its bucket */
    struct item *older, *newer;  /* use order */
    uint64_t h;
    size_t klen;
    int failed;                  /* 1 failed here, 2 failed upstream (or both: 3) */
    int pins;                    /* files on their way */
    fnode *head, *tail;          /* files in place, oldest first */
    char key[];
} item;

typedef struct {
    uint64_t a, b;      /* both 0: an empty slot */
} path_slot;

struct sx_items {
    item **bucket;
    size_t nbucket, in, cap;     /* cap 0: never forget */
    item *oldest, *newest;
    uint64_t gone_ok, gone_up, gone_here;   /* forgotten items, as they stood */
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

sx_items *sx_items_new_window(size_t cap)
{
    sx_items *t = sx_items_new();
    if (t)
        t->cap = cap ? cap : 1;
    return t;
}

static void free_files(fnode *f)
{
    for (fnode *n; f; f = n) {
        n = f->next;
        free(f);
    }
}

void sx_items_free(sx_items *t)
{
    if (!t)
        return;
    for (item *it = t->oldest, *n; it; it = n) {
        n = it->newer;
        free_files(it->head);
        free(it);
    }
    free(t->bucket);
    free(t->paths);
    free(t);
}

static item *item_find(const sx_items *t, const char *key, size_t klen)
{
    if (!t->nbucket)
        return NULL;
    uint64_t h = hash(key, klen, 0);
    for (item *it = t->bucket[h & (t->nbucket - 1)]; it; it = it->chain)
        if (it->h == h && it->klen == klen && memcmp(it->key, key, klen) == 0)
            return it;
    return NULL;
}

static int buckets_grow(sx_items *t)
{
    size_t nb = t->nbucket ? t->nbucket * 2 : 1024;
    item **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (item *it = t->oldest; it; it = it->newer) {
        item **at = &b[it->h & (nb - 1)];
        it->chain = *at;
        *at = it;
    }
    free(t->bucket);
    t->bucket = b;
    t->nbucket = nb;
    return 0;
}

static void list_unlink(sx_items *t, item *it)
{
    if (it->older)
        it->older->newer = it->newer;
    else
        t->oldest = it->newer;
    if (it->newer)
        it->newer->older = it->older;
    else
        t->newest = it->older;
    it->older = it->newer = NULL;
}

static void list_push(sx_items *t, item *it)
{
    it->older = t->newest;
    it->newer = NULL;
    if (t->newest)
        t->newest->newer = it;
    else
        t->oldest = it;
    t->newest = it;
}

/* Forgets item `it`, counting it as it stands. */
static void forget(sx_items *t, item *it)
{
    if (it->failed & 2)
        t->gone_up++;
    else if (it->failed)
        t->gone_here++;
    else
        t->gone_ok++;
    item **at = &t->bucket[it->h & (t->nbucket - 1)];
    while (*at != it)
        at = &(*at)->chain;
    *at = it->chain;
    list_unlink(t, it);
    free_files(it->head);
    free(it);
    t->in--;
}

/* The window over its size: the least recently used unpinned items go (never
 * the newest: the caller holds it). Pinned items are at most the files on
 * their way, a bounded number. */
static void trim(sx_items *t)
{
    item *it = t->oldest;
    while (t->cap && t->in > t->cap && it && it != t->newest) {
        item *next = it->newer;
        if (!it->pins)
            forget(t, it);
        it = next;
    }
}

/* The item's entry, made when new, now the most recently used. @return it,
 * or NULL when out of memory. */
static item *item_get(sx_items *t, const char *key, size_t klen)
{
    item *it = item_find(t, key, klen);
    if (it) {
        if (it != t->newest) {
            list_unlink(t, it);
            list_push(t, it);
        }
        return it;
    }
    if (t->in + 1 > t->nbucket && buckets_grow(t) < 0)
        return NULL;
    if (!(it = calloc(1, sizeof *it + klen + 1)))
        return NULL;
    it->h = hash(key, klen, 0);
    it->klen = klen;
    memcpy(it->key, key, klen);
    item **at = &t->bucket[it->h & (t->nbucket - 1)];
    it->chain = *at;
    *at = it;
    list_push(t, it);
    t->in++;
    trim(t);
    return it;
}

int sx_items_touch(sx_items *t, const char *key, size_t klen) { return item_get(t, key, klen) ? 0 : -1; }

int sx_items_pin(sx_items *t, const char *key, size_t klen)
{
    item *it = item_get(t, key, klen);
    if (!it)
        return -1;
    it->pins++;
    return 0;
}

void sx_items_unpin(sx_items *t, const char *key, size_t klen)
{
    item *it = item_find(t, key, klen);
    if (it && it->pins > 0)
        it->pins--;
    trim(t);
}

size_t sx_items_live(const sx_items *t) { return t->in; }

int sx_items_failed(const sx_items *t, const char *key, size_t klen)
{
    const item *it = item_find(t, key, klen);
    return it && it->failed;
}

int sx_items_add_file(sx_items *t, const char *key, size_t klen, const char *path, int cat)
{
    item *it = item_get(t, key, klen);
    size_t pl = strlen(path);
    fnode *f = it ? malloc(sizeof *f + pl + 1) : NULL;
    if (!f)
        return -1;
    f->next = NULL;
    f->cat = cat;
    memcpy(f->path, path, pl + 1);
    if (it->tail)
        it->tail->next = f;
    else
        it->head = f;
    it->tail = f;
    return 0;
}

int sx_items_fail(sx_items *t, const char *key, size_t klen, int upstream,
                  void (*each)(void *ctx, const char *path, int cat), void *ctx)
{
    item *it = item_get(t, key, klen);
    if (!it)
        return -1;
    fnode *f = it->head;
    it->head = it->tail = NULL;
    it->failed |= upstream ? 2 : 1;
    for (fnode *n; f; f = n) {
        n = f->next;
        each(ctx, f->path, f->cat);
        free(f);
    }
    return 0;
}

void sx_items_count(const sx_items *t, uint64_t *ok, uint64_t *failed_upstream, uint64_t *failed_here)
{
    *ok = t->gone_ok;
    *failed_upstream = t->gone_up;
    *failed_here = t->gone_here;
    for (const item *it = t->oldest; it; it = it->newer) {
        if (it->failed & 2)
            (*failed_upstream)++;
        else if (it->failed)
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
