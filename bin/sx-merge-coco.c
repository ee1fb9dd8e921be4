/* sx-merge-coco: merges the COCO files of the shards of one export. */
#include "sx_cli.h"
#include "sx_json.h"
#include "sx_merge.h"
#include "sx_spool.h"
#include "sx_stream.h"

#include <errno.h>
#include <getopt.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
"usage: sx-merge-coco [options] SHARD...\n"
"\n"
"Merges the COCO exports of the shards of one export (export-coco --shard I/N,\n"
"or sx-fetch --shard I/N | sx-convert-coco | sx-save) into one COCO file:\n"
"image and annotation ids renumbered from 1 in shard order, categories unified\n"
"by name (ids kept when the shards agree, else renumbered in name order), an\n"
"image found in two shards (same sx_item, else same file_name) kept once, and\n"
"a file_name that different images use kept by the smallest sx_item, the\n"
"others named stem_<sx_item>.ext (as one export over a listing in id order).\n"
"A SHARD is an export directory (its annotations.json, sx-shard.json and\n"
"images/) or a COCO file (its sx-shard.json looked for beside it). Shards\n"
"exported with splits (train/annotations.json, images/train/, ...) are merged\n"
"split by split, with --records only.\n"
"\n"
"Shards of different exports are refused and nothing is written: when the\n"
"shards carry sx-shard.json (export-* --shard writes it), every shard must,\n"
"and they must name the same format, target, source, filter and page size,\n"
"the same N and each part once. Files are read as streams, and what is kept\n"
"per image goes to sorted temporary files in $TMPDIR (about 150 bytes of disk\n"
"an image): memory stays under about 64 MB however many images.\n"
"\n"
"options:\n"
"  -o, --output FILE   write the merged COCO file to FILE, atomically (a\n"
"                      temporary file renamed into place); default stdout\n"
"      --records       write file records for sx-save instead: the merged\n"
"                      annotations.json and every shard image under images/\n"
"                      (renamed as above), then end:\n"
"                        sx-merge-coco --records s1 s2 | sx-save --link -o DIR\n"
"      --images-dir D  where a shard directory keeps its images (default images)\n"
"      --partial       merge an incomplete set of shards (3 of 4)\n"
"  -v, --verbose       print what was merged on stderr\n"
"  -h, --help          this help\n"
"      --version       the version\n"
"\n"
"exit status: 0 merged; 1 unreadable or malformed shard, shards of different\n"
"exports, write error; 2 usage.\n"
"\n"
"examples:\n"
"  sx-merge-coco -o merged.json part1/annotations.json part2/annotations.json\n"
"  sx-merge-coco --records out.shards/* | sx-save --link -o out\n";

struct opts {
    const char *output, *images_dir;
    int records, partial, verbose;
    char **shards;
    int nshards;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
    enum { OPT_RECORDS = SX_OPT_FIRST_FREE, OPT_IMAGES_DIR, OPT_PARTIAL };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"records", no_argument, NULL, OPT_RECORDS},
        {"images-dir", required_argument, NULL, OPT_IMAGES_DIR},
        {"partial", no_argument, NULL, OPT_PARTIAL},
        {"verbose", no_argument, NULL, 'v'},
        SX_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    o->images_dir = "images";
    while ((c = sx_getopt(argc, argv, ":o:vh", longopts)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'v': o->verbose = 1; break;
        case OPT_RECORDS: o->records = 1; break;
        case OPT_IMAGES_DIR: o->images_dir = optarg; break;
        case OPT_PARTIAL: o->partial = 1; break;
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    argc -= optind;
    argv += optind;
    if (argc < 1)
        sx_usage_error("no shards given");
    if (o->records && o->output && strcmp(o->output, "-"))
        sx_usage_error("--records writes records to stdout, not to -o '%s'", o->output);
    o->shards = argv;
    o->nshards = argc;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory of each shard (absolute), for --records. */
struct run {
    struct opts *o;
    char **dirs;
    int *isdir;
    char ***splits;   /* per shard: its split names (NULL-terminated), when it has no top-level file */
    const char *split; /* the split being merged ("" for none) */
    int *map;          /* the split's shard index -> shard */
    sx_writer *rec;   /* --records: stdout */
    sx_buf line;
    FILE *out;        /* the merged file */
    sx_spool *spool;  /* --records: the merged file */
    uint64_t files;
};

static char *shard_dir(const char *arg, int isdir)
{
    char *copy = strdup(arg);
    if (!copy)
        sx_die(SX_EXIT_FAIL, "out of memory");
    if (!isdir) {
        char *slash = strrchr(copy, '/');
        if (!slash)
            strcpy(copy, ".");
        else if (slash == copy)
            copy[1] = 0;
        else
            *slash = 0;
    }
    char *abs = realpath(copy, NULL);
    if (!abs)
        sx_die(SX_EXIT_FAIL, "cannot read '%s': %s", copy, strerror(errno));
    free(copy);
    return abs;
}

/* A subdirectory of a shard that holds annotations.json is a split. */
static int split_filter(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static char **find_splits(const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, split_filter, alphasort);
    if (n < 0)
        sx_die(SX_EXIT_FAIL, "cannot read '%s': %s", dir, strerror(errno));
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out)
        sx_die(SX_EXIT_FAIL, "out of memory");
    int k = 0;
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s/annotations.json", dir, ents[i]->d_name);
        if (is_file(p) && !(out[k++] = strdup(ents[i]->d_name)))
            sx_die(SX_EXIT_FAIL, "out of memory");
        free(ents[i]);
    }
    free(ents);
    return out;
}

/* Finds each shard's directory and its file or splits. @return 1 when the
 * shards are split exports, 0 when each has one COCO file. */
static int resolve_shards(struct run *r)
{
    struct opts *o = r->o;
    r->dirs = calloc((size_t)o->nshards, sizeof *r->dirs);
    r->isdir = calloc((size_t)o->nshards, sizeof *r->isdir);
    r->splits = calloc((size_t)o->nshards, sizeof *r->splits);
    r->map = calloc((size_t)o->nshards, sizeof *r->map);
    if (!r->dirs || !r->isdir || !r->splits || !r->map)
        sx_die(SX_EXIT_FAIL, "out of memory");
    int split = -1;
    for (int i = 0; i < o->nshards; i++) {
        const char *a = o->shards[i];
        r->isdir[i] = is_dir(a);
        r->dirs[i] = shard_dir(a, r->isdir[i]);
        char json[PATH_MAX];
        int has = 1;
        if (r->isdir[i]) {
            snprintf(json, sizeof json, "%s/annotations.json", a);
            has = is_file(json);
            if (!has) {
                r->splits[i] = find_splits(a);
                if (!r->splits[i][0])
                    sx_die(SX_EXIT_FAIL, "cannot read '%s': no annotations.json in the shard, nor in a split of it", json);
            }
        } else if (!is_file(a)) {
            sx_die(SX_EXIT_FAIL, "cannot read '%s': %s", a, strerror(errno ? errno : ENOENT));
        }
        if (split >= 0 && split != !has)
            sx_die(SX_EXIT_FAIL, "'%s' and '%s' are not laid out alike (splits in one, not in the other): "
                                 "not shards of one export", o->shards[0], a);
        split = !has;
    }
    if (split && !o->records)
        sx_die(SX_EXIT_FAIL, "'%s' holds splits (%s/annotations.json, ...): use --records, or merge the "
                             "annotations.json of one split at a time", o->shards[0], r->splits[0][0]);
    return split;
}

static const char *marker_of(struct run *r, int i, char *buf, size_t n)
{
    snprintf(buf, n, "%s/sx-shard.json", r->dirs[i]);
    return is_file(buf) ? buf : NULL;
}

/* Adds the shards (those that have `split`, when split) to m. */
static void add_shards(sx_merge *m, struct run *r, const char *split, int markers)
{
    int k = 0;
    for (int i = 0; i < r->o->nshards; i++) {
        char json[PATH_MAX], mk[PATH_MAX];
        if (split) {
            snprintf(json, sizeof json, "%s/%s/annotations.json", r->dirs[i], split);
            if (!is_file(json))
                continue;
        } else if (r->isdir[i]) {
            snprintf(json, sizeof json, "%s/annotations.json", r->o->shards[i]);
        } else {
            snprintf(json, sizeof json, "%s", r->o->shards[i]);
        }
        r->map[k++] = i;
        if (sx_merge_add(m, json, markers ? marker_of(r, i, mk, sizeof mk) : NULL) < 0)
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
    }
}

static int write_file(void *ctx, const void *p, size_t n)
{
    struct run *r = ctx;
    if (r->spool)
        return sx_spool_write(r->spool, p, n);
    return fwrite(p, 1, n, r->out) == n ? 0 : -1;
}

static int put_record(struct run *r)
{
    if (sx_writer_line(r->rec, r->line.p, r->line.len) < 0)
        sx_write_failed("stdout");
    r->line.len = 0;
    return 0;
}

static int str(sx_buf *b, const char *s) { return sx_json_string(b, s, strlen(s)); }


/* --records: a src record for each image kept whose file is in its shard. */
static int on_image(void *ctx, int shard, const char *old_name, const char *new_name)
{
    struct run *r = ctx;
    if (!r->rec)
        return 0;
    char src[PATH_MAX], dst[PATH_MAX];
    const char *sep = *r->split ? "/" : "";
    snprintf(src, sizeof src, "%s/%s%s%s/%s", r->dirs[r->map[shard]], r->o->images_dir, sep, r->split, old_name);
    if (!is_file(src))
        return 0; /* an export without images, or a failed download */
    snprintf(dst, sizeof dst, "%s%s%s/%s", r->o->images_dir, sep, r->split, new_name);
    if (sx_buf_puts(&r->line, "{\"sx\":\"file\",\"path\":") < 0 || str(&r->line, dst) < 0 || sx_buf_puts(&r->line, ",\"src\":") < 0 ||
        str(&r->line, src) < 0 || sx_buf_puts(&r->line, ",\"category\":\"original_file\"}") < 0) {
        errno = ENOMEM;
        return -1;
    }
    r->files++;
    return put_record(r);
}

/* --records: the merged annotations.json of r->split and its images. */
static void merge_records(sx_merge *m, struct run *r)
{
    r->spool = sx_spool_new_named();
    if (!r->spool)
        sx_die(SX_EXIT_FAIL, "cannot create a temporary file: %s", strerror(errno));
    if (sx_merge_write(m, write_file, on_image, r) < 0)
        sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
    if (sx_spool_finish(r->spool) < 0)
        sx_die(SX_EXIT_FAIL, "cannot write a temporary file: %s", strerror(errno));
    char size[32], path[PATH_MAX];
    snprintf(size, sizeof size, "%llu", (unsigned long long)sx_spool_size(r->spool));
    snprintf(path, sizeof path, "%s%sannotations.json", r->split, *r->split ? "/" : "");
    if (sx_buf_puts(&r->line, "{\"sx\":\"file\",\"path\":") < 0 || str(&r->line, path) < 0 ||
        sx_buf_puts(&r->line, ",\"src\":") < 0 || str(&r->line, sx_spool_path(r->spool)) < 0 ||
        sx_buf_puts(&r->line, ",\"move\":true,\"category\":\"data_file\",\"size\":") < 0 ||
        sx_buf_puts(&r->line, size) < 0 || sx_buf_puts(&r->line, "}") < 0)
        sx_die(SX_EXIT_FAIL, "out of memory");
    put_record(r);
    /* handed over once the record has left: a reader that is gone takes
     * nothing, and the file is removed with the spool */
    if (sx_writer_flush(r->rec) < 0) {
        int e = errno;
        sx_spool_free(r->spool);
        errno = e;
        sx_write_failed("stdout");
    }
    r->files++;
    sx_spool_keep(r->spool);
    sx_spool_free(r->spool);
    r->spool = NULL;
}

/* --records: the meta record first, naming the shards as the directories
 * sx-save may link images from (sx_roots.h) */
static void records_begin(struct run *r)
{
    if (sx_buf_puts(&r->line, "{\"sx\":\"meta\",\"target\":\"merge\",\"src_roots\":[") < 0)
        sx_die(SX_EXIT_FAIL, "out of memory");
    for (int i = 0; i < r->o->nshards; i++)
        if ((i && sx_buf_puts(&r->line, ",") < 0) || str(&r->line, r->dirs[i]) < 0)
            sx_die(SX_EXIT_FAIL, "out of memory");
    if (sx_buf_puts(&r->line, "]}") < 0)
        sx_die(SX_EXIT_FAIL, "out of memory");
    put_record(r);
}

static void records_end(struct run *r)
{
    char end[64];
    snprintf(end, sizeof end, "{\"sx\":\"end\",\"count\":%llu}", (unsigned long long)r->files);
    if (sx_writer_line(r->rec, end, strlen(end)) < 0 || sx_writer_close(r->rec) < 0)
        sx_write_failed("stdout");
    r->rec = NULL;
}

static void verbose(const struct opts *o, sx_merge *m, const char *split)
{
    if (!o->verbose)
        return;
    uint64_t ni, na, nd, nr;
    sx_merge_counts(m, &ni, &na, &nd, &nr);
    fprintf(stderr,
            "sx-merge-coco: %d shard%s%s%s: %llu image%s (%llu duplicate%s dropped, %llu renamed), %llu annotation%s\n",
            o->nshards, o->nshards == 1 ? "" : "s", *split ? ", split " : "", split, (unsigned long long)ni,
            ni == 1 ? "" : "s", (unsigned long long)nd, nd == 1 ? "" : "s", (unsigned long long)nr,
            (unsigned long long)na, na == 1 ? "" : "s");
}

/* Shards with splits: the markers once, then each split with the shards
 * that have it. */
static void merge_splits(struct run *r)
{
    struct opts *o = r->o;
    sx_merge *chk = sx_merge_new();
    if (!chk)
        sx_die(SX_EXIT_FAIL, "out of memory");
    for (int i = 0; i < o->nshards; i++) {
        char json[PATH_MAX], mk[PATH_MAX];
        snprintf(json, sizeof json, "%s/%s/annotations.json", r->dirs[i], r->splits[i][0]);
        if (sx_merge_add(chk, json, marker_of(r, i, mk, sizeof mk)) < 0)
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(chk));
    }
    sx_merge_partial(chk, o->partial);
    if (sx_merge_check_shards(chk) < 0)
        sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(chk));
    sx_merge_free(chk);
    /* the union of the split names, in the order met */
    const char **names = calloc(64, sizeof *names);
    int nn = 0;
    if (!names)
        sx_die(SX_EXIT_FAIL, "out of memory");
    for (int i = 0; i < o->nshards; i++)
        for (char **p = r->splits[i]; *p; p++) {
            int k = 0;
            while (k < nn && strcmp(names[k], *p))
                k++;
            if (k == nn) {
                if (nn == 64)
                    sx_die(SX_EXIT_FAIL, "more than 64 splits in '%s'", o->shards[i]);
                names[nn++] = *p;
            }
        }
    for (int k = 0; k < nn; k++) {
        sx_merge *m = sx_merge_new();
        if (!m)
            sx_die(SX_EXIT_FAIL, "out of memory");
        add_shards(m, r, names[k], 0);
        sx_merge_partial(m, 1);
        if (sx_merge_check(m) < 0)
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
        r->split = names[k];
        merge_records(m, r);
        verbose(o, m, names[k]);
        sx_merge_free(m);
    }
    free(names);
}

static void merge_file(sx_merge *m, struct run *r)
{
    const char *path = r->o->output;
    if (!path || !strcmp(path, "-")) {
        r->out = stdout;
        if (sx_merge_write(m, write_file, NULL, r) < 0) {
            if (errno == EPIPE)
                sx_write_failed("stdout");
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
        }
        if (fflush(stdout) != 0 || ferror(stdout))
            sx_write_failed("stdout");
        return;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device or a pipe (-o /dev/null): written in place, never
         * replaced by a rename */
        r->out = fopen(path, "wb");
        if (!r->out)
            sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", path, strerror(errno));
        int rc = sx_merge_write(m, write_file, NULL, r);
        if (fclose(r->out) != 0 && rc == 0)
            sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", path, strerror(errno));
        r->out = NULL;
        if (rc < 0)
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
        return;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        sx_die(SX_EXIT_FAIL, "out of memory");
    snprintf(tmp, n, "%s.sx-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", path, strerror(errno));
    fchmod(fd, 0644 & ~(mode_t)0);
    r->out = fdopen(fd, "wb");
    if (!r->out) {
        unlink(tmp);
        sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", path, strerror(errno));
    }
    int rc = sx_merge_write(m, write_file, NULL, r);
    int werr = rc < 0 ? 0 : (fflush(r->out) != 0 || fsync(fileno(r->out)) != 0) ? errno : 0;
    if (fclose(r->out) != 0 && !werr && rc == 0)
        werr = errno;
    r->out = NULL;
    if (rc < 0 || werr || rename(tmp, path) < 0) {
        int e = werr ? werr : errno;
        unlink(tmp);
        free(tmp);
        if (rc < 0)
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
        sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", path, strerror(e));
    }
    free(tmp);
}

int main(int argc, char **argv)
{
    sx_cli_init("sx-merge-coco");
    struct opts o = {0};
    parse_options(&o, argc, argv);
    struct run r = {.o = &o, .split = ""};
    int split = resolve_shards(&r);
    if (o.records && !(r.rec = sx_writer_open(NULL, 0)))
        sx_die(SX_EXIT_FAIL, "cannot write to stdout: %s", strerror(errno));
    if (o.records)
        records_begin(&r);
    if (split) {
        merge_splits(&r);
    } else {
        sx_merge *m = sx_merge_new();
        if (!m)
            sx_die(SX_EXIT_FAIL, "out of memory");
        add_shards(m, &r, NULL, 1);
        sx_merge_partial(m, o.partial);
        if (sx_merge_check(m) < 0)
            sx_die(SX_EXIT_FAIL, "%s", sx_merge_error(m));
        if (o.records)
            merge_records(m, &r);
        else
            merge_file(m, &r);
        verbose(&o, m, "");
        sx_merge_free(m);
    }
    if (o.records)
        records_end(&r);
    for (int i = 0; i < o.nshards; i++) {
        free(r.dirs[i]);
        if (r.splits[i])
            for (char **p = r.splits[i]; *p; p++)
                free(*p);
        free(r.splits[i]);
    }
    free(r.dirs);
    free(r.isdir);
    free(r.splits);
    free(r.map);
    sx_buf_free(&r.line);
    return SX_EXIT_OK;
}
