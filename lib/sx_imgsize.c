#include "sx_imgsize.h"
#include "sx_safefs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD_FIRST 4096
#define HEAD_MAX (256 * 1024)
#define DIM_MAX 0x7fffffffUL
#define TIFF_ENTRIES_MAX 4096

/* The bytes an image is read from: a buffer holding the file's first `n`
 * bytes and, when fd >= 0, the rest of the file through pread() (TIFF's
 * first directory may sit anywhere in the file, often at its end). */
typedef struct {
    const unsigned char *p;
    size_t n;
    int fd;
} src;

/* Copies `len` bytes at `off` into out. @return 0, or -1 when they are
 * not all there. */
static int src_read(const src *s, uint64_t off, void *out, size_t len)
{
    if (off <= s->n && len <= s->n - off) {
        memcpy(out, s->p + off, len);
        return 0;
    }
    if (s->fd < 0 || off > (uint64_t)INT64_MAX - len)
        return -1;
    return sx_pread_full(s->fd, out, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }
static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}
static unsigned long le32(const unsigned char *p)
{
    return (unsigned long)p[3] << 24 | (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 | p[0];
}
static unsigned long le24(const unsigned char *p) { return (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 | p[0]; }

static int set_size(unsigned long ww, unsigned long hh, unsigned *w, unsigned *h)
{
    if (ww == 0 || hh == 0 || ww > DIM_MAX || hh > DIM_MAX)
        return -1;
    *w = (unsigned)ww;
    *h = (unsigned)hh;
    return 0;
}

static int png_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 24 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
        return -1;
    return set_size(be32(p + 16), be32(p + 20), w, h);
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
            return set_size(be16(p + i + 7), be16(p + i + 5), w, h);
        }
        i += 2 + (size_t)len;
    }
    return -1;
}

/* GIF87a/GIF89a: the logical screen (the canvas every frame is drawn on). */
static int gif_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    if (n < 10 || (memcmp(p, "GIF87a", 6) != 0 && memcmp(p, "GIF89a", 6) != 0))
        return -1;
    return set_size(le16(p + 6), le16(p + 8), w, h);
}

/* BMP: the OS/2 1.x header (12 bytes, 16-bit sizes) or BITMAPINFOHEADER and
 * its successors (16 to 124 bytes, signed 32-bit sizes; a negative height is
 * a top-down bitmap). */
static int bmp_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    if (n < 26 || p[0] != 'B' || p[1] != 'M')
        return -1;
    unsigned long dib = le32(p + 14);
    if (dib == 12)
        return set_size(le16(p + 18), le16(p + 20), w, h);
    if (dib < 16 || dib > 124 || n < 26)
        return -1;
    int32_t ww = (int32_t)(uint32_t)le32(p + 18), hh = (int32_t)(uint32_t)le32(p + 22);
    if (ww <= 0 || hh == INT32_MIN)
        return -1;
    return set_size((unsigned long)ww, (unsigned long)(hh < 0 ? -hh : hh), w, h);
}

/* WebP: RIFF "WEBP" with a VP8 (lossy), VP8L (lossless) or VP8X (extended:
 * the canvas) first chunk. */
static int webp_size(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    if (n < 25 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WEBP", 4) != 0)
        return -1;
    const unsigned char *c = p + 20; /* the first chunk's payload */
    if (!memcmp(p + 12, "VP8 ", 4)) {
        /* a key frame: frame tag bit 0 clear, start code 9d 01 2a */
        if (n < 30 || (c[0] & 1) || c[3] != 0x9d || c[4] != 0x01 || c[5] != 0x2a)
            return -1;
        return set_size(le16(c + 6) & 0x3fff, le16(c + 8) & 0x3fff, w, h);
    }
    if (!memcmp(p + 12, "VP8L", 4)) {
        unsigned long bits = le32(c + 1);
        if (c[0] != 0x2f || (bits >> 29) != 0) /* signature, version 0 */
            return -1;
        return set_size((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1, w, h);
    }
    if (!memcmp(p + 12, "VP8X", 4)) {
        if (n < 30)
            return -1;
        return set_size(le24(c + 4) + 1, le24(c + 7) + 1, w, h);
    }
    return -1;
}

/* TIFF, either byte order: ImageWidth (256) and ImageLength (257) of the
 * first directory, SHORT or LONG. Only that directory is read, never the
 * chain after it, and no more than TIFF_ENTRIES_MAX of its entries. */
static int tiff_size(const src *s, unsigned *w, unsigned *h)
{
    unsigned char hd[8];
    if (src_read(s, 0, hd, 8) < 0)
        return -1;
    int le;
    if (!memcmp(hd, "II\x2a\0", 4))
        le = 1;
    else if (!memcmp(hd, "MM\0\x2a", 4))
        le = 0;
    else
        return -1;
    unsigned (*u16)(const unsigned char *) = le ? le16 : be16;
    unsigned long (*u32)(const unsigned char *) = le ? le32 : be32;
    uint64_t ifd = u32(hd + 4);
    unsigned char cnt[2];
    if (ifd < 8 || src_read(s, ifd, cnt, 2) < 0)
        return -1;
    unsigned count = u16(cnt);
    if (count > TIFF_ENTRIES_MAX)
        count = TIFF_ENTRIES_MAX;
    unsigned long ww = 0, hh = 0;
    unsigned char block[64 * 12];
    for (unsigned i = 0; i < count;) {
        unsigned k = count - i < 64 ? count - i : 64;
        if (src_read(s, ifd + 2 + (uint64_t)i * 12, block, (size_t)k * 12) < 0)
            return -1;
        for (unsigned j = 0; j < k; j++) {
            const unsigned char *e = block + j * 12;
            unsigned tag = u16(e), type = u16(e + 2);
            if ((tag != 256 && tag != 257) || u32(e + 4) < 1)
                continue;
            unsigned long v = type == 3 ? u16(e + 8) : type == 4 ? u32(e + 8) : 0;
            if (tag == 256)
                ww = v;
            else
                hh = v;
        }
        if (ww && hh)
            break;
        i += k;
    }
    return set_size(ww, hh, w, h);
}

static int size_of(const src *s, unsigned *w, unsigned *h)
{
    const unsigned char *p = s->p;
    size_t n = s->n;
    if (png_size(p, n, w, h) == 0 || jpeg_size(p, n, w, h) == 0 || webp_size(p, n, w, h) == 0 ||
        gif_size(p, n, w, h) == 0 || bmp_size(p, n, w, h) == 0 || tiff_size(s, w, h) == 0)
        return 0;
    return -1;
}

int sx_imgsize_mem(const unsigned char *p, size_t n, unsigned *w, unsigned *h)
{
    src s = {p, n, -1};
    return size_of(&s, w, h);
}

/* Reads the head in growing steps: most formats say their size in the first
 * few dozen bytes; only a JPEG with long segments before its SOF needs more. */
int sx_imgsize_fd(int fd, unsigned *w, unsigned *h)
{
    unsigned char *buf = malloc(HEAD_MAX);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = 0, want = HEAD_FIRST;
    int rc = -1, eof = 0;
    for (;;) {
        if (n < want && !eof) {
            ssize_t k = sx_pread_full(fd, buf + n, want - n, (off_t)n);
            if (k < 0)
                goto out;
            eof = (size_t)k < want - n;
            n += (size_t)k;
        }
        src s = {buf, n, fd};
        if (size_of(&s, w, h) == 0) {
            rc = 0;
            break;
        }
        if (eof || n == HEAD_MAX)
            break;
        want = n * 4 < HEAD_MAX ? n * 4 : HEAD_MAX;
    }
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
