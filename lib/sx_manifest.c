#include "sx_manifest.h"
#include "sx_hash.h"
#include "sx_json.h"
#include "sx_safefs.h"

#include <errno.h>
#include <fcntl.h>
#include <jv.h>
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

static int load_line(sx_manifest *m, const char *line)
{
    jv v = jv_parse(line);
    if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
        jv_free(v);
        return -1;
    }
    jv o = jv_object_get(jv_copy(v), jv_string("op"));
    jv p = jv_object_get(jv_copy(v), jv_string("path"));
    const char *ops = jv_get_kind(o) == JV_KIND_STRING ? jv_string_value(o) : "";
    const char *path = jv_get_kind(p) == JV_KIND_STRING ? jv_string_value(p) : NULL;
    int rc = 0;
    if (!strcmp(ops, "begin")) {
        m->created_root = jv_equal(jv_object_get(jv_copy(v), jv_string("created_root")), jv_true());
    } else if (!strcmp(ops, "commit")) {
        m->committed = 1;
    } else if (!strcmp(ops, "resume")) {
        /* nothing to keep */
    } else if (!path || sx_path_check(path, strlen(path))) {
        rc = -1;   /* a record naming no acceptable path is never acted on */
    } else if (!strcmp(ops, "dir")) {
        rc = add(m, SX_MF_DIR, path, NULL) ? 0 : -1;
    } else if (!strcmp(ops, "file")) {
        jv t = jv_object_get(jv_copy(v), jv_string("tmp"));
        const char *tmp = jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t) : NULL;
        if (tmp && sx_path_check(tmp, strlen(tmp)))
            tmp = NULL;
        rc = add(m, SX_MF_PENDING, path, tmp) ? 0 : -1;
        jv_free(t);
    } else if (!strcmp(ops, "done") || !strcmp(ops, "drop")) {
        sx_mf_entry *e = find(m, path);
        if (e && !strcmp(ops, "drop")) {
            e->state = SX_MF_DROPPED;
        } else if (e) {
            jv sha = jv_object_get(jv_copy(v), jv_string("sha256"));
            e->state = SX_MF_DONE;
            e->size = (int64_t)jv_number_value(jv_object_get(jv_copy(v), jv_string("size")));
            snprintf(e->sha256, sizeof e->sha256, "%s",
                     jv_get_kind(sha) == JV_KIND_STRING ? jv_string_value(sha) : "");
            jv_free(sha);
        }
    }
    jv_free(o);
    jv_free(p);
    jv_free(v);
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
    FILE *f = fdopen(fd, "r");
    sx_manifest *m = new_manifest();
    if (!f || !m) {
        seterr(err, errlen, "out of memory");
        if (f)
            fclose(f);
        else
            close(fd);
        close(lockfd);
        free(m);
        return NULL;
    }
    m->lockfd = lockfd;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break;   /* a record cut by a crash: never acted on */
        line[len - 1] = 0;
        load_line(m, line);
    }
    free(line);
    fclose(f);
    if (append) {
        m->fd = openat(rootfd, SX_MANIFEST_NAME, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        if (m->fd < 0) {
            seterr(err, errlen, "cannot open '%s': %s", SX_MANIFEST_NAME, strerror(errno));
            sx_manifest_free(m);
            return NULL;
        }
        /* end a line a crash may have cut, so the next record parses */
        struct stat st;
        char last = '\n';
        if (fstat(m->fd, &st) == 0 && st.st_size > 0) {
            int rfd = openat(rootfd, SX_MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (rfd >= 0) {
                if (pread(rfd, &last, 1, st.st_size - 1) != 1)
                    last = '\n';
                close(rfd);
            }
        }
        if (last != '\n')
            sx_write_all(m->fd, "\n", 1);
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
