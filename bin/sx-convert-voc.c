/* sx-convert-voc : items in, the file operations of a Pascal VOC dataset out. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sx_cli.h"
#include "sx_voc.h"
#include "sx_convert.h"
#include "sx_spool.h"
#include "sx_stream.h"

static const char usage_text[] =
    "usage: sx-convert-voc [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of a Pascal VOC dataset for sx-save:\n"
    "Annotations/[<split>/]<stem>.xml per item, classes.txt, and the images under\n"
    "images/[<split>/]. One object per box (and per polygon, its extent), clipped to\n"
    "the image, with VOC's 1-based integer pixels: xmin = round(x1) + 1,\n"
    "xmax = round(x2) (likewise y). Control records are forwarded in order; a\n"
    "failing item becomes an error record and the stream goes on.\n"    "\n"
    "options:\n"
    "  -o, --output FILE   write to FILE ('-' is standard output, '.zst' compresses)\n"
    "      --zstd          compress the output with zstd\n"
    "  -q, --quiet         no warnings on standard error\n"
    "      --keep-going    a line that is not JSON becomes an error record instead of\n"
    "                      stopping the conversion (exit 1 at the end)\n"
    "      --images MODE   url, copy, link or none: how images enter the dataset\n"
    "                      (default: url for items with files.url, link for local ones)\n"
    "      --classes FILE  class names, one per line (classes.txt order); a class\n"
    "                      outside the list fails its item;\n"
    "                      default: the project configuration in meta, else sorted names\n"
    "      --split SPEC    assign splits by item id hash: train=0.8,val=0.2[,test=…]\n"
    "                      (default: the items' own \"split\" field, else no split)\n"
    "      --seed N        seed of --split (default 0)\n"

    "  -h, --help          this help\n"
    "      --version       the version\n"
    "\n"
    "environment: TMPDIR (spool files, default /tmp); SX_CONVERT_THREADS=0 or 1\n"
    "(read ahead in a second thread; default: when a second core is idle).\n"
    "\n"
    "exit status: 0 done, 1 bad input (invalid JSON, cut stream) or I/O error, 2 usage.\n"
    "\n"
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-voc \\\n"
    "    | sx-save -o exports/voc-123\n";

struct opts {
    const char *output, *classes, *split, *images;
    int zstd, quiet, keep_going, move;
    uint64_t seed;
    char **inputs;
    int ninputs;
};

enum { OPT_IMAGES = SX_OPT_FIRST_FREE, OPT_CLASSES, OPT_SPLIT, OPT_SEED, OPT_MOVE };

static void parse_opts(struct opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'},
        {"zstd", no_argument, NULL, SX_OPT_ZSTD},
        {"quiet", no_argument, NULL, 'q'},
        {"keep-going", no_argument, NULL, SX_OPT_KEEP_GOING},
        {"images", required_argument, NULL, OPT_IMAGES},
        {"classes", required_argument, NULL, OPT_CLASSES},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"seed", required_argument, NULL, OPT_SEED},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'q': o->quiet = 1; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case SX_OPT_KEEP_GOING: o->keep_going = 1; break;
        case OPT_IMAGES: o->images = optarg; break;
        case OPT_CLASSES: o->classes = optarg; break;
        case OPT_SPLIT: o->split = optarg; break;
        case OPT_SEED: o->seed = sx_opt_u64("--seed", optarg, 0, UINT64_MAX); break;
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
}

static void on_signal(int sig)
{
    sx_spool_unlink_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    char err[512];
    sx_cli_init("sx-convert-voc");
    parse_opts(&o, argc, argv);

    sx_conv_opts co = {.stage = "sx-convert-voc", .keep_going = o.keep_going, 
                       .parse_dm = 1, .need_size = 1};
    if (o.images && sx_img_mode_parse(o.images, &co.images) < 0)
        sx_usage_error("--images: '%s' is not url, copy, link or none", o.images);
    sx_split *split = NULL;
    if (o.split && !(split = sx_split_parse(o.split, o.seed, err, sizeof err)))
        sx_usage_error("--split: %s", err);
    co.split = split;
    sx_voc_opts vo = {.classes_file = o.classes};
    sx_voc *conv = sx_voc_new(&vo, err, sizeof err);
    if (!conv)
        sx_die(SX_EXIT_FAIL, "%s", err);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    sx_reader *r = sx_reader_open(o.inputs, o.ninputs, 0);
    sx_writer *w = sx_writer_open(o.output ? o.output : "-", o.zstd);
    if (!w)
        sx_die(SX_EXIT_FAIL, "cannot open '%s': %s", o.output, strerror(errno));
    sx_conv_ops ops = sx_voc_ops(conv);
    sx_conv *cv = r ? sx_conv_new(&co, &ops, w) : NULL;
    if (!cv)
        sx_die(SX_EXIT_FAIL, "out of memory");
    int rc = sx_conv_run(cv, r);
    const char *where;
    uint64_t line;
    const char *msg = sx_conv_error(cv, &where, &line);
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", msg);
    char wsaved[512];
    snprintf(wsaved, sizeof wsaved, "%s", where ? where : "");
    int werrno = errno;
    sx_conv_free(cv);
    sx_voc_free(conv);
    sx_split_free(split);
    sx_reader_free(r);
    if (rc == SX_CONV_WRITE) {
        sx_writer_discard(w);
        errno = werrno;
        sx_write_failed(o.output ? o.output : "stdout");
    }
    if (sx_writer_close(w) < 0)
        sx_write_failed(o.output ? o.output : "stdout");
    if (rc == SX_CONV_FAIL) {
        if (*wsaved)
            sx_die_at(SX_EXIT_FAIL, wsaved, line, "%s", saved);
        sx_die(SX_EXIT_FAIL, "%s", saved);
    }
    if (rc == SX_CONV_BADLINES && !o.quiet)
        sx_warn("some input lines were not JSON (see the error records)");
    return rc == SX_CONV_OK ? SX_EXIT_OK : SX_EXIT_FAIL;
}
