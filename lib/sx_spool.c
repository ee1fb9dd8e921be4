#include "sx_spool.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_BUF (1 << 20)
#define MAX_NAMED 64

struct sx_spool {
    int fd;
    char *path;              /* named spools only */
    int kept, slot;
    char *buf;
    size_t len, pos, cap;    /* write: buf[0,len); read: buf[pos,len) */
    int reading, eof;
    uint64_t size;
};

/* Live named spools, for sx_spool_unlink_all(). */
static char *volatile named[MAX_NAMED];

/* The process's spool directory for named spools ("" until made). */
static char spool_dir[4096];
static volatile int have_spool_dir;

static const char *tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

static sx_spool *alloc_spool(void)
{
    sx_spool *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->buf = malloc(SPOOL_BUF);
    if (!s->buf) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    s->cap = SPOOL_BUF;
    s->fd = -1;
    s->slot = -1;
    return s;
}

static char *make_template(void)
{
    const char *d = tmpdir();
    size_t n = strlen(d) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/sx-spool.XXXXXX", d);
    return p;
}

static void remove_spool_dir(void)
{
    if (have_spool_dir)
        rmdir(spool_dir);   /* only when empty: handed-over files stay */
}

/* The process's spool directory, made on first use. @return 0 or -1. */
static int need_spool_dir(void)
{
    if (have_spool_dir)
        return 0;
    char *t = make_template();
    if (!t)
        return -1;
    if (strlen(t) >= sizeof spool_dir || !mkdtemp(t)) {
        int e = errno;
        free(t);
        errno = e == 0 ? ENAMETOOLONG : e;
        return -1;
    }
    strcpy(spool_dir, t);
    free(t);
    have_spool_dir = 1;
    static int registered;
    if (!registered++)
        atexit(remove_spool_dir);
    return 0;
}

sx_spool *sx_spool_new(void)
{
    sx_spool *s = alloc_spool();
    if (!s)
        return NULL;
#ifdef O_TMPFILE
    s->fd = open(tmpdir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    if (s->fd < 0) {
        char *t = make_template();
        if (!t) {
            sx_spool_free(s);
            errno = ENOMEM;
            return NULL;
        }
        s->fd = mkostemp(t, O_CLOEXEC);
        if (s->fd >= 0)
            unlink(t);
        free(t);
    }
    if (s->fd < 0) {
        int e = errno;
        sx_spool_free(s);
        errno = e;
        return NULL;
    }
    return s;
}

sx_spool *sx_spool_new_named(void)
{
    sx_spool *s = alloc_spool();
    if (!s)
        return NULL;
    int slot = -1;
    for (int i = 0; i < MAX_NAMED; i++)
        if (!named[i]) {
            slot = i;
            break;
        }
    if (slot < 0 || need_spool_dir() < 0) {
        int e = slot < 0 ? EMFILE : errno;
        sx_spool_free(s);
        errno = e;
        return NULL;
    }
    size_t n = strlen(spool_dir) + 16;
    s->path = malloc(n);
    if (!s->path) {
        sx_spool_free(s);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(s->path, n, "%s/file.XXXXXX", spool_dir);
    s->fd = mkostemp(s->path, O_CLOEXEC);
    if (s->fd < 0 && errno == ENOENT) {
        /* sx-save took the last file handed over and removed the directory */
        have_spool_dir = 0;
        free(s->path);
        s->path = NULL;
        if (need_spool_dir() < 0 || !(s->path = malloc(n = strlen(spool_dir) + 16))) {
            int e = errno;
            sx_spool_free(s);
            errno = e;
            return NULL;
        }
        snprintf(s->path, n, "%s/file.XXXXXX", spool_dir);
        s->fd = -1;
    }
    if (s->fd < 0)
        s->fd = mkostemp(s->path, O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;
        free(s->path);
        s->path = NULL;
        sx_spool_free(s);
        errno = e;
        return NULL;
    }
    mode_t um = umask(0);
    umask(um);
    fchmod(s->fd, 0644 & ~um);
    s->slot = slot;
    named[slot] = s->path;
    return s;
}

const char *sx_spool_path(const sx_spool *s) { return s->path; }

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int sx_spool_write(sx_spool *s, const void *p, size_t n)
{
    if (s->reading) {
        errno = EINVAL;
        return -1;
    }
    if (n == 0)
        return 0;
    s->size += n;
    if (s->len + n > s->cap) {
        if (write_all(s->fd, s->buf, s->len) < 0)
            return -1;
        s->len = 0;
        if (n >= s->cap)
            return write_all(s->fd, p, n);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

uint64_t sx_spool_size(const sx_spool *s) { return s->size; }

int sx_spool_finish(sx_spool *s)
{
    if (!s->reading) {
        if (write_all(s->fd, s->buf, s->len) < 0)
            return -1;
        s->reading = 1;
    }
    s->len = s->pos = 0;
    s->eof = 0;
    return lseek(s->fd, 0, SEEK_SET) < 0 ? -1 : 0;
}

static int fill(sx_spool *s)
{
    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->len == s->cap) {
        char *b = realloc(s->buf, s->cap * 2);
        if (!b) {
            errno = ENOMEM;
            return -1;
        }
        s->buf = b;
        s->cap *= 2;
    }
    for (;;) {
        ssize_t k = read(s->fd, s->buf + s->len, s->cap - s->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            s->eof = 1;
        s->len += (size_t)k;
        return (int)(k > 0);
    }
}

long sx_spool_read(sx_spool *s, void *p, size_t n)
{
    if (s->pos == s->len && !s->eof) {
        s->pos = s->len = 0;
        if (fill(s) < 0)
            return -1;
    }
    size_t k = s->len - s->pos;
    if (k > n)
        k = n;
    memcpy(p, s->buf + s->pos, k);
    s->pos += k;
    return (long)k;
}

int sx_spool_line(sx_spool *s, const char **line, size_t *len)
{
    size_t scan = s->pos;
    for (;;) {
        char *nl = memchr(s->buf + scan, '\n', s->len - scan);
        if (nl) {
            *line = s->buf + s->pos;
            *len = (size_t)(nl - (s->buf + s->pos));
            s->pos = (size_t)(nl - s->buf) + 1;
            return 1;
        }
        if (s->eof) {
            if (s->pos == s->len)
                return 0;
            *line = s->buf + s->pos; /* last line without '\n' */
            *len = s->len - s->pos;
            s->pos = s->len;
            return 1;
        }
        size_t off = scan - s->pos;
        if (fill(s) < 0)
            return -1;
        scan = s->pos + off;
    }
}

void sx_spool_keep(sx_spool *s)
{
    s->kept = 1;
    if (s->slot >= 0)
        named[s->slot] = NULL;
    s->slot = -1;
}

void sx_spool_free(sx_spool *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (s->path) {
        if (s->slot >= 0)
            named[s->slot] = NULL;
        if (!s->kept) {
            unlink(s->path);
            /* empty now: gone, even if the program ends by _exit() */
            if (have_spool_dir && rmdir(spool_dir) == 0)
                have_spool_dir = 0;
        }
        free(s->path);
    }
    free(s->buf);
    free(s);
}

void sx_spool_unlink_all(void)
{
    for (int i = 0; i < MAX_NAMED; i++) {
        char *p = named[i];
        if (p)
            unlink(p);
    }
    if (have_spool_dir)
        rmdir(spool_dir);
}

/* "sx-spool." and six characters of mkdtemp()'s alphabet */
static int spool_dir_name(const char *name, size_t n)
{
    if (n != 15 || memcmp(name, "sx-spool.", 9) != 0)
        return 0;
    for (size_t i = 9; i < n; i++)
        if (!isalnum((unsigned char)name[i]))
            return 0;
    return 1;
}

int sx_spool_dir_create(const char *parent, char *out, size_t n)
{
    const char *d = parent && *parent ? parent : tmpdir();
    if ((size_t)snprintf(out, n, "%s/sx-spool.XXXXXX", d) >= n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(out) ? 0 : -1;
}

/* Opens dir as a spool directory. @return its descriptor, or -1 with *why */
static int open_spool_dir(const char *dir, size_t dl, const char **why)
{
    const char *dname = dir;
    for (const char *q = dir; q < dir + dl; q++)
        if (*q == '/')
            dname = q + 1;
    if (dl == 0 || !spool_dir_name(dname, (size_t)(dir + dl - dname))) {
        *why = "not in an sx spool directory (sx-spool.XXXXXX)";
        return -1;
    }
    char path[4096];
    if (dl >= sizeof path) {
        *why = "path too long";
        return -1;
    }
    memcpy(path, dir, dl);
    path[dl] = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        *why = errno == ELOOP || errno == ENOTDIR ? "its spool directory is a link or not a directory"
                                                  : "its spool directory cannot be opened";
        return -1;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        close(fd);
        *why = "its spool directory is not this user's alone (owner, mode 0700)";
        return -1;
    }
    return fd;
}

int sx_spool_dir_check(const char *dir, const char **why)
{
    int fd = open_spool_dir(dir, strlen(dir), why);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

long sx_spool_dir_purge(const char *dir, const char **why)
{
    int fd = open_spool_dir(dir, strlen(dir), why);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        *why = "its spool directory cannot be read";
        return -1;
    }
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == geteuid() && unlinkat(fd, de->d_name, 0) == 0)
            n++;
    }
    closedir(d);
    rmdir(dir);
    return n;
}

int sx_spool_take(const char *path, int *dirfd, const char **base, const char **why)
{
    *dirfd = -1;
    const char *slash = strrchr(path, '/');
    if (path[0] != '/' || !slash || !slash[1]) {
        *why = "not an absolute path to a file";
        return -1;
    }
    int fd = open_spool_dir(path, (size_t)(slash - path), why);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstatat(fd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        close(fd);
        *why = "no such file in the spool directory";
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) {
        close(fd);
        *why = "not a regular file of this user with a single link";
        return -1;
    }
    *dirfd = fd;
    *base = slash + 1;
    return 0;
}

void sx_spool_dir_done(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    size_t dl = slash ? (size_t)(slash - path) : 0;
    if (!dl || dl >= sizeof dir)
        return;
    memcpy(dir, path, dl);
    dir[dl] = 0;
    rmdir(dir);   /* fails, harmlessly, while it holds something */
}
