/*
 * replay.c : a main() for a fuzz target without libFuzzer. Runs
 * LLVMFuzzerTestOneInput() once on every file named, and on every file in
 * every directory named (in name order), each in a buffer of exactly its
 * size, so that the sanitizers see a read past its end. Prints one line a
 * file with -v; a crash or a failed property aborts like under libFuzzer.
 *
 *   replay-tape tests/fuzz/corpus/tape tests/fuzz/regress/tape
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int verbose;
static unsigned long replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        free(buf);
        return -1;
    }
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    if (verbose)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    replayed++;
    return 0;
}

static int plain_file(const struct dirent *d) { return d->d_name[0] != '.'; }

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    struct dirent **ents;
    int n = scandir(path, &ents, plain_file, alphasort), rc = 0;
    if (n < 0) {
        fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, ents[i]->d_name);
        if (rc == 0 && replay_file(p) < 0)
            rc = -1;
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "-v")) {
        verbose = 1;
        argc--, argv++;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: replay [-v] FILE_OR_DIR...\n");
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i]) < 0)
            rc = 1;
    fprintf(stderr, "replay: %lu inputs\n", replayed);
    return rc;
}
