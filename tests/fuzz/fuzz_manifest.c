/*
 * fuzz_manifest.c : the rollback manifest read back after a crash
 * (sx_manifest_load(), lib/sx_manifest.h), and the rollback it drives.
 *
 * The input is the manifest of an export directory DIR that holds files of
 * its own (some named the way sx-save names its files, a link to a
 * directory outside, a link to a file outside), beside a directory outside
 * DIR. An input of odd length is loaded for --resume (append, pending files
 * cleaned), an even one for --rollback. Properties:
 *  - loading never aborts: a manifest is taken or refused with a message
 *    naming it and the line;
 *  - a refused manifest removes nothing;
 *  - the rollback removes nothing outside DIR (every file outside keeps its
 *    inode and its content), and nothing in DIR that no record names.
 */
#include "fuzz.h"
#include "sx_manifest.h"
#include "sx_safefs.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[4096], dir[4200];

/* files outside DIR, relative to root */
static const char *const outside[] = {"outside/victim", "outside/.victim.sx-000001", "outside/sub/f", "sibling"};
#define NOUT (sizeof outside / sizeof *outside)
static ino_t out_ino[NOUT];

/* what DIR holds before each input, relative to DIR (links last) */
static const char *const inside[] = {"a",         "json/1.json", "json/.1.json.sx-000001", "json/2.json",
                                     "sub/deep/x", "link",        "linkfile"};
#define NIN (sizeof inside / sizeof *inside)

static void put(const char *path, const char *text)
{
    if (fuzz_write_file(path, text, strlen(text)) < 0)
        abort();
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(root, sizeof root, "%s", fuzz_tmpdir());
    snprintf(dir, sizeof dir, "%s/DIR", root);
    char p[4400];
    snprintf(p, sizeof p, "%s/outside", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/outside/sub", root);
    mkdir(p, 0777);
    for (size_t i = 0; i < NOUT; i++) {
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", root, outside[i]);
        put(p, "keep");
        if (stat(p, &st) < 0)
            abort();
        out_ino[i] = st.st_ino;
    }
    return 0;
}

static void make_dir(void)
{
    char p[4400];
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(dir, 0777);
    static const char *const dirs[] = {"json", "sub", "sub/deep"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
        mkdir(p, 0777);
    }
    for (size_t i = 0; i < NIN - 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, inside[i]);
        put(p, "mine");
    }
    snprintf(p, sizeof p, "%s/link", dir);
    if (symlink("../outside", p) < 0)
        abort();
    snprintf(p, sizeof p, "%s/linkfile", dir);
    if (symlink("../outside/victim", p) < 0)
        abort();
}

static void check_outside(const char *when)
{
    for (size_t i = 0; i < NOUT; i++) {
        char p[4400], buf[8] = {0};
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", root, outside[i]);
        FILE *f = fopen(p, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        FUZZ_ASSERT(stat(p, &st) == 0 && st.st_ino == out_ino[i] && n == 4 && !memcmp(buf, "keep", 4),
                    "%s: '%s' outside DIR was touched", when, outside[i]);
    }
}

static int in_dir(const char *rel)
{
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &st) == 0;
}

/* 1 when a record of m names rel (or a directory under rel... rel's own
 * entry: a file's path or tmp, a dir's path) */
static int named(const sx_manifest *m, const char *rel)
{
    for (size_t i = 0; i < sx_manifest_count(m); i++) {
        const sx_mf_entry *e = sx_manifest_entry(m, i);
        if (!strcmp(e->path, rel) || (e->tmp && !strcmp(e->tmp, rel)))
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256u << 10))
        return 0;
    make_dir();
    char p[4400], err[600] = "";
    snprintf(p, sizeof p, "%s/%s", dir, SX_MANIFEST_NAME);
    if (fuzz_write_file(p, data, size) < 0)
        abort();
    int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        abort();
    int resume = size & 1;
    sx_manifest *m = sx_manifest_load(rootfd, resume, err, sizeof err);
    if (!m) {
        FUZZ_ASSERT(strstr(err, SX_MANIFEST_NAME ":") || strstr(err, "out of memory"),
                    "a refusal that names no manifest line: %s", err);
        for (size_t i = 0; i < NIN; i++)
            FUZZ_ASSERT(in_dir(inside[i]), "a refused manifest removed '%s'", inside[i]);
        check_outside("refused");
        close(rootfd);
        return 0;
    }
    for (size_t i = 0; i < sx_manifest_count(m); i++) {
        const sx_mf_entry *e = sx_manifest_entry(m, i);
        FUZZ_ASSERT(!sx_path_check(e->path, strlen(e->path)), "an entry with path '%s'", e->path);
        FUZZ_ASSERT(!e->tmp || !sx_path_check(e->tmp, strlen(e->tmp)), "an entry with tmp '%s'", e->tmp);
    }
    int had[NIN];
    for (size_t i = 0; i < NIN; i++)
        had[i] = named(m, inside[i]);
    if (resume)
        sx_manifest_clean_pending(m, rootfd, err, sizeof err);
    check_outside("--resume");
    size_t removed = 0;
    sx_manifest_rollback(m, rootfd, &removed, err, sizeof err);
    check_outside("--rollback");
    for (size_t i = 0; i < NIN; i++)
        FUZZ_ASSERT(in_dir(inside[i]) || had[i], "'%s' in DIR, named by no record, was removed", inside[i]);
    sx_manifest_free(m);
    close(rootfd);
    return 0;
}
