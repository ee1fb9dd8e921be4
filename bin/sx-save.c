/* sx-save: writes the files of a stream into an export directory, all or nothing. */
#include "sx_cli.h"
#include "sx_export.h"
#include "sx_feed.h"
#include "sx_jqprog.h"
#include "sx_safefs.h"
#include "sx_stream.h"
#include "sx_tally.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
"usage: sx-save -o DIR [options] [FILE...]\n"
"       sx-save --rollback DIR\n"
"\n"
"Reads file records (from sx-convert-*) and writes them into DIR, all or\n"
"nothing. Every file is written to a temporary name in its directory, made\n"
"durable (syncfs, in batches) and renamed into place; every directory and\n"
"file is recorded in DIR/.sx-manifest.ndjson before it appears. The export\n"
"is committed once the upstream end record has arrived and every file is in\n"
"place. A stream cut short, a bad record, a full disk, SIGINT, SIGTERM or\n"
"SIGHUP remove what was created, in reverse order. After a crash (SIGKILL,\n"
"power loss) --rollback undoes the export and --resume continues it.\n"
"\n"
"Records: {\"sx\":\"file\",\"path\":P, …} with one of \"text\" (content; later\n"
"chunks of the same file with \"append\":true), \"url\" (http or https only;\n"
"downloaded in parallel with retries, never with credentials), \"src\" (an\n"
"absolute local path, copied, or hard-linked with \"link\":true; only under\n"
"a directory sx-save may read: --allow-src, or the dataset sx-fetch --dir\n"
"names in the stream's meta), \"src\" with \"move\":true (a finished file that\n"
"an sx program spooled, taken over; any other is refused).\n"
"Optional \"item\", \"category\", \"size\", \"sha256\" (checked). Paths that are\n"
"absolute, hold '..' or NUL, or pass through a link are refused, and so is a\n"
"second record for the same path. A failed file fails its item (its other\n"
"files are removed), not the export, unless --strict.\n"
"\n"
"Output: the control records of the input, log records per file, metrics for\n"
"data_file and original_file, progress of the downloads, then a result record\n"
"(also written as DIR/export.json) and end. DIR/error_file_list.json lists\n"
"failed files when there are any.\n"
"\n"
"options:\n"
"  -o, --output DIR     the export directory; created when missing; an\n"
"                       existing non-empty one is refused unless --force\n"
"      --force          write into an existing non-empty DIR (existing files\n"
"                       are never replaced)\n"
"      --unique         when DIR exists, use DIR(1), DIR(2), … instead\n"
"      --resume         continue the interrupted export in DIR: files the\n"
"                       manifest records as done (same size and sha256) are\n"
"                       kept, not written or downloaded again\n"
"      --rollback DIR   undo the export recorded in DIR (crashed or\n"
"                       committed) and exit\n"
"  -j, --jobs N         downloads at once, 1 to 128 (default 8)\n"
"      --retries N      retries of a download, 0 to 20 (default 4), with\n"
"                       backoff, honouring Retry-After; a refused connection\n"
"                       once, a host name that does not resolve never\n"
"      --timeout SECS   time limit of one download try (default none)\n"
"      --stall SECS     a download slower than 1 KB/s for SECS is stopped and\n"
"                       retried (default 30; 0: never)\n"
"      --link           hard-link src files instead of copying them\n"
"      --allow-src DIR  src records may read files under DIR (repeatable;\n"
"                       links are followed only while they stay under it;\n"
"                       never /proc, /sys, /dev)\n"
"      --strict         any failed file or refused path fails the export\n"
"      --keep-going     skip non-file data records with an error record\n"
"      --no-sync        skip fsync (throw-away exports, tests)\n"
"      --add PATH=FILE  place the local FILE at PATH in the export once the\n"
"                       stream has ended (repeatable); rolled back with it\n"
"      --add-json PATH=JQ  write at PATH, as JSON, the first value of the jq\n"
"                       program JQ run on the result ({export_path,\n"
"                       exported_count, failed_count, total_count, meta})\n"
"      --zstd           compress the records written to stdout with zstd\n"
"  -q, --quiet          no summary of failed files on stderr\n"
"  -h, --help           show this help\n"
"      --version        show the version\n"
"\n"
"exit status: 0 the export is committed (items may have failed: see\n"
"error_file_list.json); 1 rolled back (bad input, I/O, full disk, cut stream,\n"
"SIGHUP); 2 usage error; 3 rolled back because a download failed under\n"
"--strict; 130 and 143 rolled back on SIGINT and SIGTERM.\n"
"\n"
"example:\n"
"  sx-fetch -f project=123 | sx-convert-coco | sx-save -o out | sx-progress\n"
"  sx-save --rollback out\n"
"  ... | sx-save -o out --add README.txt=notes.txt \\\n"
"          --add-json 'metadata.json={total_items: .total_count, format_version: \"1.0\"}'\n";

struct opts {
    sx_export_opts x;
    const char **allow_src;
    sx_export_extra *extras;
    size_t nextras;
    const char *rollback;
    int quiet, zstd;
    char **inputs;
    int ninputs;
};

/* --add PATH=FILE, --add-json PATH=JQ: checked now, so that a bad one
 * stops the export before anything is written. */
static void add_extra(struct opts *o, const char *opt, char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        sx_usage_error("%s: '%s' is not PATH=%s", opt, arg, strcmp(opt, "--add") ? "JQ" : "FILE");
    *eq = 0;
    const char *path = arg, *what = eq + 1, *bad = sx_path_check(path, strlen(path));
    if (bad)
        sx_usage_error("%s: '%s': %s", opt, path, bad);
    for (size_t i = 0; i < o->nextras; i++)
        if (!strcmp(o->extras[i].path, path))
            sx_usage_error("%s: '%s' is added twice", opt, path);
    sx_export_extra x = {.path = path};
    if (!strcmp(opt, "--add")) {
        struct stat st;
        if (stat(what, &st) < 0)
            sx_usage_error("--add %s: cannot read '%s': %s", path, what, strerror(errno));
        if (!S_ISREG(st.st_mode))
            sx_usage_error("--add %s: '%s' is not a regular file", path, what);
        x.src = what;
    } else {
        char *err, origin[300];
        snprintf(origin, sizeof origin, "--add-json %s", path);
        x.jq = sx_jqprog_new(what, jv_object(), jv_null(), origin, &err);
        if (!x.jq) {
            sx_warn("%s", err);
            free(err);
            exit(SX_EXIT_USAGE);
        }
    }
    sx_export_extra *v = realloc(o->extras, (o->nextras + 1) * sizeof *v);
    if (!v)
        sx_die(SX_EXIT_FAIL, "out of memory");
    v[o->nextras++] = x;
    o->extras = v;
    o->x.extras = v;
    o->x.nextras = o->nextras;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
    enum {
        OPT_FORCE = SX_OPT_FIRST_FREE, OPT_UNIQUE, OPT_RESUME, OPT_ROLLBACK, OPT_RETRIES, OPT_TIMEOUT,
        OPT_LINK, OPT_STRICT, OPT_NO_SYNC, OPT_ADD, OPT_ADD_JSON, OPT_ALLOW_SRC, OPT_STALL
    };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, OPT_FORCE},
        {"unique", no_argument, NULL, OPT_UNIQUE},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"rollback", required_argument, NULL, OPT_ROLLBACK},
        {"jobs", required_argument, NULL, 'j'},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"stall", required_argument, NULL, OPT_STALL},
        {"link", no_argument, NULL, OPT_LINK},
        {"allow-src", required_argument, NULL, OPT_ALLOW_SRC},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"keep-going", no_argument, NULL, SX_OPT_KEEP_GOING},
        {"no-sync", no_argument, NULL, OPT_NO_SYNC},
        {"add", required_argument, NULL, OPT_ADD},
        {"add-json", required_argument, NULL, OPT_ADD_JSON},
        {"zstd", no_argument, NULL, SX_OPT_ZSTD},
        {"quiet", no_argument, NULL, 'q'},
        SX_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    o->x.dl = sx_dl_opts_default();
    while ((c = sx_getopt(argc, argv, ":o:j:qh", longopts)) != -1) {
        switch (c) {
        case 'o': o->x.dir = optarg; break;
        case 'j': o->x.dl.jobs = (int)sx_opt_u64("--jobs", optarg, 1, 128); break;
        case 'q': o->quiet = 1; break;
        case OPT_FORCE: o->x.force = 1; break;
        case OPT_UNIQUE: o->x.unique = 1; break;
        case OPT_RESUME: o->x.resume = 1; break;
        case OPT_ROLLBACK: o->rollback = optarg; break;
        case OPT_RETRIES: o->x.dl.tries = 1 + (int)sx_opt_u64("--retries", optarg, 0, 20); break;
        case OPT_TIMEOUT: o->x.dl.timeout_ms = (long)(sx_opt_seconds("--timeout", optarg, 86400) * 1000); break;
        case OPT_STALL: o->x.dl.stall_s = (long)sx_opt_u64("--stall", optarg, 0, 86400); break;
        case OPT_LINK: o->x.link = 1; break;
        case OPT_ALLOW_SRC: {
            const char **v = realloc(o->allow_src, (o->x.nallow_src + 1) * sizeof *v);
            if (!v)
                sx_die(SX_EXIT_FAIL, "out of memory");
            v[o->x.nallow_src++] = optarg;
            o->allow_src = v;
            o->x.allow_src = v;
            break;
        }
        case OPT_STRICT: o->x.strict = 1; break;
        case OPT_NO_SYNC: o->x.no_sync = 1; break;
        case OPT_ADD:
        case OPT_ADD_JSON: add_extra(o, c == OPT_ADD ? "--add" : "--add-json", optarg); break;
        case SX_OPT_KEEP_GOING: o->x.keep_going = 1; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
    if (o->rollback) {
        if (o->x.dir || o->ninputs)
            sx_usage_error("--rollback takes a directory and nothing else");
        return;
    }
    if (!o->x.dir)
        sx_usage_error("-o DIR is required");
    if (o->x.resume + o->x.force + o->x.unique > 1)
        sx_usage_error("choose one of --resume, --force, --unique");
}

static volatile sig_atomic_t stop_signal;
static sx_feed *the_feed;

static void on_signal(int sig)
{
    stop_signal = sig;
    if (the_feed)
        sx_feed_wake(the_feed);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* a file over `ulimit -f` fails its write with EFBIG instead */
    signal(SIGXFSZ, SIG_IGN);
}

/* "3 files and directories removed", "1 file or directory removed",
 * "nothing had been written" */
static const char *removed_text(size_t n, char *buf, size_t len)
{
    if (n == 0)
        snprintf(buf, len, "nothing had been written");
    else
        snprintf(buf, len, "%zu %s removed", n, n == 1 ? "file or directory" : "files and directories");
    return buf;
}

static int do_rollback(const struct opts *o)
{
    char err[512];
    size_t removed = 0;
    if (sx_export_rollback_dir(o->rollback, &removed, err, sizeof err) < 0)
        sx_die(SX_EXIT_FAIL, "%s", err);
    char rm[64];
    if (!o->quiet)
        fprintf(stderr, "%s: rolled back '%s': %s\n", sx_prog(), o->rollback, removed_text(removed, rm, sizeof rm));
    return SX_EXIT_OK;
}

/* The end of a committed export on stderr: why items failed, and what
 * was left out of the items that did not, each with a few item ids; the
 * numbers are those of the result. */
static void summarise(const sx_export *e)
{
    uint64_t ok, bad, badfiles;
    char line[1500];
    sx_export_counts(e, &ok, &bad, &badfiles);
    const sx_tally *f = sx_export_failures(e);
    if (bad)
        sx_warn("%llu item%s failed (see '%s/error_file_list.json'): %s", (unsigned long long)bad,
                bad == 1 ? "" : "s", sx_export_dir(e), sx_tally_format(f, line, sizeof line));
    else if (badfiles)
        sx_warn("%llu file%s failed (see '%s/error_file_list.json')", (unsigned long long)badfiles,
                badfiles == 1 ? "" : "s", sx_export_dir(e));
    const sx_tally *d = sx_export_warnings(e, 0), *g = sx_export_warnings(e, 1);
    if (sx_tally_total(d))
        sx_warn("%llu annotation%s left out, in %llu item%s: %s",
                (unsigned long long)sx_tally_total(d), sx_tally_total(d) == 1 ? "" : "s",
                (unsigned long long)sx_tally_items(d), sx_tally_items(d) == 1 ? "" : "s",
                sx_tally_format(d, line, sizeof line));
    if (sx_tally_total(g))
        sx_warn("not exported, in %llu item%s: %s", (unsigned long long)sx_tally_items(g),
                sx_tally_items(g) == 1 ? "" : "s", sx_tally_format(g, line, sizeof line));
    const char *why;
    uint64_t copies = sx_export_link_copies(e, &why);
    if (copies)
        sx_warn("%llu file%s copied, not hard-linked (%s): they take their own disk space",
                (unsigned long long)copies, copies == 1 ? "" : "s", why);
}


int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    sx_cli_init("sx-save");
    parse_options(&o, argc, argv);
    if (o.rollback)
        return do_rollback(&o);

    catch_signals();
    char err[512];
    sx_export *e = sx_export_open(&o.x, err, sizeof err);
    if (!e)
        sx_die(SX_EXIT_FAIL, "%s", err);
    sx_reader *r = sx_reader_open(o.inputs, o.ninputs, 0);
    sx_writer *w = sx_writer_open("-", o.zstd);
    if (!r || !w || !(the_feed = sx_feed_start(r, 256)))
        sx_die(SX_EXIT_FAIL, "out of memory");
    if (stop_signal)
        sx_feed_wake(the_feed);
    sx_export_status st = sx_export_run(e, the_feed, w, &stop_signal, sx_reader_name(r));
    const char *input = sx_reader_name(r);
    int code = SX_EXIT_OK;
    if (st == SX_EXPORT_STOPPED) {
        const char *name = stop_signal == SIGINT ? "SIGINT" : stop_signal == SIGTERM ? "SIGTERM" : "SIGHUP";
        char rm[64];
        sx_warn("interrupted by %s; the export to '%s' was rolled back (%s)%s", name, sx_export_dir(e),
                removed_text(sx_export_removed(e), rm, sizeof rm), sx_export_error(e));
        code = stop_signal == SIGINT ? 130 : stop_signal == SIGTERM ? 143 : SX_EXIT_FAIL;
    } else if (st != SX_EXPORT_DONE) {
        char msg[700], rm[64];
        snprintf(msg, sizeof msg, "%s; the export to '%s' was rolled back (%s)", sx_export_error(e),
                 sx_export_dir(e), removed_text(sx_export_removed(e), rm, sizeof rm));
        if (sx_export_error_line(e))
            sx_warn_at(input, sx_export_error_line(e), "%s", msg);
        else
            sx_warn("%s", msg);
        code = st == SX_EXPORT_NETWORK ? SX_EXIT_BACKEND : SX_EXIT_FAIL;
    } else if (!o.quiet) {
        summarise(e);
    }
    if (st == SX_EXPORT_STOPPED) {
        /* the reader thread may be blocked in a read: leave it to exit */
        sx_writer_flush(w);
        _exit(code);
    }
    sx_export_free(e);
    for (size_t i = 0; i < o.nextras; i++)
        sx_jqprog_free(o.extras[i].jq);
    free(o.extras);
    free(o.allow_src);
    sx_feed_free(the_feed);
    sx_reader_free(r);
    if (sx_writer_close(w) < 0 && errno != EPIPE && code == SX_EXIT_OK)
        sx_write_failed("stdout");
    return code;
}
