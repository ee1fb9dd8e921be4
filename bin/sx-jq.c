/* sx-jq: runs a jq program on the data records of a stream. */
#include "sx_cli.h"
#include "sx_jqprog.h"
#include "sx_json.h"
#include "sx_proto.h"
#include "sx_stream.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"usage: sx-jq [options] PROGRAM [FILE...]\n"
"       sx-jq [options] -f PROGRAM_FILE [FILE...]\n"
"\n"
"Runs the jq PROGRAM (through libjq) on every data record of an sx stream and\n"
"writes each of its results, which must be JSON objects, in place of the\n"
"record: zero, one or many per input. Control records ({\"sx\":...}) pass\n"
"through untouched; the upstream end record is replaced by one that counts\n"
"the data records actually written. Results are data: one whose first key\n"
"is \"sx\" is written with that key last, so that nothing in an item can\n"
"pose as a control record. With --converter the program is a converter:\n"
"its results {\"sx\":\"file\",...} and {\"sx\":\"error\",...} are control\n"
"records (sx-save checks every file record as it checks any).\n"
"Input is standard input or the FILEs, zstd-compressed or not.\n"
"\n"
"options:\n"
"  -f, --from-file FILE     read the program from FILE\n"
"      --arg NAME VALUE     set $NAME to the string VALUE\n"
"      --argjson NAME JSON  set $NAME to the JSON value (all named values are\n"
"                           also in $ARGS.named, as in jq)\n""      --converter          the program emits file (and error) records: pass\n"
"                           them on as control records; any other control\n"
"                           record from the program is an error\n"
"  -L DIR                   look for modules (import, include) in DIR first;\n"
"                           then ~/.jq, $ORIGIN/../lib/jq, $ORIGIN/../lib as\n"
"                           jq does (repeatable)\n"
"  -o, --output FILE        write to FILE instead of standard output; a name\n"
"                           ending in .zst is written zstd-compressed\n"
"      --zstd               compress the output with zstd\n"
"  -k, --keep-going         on a bad record or a runtime error, write an error\n"
"                           record and go on (default: stop with exit 1)\n"
"  -q, --quiet              do not warn on stderr about records kept going past\n"
"  -h, --help               show this help\n"
"      --version            show the version\n"
"\n"
"exit status: 0 done, 1 bad input, runtime error or cut stream, 2 usage or a\n"
"program that does not compile.\n"
"\n"
"examples:\n"
"  sx-fetch -f project=1 | sx-jq 'select(.data != null)' | sx-convert-coco ...\n"
"  sx-fetch --dir ds | sx-jq --converter -f labelme.jq | sx-save -o out\n"
"  sx-jq --arg from auto --arg to car \\\n"
"    '(.data.annotations[]?[]?.classification.class | select(. == $from)) |= $to'\n";

struct opts {
    const char *program, *program_file, *output;
    jv args, libdirs;
    int zstd, keep_going, quiet, converter;
    char **inputs;
    int ninputs;
};

static void parse_options(struct opts *o, int argc, char **argv)
{
    enum { OPT_ARG = SX_OPT_FIRST_FREE, OPT_ARGJSON, OPT_CONVERTER };
    static const struct option longopts[] = {
        {"from-file", required_argument, NULL, 'f'},
        {"arg", required_argument, NULL, OPT_ARG},
        {"argjson", required_argument, NULL, OPT_ARGJSON},
        {"converter", no_argument, NULL, OPT_CONVERTER},
        {"output", required_argument, NULL, 'o'},
        {"zstd", no_argument, NULL, SX_OPT_ZSTD},
        {"keep-going", no_argument, NULL, 'k'},
        {"quiet", no_argument, NULL, 'q'},
        SX_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    o->args = jv_object();
    o->libdirs = jv_array();
    while ((c = sx_getopt(argc, argv, ":f:o:kqhL:", longopts)) != -1) {
        switch (c) {
        case OPT_CONVERTER: o->converter = 1; break;
        case 'L': o->libdirs = jv_array_append(o->libdirs, jv_string(optarg)); break;
        case 'f': o->program_file = optarg; break;
        case 'o': o->output = optarg; break;
        case 'k': o->keep_going = 1; break;
        case 'q': o->quiet = 1; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case OPT_ARG:
        case OPT_ARGJSON: {
            if (optind >= argc)
                sx_usage_error("%s %s needs a value", c == OPT_ARG ? "--arg" : "--argjson", optarg);
            const char *name = optarg, *value = argv[optind++];
            jv v = c == OPT_ARG ? jv_string(value) : jv_parse(value);
            if (!jv_is_valid(v)) {
                jv_free(v);
                sx_usage_error("--argjson %s: '%s' is not JSON", name, value);
            }
            o->args = jv_object_set(o->args, jv_string(name), v);
            break;
        }
        case 'h': sx_help(usage_text);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    argc -= optind;
    argv += optind;
    if (!o->program_file) {
        if (argc < 1)
            sx_usage_error("no jq program given");
        o->program = argv[0];
        argc--;
        argv++;
    }
    o->inputs = argv;
    o->ninputs = argc;
    /* $ARGS as jq defines it, so that a program can read optional args */
    jv all = jv_object_set(jv_object(), jv_string("positional"), jv_array());
    all = jv_object_set(all, jv_string("named"), jv_copy(o->args));
    o->args = jv_object_set(o->args, jv_string("ARGS"), all);
}

struct run {
    struct opts *o;
    sx_reader *in;
    sx_writer *out;
    sx_jqprog *prog;
    uint64_t written, failed;
    sx_buf text;  /* a result's JSON text */
    sx_buf guard; /* ... rewritten as data by sx_data_guard() */
    int warned;   /* about "sx" results without --converter */
    int gave_file; /* --converter: the record gave a file record */
    int gave_any;  /* the record gave a result */
    uint64_t items; /* --converter: records that gave files, without error */
    uint64_t filtered; /* records that gave nothing, without error (select),
                          plus what the upstream filtered */
};

static void put(struct run *r, jv v)
{
    if (sx_writer_jv(r->out, v) < 0)
        sx_write_failed(r->o->output ? r->o->output : "stdout");
}

/* A record that could not be processed: stop, or record it and go on. */
static void record_failure(struct run *r, jv item, const char *msg)
{
    const char *name = sx_reader_name(r->in);
    uint64_t line = sx_reader_lineno(r->in);
    if (!r->o->keep_going) {
        jv_free(item);
        sx_die_at(SX_EXIT_FAIL, name, line, "%s", msg);
    }
    if (!r->o->quiet)
        sx_warn_at(name, line, "%s", msg);
    char where[64];
    snprintf(where, sizeof where, ":%llu: ", (unsigned long long)line);
    jv m = jv_string_fmt("%s%s%s", name, where, msg);
    put(r, sx_rec_error(item, "sx-jq", jv_string_value(m)));
    jv_free(m);
    r->failed++;
}

/* A result, in r->text: a control record only where --converter allows it,
 * else data that no reader takes for one. @id borrowed */
static void write_result(struct run *r, jv id)
{
    const char *p = r->text.p;
    size_t n = r->text.len;
    sx_kind k = sx_proto_kind(p, n);
    if (k != SX_DATA && r->o->converter && k != SX_FILE && k != SX_ERROR && k != SX_WARNING) {
        char msg[120];
        snprintf(msg, sizeof msg, "a jq converter emits file, error and warning records, not '%s' records",
                 k == SX_CTL_OTHER ? "unknown" : sx_kind_name(k));
        record_failure(r, jv_copy(id), msg);
        return;
    }
    if (k == SX_DATA || !r->o->converter) {
        int g = sx_data_guard(p, n, &r->guard);
        if (g < 0)
            sx_die(SX_EXIT_FAIL, "out of memory");
        if (g == 2) {
            record_failure(r, jv_copy(id), "a result whose only key is \"sx\" cannot be data");
            return;
        }
        if (g == 1) {
            if (k != SX_DATA && !r->warned++ && !r->o->quiet)
                sx_warn_at(sx_reader_name(r->in), sx_reader_lineno(r->in),
                           "a result shaped like a control record is data without --converter");
            p = r->guard.p;
            n = r->guard.len;
        }
        k = SX_DATA;
    }
    if (k == SX_DATA)
        r->written++;
    if (k == SX_FILE)
        r->gave_file = 1;
    r->gave_any = 1;
    if (sx_writer_line(r->out, p, n) < 0)
        sx_write_failed(r->o->output ? r->o->output : "stdout");
}

/* The upstream end: what the stages before filtered out is carried on. */
static void take_end(struct run *r, const char *line, size_t len)
{
    jv end = sx_parse_object(line, len);
    double f = jv_is_valid(end) ? sx_get_num(end, "filtered", -1) : -1;
    if (f >= 0 && f < 1e15)
        r->filtered += (uint64_t)f;
    jv_free(end);
}

static void run_record(struct run *r, const char *line, size_t len)
{
    jv v = sx_parse_object(line, len);
    if (!jv_is_valid(v)) {
        jv msg = jv_invalid_get_msg(v);
        record_failure(r, jv_null(), jv_string_value(msg));
        jv_free(msg);
        return;
    }
    jv id = sx_item_id(v);
    uint64_t failed = r->failed;
    r->gave_file = r->gave_any = 0;
    sx_jqprog_start(r->prog, v);
    jv res;
    int k;
    while ((k = sx_jqprog_next(r->prog, &res)) != 0) {
        if (k < 0) {
            record_failure(r, id, jv_string_value(res));
            jv_free(res);
            return;
        }
        if (jv_get_kind(res) != JV_KIND_OBJECT) {
            jv msg = jv_string_fmt("program result is %s, not an object", jv_kind_name(jv_get_kind(res)));
            jv_free(res);
            record_failure(r, jv_copy(id), jv_string_value(msg));
            jv_free(msg);
            continue;
        }
        r->text.len = 0;
        if (sx_json_dump(&r->text, res) < 0)
            sx_die(SX_EXIT_FAIL, "out of memory");
        jv_free(res);
        write_result(r, id);
    }
    jv_free(id);
    if (r->gave_file && r->failed == failed)
        r->items++;
    if (!r->gave_any && r->failed == failed)
        r->filtered++;   /* a select() left it out: neither exported nor failed */
}

int main(int argc, char **argv)
{
    sx_cli_init("sx-jq");
    struct opts o = {0};
    parse_options(&o, argc, argv);

    jv text = jv_null();
    if (o.program_file) {
        text = jv_load_file(o.program_file, 1); /* raw: the whole file as a string */
        if (!jv_is_valid(text)) {
            jv msg = jv_invalid_get_msg(text);
            sx_die(SX_EXIT_USAGE, "cannot read '%s': %s", o.program_file,
                   jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unreadable");
        }
    }
    char *err;
    struct run r = {.o = &o};
    r.prog = sx_jqprog_new(o.program_file ? jv_string_value(text) : o.program, o.args,
                           sx_jq_default_library_path(o.libdirs),
                           o.program_file ? o.program_file : "program", &err);
    jv_free(text);
    if (!r.prog) {
        sx_warn("%s", err);
        free(err);
        exit(SX_EXIT_USAGE);
    }
    r.in = sx_reader_open(o.inputs, o.ninputs, 0);
    r.out = sx_writer_open(o.output, o.zstd);
    if (!r.in)
        sx_die(SX_EXIT_FAIL, "out of memory");
    if (!r.out)
        sx_die(SX_EXIT_FAIL, "cannot write '%s': %s", o.output, strerror(errno));

    const char *line;
    size_t len;
    int k;
    while ((k = sx_reader_next(r.in, &line, &len)) == 1) {
        sx_kind kind = sx_proto_kind(line, len);
        if (kind == SX_DATA)
            run_record(&r, line, len);
        else if (kind == SX_END)
            take_end(&r, line, len);
        else if (sx_writer_line(r.out, line, len) < 0)
            sx_write_failed(o.output ? o.output : "stdout");
    }
    if (k < 0)
        sx_die_at(SX_EXIT_FAIL, sx_reader_name(r.in), sx_reader_lineno(r.in) + 1, "%s",
                  sx_reader_error(r.in));
    int status = SX_EXIT_OK;
    if (!sx_reader_complete(r.in)) {
        if (sx_reader_saw_control(r.in))
            sx_warn("%s: input ended without an end record: the upstream was cut short", sx_reader_cut_name(r.in));
        else
            sx_warn("%s: " SX_PLAIN_ITEMS_HINT "; sx-jq passed them on without an end record",
                    sx_reader_cut_name(r.in));
        status = SX_EXIT_FAIL;
    } else if (sx_reader_records(r.in) > 0) {
        jv end = sx_rec_end(r.written);
        if (o.converter) /* as the C converters say it: items converted */
            end = jv_object_set(end, jv_string("items"), jv_number((double)r.items));
        if (r.filtered)
            end = jv_object_set(end, jv_string("filtered"), jv_number((double)r.filtered));
        put(&r, end);
    }
    if (sx_writer_close(r.out) < 0)
        sx_write_failed(o.output ? o.output : "stdout");
    sx_reader_free(r.in);
    sx_jqprog_free(r.prog);
    sx_buf_free(&r.text);
    sx_buf_free(&r.guard);
    return status;
}
