#include "sx_manifest.h"
#include "sx_bloom.h"
#include "sx_errbuf.h"
#include "sx_extsort.h"
#include "sx_hash.h"
#include "sx_json.h"
#include "sx_safefs.h"
#include "sx_tape.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct sx_manifest {
    int fd;               /* -1 when closed */
    int lockfd;           /* holds the lock; -1 when none */
    int rfd;              /* streamed: reads the records back; -1 when none */
    int indexed;          /* entries are kept in memory (loaded manifests) */
    off_t size;           /* bytes of complete records (streamed) */
    size_t run_start;     /* indexed: the first entry of this run */
    int dirty;
    int created_root;
    int committed;
    sx_mf_entry *e;
    size_t n, cap;
    size_t *slot;          /* hash of file paths -> entry index + 1 */
    size_t nslot, used;
    sx_buf line;           /* the record being appended */
    int oom;               /* building it ran out of memory */
    off_t run_off;         /* streamed: where this run's records begin */
    sx_kvtab *earlier;     /* reopened: path -> offset of its done record */
    sx_tape *ftape;        /* reopened: sx_manifest_find()'s reading */
    char *fbuf;
    sx_mf_entry found;     /* what sx_manifest_find() answered last */
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
    if (rc == 0) {
        m->dirty = 1;
        m->size += (off_t)m->line.len;
    } else if (m->fd >= 0 && m->size > 0) {
        /* a record cut by a full disk goes: the manifest stays whole lines,
         * which is what reading it back (the rollback) relies on */
        int err = errno;
        if (ftruncate(m->fd, m->size) < 0) {
            /* left as it is: the reader skips a line it cannot parse */
        }
        errno = err;
    }
    return rc;
}

static sx_manifest *new_manifest(void)
{
    sx_manifest *m = calloc(1, sizeof *m);
    if (m)
        m->fd = m->lockfd = m->rfd = -1;
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
    m->rfd = openat(rootfd, SX_MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (m->rfd < 0) {
        seterr(err, errlen, "cannot open '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        unlinkat(rootfd, SX_MANIFEST_NAME, 0);
        sx_manifest_free(m);
        return NULL;
    }
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
    sx_bloom *files;    /* streamed: the paths with a "file" record (else
                           the entries of m are kept and looked up) */
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
        return ld->files || add(m, SX_MF_DIR, path->u.str, NULL) ? 0 : refuse(ld, "out of memory");
    if (isfile) {
        const sx_tnode *tmp = path_of(rec, "tmp", 3);
        if (!tmp || !is_tmp_of(path->u.str, tmp->u.str))
            return refuse(ld, "a \"file\" record whose \"tmp\" is not a temporary name of its path");
        if (ld->files) {
            sx_bloom_add(ld->files, path->u.str, path->len);
            return 0;
        }
        return add(m, SX_MF_PENDING, path->u.str, tmp->u.str) ? 0 : refuse(ld, "out of memory");
    }
    /* streamed, a filter's yes may be a false one: a done or drop record
     * then passes this check, which the rollback can bear (it acts on done
     * records as on file records, and a drop only keeps it from removing) */
    sx_mf_entry *e = ld->files ? NULL : find(m, path->u.str);
    if (ld->files ? !sx_bloom_maybe(ld->files, path->u.str, path->len) : !e)
        return refuse(ld, "a \"%s\" record for a path without a \"file\" record", ops);
    if (isdrop) {
        if (e)
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
    if (e) {
        e->state = SX_MF_DONE;
        e->size = (int64_t)size->u.num;
        memcpy(e->sha256, sha->u.str, 64);
        e->sha256[64] = 0;
    }
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

/* Locks and reads the manifest. `streamed`: checks every record but keeps
 * none (a filter of the file paths for the done and drop records' check),
 * and keeps the file open to read it again. */
static sx_manifest *load(int rootfd, int append, int streamed, char *err, size_t errlen)
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
    if (streamed)
        ld.files = sx_bloom_new(0);
    off_t complete = 0;
    if (!m || !ld.tape || (streamed && !ld.files)) {
        seterr(err, errlen, "out of memory");
        errno = ENOMEM;
    }
    int rc = m && ld.tape && (ld.files || !streamed) ? load_lines(&ld, fd, &complete) : -1;
    int e = errno;
    sx_tape_free(ld.tape);
    sx_bloom_free(ld.files);
    if (rc < 0) {
        close(fd);
        close(lockfd);
        sx_manifest_free(m);
        errno = e;
        return NULL;
    }
    if (streamed)
        m->rfd = fd;
    else
        close(fd);
    m->indexed = !streamed;
    m->size = complete;
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

sx_manifest *sx_manifest_load(int rootfd, int append, char *err, size_t errlen)
{
    return load(rootfd, append, 0, err, errlen);
}

sx_manifest *sx_manifest_open(int rootfd, char *err, size_t errlen)
{
    return load(rootfd, 0, 1, err, errlen);
}

int sx_manifest_dir(sx_manifest *m, const char *path)
{
    if (m->indexed && !add(m, SX_MF_DIR, path, NULL)) {
        errno = ENOMEM;
        return -1;
    }
    rec_begin(m, "dir");
    rec_str(m, "path", path);
    return rec_put(m);
}

int sx_manifest_file(sx_manifest *m, const char *path, const char *tmp)
{
    if (m->indexed && !add(m, SX_MF_PENDING, path, tmp)) {
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
    m->run_start = m->n;
    m->run_off = m->size;
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

static const sx_mf_entry *find_earlier(sx_manifest *m, const char *path);

const sx_mf_entry *sx_manifest_find(sx_manifest *m, const char *path)
{
    return m->indexed ? find(m, path) : m->earlier ? find_earlier(m, path) : NULL;
}

size_t sx_manifest_count(const sx_manifest *m) { return m->n; }

const sx_mf_entry *sx_manifest_entry(const sx_manifest *m, size_t i) { return i < m->n ? &m->e[i] : NULL; }

/* A file a crash left pending: its temporary and final names removed, and
 * the path recorded dropped. @return 0, or -1 with a message in err. */
static int drop_pending(sx_manifest *m, int rootfd, const char *path, const char *tmp, char *err, size_t errlen)
{
    if ((tmp && sx_unlink_at(rootfd, tmp) < 0) || sx_unlink_at(rootfd, path) < 0) {
        seterr(err, errlen, "cannot remove '%s': %s", path, strerror(errno));
        return -1;
    }
    if (sx_manifest_drop(m, path) < 0) {
        seterr(err, errlen, "cannot write '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        return -1;
    }
    return 0;
}

int sx_manifest_clean_pending(sx_manifest *m, int rootfd, char *err, size_t errlen)
{
    for (size_t i = m->n; i-- > 0;) {
        sx_mf_entry *e = &m->e[i];
        if (e->state == SX_MF_PENDING && find(m, e->path) == e &&
            drop_pending(m, rootfd, e->path, e->tmp, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int rollback_streamed(sx_manifest *m, int rootfd, size_t *removed, char *err, size_t errlen);

/* After a rollback: the manifest closed, unlocked and removed. */
static int rollback_close(sx_manifest *m, int rootfd, int rc, char *err, size_t errlen)
{
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
    if (m->rfd >= 0) {
        close(m->rfd);
        m->rfd = -1;
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
    return rc;
}

int sx_manifest_rollback(sx_manifest *m, int rootfd, size_t *removed, char *err, size_t errlen)
{
    if (!m->indexed)
        return rollback_streamed(m, rootfd, removed, err, errlen);
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
    rc = rollback_close(m, rootfd, rc, err, errlen);
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
    if (m->rfd >= 0)
        close(m->rfd);
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].path);
        free(m->e[i].tmp);
    }
    free(m->e);
    free(m->slot);
    sx_buf_free(&m->line);
    sx_kvtab_free(m->earlier);
    sx_tape_free(m->ftape);
    free(m->fbuf);
    free(m);
}

/* ---- streamed: the records read back from the file, never all held ---- */

/* Called with each record read back and its offset in the file; a non-zero
 * return stops the scan with that value. */
typedef int (*rec_fn)(void *ctx, off_t off, const sx_tnode *rec);

#define SCAN_BUF (4 * LOAD_LINE_MAX)

/* One line: parsed and handed on. A line that does not parse (only a
 * record a failed write cut, in a manifest that could not be truncated) is
 * skipped: its file or directory was never created. */
static int scan_line(sx_tape *tape, off_t off, const char *p, size_t len, rec_fn fn, void *ctx)
{
    const sx_tnode *rec = sx_tape_parse(tape, p, len);
    return rec ? fn(ctx, off, rec) : 0;
}

/* The records in [from, to), first to last. @return 0, fn's non-zero value,
 * or -1 with errno (a read error, out of memory). */
static int scan_forward(int fd, off_t from, off_t to, rec_fn fn, void *ctx)
{
    char *buf = malloc(SCAN_BUF);
    sx_tape *tape = sx_tape_new();
    int rc = 0;
    if (!buf || !tape) {
        rc = -1;
        errno = ENOMEM;
    }
    size_t have = 0;
    off_t at = from;   /* the file offset of buf[0] */
    while (rc == 0 && at + (off_t)have < to) {
        size_t want = SCAN_BUF - have;
        if ((off_t)want > to - at - (off_t)have)
            want = (size_t)(to - at - (off_t)have);
        ssize_t k = sx_pread_full(fd, buf + have, want, at + (off_t)have);
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            rc = -1;
            break;
        }
        have += (size_t)k;
        char *p = buf, *nl;
        while (rc == 0 && (nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
            rc = scan_line(tape, at + (p - buf), p, (size_t)(nl - p), fn, ctx);
            p = nl + 1;
        }
        at += p - buf;
        have -= (size_t)(p - buf);
        memmove(buf, p, have);
        if (have == SCAN_BUF) {   /* a line longer than any record */
            errno = EINVAL;
            rc = -1;
        }
    }
    free(buf);
    sx_tape_free(tape);
    return rc;
}

/* The records in [0, to), last to first (to is just after a '\n'). */
static int scan_backward(int fd, off_t to, rec_fn fn, void *ctx)
{
    char *buf = malloc(SCAN_BUF);
    sx_tape *tape = sx_tape_new();
    int rc = 0;
    if (!buf || !tape) {
        rc = -1;
        errno = ENOMEM;
    }
    off_t hi = to;   /* the lines before hi are still to be read */
    while (rc == 0 && hi > 0) {
        off_t lo = hi > SCAN_BUF ? hi - SCAN_BUF : 0;
        size_t n = (size_t)(hi - lo);
        ssize_t got = sx_pread_full(fd, buf, n, lo);
        if (got < 0 || (size_t)got < n) {
            if (got >= 0)
                errno = EIO;
            rc = -1;
            break;
        }
        size_t end = n;   /* buf[end - 1] ends the line to read next */
        while (rc == 0 && end > 0) {
            char *nl = end > 1 ? memrchr(buf, '\n', end - 1) : NULL;
            size_t start = nl ? (size_t)(nl - buf) + 1 : 0;
            if (!nl && lo > 0)
                break;   /* the line starts before the buffer */
            rc = scan_line(tape, lo + (off_t)start, buf + start, end - 1 - start, fn, ctx);
            end = start;
        }
        if (rc == 0 && end == n) {   /* a line longer than any record */
            errno = EINVAL;
            rc = -1;
        }
        hi = lo + (off_t)end;
    }
    free(buf);
    sx_tape_free(tape);
    return rc;
}

/* A record's op, and its path (NULL when it has none sx-save would write). */
static const char *rec_op(const sx_tnode *rec, const sx_tnode **path)
{
    const sx_tnode *op = sx_tget(rec, "op");
    *path = path_of(rec, "path", 4);
    return sx_tape_is(op, SX_T_STRING) ? op->u.str : "";
}

/* The streamed rollback (sx_manifest.h says what it removes). Pass one,
 * last record first, removes the files: a file record's temporary name, and
 * its final name unless a later record names the path (a drop, or the same
 * file written again by a --resume run, which was dealt with first). The
 * paths seen are kept in a filter: a path it has not seen is removed at
 * once; one it may have seen (seen, or a false positive) and that is on
 * disk is a candidate, settled by reading the records after it (in batches
 * of CANDIDATES: one forward read each). Pass two, last record first,
 * removes the directories left empty. */
#define CANDIDATES 4096

typedef struct {
    char *path;
    off_t off;         /* its file record */
    int later;         /* a later record names the path */
} candidate;

typedef struct {
    sx_manifest *m;
    int rootfd;
    sx_bloom *seen;
    candidate *c;
    size_t nc;
    off_t cmin;
    int dirfd;         /* the directory of the last file dealt with */
    char *dir;         /* its path, dirlen bytes */
    size_t dirlen;
    size_t removed;
    int rc;
    char *err;
    size_t errlen;
} rollback_run;

static void rb_error(rollback_run *r, const char *path)
{
    if (r->rc == 0)
        seterr(r->err, r->errlen, "cannot remove '%s': %s", path, strerror(errno));
    r->rc = -1;
}

/* The directory holding `path`, opened without following links
 * (sx_open_parent()); the files of one directory come together in the
 * manifest, so it is opened once for them. @base set to the last component.
 * @return the descriptor (the run's: not to be closed), or -1 with errno. */
static int rb_parent(rollback_run *r, const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    *base = slash ? slash + 1 : path;
    if (r->dirfd >= 0 && r->dirlen == dl && !memcmp(r->dir, path, dl))
        return r->dirfd;
    if (r->dirfd >= 0)
        close(r->dirfd);
    r->dirfd = -1;
    char *d = realloc(r->dir, dl + 1);
    if (!d)
        return -1;
    r->dir = d;
    int fd = sx_open_parent(r->rootfd, path, 0, NULL, NULL, base);
    if (fd < 0)
        return -1;
    memcpy(r->dir, path, dl);
    r->dirlen = dl;
    r->dirfd = fd;
    return fd;
}

/* Removes the file `path` (base in dirfd) when it is there. */
static void rb_unlink(rollback_run *r, int dirfd, const char *base, const char *path)
{
    if (unlinkat(dirfd, base, 0) == 0)
        r->removed++;
    else if (errno != ENOENT)
        rb_error(r, path);
}

/* Removes the file `path` when it is there: a directory on its way that is
 * missing, or a link or a file, holds nothing of the export's. */
static void rb_remove(rollback_run *r, const char *path)
{
    const char *base;
    int fd = rb_parent(r, path, &base);
    if (fd >= 0)
        rb_unlink(r, fd, base, path);
    else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        rb_error(r, path);
}

static int cand_cmp(const void *a, const void *b)
{
    return strcmp(((const candidate *)a)->path, ((const candidate *)b)->path);
}

static int rb_mark_later(void *ctx, off_t off, const sx_tnode *rec)
{
    rollback_run *r = ctx;
    const sx_tnode *path;
    const char *op = rec_op(rec, &path);
    if (!path || (strcmp(op, "file") && strcmp(op, "drop")))
        return 0;
    candidate key = {.path = (char *)path->u.str};
    candidate *c = bsearch(&key, r->c, r->nc, sizeof *r->c, cand_cmp);
    if (!c)
        return 0;
    while (c > r->c && !strcmp(c[-1].path, key.path))
        c--;
    for (; c < r->c + r->nc && !strcmp(c->path, key.path); c++)
        if (off > c->off)
            c->later = 1;
    return 0;
}

/* Settles the candidates: those no later record names are removed. */
static int rb_settle(rollback_run *r)
{
    if (!r->nc)
        return 0;
    qsort(r->c, r->nc, sizeof *r->c, cand_cmp);
    if (scan_forward(r->m->rfd, r->cmin, r->m->size, rb_mark_later, r) < 0)
        return -1;
    for (size_t i = 0; i < r->nc; i++) {
        if (!r->c[i].later)
            rb_remove(r, r->c[i].path);
        free(r->c[i].path);
    }
    r->nc = 0;
    return 0;
}

static int rb_file(void *ctx, off_t off, const sx_tnode *rec)
{
    rollback_run *r = ctx;
    const sx_tnode *path, *tmp = path_of(rec, "tmp", 3);
    const char *op = rec_op(rec, &path);
    if (!path)
        return 0;
    if (!strcmp(op, "drop")) {
        sx_bloom_add(r->seen, path->u.str, path->len);
        return 0;
    }
    if (strcmp(op, "file"))
        return 0;
    const char *base;
    int dfd = rb_parent(r, path->u.str, &base);
    if (dfd < 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            rb_error(r, path->u.str);
        return 0;   /* no directory: neither name is there */
    }
    /* the temporary name is in the same directory (is_tmp_of()) */
    size_t dl = (size_t)(base - path->u.str);
    if (tmp && tmp->len > dl && !strncmp(tmp->u.str, path->u.str, dl) && !strchr(tmp->u.str + dl, '/')) {
        if (unlinkat(dfd, tmp->u.str + dl, 0) < 0 && errno != ENOENT)
            rb_error(r, tmp->u.str);
    } else if (tmp && sx_unlink_at(r->rootfd, tmp->u.str) < 0) {
        rb_error(r, tmp->u.str);
    }
    if (!sx_bloom_maybe(r->seen, path->u.str, path->len)) {
        sx_bloom_add(r->seen, path->u.str, path->len);
        rb_unlink(r, dfd, base, path->u.str);
        return 0;
    }
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;   /* nothing there either way */
    candidate *c = &r->c[r->nc++];
    if (!(c->path = strdup(path->u.str))) {
        r->nc--;
        errno = ENOMEM;
        return -1;
    }
    c->off = off;
    c->later = 0;
    if (r->nc == 1 || off < r->cmin)
        r->cmin = off;
    return r->nc == CANDIDATES ? rb_settle(r) : 0;
}

static int rb_dir(void *ctx, off_t off, const sx_tnode *rec)
{
    (void)off;
    rollback_run *r = ctx;
    const sx_tnode *path;
    const char *op = rec_op(rec, &path);
    struct stat st;
    if (!path || strcmp(op, "dir") || sx_stat_at(r->rootfd, path->u.str, &st) < 0)
        return 0;
    if (sx_rmdir_at(r->rootfd, path->u.str) == 0)
        r->removed++;
    else if (errno != ENOTEMPTY && errno != EEXIST)   /* holds something not ours: left */
        rb_error(r, path->u.str);
    return 0;
}

static int rollback_streamed(sx_manifest *m, int rootfd, size_t *removed, char *err, size_t errlen)
{
    rollback_run r = {.m = m, .rootfd = rootfd, .dirfd = -1, .err = err, .errlen = errlen};
    r.seen = sx_bloom_new(0);
    r.c = malloc(CANDIDATES * sizeof *r.c);
    int rc = -1;
    if (!r.seen || !r.c || m->rfd < 0)
        errno = ENOMEM;
    else if (scan_backward(m->rfd, m->size, rb_file, &r) == 0 && rb_settle(&r) == 0) {
        if (r.dirfd >= 0)
            close(r.dirfd);
        r.dirfd = -1;
        rc = scan_backward(m->rfd, m->size, rb_dir, &r);
    }
    if (r.dirfd >= 0)
        close(r.dirfd);
    free(r.dir);
    if (rc < 0)
        seterr(err, errlen, "cannot read '%s' back: %s", SX_MANIFEST_NAME, strerror(errno));
    for (size_t i = 0; i < r.nc; i++)
        free(r.c[i].path);
    free(r.c);
    sx_bloom_free(r.seen);
    if (rc == 0)
        rc = r.rc;
    else
        r.rc = rc;   /* nothing removed past the failure: the manifest stays */
    rc = rollback_close(m, rootfd, rc, err, errlen);
    if (removed)
        *removed = r.removed;
    return rc;
}

/* ---- questions answered by reading the records back ---- */

typedef struct {
    int (*each)(void *ctx, const char *dir);
    void *ctx;
    const char *path;   /* run_has: the path asked about */
} ask;

static int ask_dir(void *ctx, off_t off, const sx_tnode *rec)
{
    (void)off;
    ask *a = ctx;
    const sx_tnode *path;
    const char *op = rec_op(rec, &path);
    return path && !strcmp(op, "dir") && a->each(a->ctx, path->u.str) < 0 ? 2 : 0;
}

int sx_manifest_each_dir(sx_manifest *m, int (*each)(void *ctx, const char *dir), void *ctx)
{
    if (m->indexed) {
        for (size_t i = 0; i < m->n; i++)
            if (m->e[i].state == SX_MF_DIR && each(ctx, m->e[i].path) < 0)
                return -1;
        return 0;
    }
    ask a = {.each = each, .ctx = ctx};
    int rc = scan_forward(m->rfd, 0, m->size, ask_dir, &a);
    return rc == 0 ? 0 : -1;
}

static int ask_file(void *ctx, off_t off, const sx_tnode *rec)
{
    (void)off;
    ask *a = ctx;
    const sx_tnode *path;
    const char *op = rec_op(rec, &path);
    return path && !strcmp(op, "file") && !strcmp(path->u.str, a->path) ? 1 : 0;
}

int sx_manifest_run_has(const sx_manifest *m, const char *path)
{
    if (m->indexed) {
        const sx_mf_entry *e = find(m, path);
        return e && (size_t)(e - m->e) >= m->run_start;
    }
    ask a = {.path = path};
    return scan_forward(m->rfd, m->run_off, m->size, ask_file, &a);
}

/* ---- --resume: the earlier runs' records, sorted on disk ---- */

/* Reopening reads every file, done and drop record into a sorter, as
 * [u32 path length][path][u64 big-endian offset][op][tmp] (sx_extsort.h's
 * record), so that the records of a path come together, oldest first: the
 * last one is the path's state. A file record last is a file a crash left
 * pending: it is removed and dropped. A done record last is a file the
 * earlier runs finished: its path goes into a table with the offset of the
 * record, which sx_manifest_find() reads back. */
typedef struct {
    sx_extsort *sort;
    sx_buf rec;
} reindex;

static int ri_record(void *ctx, off_t off, const sx_tnode *rec)
{
    reindex *ri = ctx;
    const sx_tnode *path, *tmp = NULL;
    const char *op = rec_op(rec, &path);
    char kind = !strcmp(op, "file") ? 'f' : !strcmp(op, "done") ? 'd' : !strcmp(op, "drop") ? 'x' : 0;
    if (!path || !kind)
        return 0;
    if (kind == 'f' && !(tmp = path_of(rec, "tmp", 3)))
        return 0;
    uint32_t kl = path->len;
    unsigned char seq[8];
    for (int i = 0; i < 8; i++)
        seq[i] = (unsigned char)((uint64_t)off >> (56 - 8 * i));
    ri->rec.len = 0;
    if (sx_buf_put(&ri->rec, &kl, 4) < 0 || sx_buf_put(&ri->rec, path->u.str, kl) < 0 ||
        sx_buf_put(&ri->rec, seq, 8) < 0 || sx_buf_put(&ri->rec, &kind, 1) < 0 ||
        (tmp && sx_buf_put(&ri->rec, tmp->u.str, tmp->len) < 0))
        return errno = ENOMEM, -1;
    return sx_extsort_add(ri->sort, ri->rec.p, ri->rec.len) < 0 ? -1 : 0;
}

/* The last record of one path (r, n: a sorter's record): a pending file is
 * removed and dropped, a done one goes into the table. */
static int ri_settle(sx_manifest *m, int rootfd, const char *r, size_t n, char *err, size_t errlen)
{
    uint32_t kl;
    memcpy(&kl, r, 4);
    const char *kind = r + 4 + kl + 8;
    char path[PATH_MAX], tmp[PATH_MAX];
    size_t tl = n - (4 + kl + 9);
    if (kl >= sizeof path || tl >= sizeof tmp)
        return 0;   /* longer than sx_path_check() lets through */
    memcpy(path, r + 4, kl);
    path[kl] = 0;
    if (*kind == 'd') {
        uint64_t off = 0;
        for (int i = 0; i < 8; i++)
            off = off << 8 | (unsigned char)r[4 + kl + i];
        if (sx_kvtab_put(m->earlier, path, kl, off) < 0) {
            seterr(err, errlen, "cannot index '%s': %s", SX_MANIFEST_NAME, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (*kind != 'f')
        return 0;
    memcpy(tmp, kind + 1, tl);
    tmp[tl] = 0;
    return drop_pending(m, rootfd, path, tmp, err, errlen);
}

static int reindex_earlier(sx_manifest *m, int rootfd, char *err, size_t errlen)
{
    reindex ri = {.sort = sx_extsort_new(2u << 20)};
    sx_buf last = {0};
    int rc = -1;
    m->earlier = sx_kvtab_new();
    m->ftape = sx_tape_new();
    m->fbuf = malloc(LOAD_LINE_MAX + 1);
    if (!ri.sort || !m->earlier || !m->ftape || !m->fbuf) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    if (scan_forward(m->rfd, 0, m->size, ri_record, &ri) < 0 || sx_extsort_done(ri.sort) < 0) {
        seterr(err, errlen, "cannot read '%s' back: %s", SX_MANIFEST_NAME, strerror(errno));
        goto out;
    }
    const void *r;
    size_t n;
    int got;
    while ((got = sx_extsort_next(ri.sort, &r, &n)) == 1) {
        uint32_t kl, ll;
        memcpy(&kl, r, 4);
        if (last.len) {
            memcpy(&ll, last.p, 4);
            if (ll != kl || memcmp(last.p + 4, (const char *)r + 4, kl)) {
                if (ri_settle(m, rootfd, last.p, last.len, err, errlen) < 0)
                    goto out;
            }
        }
        last.len = 0;
        if (sx_buf_put(&last, r, n) < 0) {
            seterr(err, errlen, "out of memory");
            goto out;
        }
    }
    if (got < 0) {
        seterr(err, errlen, "cannot read '%s' back: %s", SX_MANIFEST_NAME, strerror(errno));
        goto out;
    }
    if (last.len && ri_settle(m, rootfd, last.p, last.len, err, errlen) < 0)
        goto out;
    if (sx_kvtab_done(m->earlier) < 0) {
        seterr(err, errlen, "cannot index '%s': %s", SX_MANIFEST_NAME, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    sx_extsort_free(ri.sort);
    sx_buf_free(&ri.rec);
    sx_buf_free(&last);
    return rc;
}

sx_manifest *sx_manifest_reopen(int rootfd, char *err, size_t errlen)
{
    sx_manifest *m = load(rootfd, 1, 1, err, errlen);
    if (m && !m->committed && reindex_earlier(m, rootfd, err, errlen) < 0) {
        int e = errno;
        sx_manifest_free(m);
        errno = e ? e : EIO;
        return NULL;
    }
    return m;
}

/* The done record at `off`, read back; its path must be `path` (the table
 * was made from this file, which only this process appends to). */
static const sx_mf_entry *find_earlier(sx_manifest *m, const char *path)
{
    uint64_t off;
    if (sx_kvtab_get(m->earlier, path, strlen(path), &off) != 1 || (off_t)off >= m->size)
        return NULL;
    size_t want = (uint64_t)(m->size - (off_t)off) < LOAD_LINE_MAX ? (size_t)(m->size - (off_t)off) : LOAD_LINE_MAX;
    ssize_t got = sx_pread_full(m->rfd, m->fbuf, want, (off_t)off);
    char *nl = got > 0 ? memchr(m->fbuf, '\n', (size_t)got) : NULL;
    const sx_tnode *rec = nl ? sx_tape_parse(m->ftape, m->fbuf, (size_t)(nl - m->fbuf)) : NULL, *p;
    const sx_tnode *size = rec ? sx_tget(rec, "size") : NULL, *sha = rec ? sx_tget(rec, "sha256") : NULL;
    if (!rec || strcmp(rec_op(rec, &p), "done") || !p || strcmp(p->u.str, path) || !sx_tape_is(size, SX_T_NUMBER) ||
        !is_sha256(sha))
        return NULL;
    m->found.state = SX_MF_DONE;
    m->found.size = (int64_t)size->u.num;
    memcpy(m->found.sha256, sha->u.str, 64);
    m->found.sha256[64] = 0;
    return &m->found;
}
