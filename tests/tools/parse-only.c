/* parse-only [FILE...] : the floor of any stage that must read values: reads
 * every line through the sx reader and parses it with libjq (jv_parse_sized),
 * then frees it. Prints the number of records parsed. */
#include <stdio.h>

#include <jv.h>

#include "sx_stream.h"

int main(int argc, char **argv)
{
    sx_reader *r = sx_reader_open(argv + 1, argc - 1, 0);
    const char *line;
    size_t len;
    unsigned long long n = 0;
    int rc;
    while ((rc = sx_reader_next(r, &line, &len)) == 1) {
        jv v = jv_parse_sized(line, (int)len);
        n += jv_is_valid(v);
        jv_free(v);
    }
    if (rc < 0) {
        fprintf(stderr, "parse-only: %s\n", sx_reader_error(r));
        return 1;
    }
    sx_reader_free(r);
    printf("%llu\n", n);
    return 0;
}
