#include "sx_convcli.h"

#include "sx_spool.h"
#include "sx_stream.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

int sx_convcli_next(sx_convcli *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
                    const char *usage)
{
    int opt;
    opterr = 0;
    while ((opt = sx_getopt(argc, argv, shortopts, longopts)) != -1) {
        const char *arg = optarg;
        switch (opt) {
        case 'o': c->output = arg; break;
        case 'q': c->quiet = 1; break;
        case SX_OPT_ZSTD: c->zstd = 1; break;
        case SX_OPT_KEEP_GOING: c->keep_going = 1; break;
        case SX_CONVCLI_IMAGES: c->images = arg; break;
        case SX_CONVCLI_CLASSES: c->classes = arg; break;
        case SX_CONVCLI_SPLIT: c->split_spec = arg; break;
        case SX_CONVCLI_SEED: c->seed = sx_opt_u64("--seed", arg, 0, UINT64_MAX); break;
        case SX_CONVCLI_MOVE: c->move = 1; break;
        case SX_CONVCLI_ITEMS: c->items = 1; break;
        case 'h': sx_help(usage);
        case SX_OPT_VERSION: sx_version();
        case '?':
        case ':': sx_bad_option(opt, argv);
        default: return opt; /* the converter's own */
        }
    }
    return -1;
}

static void show_warning(const char *msg) { sx_warn("%s", msg); }

void sx_convcli_finish(sx_convcli *c, sx_conv_opts *co, int argc, char **argv)
{
    c->inputs = argv;
    c->ninputs = argc;
    co->warn = c->quiet ? NULL : show_warning;
    co->keep_going = c->keep_going;
    co->move = c->move;
    co->items = c->items;
    if (c->images && sx_img_mode_parse(c->images, &co->images) < 0)
        sx_usage_error("--images: '%s' is not url, copy, link or none", c->images);
    char err[512];
    if (c->split_spec && !(c->split = sx_split_parse(c->split_spec, c->seed, err, sizeof err)))
        sx_usage_error("--split: %s", err);
    co->split = c->split;
}

static void on_signal(int sig)
{
    sx_spool_unlink_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

int sx_convcli_run(sx_convcli *c, const sx_conv_opts *co, const sx_conv_ops *ops)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    const char *outname = c->output ? c->output : "stdout";
    sx_reader *r = sx_reader_open(c->inputs, c->ninputs, 0);
    sx_writer *w = sx_writer_open(c->output ? c->output : "-", c->zstd);
    if (!w)
        sx_die(SX_EXIT_FAIL, "cannot open '%s': %s", c->output, strerror(errno));
    sx_conv *cv = r ? sx_conv_new(co, ops, w) : NULL;
    if (!cv)
        sx_die(SX_EXIT_FAIL, "out of memory");
    int rc = sx_conv_run(cv, r);
    /* the message lives in cv: keep it past the frees */
    const char *where;
    uint64_t line;
    const char *msg = sx_conv_error(cv, &where, &line);
    char saved[1024], wsaved[512];
    snprintf(saved, sizeof saved, "%s", msg);
    snprintf(wsaved, sizeof wsaved, "%s", where ? where : "");
    int werrno = errno;
    sx_conv_free(cv);
    sx_reader_free(r);
    if (rc == SX_CONV_WRITE) {
        sx_writer_discard(w);
        errno = werrno;
        sx_write_failed(outname);
    }
    if (sx_writer_close(w) < 0)
        sx_write_failed(outname);
    if (rc == SX_CONV_FAIL) {
        if (*wsaved)
            sx_warn_at(wsaved, line, "%s", saved);
        else
            sx_warn("%s", saved);
        return SX_EXIT_FAIL;
    }
    if (rc == SX_CONV_BADLINES && !c->quiet)
        sx_warn("some input lines were not JSON (see the error records)");
    return rc == SX_CONV_OK ? SX_EXIT_OK : SX_EXIT_FAIL;
}

void sx_convcli_free(sx_convcli *c)
{
    sx_split_free(c->split);
    c->split = NULL;
}
