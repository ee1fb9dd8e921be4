/* sx-fetch : the export items of a Synapse target (or a local DM dataset) as
 * an NDJSON stream: meta, the items, end. */
#include "sx_cli.h"
#include "sx_dataset.h"
#include "sx_http.h"
#include "sx_json.h"
#include "sx_pager.h"
#include "sx_proto.h"
#include "sx_stream.h"
#include "sx_target.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: sx-fetch [OPTIONS] [-f KEY=VALUE]...\n"
    "       sx-fetch --dir DATASET [OPTIONS]\n"
    "       sx-fetch --list-targets [--target-file FILE]\n"
    "\n"
    "Writes the export items of a Synapse target as an NDJSON stream: a `meta`\n"
    "record (target, total, source, the configuration of the project the filter\n"
    "names, else of the first result's), one {\"id\", \"files\", \"data\"} record\n"
    "per item in listing order, and an `end` record, written only when the whole\n"
    "listing was read. Pages are retried; none is fetched twice or skipped.\n"
    "\n"
    "Target and filter:\n"
    "  -t, --target NAME      assignment (default), ground_truth or task, or a\n"
    "                         target of --target-file\n"
    "      --target-file FILE load targets from FILE (a JSON object or array:\n"
    "                         name, path, params, required, rename, item)\n"
    "      --list-targets     print the known targets and exit\n"
    "  -f KEY=VALUE           filter (repeatable; a repeated key is sent twice):\n"
    "                         project=ID for assignment and task,\n"
    "                         ground_truth_dataset_version=ID for ground_truth\n"
    "      --filter JSON      filter as a JSON object ({\"project\": 12})\n"
    "      --raw              write the backend's records as they are\n"
    "\n"
    "Connection:\n"
    "      --host URL         backend URL (default: $SYNAPSE_HOST, the `host` of\n"
    "                         ~/.synapse/config.json, https://api.synapse.sh)\n"
    "      --token-file FILE  read the access token from FILE (default:\n"
    "                         $SYNAPSE_ACCESS_TOKEN, $SYNAPSE_PLUGIN_RUN_USER_TOKEN,\n"
    "                         the `access_token` of ~/.synapse/config.json);\n"
    "                         $SYNAPSE_TENANT (or $SYNAPSE_PLUGIN_RUN_TENANT) is\n"
    "                         sent when set. The token is never printed.\n"
    "      --insecure         do not verify the server's TLS certificate\n"
    "      --timeout SECONDS  per request (default 60)\n"
    "      --retries N        retries of a failed page (default 5): 429 (after\n"
    "                         its Retry-After), 5xx, timeouts, reset connections,\n"
    "                         cut or unparsable answers; a refused connection is\n"
    "                         retried once, a host name that does not resolve\n"
    "                         not at all\n"
    "      --retry-delay SECONDS  first backoff, doubled each retry, with jitter\n"
    "                         (default 0.5)\n"
    "                         Proxies: http_proxy, https_proxy, no_proxy.\n"
    "\n"
    "Pages: DRF page links are fetched by number, --jobs at a time; any other\n"
    "`next` (cursor pagination) is followed one page at a time. A `next` under\n"
    "another scheme or host name is fetched on the configured host, one to\n"
    "another port is refused; redirects are followed on the host's origin.\n"
    "  -j, --jobs N           pages fetched at once (default 4, 1 to 64)\n"
    "      --page-size N      items per page (default 100, 1 to 1000)\n"
    "      --limit N          stop after N items\n"
"      --max-page-bytes N a page larger than N bytes (after decompression;\n"
"                         K, M, G) fails the listing (default 256M)\n"
    "      --shard I/N        fetch pages I, I+N, I+2N, ... only (1 <= I <= N):\n"
    "                         N machines split one export\n"
    "\n"
    "Local dataset:\n"
    "      --dir DATASET      read a DM dataset on disk instead: json/*.json and\n"
    "                         original_files/ (or origin_files/), optionally\n"
    "                         under train/, valid/, test/; items get files.path,\n"
    "                         width, height (PNG, JPEG) and split\n"
    "\n"
    "Output:\n"
    "  -o FILE                write to FILE (default: stdout; .zst compresses)\n"
    "      --zstd             compress the output with zstd\n"
    "      --keep-going       an item the target's mapping fails on becomes an\n"
    "                         `error` record instead of stopping with exit 1\n"
    "  -q                     quiet (sx-fetch prints nothing but errors anyway)\n"
    "  -h, --help             this help\n"
    "      --version          the version\n"
    "\n"
    "Exit: 0 done; 1 failure (output, a bad item); 2 usage (bad option, missing\n"
    "filter, no token); 3 the backend or network failed after retries (401/403,\n"
    "404, ...). On failure no `end` record is written.\n"
    "\n"
    "Examples:\n"
    "  export SYNAPSE_HOST=https://api.synapse.sh SYNAPSE_ACCESS_TOKEN=...\n"
    "  sx-fetch -f project=123 | sx-convert-coco | sx-save -o exports/coco-123\n"
    "  sx-fetch -t ground_truth -f ground_truth_dataset_version=7 -o gt.ndjson.zst\n"
    "  sx-fetch -f project=123 --shard 2/4 --jobs 8 > part2.ndjson\n"
    "  sx-fetch --dir ./dataset | sx-convert-yolo | sx-save -o yolo\n";

enum {
    OPT_TARGET_FILE = SX_OPT_FIRST_FREE,
    OPT_LIST_TARGETS,
    OPT_FILTER_JSON,
    OPT_RAW,
    OPT_HOST,
    OPT_TOKEN_FILE,
    OPT_INSECURE,
    OPT_TIMEOUT,
    OPT_RETRIES,
    OPT_RETRY_DELAY,
    OPT_PAGE_SIZE,
    OPT_LIMIT,
    OPT_SHARD,
    OPT_DIR,
    OPT_MAX_PAGE_BYTES
};

struct opts {
    const char *target, *target_file, *host, *token_file, *dir, *output;
    jv filter;
    int list_targets, raw, insecure, zstd, keep_going, quiet;
    unsigned jobs, page_size, shard_i, shard_n, retries;
    uint64_t limit, max_page_bytes;
    double timeout, retry_delay;
};

struct run {
    const struct opts *o;
    sx_target *target;
    sx_writer *w;
    jv meta;        /* consumed when written */
    int meta_wait;  /* meta waits for the first record's project */
    const sx_conn *conn;
    const sx_http_opts *http;
    char *fallback; /* the project a lookup named, for an empty listing */
    uint64_t count; /* data records written */
    int write_failed, item_failed;
    char *buf;      /* the item being written */
    size_t cap;
    sx_buf text;    /* an item a jq mapping gave */
    sx_buf guard;   /* an item rewritten by sx_data_guard() */
    char why[700];
};

/* What a run holds until it ends. Static, so that an exit on the way (a usage
 * error, a closed pipe, a failed backend) leaves it reachable, not leaked. */
static struct {
    sx_target *t;
    sx_conn conn;
    char *query, *host;
    sx_dataset *d;
    sx_writer *w;
} res;

static void parse_shard(struct opts *o, const char *s)
{
    uint64_t i, n;
    const char *slash = strchr(s, '/');
    char ibuf[32];
    if (!slash || (size_t)(slash - s) >= sizeof ibuf)
        sx_usage_error("--shard: '%s' is not I/N", s);
    memcpy(ibuf, s, (size_t)(slash - s));
    ibuf[slash - s] = 0;
    if (sx_parse_u64(ibuf, 1, 100000, &i) < 0 || sx_parse_u64(slash + 1, 1, 100000, &n) < 0 || i > n)
        sx_usage_error("--shard: '%s' is not I/N with 1 <= I <= N", s);
    o->shard_i = (unsigned)i;
    o->shard_n = (unsigned)n;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        {"target", required_argument, NULL, 't'},
        {"target-file", required_argument, NULL, OPT_TARGET_FILE},
        {"list-targets", no_argument, NULL, OPT_LIST_TARGETS},
        {"filter", required_argument, NULL, OPT_FILTER_JSON},
        {"raw", no_argument, NULL, OPT_RAW},
        {"host", required_argument, NULL, OPT_HOST},
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"retry-delay", required_argument, NULL, OPT_RETRY_DELAY},
        {"jobs", required_argument, NULL, 'j'},
        {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"dir", required_argument, NULL, OPT_DIR},
        {"max-page-bytes", required_argument, NULL, OPT_MAX_PAGE_BYTES},
        {"zstd", no_argument, NULL, SX_OPT_ZSTD},
        {"keep-going", no_argument, NULL, SX_OPT_KEEP_GOING},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->filter = jv_array();
    o->jobs = 4;
    o->page_size = 100;
    o->retries = 5;
    o->timeout = 60;
    o->retry_delay = 0.5;
    o->shard_i = o->shard_n = 1;
    opterr = 0;
    int c;
    while ((c = sx_getopt(argc, argv, ":t:f:j:o:qh", longopts)) != -1) {
        switch (c) {
        case 't': o->target = optarg; break;
        case OPT_TARGET_FILE: o->target_file = optarg; break;
        case OPT_LIST_TARGETS: o->list_targets = 1; break;
        case 'f':
        case OPT_FILTER_JSON:
            o->filter = c == 'f' ? sx_filter_add(o->filter, optarg) : sx_filter_add_json(o->filter, optarg);
            if (!jv_is_valid(o->filter)) {
                jv m = jv_invalid_get_msg(o->filter);
                sx_usage_error("%s", jv_string_value(m));
            }
            break;
        case OPT_RAW: o->raw = 1; break;
        case OPT_HOST: o->host = optarg; break;
        case OPT_TOKEN_FILE: o->token_file = optarg; break;
        case OPT_INSECURE: o->insecure = 1; break;
        case OPT_TIMEOUT: o->timeout = sx_opt_seconds("--timeout", optarg, 86400); break;
        case OPT_RETRIES: o->retries = (unsigned)sx_opt_u64("--retries", optarg, 0, 100); break;
        case OPT_RETRY_DELAY: o->retry_delay = sx_opt_seconds("--retry-delay", optarg, 600); break;
        case 'j': o->jobs = (unsigned)sx_opt_u64("--jobs", optarg, 1, 64); break;
        case OPT_PAGE_SIZE: o->page_size = (unsigned)sx_opt_u64("--page-size", optarg, 1, 1000); break;
        case OPT_LIMIT: o->limit = sx_opt_u64("--limit", optarg, 1, UINT64_MAX); break;
        case OPT_SHARD: parse_shard(o, optarg); break;
        case OPT_DIR: o->dir = optarg; break;
        case OPT_MAX_PAGE_BYTES: o->max_page_bytes = sx_opt_bytes("--max-page-bytes", optarg, 1024, (uint64_t)4 << 30); break;
        case 'o': o->output = optarg; break;
        case SX_OPT_ZSTD: o->zstd = 1; break;
        case SX_OPT_KEEP_GOING: o->keep_going = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': sx_help(help);
        case SX_OPT_VERSION: sx_version();
        default: sx_bad_option(c, argv);
        }
    }
    if (optind < argc)
        sx_usage_error("unexpected argument '%s' (filters are given with -f KEY=VALUE)", argv[optind]);
    if (o->timeout <= 0)
        sx_usage_error("--timeout: must be more than 0 seconds");
    if (o->dir && (o->target || o->target_file || jv_array_length(jv_copy(o->filter)) > 0 || o->raw))
        sx_usage_error("--dir reads a local dataset: no --target, --target-file, filter or --raw with it");
}

static void list_targets(const struct opts *o)
{
    jv list = sx_target_list(o->target_file);
    if (!jv_is_valid(list)) {
        jv m = jv_invalid_get_msg(list);
        sx_die(SX_EXIT_USAGE, "%s", jv_string_value(m));
    }
    int n = jv_array_length(jv_copy(list));
    for (int i = 0; i < n; i++) {
        jv t = jv_array_get(jv_copy(list), i);
        jv req = jv_object_get(jv_copy(t), jv_string("required"));
        printf("%-16s %-32s", sx_get_str(t, "name"), sx_get_str(t, "path"));
        int m = jv_get_kind(req) == JV_KIND_ARRAY ? jv_array_length(jv_copy(req)) : 0;
        for (int k = 0; k < m; k++) {
            jv key = jv_array_get(jv_copy(req), k);
            if (jv_get_kind(key) == JV_KIND_STRING)
                printf(" -f %s=...", jv_string_value(key));
            jv_free(key);
        }
        putchar('\n');
        jv_free(req);
        jv_free(t);
    }
    jv_free(list);
    if (fflush(stdout) != 0 || ferror(stdout))
        sx_write_failed("stdout");
}

static const char *out_name(const struct opts *o)
{
    return o->output && strcmp(o->output, "-") != 0 ? o->output : "stdout";
}

static sx_writer *open_output(const struct opts *o)
{
    sx_writer *w = res.w = sx_writer_open(o->output, o->zstd);
    if (!w)
        sx_die(SX_EXIT_FAIL, "cannot open '%s': %s", out_name(o), strerror(errno));
    return w;
}

static void close_output(const struct opts *o, sx_writer *w)
{
    if (sx_writer_close(w) < 0)
        sx_write_failed(out_name(o));
}

static int run_dir(const struct opts *o)
{
    char err[1024];
    sx_dataset *d = res.d = sx_dataset_open(o->dir, err, sizeof err);
    if (!d)
        sx_die(SX_EXIT_FAIL, "%s", err);
    sx_writer *w = open_output(o);
    uint64_t total = sx_dataset_count(d);
    if (o->limit && total > o->limit)
        total = o->limit;
    jv meta = sx_rec("meta");
    meta = jv_object_set(meta, jv_string("target"), jv_string("dir"));
    meta = jv_object_set(meta, jv_string("total"), jv_number((double)total));
    meta = jv_object_set(meta, jv_string("source"),
                         jv_object_set(jv_object(), jv_string("dir"), jv_string(sx_dataset_root(d))));
    /* the one directory sx-save may copy or link images from (sx_roots.h) */
    meta = jv_object_set(meta, jv_string("src_roots"), JV_ARRAY(jv_string(sx_dataset_root(d))));
    if (sx_writer_jv(w, meta) < 0)
        sx_write_failed(out_name(o));
    uint64_t count = 0;
    int rc = SX_EXIT_OK;
    jv item;
    int r;
    while (count < total && (r = sx_dataset_next(d, &item, err, sizeof err)) != 0) {
        if (r < 0) {
            if (!o->keep_going) {
                sx_warn("%s", err);
                rc = SX_EXIT_FAIL;
                break;
            }
            if (sx_writer_jv(w, sx_rec_error(jv_null(), "fetch", err)) < 0)
                sx_write_failed(out_name(o));
            continue;
        }
        if (sx_writer_jv(w, item) < 0)
            sx_write_failed(out_name(o));
        count++;
    }
    sx_dataset_free(d);
    res.d = NULL;
    if (rc == SX_EXIT_OK && sx_writer_jv(w, sx_rec_end(count)) < 0)
        sx_write_failed(out_name(o));
    close_output(o, w);
    return rc;
}

static int write_meta(struct run *r)
{
    jv meta = r->meta;
    r->meta = jv_null();
    r->meta_wait = 0;
    if (sx_writer_jv(r->w, meta) < 0 || sx_writer_flush(r->w) < 0) {
        r->write_failed = 1;
        return -1;
    }
    return 0;
}

static int on_begin(void *ctx, uint64_t total)
{
    struct run *r = ctx;
    r->meta = jv_object_set(r->meta, jv_string("total"),
                            total == SX_PAGER_TOTAL_UNKNOWN ? jv_null() : jv_number((double)total));
    return r->meta_wait ? 0 : write_meta(r);
}

static jv read_configuration(const sx_conn *c, const sx_http_opts *h, uint64_t id);

/* The project a record names (a number, a string of digits, or an object
 * with such an id), as text; NULL when none. @return malloc'ed. */
static char *project_of(const char *rec, size_t len, const char *field)
{
    const char *v;
    size_t vl;
    if (sx_json_member(rec, len, field, &v, &vl) != 1)
        return NULL;
    jv p = jv_parse_sized(v, (int)vl);
    if (jv_get_kind(p) == JV_KIND_OBJECT)
        p = jv_object_get(p, jv_string("id"));
    char *out = NULL;
    if (jv_get_kind(p) == JV_KIND_NUMBER) {
        double d = jv_number_value(p);
        if (d >= 1 && d < 1e18 && d == (double)(uint64_t)d && asprintf(&out, "%llu", (unsigned long long)d) < 0)
            out = NULL;
    } else if (jv_get_kind(p) == JV_KIND_STRING) {
        out = strdup(jv_string_value(p));
    }
    jv_free(p);
    return out;
}

/* meta, with the configuration of the project `pid` names (when it is a
 * project id). */
static int write_meta_of(struct run *r, const char *pid)
{
    uint64_t id;
    if (pid && sx_parse_u64(pid, 1, UINT64_MAX, &id) == 0) {
        jv conf = read_configuration(r->conn, r->http, id);
        if (jv_get_kind(conf) != JV_KIND_NULL)
            r->meta = jv_object_set(r->meta, jv_string("configuration"), conf);
        else
            jv_free(conf);
    }
    return write_meta(r);
}

/* Writes one item (compact JSON text): never as a control record, whatever
 * the backend put in it. @rec the backend's record, for messages. */
static int write_item(struct run *r, const char *item, size_t n, const char *rec, size_t reclen)
{
    int g = sx_data_guard(item, n, &r->guard);
    if (g < 0)
        sx_die(SX_EXIT_FAIL, "out of memory");
    if (g == 2) {
        /* {"sx": X} alone: no key to put before it */
        jv brec = jv_parse_sized(rec, (int)reclen);
        jv id = jv_is_valid(brec) ? sx_item_id(brec) : jv_null();
        jv_free(brec);
        jv idtext = jv_dump_string(jv_copy(id), 0);
        snprintf(r->why, sizeof r->why, "item %s: a record whose only key is 'sx' cannot be data",
                 jv_string_value(idtext));
        jv_free(idtext);
        if (!r->o->keep_going) {
            jv_free(id);
            r->item_failed = 1;
            return -1;
        }
        if (sx_writer_jv(r->w, sx_rec_error(id, "fetch", r->why)) < 0) {
            r->write_failed = 1;
            return -1;
        }
        return 0;
    }
    if (g == 1) {
        item = r->guard.p;
        n = r->guard.len;
    }
    if (sx_writer_line(r->w, item, n) < 0) {
        r->write_failed = 1;
        return -1;
    }
    r->count++;
    return 0;
}

static int on_record(void *ctx, const char *text, size_t len)
{
    struct run *r = ctx;
    long n = -1;
    if (r->meta_wait) {
        /* the SDK reads the configuration of the first result's project */
        char *pid = project_of(text, len, sx_target_project_field(r->target));
        int rc = write_meta_of(r, pid ? pid : r->fallback);
        free(pid);
        if (rc < 0)
            return -1;
    }
    if (r->o->raw) {
        if (r->cap < len && !(r->buf = realloc(r->buf, r->cap = len)))
            sx_die(SX_EXIT_FAIL, "out of memory");
        n = (long)sx_json_compact(text, len, r->buf);
    } else {
        n = sx_target_map_text(r->target, text, len, &r->buf, &r->cap);
    }
    if (n >= 0)
        return write_item(r, r->buf, (size_t)n, text, len);
    /* a mapping jq has to run */
    jv rec = jv_parse_sized(text, (int)len);
    jv item = sx_target_map(r->target, jv_copy(rec));
    if (!jv_is_valid(item)) {
        jv m = jv_invalid_get_msg(item);
        jv id = sx_item_id(rec);
        jv idtext = jv_dump_string(jv_copy(id), 0);
        snprintf(r->why, sizeof r->why, "item %s: %s", jv_string_value(idtext),
                 jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "mapping failed");
        jv_free(idtext);
        jv_free(m);
        jv_free(rec);
        if (!r->o->keep_going) {
            jv_free(id);
            r->item_failed = 1;
            return -1;
        }
        if (sx_writer_jv(r->w, sx_rec_error(id, "fetch", r->why)) < 0) {
            r->write_failed = 1;
            return -1;
        }
        return 0;
    }
    jv_free(rec);
    r->text.len = 0;
    int bad = sx_json_dump(&r->text, item);
    jv_free(item);
    if (bad < 0)
        sx_die(SX_EXIT_FAIL, "out of memory");
    return write_item(r, r->text.p, r->text.len, text, len);
}

static int on_page_done(void *ctx)
{
    struct run *r = ctx;
    if (sx_writer_flush(r->w) < 0) {
        r->write_failed = 1;
        return -1;
    }
    return 0;
}

/* The configuration of project `id`, or null when it has none. */
static jv read_configuration(const sx_conn *c, const sx_http_opts *h, uint64_t id)
{
    char path[64], err[1024];
    snprintf(path, sizeof path, "projects/%llu/", (unsigned long long)id);
    jv proj;
    if (sx_http_get_json(c, h, path, &proj, err, sizeof err) < 0)
        sx_die(SX_EXIT_BACKEND, "cannot read project %llu ('%s'): %s", (unsigned long long)id, path, err);
    jv conf = jv_get_kind(proj) == JV_KIND_OBJECT ? jv_object_get(proj, jv_string("configuration"))
                                                 : (jv_free(proj), jv_invalid());
    if (!jv_is_valid(conf)) {
        jv_free(conf);
        return jv_null();
    }
    return conf;
}

/* The project's configuration, or null when the filter names no project. */
static jv project_configuration(const struct opts *o, const sx_conn *c, const sx_http_opts *h)
{
    const char *pid = sx_filter_get(o->filter, "project");
    if (!pid)
        return jv_null();
    uint64_t id;
    if (sx_parse_u64(pid, 1, UINT64_MAX, &id) < 0)
        sx_usage_error("filter project: '%s' is not a project id", pid);
    return read_configuration(c, h, id);
}

/* The target's lookups (the SDK's validate_filter reads the ground-truth
 * dataset version) into meta; a project one of them names in *fallback. */
static jv read_lookups(sx_target *t, const struct opts *o, const sx_conn *c, const sx_http_opts *h, jv meta,
                       char **fallback)
{
    char err[1024];
    jv lk = sx_target_lookups(t, o->filter, err, sizeof err);
    if (!jv_is_valid(lk))
        sx_usage_error("%s", err);
    jv_array_foreach(lk, i, e) {
        jv key = jv_array_get(jv_copy(e), 0), path = jv_array_get(e, 1);
        jv ans;
        if (sx_http_get_json(c, h, jv_string_value(path), &ans, err, sizeof err) < 0)
            sx_die(SX_EXIT_BACKEND, "cannot read %s ('%s'): %s", jv_string_value(key), jv_string_value(path), err);
        if (!*fallback && jv_get_kind(ans) == JV_KIND_OBJECT) {
            jv dumped = jv_dump_string(jv_copy(ans), 0);
            *fallback = project_of(jv_string_value(dumped), (size_t)jv_string_length_bytes(jv_copy(dumped)), "project");
            jv_free(dumped);
        }
        meta = jv_object_set(meta, key, ans);
        jv_free(path);
    }
    jv_free(lk);
    return meta;
}

static int run_backend(const struct opts *o)
{
    char err[1024];
    sx_target *t = res.t = sx_target_open(o->target, o->target_file, err, sizeof err);
    if (!t)
        sx_usage_error("%s", err);
    if (sx_target_check(t, o->filter, err, sizeof err) < 0)
        sx_usage_error("%s", err);
    sx_conn *conn = &res.conn;
    if (sx_conn_init(conn, o->host, o->token_file, err, sizeof err) < 0)
        sx_usage_error("%s", err);
    if (conn->auth == SX_AUTH_NONE)
        sx_usage_error("no access token: set SYNAPSE_ACCESS_TOKEN, use --token-file FILE or put "
                       "\"access_token\" in ~/.synapse/config.json");

    sx_http_opts http = sx_http_opts_default();
    http.timeout_ms = (long)(o->timeout * 1000);
    if (http.connect_timeout_ms > http.timeout_ms)
        http.connect_timeout_ms = http.timeout_ms;
    http.insecure = o->insecure;
    http.retries = (int)o->retries;
    http.retry_base_ms = (long)(o->retry_delay * 1000);
    char *query = res.query = sx_target_query(t, o->filter, o->page_size);
    char *host = res.host = sx_url_public(conn->host);
    if (!query || !host)
        sx_die(SX_EXIT_FAIL, "out of memory");
    size_t hl = strlen(host);
    while (hl && host[hl - 1] == '/')
        host[--hl] = 0;

    sx_writer *w = open_output(o);
    jv conf = project_configuration(o, conn, &http);

    jv source = jv_object();
    source = jv_object_set(source, jv_string("host"), jv_string(host));
    source = jv_object_set(source, jv_string("path"), jv_string(sx_target_path(t)));
    source = jv_object_set(source, jv_string("filter"), sx_filter_object(o->filter));
    if (o->shard_n > 1) {
        char sh[64];
        snprintf(sh, sizeof sh, "%u/%u", o->shard_i, o->shard_n);
        source = jv_object_set(source, jv_string("shard"), jv_string(sh));
    }
    jv meta = sx_rec("meta");
    meta = jv_object_set(meta, jv_string("target"), jv_string(sx_target_name(t)));
    meta = jv_object_set(meta, jv_string("total"), jv_number(0));
    meta = jv_object_set(meta, jv_string("source"), source);
    char *fallback = NULL;
    meta = read_lookups(t, o, conn, &http, meta, &fallback);
    /* without a project in the filter, the configuration is the first
     * record's project's, as the SDK reads it for ground truth */
    int wait = jv_get_kind(conf) == JV_KIND_NULL && sx_target_project_field(t);
    if (jv_get_kind(conf) != JV_KIND_NULL)
        meta = jv_object_set(meta, jv_string("configuration"), conf);
    else
        jv_free(conf);

    struct run r = {.o = o, .target = t, .w = w, .meta = meta, .meta_wait = wait, .conn = conn, .http = &http,
                    .fallback = fallback};
    sx_pager_opts po = {.conn = conn,
                        .http = http,
                        .path = sx_target_path(t),
                        .query = query,
                        .page_size = o->page_size,
                        .jobs = o->jobs,
                        .shard_i = o->shard_i,
                        .shard_n = o->shard_n,
                        .limit = o->limit,
                        .max_page_bytes = (size_t)o->max_page_bytes};
    sx_pager_cb cb = {.begin = on_begin, .record = on_record, .page_done = on_page_done};
    int rc = sx_pager_run(&po, &cb, &r, err, sizeof err);
    if (rc == SX_PAGER_OK && r.meta_wait && write_meta_of(&r, r.fallback) < 0)
        rc = SX_PAGER_STOPPED; /* an empty listing: meta still */
    jv_free(r.meta);
    free(r.fallback);
    free(r.buf);
    sx_buf_free(&r.text);
    sx_buf_free(&r.guard);
    free(query);
    free(host);
    sx_conn_clear(conn);
    sx_target_free(t);
    res.t = NULL;
    res.query = res.host = NULL;
    if (r.write_failed)
        sx_write_failed(out_name(o));
    int code = SX_EXIT_OK;
    if (rc == SX_PAGER_OK) {
        if (sx_writer_jv(w, sx_rec_end(r.count)) < 0)
            sx_write_failed(out_name(o));
    } else if (r.item_failed) {
        code = SX_EXIT_FAIL;
        snprintf(err, sizeof err, "%s", r.why);
    } else {
        code = rc == SX_PAGER_NOMEM ? SX_EXIT_FAIL : SX_EXIT_BACKEND;
    }
    close_output(o, w);
    if (code != SX_EXIT_OK)
        sx_die(code, "%s", err);
    return code;
}

int main(int argc, char **argv)
{
    struct opts o;
    sx_cli_init("sx-fetch");
    parse_args(&o, argc, argv);
    if (o.list_targets) {
        list_targets(&o);
        jv_free(o.filter);
        return SX_EXIT_OK;
    }
    if (o.dir) {
        jv_free(o.filter);
        return run_dir(&o);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        sx_die(SX_EXIT_FAIL, "cannot initialise libcurl");
    int rc = run_backend(&o);
    jv_free(o.filter);
    curl_global_cleanup();
    return rc;
}
