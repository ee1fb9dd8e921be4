/* sx-convert-yolo : items in, the file operations of a YOLO (Ultralytics) dataset out. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sx_cli.h"
#include "sx_yolo.h"
#include "sx_convert.h"
#include "sx_spool.h"
#include "sx_stream.h"

static const char usage_text[] =
    "usage: sx-convert-yolo [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of a YOLO dataset (Ultralytics layout) for sx-save:\n"
    "labels/[<split>/]<stem>.txt (empty for an image without objects), classes.txt,\n"
    "dataset.yaml and the images under images/[<split>/]. Boxes are clipped in corner\n"
    "form, normalised and printed %.6f; a box left without area is dropped and\n"
    "reported with an error record. Control records are forwarded in order; a failing\n"
    "item becomes an error record and the stream goes on.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   write to FILE ('-' is standard output, '.zst' compresses)\n"
    "      --zstd          compress the output with zstd\n"
    "  -q, --quiet         no warnings on standard error\n"
    "      --keep-going    a line that is not JSON becomes an error record instead of\n"
    "                      stopping the conversion (exit 1 at the end)\n"
    "      --images MODE   url, copy, link or none: how images enter the dataset\n"
    "                      (default: url for items with files.url, link for local ones)\n"
    "      --classes FILE  class names, one per line, in id order (ids from 0);\n"
    "                      default: the project configuration in meta, else sorted names\n"
    "      --split SPEC    assign splits by item id hash: train=0.8,val=0.2[,test=…]\n"
    "                      (default: the items' own \"split\" field, else no split)\n"
    "      --seed N        seed of --split (default 0)\n"
    "  -t, --task TASK     detect (class cx cy w h; default), segment (class x1 y1 …)\n"
    "                      or pose (class cx cy w h, then x y v per keypoint name)\n"
    "      --dataset-path DIR  the `path` written in dataset.yaml (default: empty,\n"
    "                      which Ultralytics reads as the directory of dataset.yaml)\n"
    "  -h, --help          this help\n"
    "      --version       the version\n"
    "\n"
    "environment: TMPDIR (spool files, default /tmp); SX_CONVERT_THREADS=0 or 1\n"
    "(read ahead in a second thread; default: when a second core is idle).\n"
    "\n"
    "exit status: 0 done, 1 bad input (invalid JSON, cut stream) or I/O error, 2 usage.\n"
    "\n"
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-yolo --task detect --split train=0.8,val=0.2 \\\n"
    "    | sx-save -o exports/yolo-123\n";

struct opts {
    const char *output, *classes, *split, *images, *task, *dataset_path;
    int zstd, quiet, keep_going;
    uint64_t seed;
    char **inputs;
    int ninputs;
};

enum { OPT_IMAGES = SX_OPT_FIRST_FREE, OPT_CLASSES, OPT_SPLIT, OPT_SEED, OPT_DATASET_PATH };

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
        {"task", required_argument, NULL, 't'},
        {"dataset-path", required_argument, NULL, OPT_DATASET_PATH},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qht:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'q': o->quiet = 1; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case SX_OPT_KEEP_GOING: o->keep_going = 1; break;
        case OPT_IMAGES: o->images = optarg; break;
        case OPT_CLASSES: o->classes = optarg; break;
        case OPT_SPLIT: o->split = optarg; break;
        case OPT_SEED: o->seed = sx_opt_u64("--seed", optarg, 0, UINT64_MAX); break;
        case 't': o->task = optarg; break;
        case OPT_DATASET_PATH: o->dataset_path = optarg; break;
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
    sx_cli_init("sx-convert-yolo");
    parse_opts(&o, argc, argv);

    sx_conv_opts co = {.stage = "sx-convert-yolo", .keep_going = o.keep_going, .parse_dm = 1, .need_size = 1};
    sx_yolo_task task = SX_YOLO_DETECT;
    if (o.task && sx_yolo_task_parse(o.task, &task) < 0)
        sx_usage_error("--task: '%s' is not detect, segment or pose", o.task);
    if (o.images && sx_img_mode_parse(o.images, &co.images) < 0)
        sx_usage_error("--images: '%s' is not url, copy, link or none", o.images);
    sx_split *split = NULL;
    if (o.split && !(split = sx_split_parse(o.split, o.seed, err, sizeof err)))
        sx_usage_error("--split: %s", err);
    co.split = split;
    sx_yolo_opts yo = {.task = task, .classes_file = o.classes, .dataset_path = o.dataset_path, .split = split};
    sx_yolo *yolo = sx_yolo_new(&yo, err, sizeof err);
    if (!yolo)
        sx_die(SX_EXIT_FAIL, "%s", err);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    sx_reader *r = sx_reader_open(o.inputs, o.ninputs, 0);
    sx_writer *w = sx_writer_open(o.output ? o.output : "-", o.zstd);
    if (!w)
        sx_die(SX_EXIT_FAIL, "cannot open '%s': %s", o.output, strerror(errno));
    sx_conv_ops ops = sx_yolo_ops(yolo);
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
    sx_yolo_free(yolo);
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
