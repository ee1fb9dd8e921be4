/*
 * fuzz_imgsize.c : an image's size from its header (lib/sx_imgsize.h), of a
 * local dataset's files, through the two calls of the API (whatever image
 * types they come to know).
 *
 * Properties, for any bytes: a size found is at least 1 x 1; reading the
 * same bytes from a file gives the same answer as from memory (the file is
 * read up to 256 KiB, past which the input is not taken); a failed read
 * from a file sets errno.
 */
#include "fuzz.h"
#include "sx_imgsize.h"

#include <errno.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256u << 10))
        return 0;
    unsigned w = 0, h = 0, fw = 0, fh = 0;
    int rc = sx_imgsize_mem(data, size, &w, &h);
    if (rc == 0)
        FUZZ_ASSERT(w > 0 && h > 0, "a size of %u x %u", w, h);
    else
        FUZZ_ASSERT(rc == -1, "sx_imgsize_mem gave %d", rc);
    char path[64];
    int fd = fuzz_memfd(data, size, path, sizeof path);
    if (fd < 0)
        abort();
    errno = 0;
    int frc = sx_imgsize_file(path, &fw, &fh);
    close(fd);
    FUZZ_ASSERT(frc == rc, "from a file %d, from memory %d", frc, rc);
    if (rc == 0)
        FUZZ_ASSERT(fw == w && fh == h, "from a file %u x %u, from memory %u x %u", fw, fh, w, h);
    else
        FUZZ_ASSERT(errno != 0, "a failed read from a file without errno");
    return 0;
}
