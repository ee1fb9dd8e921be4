/*
 * sx_imgsize.h : the pixel size of a local image from its header, without
 * decoding it: PNG (IHDR), JPEG (the first SOFn marker), WebP (VP8, VP8L,
 * VP8X: the canvas), BMP (OS/2 1.x and BITMAPINFOHEADER and later; a
 * negative height, a top-down bitmap, counts as its absolute value), GIF (the
 * logical screen) and TIFF (either byte order: ImageWidth and ImageLength of
 * the first directory, SHORT or LONG). Enough for a converter or sx-download
 * to fill in width/height when neither the backend nor the annotation data
 * gives them.
 *
 * The bytes are untrusted: every read is bounds-checked, a size of 0 or
 * above 2^31-1 is refused, and of a TIFF only the first directory is read
 * (at most 4096 entries), never the chain of directories after it.
 */
#ifndef SX_IMGSIZE_H
#define SX_IMGSIZE_H

#include <stddef.h>

/*! sx_imgsize_mem() : reads the size from the first `n` bytes of a file
 *  (a TIFF whose first directory lies past them is not understood).
 *  @return 0 with *w, *h set (both > 0), or -1 when the bytes are not a
 *          header of a format above that this function understands. */
int sx_imgsize_mem(const unsigned char *p, size_t n, unsigned *w, unsigned *h);

/*! sx_imgsize_file() : the same for the file at `path`; reads at most the
 *  first 256 KiB (JPEG markers before SOF can be long: EXIF thumbnails),
 *  and for a TIFF its first directory wherever it is in the file.
 *  @return 0, or -1 (unreadable file or unknown format; errno is kept from
 *          a failed open/read, else set to EINVAL). */
int sx_imgsize_file(const char *path, unsigned *w, unsigned *h);

/*! sx_imgsize_fd() : the same for an open file (read from its start with
 *  pread(); the descriptor is neither moved nor closed). */
int sx_imgsize_fd(int fd, unsigned *w, unsigned *h);

#endif
