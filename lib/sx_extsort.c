/* sx_extsort.c : external sort and sorted table on disk (see sx_extsort.h). */
#include "sx_extsort.h"
#include "sx_safefs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAN_IN 64               /* runs merged at once */
#define RUN_IOBUF (64u << 10)   /* stdio buffer of a run being merged */
#define TAB_BLOCK (32u << 10)   /* bytes of rows per index entry */
#define TAB_CACHE 8             /* blocks kept */

/* An unlinked temporary file, as a stdio stream. */
FILE *sx_extsort_tmpfile(void)
{
    const char *d = getenv("TMPDIR");
    if (!d || !*d)
        d = "/tmp";
    int fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sx-sort-XXXXXX", d);
        if ((fd = mkstemp(path)) < 0)
            return NULL;
        unlink(path);
    }
    FILE *f = fdopen(fd, "w+b");
    if (!f)
        close(fd);
    return f;
}

static uint32_t get32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int sx_extsort_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    uint32_t ka = an >= 4 ? get32(a) : 0, kb = bn >= 4 ? get32(b) : 0;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    size_t n = 4 + (size_t)ka + 8;
    if (an < n || bn < n) /* not of the form: by bytes */
        return memcmp(a, b, an < bn ? an : bn) ? memcmp(a, b, an < bn ? an : bn) : (an > bn) - (an < bn);
    return memcmp((const char *)a + 4, (const char *)b + 4, (size_t)ka + 8);
}

/* ---- runs: [u32 length][bytes] records in a file ---- */

typedef struct {
    FILE *f;
    char *rec;
    size_t n, cap;
} run_reader;

/* Reads the next record of a run. @return 1, 0 at its end, -1 error. */
static int run_read(run_reader *r)
{
    uint32_t n;
    if (fread(&n, 4, 1, r->f) != 1)
        return ferror(r->f) ? -1 : 0;
    if (n > r->cap) {
        char *p = realloc(r->rec, n);
        if (!p)
            return -1;
        r->rec = p;
        r->cap = n;
    }
    if (n && fread(r->rec, 1, n, r->f) != n) {
        errno = EIO;
        return -1;
    }
    r->n = n;
    return 1;
}

typedef struct {
    run_reader *rd;
    int *heap, nheap, nrd;
    char *iobufs;
} merger;

static int mless(merger *m, int a, int b)
{
    int c = sx_extsort_cmp(m->rd[a].rec, m->rd[a].n, m->rd[b].rec, m->rd[b].n);
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(merger *m, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->nheap && mless(m, m->heap[l], m->heap[s]))
            s = l;
        if (r < m->nheap && mless(m, m->heap[r], m->heap[s]))
            s = r;
        if (s == i)
            return;
        int t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
}

static void merger_free(merger *m)
{
    for (int i = 0; i < m->nrd; i++) {
        if (m->rd[i].f)
            fclose(m->rd[i].f);
        free(m->rd[i].rec);
    }
    free(m->rd);
    free(m->heap);
    free(m->iobufs);
    memset(m, 0, sizeof *m);
}

/* Opens a merge of k runs (the files are the merger's from now on). */
static int merger_open(merger *m, FILE **runs, int k)
{
    memset(m, 0, sizeof *m);
    m->rd = calloc((size_t)k, sizeof *m->rd);
    m->heap = calloc((size_t)k, sizeof *m->heap);
    m->iobufs = malloc((size_t)k * RUN_IOBUF);
    if (!m->rd || !m->heap || !m->iobufs) {
        for (int i = 0; i < k; i++)
            fclose(runs[i]);
        free(m->rd);
        free(m->heap);
        free(m->iobufs);
        errno = ENOMEM;
        return -1;
    }
    m->nrd = k;
    for (int i = 0; i < k; i++) {
        m->rd[i].f = runs[i];
        setvbuf(runs[i], m->iobufs + (size_t)i * RUN_IOBUF, _IOFBF, RUN_IOBUF);
    }
    for (int i = 0; i < k; i++) {
        rewind(m->rd[i].f);
        int rc = run_read(&m->rd[i]);
        if (rc < 0) {
            merger_free(m);
            return -1;
        }
        if (rc)
            m->heap[m->nheap++] = i;
    }
    for (int i = m->nheap / 2 - 1; i >= 0; i--)
        sift_down(m, i);
    return 0;
}

/* The smallest record; the caller copies or uses it before the next call. */
static int merger_next(merger *m, int *last, const void **rec, size_t *n)
{
    if (*last >= 0) { /* advance the run handed out last time */
        int rc = run_read(&m->rd[*last]);
        if (rc < 0)
            return -1;
        if (rc == 0)
            m->heap[0] = m->heap[--m->nheap];
        if (m->nheap)
            sift_down(m, 0);
        *last = -1;
    }
    if (!m->nheap)
        return 0;
    int i = m->heap[0];
    *rec = m->rd[i].rec;
    *n = m->rd[i].n;
    *last = i;
    return 1;
}

/* ---- the sorter ---- */

struct sx_extsort {
    size_t mem;
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t noff, capoff;
    FILE **runs;
    int nruns, capruns;
    uint64_t count;
    int done;
    size_t pos;     /* output from memory: the next offset */
    merger mg;      /* output from runs */
    int last;
};

sx_extsort *sx_extsort_new(size_t mem)
{
    sx_extsort *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mem = mem < (64u << 10) ? (64u << 10) : mem;
    s->last = -1;
    return s;
}

uint64_t sx_extsort_count(const sx_extsort *s) { return s->count; }

static int by_record(const void *a, const void *b, void *ctx)
{
    const char *buf = ctx;
    const char *x = buf + *(const size_t *)a, *y = buf + *(const size_t *)b;
    return sx_extsort_cmp(x + 4, get32(x), y + 4, get32(y));
}

static int add_run(sx_extsort *s, FILE *f)
{
    if (s->nruns == s->capruns) {
        int cap = s->capruns ? s->capruns * 2 : 16;
        FILE **p = realloc(s->runs, (size_t)cap * sizeof *p);
        if (!p) {
            fclose(f);
            errno = ENOMEM;
            return -1;
        }
        s->runs = p;
        s->capruns = cap;
    }
    s->runs[s->nruns++] = f;
    return 0;
}

/* Sorts what memory holds and writes it as a run. */
static int spill(sx_extsort *s)
{
    qsort_r(s->off, s->noff, sizeof *s->off, by_record, s->buf);
    FILE *f = sx_extsort_tmpfile();
    if (!f)
        return -1;
    for (size_t i = 0; i < s->noff; i++) {
        const char *r = s->buf + s->off[i];
        if (fwrite(r, 1, 4 + (size_t)get32(r), f) != 4 + (size_t)get32(r)) {
            fclose(f);
            return -1;
        }
    }
    if (fflush(f) != 0) {
        fclose(f);
        return -1;
    }
    s->len = s->noff = 0;
    return add_run(s, f);
}

int sx_extsort_add(sx_extsort *s, const void *rec, size_t n)
{
    if (n > 0xffffffffu) {
        errno = EINVAL;
        return -1;
    }
    if (s->len && s->len + 4 + n > s->mem && spill(s) < 0)
        return -1;
    if (s->len + 4 + n > s->cap) {
        size_t cap = s->cap ? s->cap : (64u << 10);
        while (cap < s->len + 4 + n)
            cap *= 2;
        char *p = realloc(s->buf, cap);
        if (!p)
            return -1;
        s->buf = p;
        s->cap = cap;
    }
    if (s->noff == s->capoff) {
        size_t cap = s->capoff ? s->capoff * 2 : 4096;
        size_t *p = realloc(s->off, cap * sizeof *p);
        if (!p)
            return -1;
        s->off = p;
        s->capoff = cap;
    }
    uint32_t n32 = (uint32_t)n;
    memcpy(s->buf + s->len, &n32, 4);
    memcpy(s->buf + s->len + 4, rec, n);
    s->off[s->noff++] = s->len;
    s->len += 4 + n;
    s->count++;
    return 0;
}

/* Merges the first FAN_IN runs into one, until FAN_IN or fewer are left. */
static int reduce_runs(sx_extsort *s)
{
    while (s->nruns > FAN_IN) {
        FILE *out = sx_extsort_tmpfile();
        if (!out)
            return -1;
        merger m;
        if (merger_open(&m, s->runs, FAN_IN) < 0) {
            fclose(out);
            return -1;
        }
        memmove(s->runs, s->runs + FAN_IN, (size_t)(s->nruns - FAN_IN) * sizeof *s->runs);
        s->nruns -= FAN_IN;
        const void *rec;
        size_t n;
        int last = -1, rc;
        while ((rc = merger_next(&m, &last, &rec, &n)) == 1) {
            uint32_t n32 = (uint32_t)n;
            if (fwrite(&n32, 4, 1, out) != 1 || fwrite(rec, 1, n, out) != n) {
                rc = -1;
                break;
            }
        }
        merger_free(&m);
        if (rc < 0 || fflush(out) != 0) {
            fclose(out);
            return -1;
        }
        if (add_run(s, out) < 0)
            return -1;
    }
    return 0;
}

int sx_extsort_done(sx_extsort *s)
{
    s->done = 1;
    if (!s->nruns) { /* all in memory */
        if (s->noff)
            qsort_r(s->off, s->noff, sizeof *s->off, by_record, s->buf);
        return 0;
    }
    if (s->noff && spill(s) < 0)
        return -1;
    free(s->buf);
    free(s->off);
    s->buf = NULL;
    s->off = NULL;
    s->cap = s->capoff = 0;
    if (reduce_runs(s) < 0)
        return -1;
    int k = s->nruns;
    s->nruns = 0; /* the merger owns them */
    return merger_open(&s->mg, s->runs, k);
}

int sx_extsort_next(sx_extsort *s, const void **rec, size_t *n)
{
    if (s->buf || !s->mg.rd) {
        if (s->pos >= s->noff)
            return 0;
        const char *r = s->buf + s->off[s->pos++];
        *rec = r + 4;
        *n = get32(r);
        return 1;
    }
    return merger_next(&s->mg, &s->last, rec, n);
}

void sx_extsort_free(sx_extsort *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nruns; i++)
        fclose(s->runs[i]);
    merger_free(&s->mg);
    free(s->runs);
    free(s->buf);
    free(s->off);
    free(s);
}

/* ---- the table ---- */

typedef struct {
    long block;  /* -1: empty */
    char *data;
    size_t len, cap;
    size_t *rows;
    size_t nrows, caprows;
} tab_slot;

struct sx_kvtab {
    FILE *f;
    uint64_t size, block_start;
    uint64_t *boff;      /* block offsets, nblocks + 1 after done */
    char **bkey;         /* first key of each block */
    uint32_t *bkl;
    size_t nblocks, capblocks;
    tab_slot cache[TAB_CACHE];
    int next_slot;
};

static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

sx_kvtab *sx_kvtab_new(void)
{
    sx_kvtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (!(t->f = sx_extsort_tmpfile())) {
        free(t);
        return NULL;
    }
    for (int i = 0; i < TAB_CACHE; i++)
        t->cache[i].block = -1;
    return t;
}

int sx_kvtab_put(sx_kvtab *t, const void *key, size_t kl, uint64_t value)
{
    if (kl > 0xffffffffu) {
        errno = EINVAL;
        return -1;
    }
    if (t->nblocks == 0 || t->size - t->block_start >= TAB_BLOCK) {
        if (t->nblocks + 1 >= t->capblocks) {
            size_t cap = t->capblocks ? t->capblocks * 2 : 64;
            uint64_t *o = realloc(t->boff, cap * sizeof *o);
            if (o)
                t->boff = o;
            char **k = realloc(t->bkey, cap * sizeof *k);
            if (k)
                t->bkey = k;
            uint32_t *l = realloc(t->bkl, cap * sizeof *l);
            if (l)
                t->bkl = l;
            if (!o || !k || !l)
                return -1;
            t->capblocks = cap;
        }
        char *copy = malloc(kl ? kl : 1);
        if (!copy)
            return -1;
        memcpy(copy, key, kl);
        t->boff[t->nblocks] = t->size;
        t->bkey[t->nblocks] = copy;
        t->bkl[t->nblocks] = (uint32_t)kl;
        t->nblocks++;
        t->block_start = t->size;
    }
    uint32_t k32 = (uint32_t)kl;
    if (fwrite(&k32, 4, 1, t->f) != 1 || fwrite(key, 1, kl, t->f) != kl || fwrite(&value, 8, 1, t->f) != 1)
        return -1;
    t->size += 4 + kl + 8;
    return 0;
}

int sx_kvtab_done(sx_kvtab *t)
{
    if (fflush(t->f) != 0)
        return -1;
    if (t->boff)
        t->boff[t->nblocks] = t->size;
    return 0;
}

/* Block b in a cache slot. @return the slot, or NULL on a read error. */
static tab_slot *load_block(sx_kvtab *t, size_t b)
{
    for (int i = 0; i < TAB_CACHE; i++)
        if (t->cache[i].block == (long)b)
            return &t->cache[i];
    tab_slot *s = &t->cache[t->next_slot];
    t->next_slot = (t->next_slot + 1) % TAB_CACHE;
    size_t len = (size_t)(t->boff[b + 1] - t->boff[b]);
    s->block = -1;
    if (len > s->cap) {
        char *p = realloc(s->data, len);
        if (!p)
            return NULL;
        s->data = p;
        s->cap = len;
    }
    ssize_t k = sx_pread_full(fileno(t->f), s->data, len, (off_t)t->boff[b]);
    if (k < 0 || (size_t)k < len) {
        if (k >= 0)
            errno = EIO;
        return NULL;
    }
    s->len = len;
    s->nrows = 0;
    for (size_t p = 0; p + 4 <= len;) {
        if (s->nrows == s->caprows) {
            size_t cap = s->caprows ? s->caprows * 2 : 1024;
            size_t *r = realloc(s->rows, cap * sizeof *r);
            if (!r)
                return NULL;
            s->rows = r;
            s->caprows = cap;
        }
        s->rows[s->nrows++] = p;
        p += 4 + (size_t)get32(s->data + p) + 8;
    }
    s->block = (long)b;
    return s;
}

int sx_kvtab_get(sx_kvtab *t, const void *key, size_t kl, uint64_t *value)
{
    if (!t->nblocks || keycmp(key, kl, t->bkey[0], t->bkl[0]) < 0)
        return 0;
    size_t lo = 0, hi = t->nblocks; /* the last block whose first key <= key */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (keycmp(key, kl, t->bkey[mid], t->bkl[mid]) < 0)
            hi = mid;
        else
            lo = mid;
    }
    tab_slot *s = load_block(t, lo);
    if (!s)
        return -1;
    size_t a = 0, b = s->nrows;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        const char *r = s->data + s->rows[mid];
        int c = keycmp(r + 4, get32(r), key, kl);
        if (c == 0) {
            memcpy(value, r + 4 + get32(r), 8);
            return 1;
        }
        if (c < 0)
            a = mid + 1;
        else
            b = mid;
    }
    return 0;
}

void sx_kvtab_free(sx_kvtab *t)
{
    if (!t)
        return;
    if (t->f)
        fclose(t->f);
    for (size_t i = 0; i < t->nblocks; i++)
        free(t->bkey[i]);
    free(t->bkey);
    free(t->bkl);
    free(t->boff);
    for (int i = 0; i < TAB_CACHE; i++) {
        free(t->cache[i].data);
        free(t->cache[i].rows);
    }
    free(t);
}
