#include "sx_manifest.h"
#include "sx_errbuf.h"
#include "sx_hash.h"
#include "sx_json.h"
#include "sx_safefs.h"
#include "sx_tape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct sx_manifest {
    int fd;               /* -1 when closed */
    int lockfd;           /* holds the lock; -1 when none */
    int dirty;
    int created_root;
    int committed;
    sx_mf_entry *e;
    size_t n, cap;
    size_t *slot;          /* hash of file paths -> entry index + 1 */
    size_t nslot, used;
    sx_buf line;           /* the record being appended */
    int oom;               /* building it ran out of memory */
};

static void rec_raw(sx_manifest *m, const char *s);

static void seterr(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static uint64_t hash(const char *s) { return sx_fnv1a(SX_FNV_BASIS, s, strlen(s)); }

static int index_put(sx_manifest *m, size_t idx)
{
    if ((m->used + 1) * 2 > m->nslot) {
        size_t ns = m->nslot ? m->nslot * 2 : 64;
        size_t *s = calloc(ns, sizeof *s);
        if (!s)
            return -1;
        for (size_t i = 0; i < m->nslot; i++) {
            if (!m->slot[i])
                continue;
            size_t j = hash(m->e[m->slot[i] - 1].path) & (ns - 1);
            while (s[j])
                j = (j + 1) & (ns - 1);
            s[j] = m->slot[i];
        }
        free(m->slot);
        m->slot = s;
        m->nslot = ns;
    }
    size_t j = hash(m->e[idx].path) & (m->nslot - 1);
    while (m->slot[j]) {
        if (!strcmp(m->e[m->slot[j] - 1].path, m->e[idx].path)) {
            m->slot[j] = idx + 1;
            return 0;
        }
        j = (j + 1) & (m->nslot - 1);
    }
    m->slot[j] = idx + 1;
    m->used++;
    return 0;
}

static sx_mf_entry *find(const sx_manifest *m, const char *path)
{
    if (!m->nslot)
        return NULL;
    size_t j = hash(path) & (m->nslot - 1);
    while (m->slot[j]) {
        sx_mf_entry *e = &m->e[m->slot[j] - 1];
        if (!strcmp(e->path, path))
            return e;
        j = (j + 1) & (m->nslot - 1);
    }
    return NULL;
}

static sx_mf_entry *add(sx_manifest *m, sx_mf_state st, const char *path, const char *tmp)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        sx_mf_entry *ne = realloc(m->e, nc * sizeof *ne);
        if (!ne)
            return NULL;
        m->e = ne;
        m->cap = nc;
    }
    sx_mf_entry *e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    e->state = st;
    e->path = strdup(path);
    e->tmp = tmp ? strdup(tmp) : NULL;
    if (!e->path || (tmp && !e->tmp)) {
        free(e->path);
        free(e->tmp);
        return NULL;
    }
    m->n++;
    if (st != SX_MF_DIR && index_put(m, m->n - 1) < 0)
        return NULL;
    return e;
}

/* A record is written for every file: it is built as text, not as a jv. */

/* Starts a record {"op":"NAME" in m->line. */
static void rec_begin(sx_manifest *m, const char *name)
{
    m->line.len = 0;
    m->oom = 0;
    rec_raw(m, "{\"op\":\"");
    rec_raw(m, name);
    rec_raw(m, "\"");
}

static void rec_raw(sx_manifest *m, const char *s)
{
    if (sx_buf_puts(&m->line, s) < 0)
        m->oom = 1;
}

/* ,"key":"value" with value escaped as JSON */
static void rec_str(sx_manifest *m, const char *key, const char *v)
{
    rec_raw(m, ",\"");
    rec_raw(m, key);
    rec_raw(m, "\":");
    if (sx_json_string(&m->line, v, strlen(v)) < 0)
        m->oom = 1;
}

/* Ends the record and appends it to the file. */
static int rec_put(sx_manifest *m)
{
    rec_raw(m, "}\n");
    if (m->oom) {
        errno = ENOMEM;
        return -1;
    }
    int rc = m->fd < 0 ? (errno = EBADF, -1) : sx_write_all(m->fd, m->line.p, m->line.len);
    if (rc == 0)
        m->dirty = 1;
    return rc;
}

static sx_manifest *new_manifest(void)
{
    sx_manifest *m = calloc(1, sizeof *m);
    if (m)
        m->fd = m->lockfd = -1;
    return m;
}

sx_manifest *sx_manifest_create(int rootfd, int created_root, char *err, size_t errlen)
{
    sx_manifest *m = new_manifest();
    if (!m) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    m->created_root = created_root;
    m->fd = openat(rootfd, SX_MANIFEST_NAME, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                   0666);
    if (m->fd < 0) {
        seterr(err, errlen, "cannot create '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        free(m);
        return NULL;
    }
    flock(m->fd, LOCK_EX | LOCK_NB);   /* new: nobody else can hold it */
    rec_begin(m, "begin");
    rec_raw(m, created_root ? ",\"version\":1,\"created_root\":true" : ",\"version\":1,\"created_root\":false");
    if (rec_put(m) < 0 || sx_manifest_sync(m) < 0) {
        seterr(err, errlen, "cannot write '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        unlinkat(rootfd, SX_MANIFEST_NAME, 0);
        sx_manifest_free(m);
        return NULL;
    }
    return m;
}

/* ---- loading: a manifest read back is untrusted bytes ---- */

/* A line longer than any record sx-save writes (paths are at most 4000
 * bytes, each escaped to 6 at most) is not one of its records. */
#define LOAD_LINE_MAX (64u << 10)

typedef struct {
    sx_manifest *m;
    sx_tape *tape;
    const char *name;   /* the manifest, for messages */
    uint64_t lineno;
    char *err;
    size_t errlen;
} loader;

static int refuse(loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(loader *ld, const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    seterr(ld->err, ld->errlen, "%s:%llu: %s: the manifest is torn or was tampered with; nothing was removed",
           ld->name, (unsigned long long)ld->lineno, why);
    errno = EINVAL;
    return -1;
}

/* A string member that is a path sx_path_check() accepts, or NULL. */
static const sx_tnode *path_of(const sx_tnode *rec, const char *key, size_t keylen)
{
    const sx_tnode *p = sx_tape_get(rec, key, keylen);
    return sx_tape_is(p, SX_T_STRING) && !sx_path_check(p->u.str, p->len) ? p : NULL;
}

/* 1 when tmp is a temporary name sx-save gives `path`: in the same
 * directory, sx_tmp_name() of its last component. A tmp naming any other
 * file of DIR would have the rollback remove a file it did not create. */
static int is_tmp_of(const char *path, const char *tmp)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t dir = (size_t)(base - path);
    if (strncmp(path, tmp, dir) != 0 || strchr(tmp + dir, '/'))
        return 0;
    const char *name = tmp + dir, *sx = strstr(name, ".sx-");
    for (const char *next; sx && (next = strstr(sx + 1, ".sx-"));)
        sx = next;
    char *end;
    if (!sx || strlen(sx + 4) != 6 || !strchr("0123456789abcdef", sx[4]))
        return 0;
    unsigned long n = strtoul(sx + 4, &end, 16);
    if (*end)
        return 0;
    char want[300];
    sx_tmp_name(base, (unsigned)n, want, sizeof want);
    return strcmp(name, want) == 0;
}

static int is_sha256(const sx_tnode *s)
{
    if (!sx_tape_is(s, SX_T_STRING) || s->len != 64)
        return 0;
    for (uint32_t i = 0; i < 64; i++)
        if (!strchr("0123456789abcdefABCDEF", s->u.str[i]) || !s->u.str[i])
            return 0;
    return 1;
}

/* One record of the manifest, as sx-save writes them (sx_manifest.h);
 * anything else refuses the whole manifest. */
static int load_record(loader *ld, const char *line, size_t len)
{
    sx_manifest *m = ld->m;
    const sx_tnode *rec = sx_tape_parse(ld->tape, line, len);
    if (!rec)
        return refuse(ld, "not a JSON record (%s)", sx_tape_error(ld->tape));
    const sx_tnode *op = sx_tget(rec, "op");
    if (!sx_tape_is(op, SX_T_STRING))
        return refuse(ld, "a record without \"op\"");
    const char *ops = op->u.str;
    if (ld->lineno == 1 || !strcmp(ops, "begin")) {
        const sx_tnode *v = sx_tget(rec, "version"), *cr = sx_tget(rec, "created_root");
        if (ld->lineno != 1 || strcmp(ops, "begin"))
            return refuse(ld, ld->lineno == 1 ? "the first record is not \"begin\"" : "a second \"begin\" record");
        if (!sx_tape_is(v, SX_T_NUMBER) || v->u.num != 1)
            return refuse(ld, "a manifest of another version");
        if (cr && cr->kind != SX_T_TRUE && cr->kind != SX_T_FALSE)
            return refuse(ld, "\"created_root\" is not true or false");
        m->created_root = sx_tape_is(cr, SX_T_TRUE);
        return 0;
    }
    if (!strcmp(ops, "commit")) {
        m->committed = 1;
        return 0;
    }
    if (!strcmp(ops, "resume"))
        return 0;
    int isdir = !strcmp(ops, "dir"), isfile = !strcmp(ops, "file"), isdone = !strcmp(ops, "done"),
        isdrop = !strcmp(ops, "drop");
    if (!isdir && !isfile && !isdone && !isdrop)
    {
        char q[120];
        return refuse(ld, "an unknown record %s", sx_quote(ops, strlen(ops), 40, q, sizeof q));
    }
    const sx_tnode *path = path_of(rec, "path", 4);
    if (!path)
        return refuse(ld, "a \"%s\" record without an acceptable \"path\"", ops);
    if (isdir)
        return add(m, SX_MF_DIR, path->u.str, NULL) ? 0 : refuse(ld, "out of memory");
    if (isfile) {
        const sx_tnode *tmp = path_of(rec, "tmp", 3);
        if (!tmp || !is_tmp_of(path->u.str, tmp->u.str))
            return refuse(ld, "a \"file\" record whose \"tmp\" is not a temporary name of its path");
        return add(m, SX_MF_PENDING, path->u.str, tmp->u.str) ? 0 : refuse(ld, "out of memory");
    }
    sx_mf_entry *e = find(m, path->u.str);
    if (!e)
        return refuse(ld, "a \"%s\" record for a path without a \"file\" record", ops);
    if (isdrop) {
        e->state = SX_MF_DROPPED;
        return 0;
    }
    const sx_tnode *size = sx_tget(rec, "size"), *sha = sx_tget(rec, "sha256");
    /* sizes are whole numbers a double holds exactly: 2^53 is 8 PiB */
    if (!sx_tape_is(size, SX_T_NUMBER) || !(size->u.num >= 0 && size->u.num <= 9007199254740992.0) ||
        size->u.num != (double)(int64_t)size->u.num)
        return refuse(ld, "a \"done\" record without a whole, non-negative \"size\"");
    if (!is_sha256(sha))
        return refuse(ld, "a \"done\" record without a \"sha256\" of 64 hex digits");
    e->state = SX_MF_DONE;
    e->size = (int64_t)size->u.num;
    memcpy(e->sha256, sha->u.str, 64);
    e->sha256[64] = 0;
    return 0;
}

/* The manifest's path for messages: DIR/.sx-manifest.ndjson as the
 * directory descriptor names it, else the bare name. */
static void manifest_name(int rootfd, char *out, size_t n)
{
    char link[64], dir[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", rootfd);
    ssize_t k = readlink(link, dir, sizeof dir - 1);
    if (k > 0 && dir[0] == '/') {
        dir[k] = 0;
        snprintf(out, n, "%s/%s", dir, SX_MANIFEST_NAME);
    } else {
        snprintf(out, n, "%s", SX_MANIFEST_NAME);
    }
}

/* Reads every complete line of fd into m. @complete set to the bytes up to
 * the last '\n' (a cut record after it is never acted on). @return 0, or -1
 * with the message set. */
static int load_lines(loader *ld, int fd, off_t *complete)
{
    char *buf = malloc(LOAD_LINE_MAX + 1);
    if (!buf) {
        seterr(ld->err, ld->errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    size_t have = 0;
    off_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t k = read(fd, buf + have, LOAD_LINE_MAX + 1 - have);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            seterr(ld->err, ld->errlen, "cannot read '%s': %s", ld->name, strerror(e));
            errno = e;
            rc = -1;
            break;
        }
        have += (size_t)k;
        char *p = buf, *nl;
        while (rc == 0 && (nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
            ld->lineno++;
            rc = load_record(ld, p, (size_t)(nl - p));
            off += nl + 1 - p;
            p = nl + 1;
        }
        if (rc < 0)
            break;
        have -= (size_t)(p - buf);
        memmove(buf, p, have);
        if (have > LOAD_LINE_MAX) {
            ld->lineno++;
            rc = refuse(ld, "a line longer than %u bytes", LOAD_LINE_MAX);
            break;
        }
        if (k == 0)
            break; /* what is left has no '\n': a record cut by a crash */
    }
    free(buf);
    *complete = off;
    return rc;
}

sx_manifest *sx_manifest_load(int rootfd, int append, char *err, size_t errlen)
{
    int fd = openat(rootfd, SX_MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        seterr(err, errlen, "cannot open '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        errno = e;
        return NULL;
    }
    /* a live sx-save holds the lock; a crashed one held it until it died */
    int lockfd = dup(fd);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno == EWOULDBLOCK ? EBUSY : errno;
        if (e == EBUSY)
            seterr(err, errlen, "the export is in use by a running sx-save");
        else
            seterr(err, errlen, "cannot lock '%s': %s", SX_MANIFEST_NAME, strerror(e));
        if (lockfd >= 0)
            close(lockfd);
        close(fd);
        errno = e;
        return NULL;
    }
    char name[4200];
    manifest_name(rootfd, name, sizeof name);
    sx_manifest *m = new_manifest();
    loader ld = {.m = m, .tape = sx_tape_new(), .name = name, .err = err, .errlen = errlen};
    off_t complete = 0;
    if (!m || !ld.tape) {
        seterr(err, errlen, "out of memory");
        errno = ENOMEM;
    }
    int rc = m && ld.tape ? load_lines(&ld, fd, &complete) : -1;
    int e = errno;
    sx_tape_free(ld.tape);
    close(fd);
    if (rc < 0) {
        close(lockfd);
        sx_manifest_free(m);
        errno = e;
        return NULL;
    }
    m->lockfd = lockfd;
    if (append) {
        m->fd = openat(rootfd, SX_MANIFEST_NAME, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        /* a record a crash cut goes: the next one starts on a line of its
         * own; a begin record a crash cut is written again (what it said
         * about DIR is lost: DIR is not removed) */
        int bad = m->fd < 0 || ftruncate(m->fd, complete) < 0;
        if (!bad && ld.lineno == 0) {
            rec_begin(m, "begin");
            rec_raw(m, ",\"version\":1,\"created_root\":false");
            bad = rec_put(m) < 0;
        }
        if (bad) {
            seterr(err, errlen, "cannot write '%s': %s", name, strerror(errno));
            sx_manifest_free(m);
            return NULL;
        }
    }
    return m;
}

int sx_manifest_dir(sx_manifest *m, const char *path)
{
    if (!add(m, SX_MF_DIR, path, NULL)) {
        errno = ENOMEM;
        return -1;
    }
    rec_begin(m, "dir");
    rec_str(m, "path", path);
    return rec_put(m);
}

int sx_manifest_file(sx_manifest *m, const char *path, const char *tmp)
{
    if (!add(m, SX_MF_PENDING, path, tmp)) {
        errno = ENOMEM;
        return -1;
    }
    rec_begin(m, "file");
    rec_str(m, "path", path);
    rec_str(m, "tmp", tmp);
    return rec_put(m);
}

int sx_manifest_done(sx_manifest *m, const char *path, int64_t size, const char *sha256)
{
    sx_mf_entry *e = find(m, path);
    if (e) {
        e->state = SX_MF_DONE;
        e->size = size;
        snprintf(e->sha256, sizeof e->sha256, "%s", sha256);
    }
    char num[32];
    snprintf(num, sizeof num, ",\"size\":%lld", (long long)size);
    rec_begin(m, "done");
    rec_str(m, "path", path);
    rec_raw(m, num);
    rec_str(m, "sha256", sha256);
    return rec_put(m);
}

int sx_manifest_drop(sx_manifest *m, const char *path)
{
    sx_mf_entry *e = find(m, path);
    if (e)
        e->state = SX_MF_DROPPED;
    rec_begin(m, "drop");
    rec_str(m, "path", path);
    return rec_put(m);
}

int sx_manifest_resume(sx_manifest *m)
{
    rec_begin(m, "resume");
    return rec_put(m);
}

int sx_manifest_sync(sx_manifest *m)
{
    if (!m->dirty)
        return 0;
    if (fdatasync(m->fd) < 0)
        return -1;
    m->dirty = 0;
    return 0;
}

int sx_manifest_commit(sx_manifest *m, uint64_t files)
{
    if (sx_manifest_sync(m) < 0)
        return -1;
    char num[40];
    snprintf(num, sizeof num, ",\"files\":%llu", (unsigned long long)files);
    rec_begin(m, "commit");
    rec_raw(m, num);
    if (rec_put(m) < 0)
        return -1;
    if (sx_manifest_sync(m) < 0)
        return -1;
    m->committed = 1;
    return 0;
}

int sx_manifest_committed(const sx_manifest *m) { return m->committed; }

int sx_manifest_fd(const sx_manifest *m) { return m->fd; }

int sx_manifest_created_root(const sx_manifest *m) { return m->created_root; }

const sx_mf_entry *sx_manifest_find(const sx_manifest *m, const char *path) { return find(m, path); }

size_t sx_manifest_count(const sx_manifest *m) { return m->n; }

const sx_mf_entry *sx_manifest_entry(const sx_manifest *m, size_t i) { return i < m->n ? &m->e[i] : NULL; }

int sx_manifest_clean_pending(sx_manifest *m, int rootfd, char *err, size_t errlen)
{
    for (size_t i = m->n; i-- > 0;) {
        sx_mf_entry *e = &m->e[i];
        if (e->state != SX_MF_PENDING || find(m, e->path) != e)
            continue;
        if ((e->tmp && sx_unlink_at(rootfd, e->tmp) < 0) || sx_unlink_at(rootfd, e->path) < 0) {
            seterr(err, errlen, "cannot remove '%s': %s", e->path, strerror(errno));
            return -1;
        }
        if (sx_manifest_drop(m, e->path) < 0) {
            seterr(err, errlen, "cannot write '%s': %s", SX_MANIFEST_NAME, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int sx_manifest_rollback(sx_manifest *m, int rootfd, size_t *removed, char *err, size_t errlen)
{
    size_t count = 0;
    int rc = 0;
    struct stat st;
    for (size_t i = m->n; i-- > 0;) {
        sx_mf_entry *e = &m->e[i];
        if (e->tmp && sx_stat_at(rootfd, e->tmp, &st) == 0) {
            if (sx_unlink_at(rootfd, e->tmp) < 0 && rc == 0) {
                seterr(err, errlen, "cannot remove '%s': %s", e->tmp, strerror(errno));
                rc = -1;
            }
        }
        /* a path recorded twice (dropped, then written again) is removed
         * only through its latest entry */
        if (e->state == SX_MF_DIR || e->state == SX_MF_DROPPED || find(m, e->path) != e) {
            if (e->state != SX_MF_DIR)
                continue;
        }
        if (sx_stat_at(rootfd, e->path, &st) < 0)
            continue;
        int r;
        if (e->state == SX_MF_DIR) {
            r = sx_rmdir_at(rootfd, e->path);
            if (r < 0 && (errno == ENOTEMPTY || errno == EEXIST))
                continue;   /* holds something not ours: leave it */
        } else {
            r = sx_unlink_at(rootfd, e->path);
        }
        if (r < 0) {
            if (rc == 0)
                seterr(err, errlen, "cannot remove '%s': %s", e->path, strerror(errno));
            rc = -1;
        } else {
            count++;
        }
    }
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
    if (m->lockfd >= 0) {
        close(m->lockfd);
        m->lockfd = -1;
    }
    if (rc == 0 && unlinkat(rootfd, SX_MANIFEST_NAME, 0) < 0 && errno != ENOENT) {
        seterr(err, errlen, "cannot remove '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        rc = -1;
    }
    fsync(rootfd);
    if (removed)
        *removed = count;
    return rc;
}

void sx_manifest_free(sx_manifest *m)
{
    if (!m)
        return;
    if (m->fd >= 0)
        close(m->fd);
    if (m->lockfd >= 0)
        close(m->lockfd);
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].path);
        free(m->e[i].tmp);
    }
    free(m->e);
    free(m->slot);
    sx_buf_free(&m->line);
    free(m);
}
