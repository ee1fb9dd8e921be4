/* sx-download: fetches the media of every item before conversion. */
#include "sx_cli.h"
#include "sx_prefetch.h"
#include "sx_spool.h"
#include "sx_stream.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char usage_text[] =
"usage: sx-download [options] [FILE...]\n"
"\n"
"Downloads the image of every item of a stream (from sx-fetch) before any\n"
"converter sees it, so that a converter only ever sees items whose image is\n"
"on disk. Each item whose files.url is http or https is fetched (in\n"
"parallel, retried with backoff, never with credentials) into one spool\n"
"directory, DIR/sx-spool.XXXXXX, and written with files.path set to the\n"
"spooled file (files.url kept); files.width and files.height are read from\n"
"the image header (PNG, JPEG, WebP, BMP, GIF, TIFF) when the item has none.\n"
"files.size and files.sha256, when the item gives them well formed, are\n"
"checked. An item whose download fails, or whose URL is not http(s), is not\n"
"written: an error record takes its place\n"
"  {\"sx\":\"error\",\"item\":ID,\"stage\":\"sx-download\",\"category\":\"original_file\",\n"
"   \"file\":NAME,\"reason\":\"download failed\"|\"url refused\",\"message\":…}\n"
"Items without files.url or with null data, other data records and control\n"
"records pass through unchanged, in order, except meta (the spool\n"
"directory's path is added as \"spool\"; a meta is written first when the\n"
"input has none) and end (replaced: count is the data records written).\n"
"Records leave in input order, each as soon as those before it are done.\n"
"Input is standard input or the FILEs, zstd-compressed or not.\n"
"\n"
"The spool directory is handed over to the pipeline when sx-download ends\n"
"cleanly (the meta names it; sx-save removes it at its end). On a cut\n"
"input, a bad line, a closed output, SIGINT, SIGTERM or SIGHUP it is\n"
"removed with every file in it, and no end record is written.\n"
"\n"
"options:\n"
"  -o, --output FILE     write to FILE instead of standard output; a name\n"
"                        ending in .zst is written zstd-compressed\n"
"      --zstd            compress the output with zstd\n"
"  -j, --jobs N          downloads at once, 1 to 128 (default 8)\n"
"      --retries N       retries of a download, 0 to 20 (default 4), with\n"
"                        backoff, honouring Retry-After; a refused connection\n"
"                        once, a host name that does not resolve never\n"
"      --timeout SECS    time limit of one download try (default none)\n"
"      --stall SECS      a download slower than 1 KB/s for SECS is stopped\n"
"                        and retried (default 30; 0: never)\n"
"      --window N        records held at most while their downloads run,\n"
"                        1 to 4096 (default 256); each holds an open file\n"
"      --spool-dir DIR   make the spool directory in DIR (default $TMPDIR,\n"
"                        else /tmp)\n"
"  -k, --keep-going      a line that is not JSON becomes an error record\n"
"                        (default: stop with exit 1)\n"
"  -q, --quiet           no summary of failed downloads on stderr\n"
"  -h, --help            show this help\n"
"      --version         show the version\n"
"\n"
"exit status: 0 done (items may have failed: see the error records; also\n"
"when the reader of the output went away); 1 bad input, cut stream, I/O\n"
"error or SIGHUP; 2 usage error; 130 and 143 on SIGINT and SIGTERM.\n"
"\n"
"example:\n"
"  sx-fetch -f project=123 | sx-download | sx-convert-coco | sx-save -o out\n";

struct opts {
    sx_prefetch_opts p;
    const char *output, *spool_parent;
    int zstd, quiet;
    char **inputs;
    int ninputs;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
    enum { OPT_RETRIES = SX_OPT_FIRST_FREE, OPT_TIMEOUT, OPT_STALL, OPT_WINDOW, OPT_SPOOL_DIR };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"zstd", no_argument, NULL, SX_OPT_ZSTD},
        {"jobs", required_argument, NULL, 'j'},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"stall", required_argument, NULL, OPT_STALL},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"spool-dir", required_argument, NULL, OPT_SPOOL_DIR},
        {"keep-going", no_argument, NULL, 'k'},
        {"quiet", no_argument, NULL, 'q'},
        SX_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    o->p.dl = sx_dl_opts_default();
    o->p.window = 256;
    while ((c = sx_getopt(argc, argv, ":o:j:kqh", longopts)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case 'j': o->p.dl.jobs = (int)sx_opt_u64("--jobs", optarg, 1, 128); break;
        case OPT_RETRIES: o->p.dl.tries = 1 + (int)sx_opt_u64("--retries", optarg, 0, 20); break;
        case OPT_TIMEOUT: o->p.dl.timeout_ms = (long)(sx_opt_seconds("--timeout", optarg, 86400) * 1000); break;
        case OPT_STALL: o->p.dl.stall_s = (long)sx_opt_u64("--stall", optarg, 0, 86400); break;
        case OPT_WINDOW: o->p.window = (int)sx_opt_u64("--window", optarg, 1, 4096); break;
        case OPT_SPOOL_DIR: o->spool_parent = optarg; break;
        case 'k': o->p.keep_going = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
}

/* Every record of the window may hold an open file, every transfer a
 * socket: the soft limit is raised toward the hard one when it is short. */
static void need_files(const struct opts *o)
{
    rlim_t need = (rlim_t)o->p.window + 2 * (rlim_t)o->p.dl.jobs + 64;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
        sx_usage_error("--window %d needs about %llu open files; the limit is %llu (ulimit -n)", o->p.window,
                       (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}

/* The spool directory, made in --spool-dir, $TMPDIR or /tmp (an absolute
 * path: the stream carries it to other programs). */
static void make_spool(const struct opts *o, char *out, size_t n)
{
    const char *parent = o->spool_parent;
    if (!parent) {
        parent = getenv("TMPDIR");
        if (!parent || !*parent)
            parent = "/tmp";
    }
    char real[PATH_MAX];
    if (!realpath(parent, real))
        sx_die(SX_EXIT_FAIL, "cannot use '%s' for the spool directory: %s", parent, strerror(errno));
    if (sx_spool_dir_create(real, out, n) < 0)
        sx_die(SX_EXIT_FAIL, "cannot create a spool directory in '%s': %s", real, strerror(errno));
}

static volatile sig_atomic_t stop_signal;
static sx_feed *the_feed;
static sx_prefetch *the_run;
static pthread_t main_thread;

static int signal_code(int sig) { return sig == SIGINT ? 130 : sig == SIGTERM ? 143 : SX_EXIT_FAIL; }

static void on_signal(int sig)
{
    if (!pthread_equal(pthread_self(), main_thread)) {
        pthread_kill(main_thread, sig); /* the main thread knows what it is doing */
        return;
    }
    stop_signal = sig;
    if (the_feed)
        sx_feed_wake(the_feed);
    /* blocked writing to a reader that does not read: clean up now */
    if (sx_prefetch_interrupt(the_run))
        _exit(signal_code(sig));
}

static sigset_t stop_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
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
    signal(SIGXFSZ, SIG_IGN); /* a file over `ulimit -f` fails with EFBIG */
}

static const char *signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP"; }

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    sx_cli_init("sx-download");
    parse_options(&o, argc, argv);
    need_files(&o);

    /* from the spool directory's birth on, a signal must find the handler
     * that removes it: held until everything is in place */
    sigset_t stops = stop_signals(), old;
    pthread_sigmask(SIG_BLOCK, &stops, &old);
    main_thread = pthread_self();
    char spool[PATH_MAX + 32];
    make_spool(&o, spool, sizeof spool);
    o.p.spool = spool;
    char err[512];
    sx_prefetch *run = sx_prefetch_new(&o.p, err, sizeof err);
    if (!run) {
        rmdir(spool);
        sx_die(SX_EXIT_FAIL, "%s", err);
    }
    const char *outname = o.output ? o.output : "stdout";
    sx_reader *r = sx_reader_open(o.inputs, o.ninputs, 0);
    sx_writer *w = sx_writer_open(o.output ? o.output : "-", o.zstd);
    if (!w) {
        int e = errno;
        sx_prefetch_free(run);
        rmdir(spool);
        sx_die(SX_EXIT_FAIL, "cannot open '%s': %s", o.output, strerror(e));
    }
    if (!r || !(the_feed = sx_feed_start(r, 256))) {
        sx_prefetch_free(run);
        rmdir(spool);
        sx_die(SX_EXIT_FAIL, "out of memory");
    }
    the_run = run;
    catch_signals();
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    sx_prefetch_status st = sx_prefetch_run(run, the_feed, r, w, &stop_signal, sx_reader_name(r));
    int code = SX_EXIT_OK;
    if (st == SX_PREFETCH_STOPPED) {
        sx_warn("interrupted by %s; the spool directory '%s' was removed", signal_name(stop_signal), spool);
        code = signal_code(stop_signal);
    } else if (st == SX_PREFETCH_FAILED) {
        char msg[sizeof spool + 600];
        snprintf(msg, sizeof msg, "%s; the spool directory '%s' was removed", sx_prefetch_error(run), spool);
        if (sx_prefetch_error_line(run))
            sx_warn_at(sx_reader_name(r), sx_prefetch_error_line(run), "%s", msg);
        else
            sx_warn("%s", msg);
        code = SX_EXIT_FAIL;
    } else if (st == SX_PREFETCH_DONE && !o.quiet) {
        uint64_t written, downloaded, failed;
        sx_prefetch_counts(run, &written, &downloaded, &failed);
        if (failed)
            sx_warn("%llu of %llu download%s failed (see the error records)", (unsigned long long)failed,
                    (unsigned long long)(failed + downloaded), failed + downloaded == 1 ? "" : "s");
    }
    if (st == SX_PREFETCH_STOPPED || st == SX_PREFETCH_FAILED || st == SX_PREFETCH_CLOSED) {
        /* the reader thread may be blocked in a read: leave it to exit */
        sx_writer_discard(w);
        _exit(code);
    }
    the_run = NULL;
    sx_prefetch_free(run);
    sx_feed_free(the_feed);
    sx_reader_free(r);
    if (sx_writer_close(w) < 0) {
        /* the end record did not get through: nothing was handed over */
        int e = errno;
        const char *why;
        sx_spool_dir_purge(spool, &why);
        errno = e;
        sx_write_failed(outname);
    }
    return code;
}
