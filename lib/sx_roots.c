#include "sx_roots.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
    char *given;   /* as named, without a trailing '/' */
    char *real;    /* realpath() */
    int fd;        /* O_PATH of the directory */
} root;

struct sx_roots {
    root *v;
    size_t n, cap;
};

sx_roots *sx_roots_new(void) { return calloc(1, sizeof(sx_roots)); }

void sx_roots_free(sx_roots *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].given);
        free(r->v[i].real);
        close(r->v[i].fd);
    }
    free(r->v);
    free(r);
}

size_t sx_roots_count(const sx_roots *r) { return r->n; }

/* /proc, /sys, /dev or under them */
static int system_path(const char *p)
{
    static const char *const sys[] = {"/proc", "/sys", "/dev"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(sys[i]);
        if (!strncmp(p, sys[i], n) && (p[n] == 0 || p[n] == '/'))
            return 1;
    }
    return 0;
}

int sx_roots_add(sx_roots *r, const char *dir, const char **why)
{
    char *real = realpath(dir, NULL);
    if (!real) {
        *why = "cannot resolve the directory";
        return -1;
    }
    if (system_path(real)) {
        free(real);
        *why = "/proc, /sys and /dev are never read";
        return -1;
    }
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].real, real)) {
            free(real);
            return 0;
        }
    int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        free(real);
        *why = "not a directory";
        return -1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        root *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            close(fd);
            free(real);
            *why = "out of memory";
            return -1;
        }
        r->v = v;
        r->cap = cap;
    }
    char *given = strdup(dir);
    if (!given) {
        close(fd);
        free(real);
        *why = "out of memory";
        return -1;
    }
    size_t gl = strlen(given);
    while (gl > 1 && given[gl - 1] == '/')
        given[--gl] = 0;
    r->v[r->n++] = (root){given, real, fd};
    return 0;
}

/* The part of path under prefix ("a/b"), or NULL. */
static const char *under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 1 && prefix[0] == '/')
        return path[0] == '/' && path[1] ? path + 1 : NULL;
    if (strncmp(path, prefix, n) || path[n] != '/' || !path[n + 1])
        return NULL;
    return path + n + 1;
}

static int open_beneath(const root *rt, const char *rel)
{
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, rt->fd, rel, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS)
        return (int)fd;
    /* a kernel before 5.6: resolve, then open what was resolved without
     * following a link in its last component */
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", rt->real, rel);
    char *real = realpath(full, NULL);
    if (!real)
        return -1;
    int ok = under(real, rt->real) != NULL;
    int f = ok ? open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW) : -1;
    free(real);
    if (!ok)
        errno = EXDEV;
    return f;
}

const char sx_roots_outside[] = "not under a directory sx may read";

int sx_roots_open(const sx_roots *r, const char *path, struct stat *st, const char **why)
{
    *why = sx_roots_outside;
    if (path[0] != '/') {
        *why = "'src' must be an absolute path";
        return -1;
    }
    for (size_t i = 0; i < r->n; i++) {
        const char *rel = under(path, r->v[i].given);
        if (!rel)
            rel = under(path, r->v[i].real);
        if (!rel)
            continue;
        int fd = open_beneath(&r->v[i], rel);
        if (fd < 0) {
            *why = errno == EXDEV || errno == ELOOP ? "a link leads out of the directory sx may read"
                                                    : "cannot open";
            return -1;
        }
        struct statfs fs;
        char self[64], real[PATH_MAX];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(self, real, sizeof real - 1);
        if (n > 0)
            real[n] = 0;
        if (fstat(fd, st) < 0 || fstatfs(fd, &fs) < 0) {
            close(fd);
            *why = "cannot open";
            return -1;
        }
        if (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC || (n > 0 && system_path(real))) {
            close(fd);
            *why = "/proc, /sys and /dev are never read";
            return -1;
        }
        if (!S_ISREG(st->st_mode)) {
            close(fd);
            *why = "not a regular file";
            return -1;
        }
        return fd;
    }
    return -1;
}
