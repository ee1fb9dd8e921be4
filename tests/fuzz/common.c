/* common.c : the helpers of fuzz.h. */
#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <unistd.h>

int fuzz_memfd(const void *p, size_t n, char *path, size_t pathlen)
{
    int fd = memfd_create("sx-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *q = p;
    while (n > 0) {
        ssize_t k = write(fd, q, n);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        q += k;
        n -= (size_t)k;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

static char tmpdir[4096];

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tmpdir(void)
{
    if (tmpdir[0])
        nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/sx-fuzz.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("sx-fuzz: mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

int fuzz_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

char *fuzz_jv_text(jv v)
{
    if (!jv_is_valid(v))
        return strdup("<invalid>");
    jv s = jv_dump_string(jv_copy(v), 0);
    char *out = strdup(jv_string_value(s));
    jv_free(s);
    return out;
}

const char *fuzz_show(const void *p, size_t n)
{
    static char out[1000];
    const unsigned char *q = p;
    size_t o = 0;
    for (size_t i = 0; i < n && i < 200; i++) {
        if (q[i] >= 0x20 && q[i] < 0x7f && q[i] != '\\')
            out[o++] = (char)q[i];
        else
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", q[i]);
    }
    out[o] = 0;
    return out;
}

size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **next)
{
    size_t sl = strlen(sep);
    for (size_t i = 0; i + sl + 2 <= size; i++) {
        if (data[i] == '\n' && memcmp(data + i + 1, sep, sl) == 0 &&
            (i + 1 + sl == size || data[i + 1 + sl] == '\n')) {
            *next = i + 2 + sl <= size ? data + i + 2 + sl : data + size;
            return i;
        }
    }
    *next = NULL;
    return size;
}
