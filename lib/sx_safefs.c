#include "sx_safefs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIRFLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

const char *sx_path_check(const char *p, size_t len)
{
    if (len == 0)
        return "empty path";
    if (memchr(p, 0, len) || strlen(p) != len)
        return "NUL in path";
    if (p[0] == '/')
        return "absolute path";
    if (len > 4000)
        return "path too long";
    const char *s = p, *end = p + len;
    while (s <= end) {
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e)
            e = end;
        size_t n = (size_t)(e - s);
        if (n == 0)
            return e == end ? "path ends with '/'" : "empty component in path";
        if (n == 1 && s[0] == '.')
            return "'.' in path";
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return "'..' in path";
        if (n > 255)
            return "path component too long";
        s = e + 1;
    }
    return NULL;
}

int sx_open_parent(int rootfd, const char *path, int create, sx_mkdir_cb cb, void *ud,
                   const char **base)
{
    int fd = dup(rootfd);
    if (fd < 0)
        return -1;
    const char *s = path;
    for (;;) {
        const char *e = strchr(s, '/');
        if (!e)
            break;
        char comp[256];
        size_t n = (size_t)(e - s);
        if (n == 0 || n >= sizeof comp) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, s, n);
        comp[n] = 0;
        int nfd = openat(fd, comp, DIRFLAGS);
        if (nfd < 0 && errno == ENOENT && create) {
            char *dir = strndup(path, (size_t)(e - path));
            if (!dir) {
                close(fd);
                return -1;
            }
            int rc = cb ? cb(ud, dir) : 0;
            free(dir);
            if (rc != 0) {
                int err = errno;
                close(fd);
                errno = err;
                return -1;
            }
            if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST) {
                int err = errno;
                close(fd);
                errno = err;
                return -1;
            }
            nfd = openat(fd, comp, DIRFLAGS);
        }
        if (nfd < 0) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
        close(fd);
        fd = nfd;
        s = e + 1;
    }
    if (base)
        *base = s;
    return fd;
}

void sx_tmp_name(const char *base, unsigned n, char *name, size_t namelen)
{
    char b[200];
    snprintf(b, sizeof b, "%s", base);   /* keep the name under NAME_MAX */
    snprintf(name, namelen, ".%s.sx-%06x", b, n & 0xffffff);
}

int sx_tmp_open(int dirfd, const char *name)
{
    return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
}

int sx_tmp_create(int dirfd, const char *base, char *name, size_t namelen)
{
    static unsigned seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int i = 0; i < 100; i++) {
        unsigned n = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 8) ^ (++seq * 2654435761u);
        sx_tmp_name(base, n, name, namelen);
        int fd = sx_tmp_open(dirfd, name);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int sx_publish(int dirfd, const char *tmp, const char *base)
{
    if (renameat2(dirfd, tmp, dirfd, base, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a file system without RENAME_NOREPLACE: link then unlink, which also
     * refuses to replace */
    if (linkat(dirfd, tmp, dirfd, base, 0) < 0)
        return -1;
    unlinkat(dirfd, tmp, 0);
    return 0;
}

int sx_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t sx_pread_full(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static int at_parent(int rootfd, const char *path, int (*op)(int, const char *, void *), void *arg)
{
    const char *base;
    int fd = sx_open_parent(rootfd, path, 0, NULL, NULL, &base);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = op(fd, base, arg);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

static int op_unlink(int fd, const char *base, void *arg)
{
    (void)arg;
    return unlinkat(fd, base, 0) < 0 && errno != ENOENT ? -1 : 0;
}

static int op_rmdir(int fd, const char *base, void *arg)
{
    (void)arg;
    return unlinkat(fd, base, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int sx_unlink_at(int rootfd, const char *path) { return at_parent(rootfd, path, op_unlink, NULL); }

int sx_rmdir_at(int rootfd, const char *path) { return at_parent(rootfd, path, op_rmdir, NULL); }

int sx_stat_at(int rootfd, const char *path, struct stat *st)
{
    const char *base;
    int fd = sx_open_parent(rootfd, path, 0, NULL, NULL, &base);
    if (fd < 0)
        return -1;
    int rc = fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

int sx_fsync_dir_at(int rootfd, const char *path)
{
    int fd;
    if (!*path) {
        fd = dup(rootfd);
    } else {
        const char *base;
        int pfd = sx_open_parent(rootfd, path, 0, NULL, NULL, &base);
        if (pfd < 0)
            return -1;
        fd = openat(pfd, base, DIRFLAGS);
        close(pfd);
    }
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

int sx_dir_is_empty(int fd)
{
    int d = dup(fd);
    if (d < 0)
        return -1;
    DIR *dir = fdopendir(d);
    if (!dir) {
        close(d);
        return -1;
    }
    rewinddir(dir);
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(dir))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    }
    closedir(dir);
    return empty;
}
