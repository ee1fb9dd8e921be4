/*
 * sx_imgsize.h : the pixel size of a local image from its header, without
 * decoding it: PNG (IHDR) and JPEG (the first SOFn marker). Enough for a
 * converter to fill in COCO's width/height when neither the backend nor the
 * annotation data gives them.
 */
#ifndef SX_IMGSIZE_H
#define SX_IMGSIZE_H

#include <stddef.h>

/*! sx_imgsize_mem() : reads the size from the first `n` bytes of a file.
 *  @return 0 with *w, *h set (both > 0), or -1 when the bytes are not a PNG
 *          or JPEG header this function understands. */
int sx_imgsize_mem(const unsigned char *p, size_t n, unsigned *w, unsigned *h);

/*! sx_imgsize_file() : the same for the file at `path`; reads at most the
 *  first 256 KiB (JPEG markers before SOF can be long: EXIF thumbnails).
 *  @return 0, or -1 (unreadable file or unknown format; errno is kept from
 *          a failed open/read, else set to EINVAL). */
int sx_imgsize_file(const char *path, unsigned *w, unsigned *h);

/*! sx_imgsize_fd() : the same for an open file (read from its start with
 *  pread(); the descriptor is neither moved nor closed). */
int sx_imgsize_fd(int fd, unsigned *w, unsigned *h);

#endif
