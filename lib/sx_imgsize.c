#include "sx_imgsize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD_MAX (256 * 1024)

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static int png_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 24 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
        return -1;
    unsigned long ww = be32(p + 16), hh = be32(p + 20);
    if (ww == 0 || hh == 0 || ww > 0x7fffffffUL || hh > 0x7fffffffUL)
        return -1;
    *w = (unsigned)ww;
    *h = (unsigned)hh;
    return 0;
}

static int jpeg_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    if (n < 4 || p[0] != 0xff || p[1] != 0xd8)
        return -1;
    size_t i = 2;
    while (i + 4 <= n) {
        if (p[i] != 0xff)
            return -1;
        unsigned char m = p[i + 1];
        if (m == 0xff) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { /* no length */
            i += 2;
            continue;
        }
        if (m == 0xd9 || m == 0xda) /* end of image, start of scan: no SOF */
            return -1;
        unsigned len = be16(p + i + 2);
        if (len < 2)
            return -1;
        int sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (sof) {
            if (i + 9 > n)
                return -1;
            unsigned hh = be16(p + i + 5), ww = be16(p + i + 7);
            if (!ww || !hh)
                return -1;
            *w = ww;
            *h = hh;
            return 0;
        }
        i += 2 + (size_t)len;
    }
    return -1;
}

int sx_imgsize_mem(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    if (png_size(p, n, w, h) == 0 || jpeg_size(p, n, w, h) == 0)
        return 0;
    return -1;
}

int sx_imgsize_fd(int fd, unsigned *w, unsigned *h)
{
    unsigned char *buf = malloc(HEAD_MAX);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = 0;
    int rc = -1;
    for (;;) {
        ssize_t k = pread(fd, buf + n, HEAD_MAX - n, (off_t)n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        n += (size_t)k;
        if (k == 0 || n == HEAD_MAX)
            break;
        if (n >= 24 && buf[0] == 0x89) /* PNG: the header is all we need */
            break;
    }
    rc = sx_imgsize_mem(buf, n, w, h);
    if (rc < 0)
        errno = EINVAL;
out:
    free(buf);
    return rc;
}

int sx_imgsize_file(const char *path, unsigned *w, unsigned *h)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    int rc = sx_imgsize_fd(fd, w, h);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}
