#include "sx_jqprog.h"

#include <jq.h>
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

struct sx_jqprog {
    jq_state *jq;
    jv errors; /* array of compile messages */
};

static void collect_error(void *data, jv msg)
{
    sx_jqprog *p = data;
    if (jv_get_kind(msg) == JV_KIND_INVALID && jv_invalid_has_msg(jv_copy(msg)))
        msg = jv_invalid_get_msg(msg);
    if (jv_get_kind(msg) != JV_KIND_STRING) {
        jv s = jv_dump_string(msg, 0);
        msg = s;
    }
    p->errors = jv_array_append(p->errors, msg);
}

void sx_jq_library_path(jq_state *jq, jv paths)
{
    if (jv_get_kind(paths) != JV_KIND_ARRAY) {
        jv_free(paths);
        paths = jv_array();
    }
    jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), paths);
    /* $ORIGIN: the directory of the running program, as jq sets it */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        jq_set_attr(jq, jv_string("JQ_ORIGIN"), jv_string(exe));
    }
}

jv sx_jq_default_library_path(jv dirs)
{
    if (jv_get_kind(dirs) != JV_KIND_ARRAY) {
        jv_free(dirs);
        dirs = jv_array();
    }
    dirs = jv_array_append(dirs, jv_string("~/.jq"));
    dirs = jv_array_append(dirs, jv_string("$ORIGIN/../lib/jq"));
    return jv_array_append(dirs, jv_string("$ORIGIN/../lib"));
}

sx_jqprog *sx_jqprog_new(const char *text, jv args, jv libpath, const char *origin, char **err)
{
    *err = NULL;
    sx_jqprog *p = calloc(1, sizeof *p);
    if (!p || !(p->jq = jq_init())) {
        free(p);
        jv_free(args);
        jv_free(libpath);
        *err = strdup("out of memory");
        return NULL;
    }
    p->errors = jv_array();
    jq_set_error_cb(p->jq, collect_error, p);
    sx_jq_library_path(p->jq, libpath);
    if (jq_compile_args(p->jq, text, args))
        return p;
    /* "origin: compile error: msg; msg" */
    jv msg = jv_string_fmt("%s: ", origin);
    int n = jv_array_length(jv_copy(p->errors)), shown = 0;
    for (int i = 0; i < n; i++) {
        jv e = jv_array_get(jv_copy(p->errors), i);
        const char *s = jv_string_value(e);
        if (strncmp(s, "jq: error: ", 11) == 0)
            s += 11;
        else if (strncmp(s, "jq: ", 4) == 0 && strstr(s, "compile error")) {
            jv_free(e); /* the closing count, "jq: 1 compile error" */
            continue;
        }
        if (shown++)
            msg = jv_string_append_str(msg, "; ");
        /* jq appends "\n<program text>" context lines: keep the first line */
        const char *nl = strchr(s, '\n');
        msg = jv_string_append_buf(msg, s, nl ? (int)(nl - s) : (int)strlen(s));
        jv_free(e);
    }
    if (shown == 0)
        msg = jv_string_append_str(msg, "does not compile");
    *err = strdup(jv_string_value(msg));
    jv_free(msg);
    sx_jqprog_free(p);
    return NULL;
}

void sx_jqprog_start(sx_jqprog *p, jv input)
{
    jq_start(p->jq, input, 0);
}

int sx_jqprog_next(sx_jqprog *p, jv *out)
{
    jv r = jq_next(p->jq);
    if (jv_is_valid(r)) {
        *out = r;
        return 1;
    }
    if (jv_invalid_has_msg(jv_copy(r))) {
        jv msg = jv_invalid_get_msg(r);
        if (jv_get_kind(msg) != JV_KIND_STRING) {
            jv s = jv_dump_string(msg, 0);
            msg = jv_string_fmt("%s (not a string)", jv_string_value(s));
            jv_free(s);
        }
        *out = msg;
        return -1;
    }
    jv_free(r);
    if (jq_halted(p->jq)) {
        /* halt / halt_error: an error unless the exit code is 0 */
        jv code = jq_get_exit_code(p->jq);
        jv msg = jq_get_error_message(p->jq);
        int ok = jv_get_kind(code) == JV_KIND_INVALID ||
                 (jv_get_kind(code) == JV_KIND_NUMBER && jv_number_value(code) == 0);
        jv_free(code);
        if (!ok) {
            if (jv_get_kind(msg) == JV_KIND_STRING)
                *out = jv_string_fmt("halted: %s", jv_string_value(msg));
            else
                *out = jv_string("halted");
            jv_free(msg);
            return -1;
        }
        jv_free(msg);
    }
    return 0;
}

void sx_jqprog_free(sx_jqprog *p)
{
    if (!p)
        return;
    jq_teardown(&p->jq);
    jv_free(p->errors);
    free(p);
}
