#include "sx_http.h"
#include "sx_errbuf.h"

#include "sx_cli.h" /* SX_VERSION only */
#include "sx_retry.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

static int is_set(const char *s) { return s && *s; }

/* Trims spaces at both ends, in place. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static void wipe(char *s)
{
    if (s) {
        volatile char *v = s;
        while (*v)
            *v++ = 0;
    }
}

/* ~/.synapse/config.json, or jv_null() when absent or unreadable. */
static jv read_config(void)
{
    const char *home = getenv("HOME");
    if (!is_set(home))
        return jv_null();
    char path[4096];
    snprintf(path, sizeof path, "%s/.synapse/config.json", home);
    jv v = jv_load_file(path, 0); /* an array of the file's values */
    if (!jv_is_valid(v) || jv_array_length(jv_copy(v)) != 1) {
        jv_free(v);
        return jv_null();
    }
    v = jv_array_get(v, 0);
    if (jv_get_kind(v) != JV_KIND_OBJECT) {
        jv_free(v);
        return jv_null();
    }
    return v;
}

static char *config_str(jv cfg, const char *key)
{
    if (jv_get_kind(cfg) != JV_KIND_OBJECT)
        return NULL;
    jv s = jv_object_get(jv_copy(cfg), jv_string(key));
    char *r = NULL;
    if (jv_get_kind(s) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(s)) > 0)
        r = strdup(jv_string_value(s));
    jv_free(s);
    return r;
}

static char *read_token_file(const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sx_errf(err, n, "cannot read token file '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, f);
    fclose(f);
    if (got < 0) {
        free(line);
        sx_errf(err, n, "token file '%s' is empty", path);
        return NULL;
    }
    char *t = trim(line);
    if (!*t) {
        free(line);
        sx_errf(err, n, "token file '%s' is empty", path);
        return NULL;
    }
    char *r = strdup(t);
    wipe(line);
    free(line);
    return r;
}

int sx_conn_init(sx_conn *c, const char *host_opt, const char *token_file, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    jv cfg = jv_null();
    int cfg_read = 0;
    const char *h = host_opt;
    c->host_source = "--host";
    if (!is_set(h)) {
        h = getenv("SYNAPSE_HOST");
        c->host_source = "SYNAPSE_HOST";
    }
    if (is_set(h)) {
        c->host = strdup(h);
    } else {
        cfg = read_config();
        cfg_read = 1;
        c->host = config_str(cfg, "host");
        c->host_source = "~/.synapse/config.json";
        if (!c->host) {
            c->host = strdup(SX_DEFAULT_HOST);
            c->host_source = NULL;
        }
    }
    if (!c->host)
        goto oom;
    size_t hl = strlen(c->host);
    while (hl && c->host[hl - 1] == '/')
        c->host[--hl] = 0;
    if (strncmp(c->host, "http://", 7) != 0 && strncmp(c->host, "https://", 8) != 0) {
        sx_errf(err, errlen, "host '%s' is not an http:// or https:// URL", c->host);
        goto fail;
    }

    if (token_file) {
        c->token = read_token_file(token_file, err, errlen);
        if (!c->token)
            goto fail;
        c->auth = SX_AUTH_SYNAPSE;
        if (asprintf(&c->token_source, "--token-file '%s'", token_file) < 0)
            c->token_source = NULL;
    } else if (is_set(getenv("SYNAPSE_ACCESS_TOKEN"))) {
        c->token = dupstr(getenv("SYNAPSE_ACCESS_TOKEN"));
        c->auth = SX_AUTH_SYNAPSE;
        c->token_source = dupstr("SYNAPSE_ACCESS_TOKEN");
    } else if (is_set(getenv("SYNAPSE_PLUGIN_RUN_USER_TOKEN"))) {
        c->token = dupstr(getenv("SYNAPSE_PLUGIN_RUN_USER_TOKEN"));
        c->auth = SX_AUTH_AUTHORIZATION;
        c->token_source = dupstr("SYNAPSE_PLUGIN_RUN_USER_TOKEN");
    } else {
        if (!cfg_read)
            cfg = read_config();
        c->token = config_str(cfg, "access_token");
        if (c->token) {
            c->auth = SX_AUTH_SYNAPSE;
            c->token_source = dupstr("the access_token of ~/.synapse/config.json");
        }
    }
    if (c->token && !c->token_source)
        goto oom;
    if (c->token) {
        char *t = trim(c->token);
        memmove(c->token, t, strlen(t) + 1);
        if (!*c->token || has_ctl(c->token)) {
            sx_errf(err, errlen, "the access token from %s is empty or holds control characters",
                c->token_source);
            goto fail;
        }
    }
    const char *tenant = getenv("SYNAPSE_TENANT");
    if (!is_set(tenant))
        tenant = getenv("SYNAPSE_PLUGIN_RUN_TENANT");
    if (is_set(tenant)) {
        if (has_ctl(tenant)) {
            sx_errf(err, errlen, "the tenant holds control characters");
            goto fail;
        }
        c->tenant = strdup(tenant);
        if (!c->tenant)
            goto oom;
    }
    jv_free(cfg);
    return 0;
oom:
    sx_errf(err, errlen, "out of memory");
fail:
    jv_free(cfg);
    sx_conn_clear(c);
    return -1;
}

void sx_conn_auth_hint(const sx_conn *c, long status, char *out, size_t n)
{
    const char *from = c->token_source ? c->token_source : "nowhere";
    if (status == 403)
        snprintf(out, n, "the backend refused access with the access token from %s", from);
    else
        snprintf(out, n, "the backend refused the access token from %s", from);
}

void sx_conn_host_hint(const sx_conn *c, CURLcode rc, char *msg, size_t n)
{
    size_t l = strlen(msg);
    if ((rc != CURLE_COULDNT_RESOLVE_HOST && rc != CURLE_COULDNT_CONNECT) || l + 1 >= n)
        return;
    if (c->host_source)
        snprintf(msg + l, n - l, " (host from %s)", c->host_source);
    else
        snprintf(msg + l, n - l, " (the default host; --host or SYNAPSE_HOST sets another)");
}

void sx_conn_clear(sx_conn *c)
{
    wipe(c->token);
    free(c->token);
    free(c->token_source);
    free(c->host);
    free(c->tenant);
    memset(c, 0, sizeof *c);
}

char *sx_conn_url(const sx_conn *c, const char *path)
{
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
        return strdup(path);
    while (*path == '/')
        path++;
    char *u;
    if (asprintf(&u, "%s/%s", c->host, path) < 0)
        return NULL;
    return u;
}

static void redact(char *msg, const char *secret)
{
    if (!secret || !*secret || !msg)
        return;
    size_t tl = strlen(secret);
    char *p;
    while ((p = strstr(msg, secret)) != NULL) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + tl, strlen(p + tl) + 1);
        if (tl < 3) /* cannot happen with "***" shorter; guard loops */
            break;
    }
}

void sx_conn_redact(const sx_conn *c, char *msg)
{
    if (c)
        redact(msg, c->token);
}

char *sx_url_public(const char *url)
{
    CURLU *u = curl_url();
    if (!u)
        return NULL;
    char *out = NULL, *tmp = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK) {
            out = strdup(tmp);
            curl_free(tmp);
        }
    }
    curl_url_cleanup(u);
    return out;
}

static int origin(const char *url, char **scheme, char **host, char **port)
{
    CURLU *u = curl_url();
    if (!u)
        return -1;
    int rc = -1;
    *scheme = *host = *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        rc = 0;
    curl_url_cleanup(u);
    return rc;
}

int sx_url_same_origin(const char *a, const char *b)
{
    char *s1 = NULL, *h1 = NULL, *p1 = NULL, *s2 = NULL, *h2 = NULL, *p2 = NULL; /* b is not parsed when a fails */
    int ok = origin(a, &s1, &h1, &p1) == 0 && origin(b, &s2, &h2, &p2) == 0 && strcasecmp(s1, s2) == 0 &&
             strcasecmp(h1, h2) == 0 && strcmp(p1, p2) == 0;
    curl_free(s1), curl_free(h1), curl_free(p1);
    curl_free(s2), curl_free(h2), curl_free(p2);
    return ok;
}

/* The parts of a URL that say where it goes. */
typedef struct {
    char *scheme, *host, *port, *path, *query;
    int default_port; /* no port, or the scheme's default */
} url_parts;

static void parts_free(url_parts *u)
{
    curl_free(u->scheme), curl_free(u->host), curl_free(u->port), curl_free(u->path), curl_free(u->query);
    memset(u, 0, sizeof *u);
}

/* Splits `url`, resolved against `base` when not NULL. @return 0, or -1
 * when it does not parse or is not http(s). */
static int split_url(const char *base, const char *url, url_parts *out)
{
    memset(out, 0, sizeof *out);
    CURLU *u = curl_url();
    if (!u)
        return -1;
    int rc = -1;
    char *explicit = NULL;
    if ((base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK) ||
        curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &out->scheme, 0) != CURLUE_OK ||
        (strcasecmp(out->scheme, "http") != 0 && strcasecmp(out->scheme, "https") != 0) ||
        curl_url_get(u, CURLUPART_HOST, &out->host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &out->port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &out->path, 0) != CURLUE_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_QUERY, &out->query, 0) != CURLUE_OK)
        out->query = NULL;
    out->default_port = curl_url_get(u, CURLUPART_PORT, &explicit, CURLU_NO_DEFAULT_PORT) != CURLUE_OK;
    rc = 0;
done:
    curl_free(explicit);
    curl_url_cleanup(u);
    if (rc < 0)
        parts_free(out);
    return rc;
}

/* The configured host's path prefix ("" or "/api"), without a trailing '/'. */
static size_t prefix_len(const url_parts *conf)
{
    size_t n = strlen(conf->path);
    while (n && conf->path[n - 1] == '/')
        n--;
    return n;
}

/* The configured host with `path` (behind its prefix, unless keep_path or
 * the path has it) and `query`. */
static char *join_url(const char *host_url, const url_parts *conf, const char *path, const char *query,
                      int keep_path)
{
    size_t pl = keep_path ? 0 : prefix_len(conf);
    if (pl && strncmp(path, conf->path, pl) == 0 && (path[pl] == '/' || path[pl] == 0))
        pl = 0;
    char *full = NULL, *u = NULL, *out = NULL;
    CURLU *h = curl_url();
    if (h && asprintf(&full, "%.*s%s", (int)pl, conf->path, path) >= 0 &&
        curl_url_set(h, CURLUPART_URL, host_url, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_PATH, full, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_QUERY, query, 0) == CURLUE_OK && curl_url_get(h, CURLUPART_URL, &u, 0) == CURLUE_OK)
        out = strdup(u);
    curl_free(u);
    free(full);
    curl_url_cleanup(h);
    return out;
}

static char *refuse(const char *what, const char *url, char *err, size_t errlen)
{
    char *pub = sx_url_public(url), q[400];
    if (pub)
        sx_errf(err, errlen, "%s %s", what, sx_quote(pub, strlen(pub), 300, q, sizeof q));
    else
        sx_errf(err, errlen, "%s (not an http or https URL)", what);
    free(pub);
    return NULL;
}

char *sx_conn_rebase(const sx_conn *c, const char *page_url, const char *link, char *err, size_t errlen)
{
    url_parts conf, l;
    if (split_url(NULL, c->host, &conf) < 0) {
        sx_errf(err, errlen, "the host '%s' is not a URL", c->host);
        return NULL;
    }
    if (split_url(page_url, link, &l) < 0) {
        parts_free(&conf);
        return refuse("refusing a link that is not an http or https URL:", link, err, errlen);
    }
    char *out = NULL;
    int same_port = strcmp(l.port, conf.port) == 0 || (l.default_port && conf.default_port);
    int same_origin = strcasecmp(l.scheme, conf.scheme) == 0 && strcasecmp(l.host, conf.host) == 0 && same_port;
    if (same_port) {
        int relative = strncasecmp(link, "http://", 7) != 0 && strncasecmp(link, "https://", 8) != 0;
        /* a link written relative to a page on our host, or one the backend
         * wrote for itself, carries no prefix a proxy strips */
        out = join_url(c->host, &conf, l.path, l.query, same_origin && !relative);
        if (!out)
            sx_errf(err, errlen, "out of memory");
    } else {
        refuse("refusing 'next' link to another host", link, err, errlen);
    }
    parts_free(&conf);
    parts_free(&l);
    return out;
}

char *sx_conn_redirect(const sx_conn *c, const char *from, const char *location, char *err, size_t errlen)
{
    url_parts l;
    if (split_url(from, location, &l) < 0)
        return refuse("refusing a redirect that is not to an http or https URL:", location, err, errlen);
    parts_free(&l);
    CURLU *u = curl_url();
    char *abs = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, from, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_URL, &abs, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        sx_errf(err, errlen, "out of memory");
        return NULL;
    }
    curl_url_cleanup(u);
    char *out = NULL;
    if (sx_url_same_origin(c->host, abs))
        out = strdup(abs);
    else
        refuse("refusing a redirect to another host (set SYNAPSE_HOST to it if it is the backend)", abs, err,
               errlen);
    curl_free(abs);
    return out;
}

int sx_conn_follow(const sx_conn *c, CURL *h, long status, const char *from, char **next, char *err, size_t errlen)
{
    *next = NULL;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
        return 0;
    char *loc = NULL;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
        return 0;
    *next = sx_conn_redirect(c, from, loc, err, errlen);
    return *next ? 1 : -1;
}

char *sx_url_param(const char *url, const char *key)
{
    const char *q = strchr(url, '?');
    size_t kl = strlen(key);
    if (!q)
        return NULL;
    for (q++; *q && *q != '#';) {
        const char *e = q + strcspn(q, "&#");
        if ((size_t)(e - q) > kl && strncmp(q, key, kl) == 0 && q[kl] == '=')
            return strndup(q + kl + 1, (size_t)(e - q - kl - 1));
        q = *e == '&' ? e + 1 : e;
    }
    return NULL;
}

char *sx_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = malloc(3 * n + 1), *q = o;
    if (!o)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            *q++ = (char)ch;
        } else {
            *q++ = '%';
            *q++ = hex[ch >> 4];
            *q++ = hex[ch & 15];
        }
    }
    *q = 0;
    return o;
}

sx_http_opts sx_http_opts_default(void)
{
    sx_http_opts o = {.timeout_ms = 60000,
                      .connect_timeout_ms = 10000,
                      .insecure = 0,
                      .follow_redirects = 0,
                      .retries = 5,
                      .retry_base_ms = 500,
                      .retry_max_ms = 30000};
    return o;
}

int sx_http_setup(CURL *h, const sx_http_opts *o, char *errbuf)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) \
    rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_USERAGENT, "sx/" SX_VERSION);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
    if (o->connect_timeout_ms)
        SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    SET(CURLOPT_FOLLOWLOCATION, o->follow_redirects ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, 10L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_ERRORBUFFER, errbuf);
#undef SET
    if (errbuf)
        errbuf[0] = 0;
    return rc == CURLE_OK ? 0 : -1;
}

struct curl_slist *sx_http_auth_headers(const sx_conn *c, struct curl_slist *list)
{
    char *line = NULL;
    struct curl_slist *l = curl_slist_append(list, "Accept: application/json");
    if (!l)
        goto oom;
    list = l;
    if (c->token && c->auth != SX_AUTH_NONE) {
        const char *name = c->auth == SX_AUTH_AUTHORIZATION ? "Authorization" : "Synapse-Access-Token";
        if (asprintf(&line, "%s: Token %s", name, c->token) < 0)
            goto oom;
        l = curl_slist_append(list, line);
        wipe(line);
        free(line);
        line = NULL;
        if (!l)
            goto oom;
        list = l;
    }
    if (c->tenant) {
        if (asprintf(&line, "Synapse-Tenant: Token %s", c->tenant) < 0)
            goto oom;
        l = curl_slist_append(list, line);
        free(line);
        if (!l)
            goto oom;
        list = l;
    }
    return list;
oom:
    curl_slist_free_all(list);
    return NULL;
}

size_t sx_http_body_write(char *p, size_t size, size_t n, void *arg)
{
    sx_http_body *b = arg;
    size_t add = size * n;
    size_t max = b->max ? b->max : ((size_t)1 << 30);
    if (b->len + add + 1 > max) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return 0;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, add);
    b->len += add;
    b->p[b->len] = 0;
    return add;
}

void sx_http_body_free(sx_http_body *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int sx_http_classify(CURLcode rc, long status)
{
    switch (rc) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: /* a flaky resolver; a wrong name just fails after retries */
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_SSL_CONNECT_ERROR:
        return SX_HTTP_RETRY;
    default:
        return SX_HTTP_FAIL;
    }
    if (status >= 200 && status < 300)
        return SX_HTTP_OK;
    if (status == 401 || status == 403)
        return SX_HTTP_AUTH;
    if (sx_retry_status(status))
        return SX_HTTP_RETRY;
    return SX_HTTP_FAIL;
}

static void one_line(const char *s, size_t len, char *out, size_t n)
{
    size_t j = 0;
    int space = 0;
    for (size_t i = 0; i < len && j + 1 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            space = j > 0;
            continue;
        }
        if (space && j + 2 < n)
            out[j++] = ' ';
        space = 0;
        out[j++] = (char)ch;
    }
    out[j] = 0;
}

/* The reason, on one line, at most cap - 1 bytes. */
static void reason_line(const sx_http_body *body, char *out, size_t cap)
{
    out[0] = 0;
    if (!body || !body->p || !body->len)
        return;
    jv v = jv_parse_sized(body->p, (int)(body->len > (1u << 20) ? (1u << 20) : body->len));
    if (jv_get_kind(v) == JV_KIND_OBJECT) {
        static const char *keys[] = {"detail", "message", "error"};
        for (size_t i = 0; i < 3; i++) {
            jv d = jv_object_get(jv_copy(v), jv_string(keys[i]));
            if (jv_get_kind(d) == JV_KIND_STRING) {
                one_line(jv_string_value(d), (size_t)jv_string_length_bytes(jv_copy(d)), out, cap);
                jv_free(d);
                jv_free(v);
                return;
            }
            jv_free(d);
        }
        jv_free(v);
        jv dumped = jv_dump_string(jv_parse_sized(body->p, (int)body->len), 0);
        one_line(jv_string_value(dumped), (size_t)jv_string_length_bytes(jv_copy(dumped)), out, cap);
        jv_free(dumped);
        return;
    }
    jv_free(v);
    /* HTML or text: strip tags crudely, keep the words */
    size_t len = body->len < 4096 ? body->len : 4096;
    char *t = malloc(len + 1);
    if (!t)
        return;
    size_t j = 0;
    int tag = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = body->p[i];
        if (ch == '<')
            tag = 1;
        else if (ch == '>') {
            tag = 0;
            t[j++] = ' ';
        } else if (!tag)
            t[j++] = ch;
    }
    t[j] = 0;
    char tmp[4096];
    one_line(t, j, tmp, sizeof tmp < cap ? sizeof tmp : cap);
    free(t);
    /* collapse runs of spaces */
    char *p = tmp, *q = out, *e = out + cap - 1;
    while (*p == ' ')
        p++;
    for (; *p && q < e; p++) {
        if (*p == ' ' && (p[1] == ' ' || p[1] == 0))
            continue;
        *q++ = *p;
    }
    *q = 0;
}

void sx_http_reason(const sx_http_body *body, const char *secret, char *out, size_t n)
{
    if (!n)
        return;
    /* the whole line is redacted first: a cut could leave a prefix of the
     * secret that no longer matches it */
    char line[4096];
    reason_line(body, line, sizeof line);
    redact(line, secret);
    size_t cap = n < 161 ? n : 161, len = strlen(line);
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80) /* not inside a character */
            len--;
    }
    memcpy(out, line, len);
    out[len] = 0;
}

void sx_http_describe(CURLcode rc, long status, const sx_http_body *body, const char *errbuf, const char *secret,
                      char *out, size_t n)
{
    if (rc != CURLE_OK) {
        const char *e = curl_easy_strerror(rc);
        if (errbuf && *errbuf)
            snprintf(out, n, "%s", errbuf);
        else
            snprintf(out, n, "%s", e);
        /* libcurl's messages start with a capital; sx's are lower case */
        if (out[0] && isupper((unsigned char)out[0]) && !isupper((unsigned char)out[1]))
            out[0] = (char)tolower((unsigned char)out[0]);
        return;
    }
    char reason[161];
    sx_http_reason(body, secret, reason, sizeof reason);
    if (*reason)
        snprintf(out, n, "HTTP %ld: %s", status, reason);
    else
        snprintf(out, n, "HTTP %ld", status);
}

long sx_http_retry_after(CURL *h)
{
    struct curl_header *hd;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return -1;
    return sx_retry_after_ms(hd->value, time(NULL));
}

void sx_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

long long sx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sx_http_get_json(const sx_conn *c, const sx_http_opts *o, const char *path, jv *out, char *err,
                     size_t errlen)
{
    *out = jv_invalid();
    if (err && errlen)
        err[0] = 0;
    char *url = sx_conn_url(c, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = sx_http_auth_headers(c, NULL);
    char errbuf[CURL_ERROR_SIZE];
    sx_http_body body = {0};
    uint64_t seed = (uint64_t)sx_now_ms() ^ (uint64_t)(uintptr_t)&body;
    int rc = -1;
    if (!url || !h || !hdr || sx_http_setup(h, o, errbuf) < 0) {
        sx_errf(err, errlen, "cannot set up an HTTP request (out of memory?)");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sx_http_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    char why[512];
    int redirects = 0;
    for (int attempt = 0;; attempt++) {
        body.len = 0;
        errbuf[0] = 0;
        CURLcode cr = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        char *next = NULL;
        int moved = cr == CURLE_OK ? sx_conn_follow(c, h, status, url, &next, why, sizeof why) : 0;
        if (moved < 0) {
            sx_errf(err, errlen, "%s", why);
            goto done;
        }
        if (moved > 0) {
            free(url);
            url = next;
            if (++redirects > SX_MAX_REDIRECTS) {
                sx_errf(err, errlen, "more than %d redirects", SX_MAX_REDIRECTS);
                goto done;
            }
            curl_easy_setopt(h, CURLOPT_URL, url);
            attempt--;
            continue;
        }
        int cls = sx_http_classify(cr, status);
        sx_http_describe(cr, status, &body, errbuf, c->token, why, sizeof why);
        if (cls == SX_HTTP_OK) {
            jv v = body.p ? jv_parse_sized(body.p, (int)body.len) : jv_invalid_with_msg(jv_string("empty"));
            if (jv_is_valid(v)) {
                *out = v;
                rc = 0;
                goto done;
            }
            jv_free(v);
            snprintf(why, sizeof why, "the answer is not JSON");
            cls = SX_HTTP_RETRY;
        }
        if (cls == SX_HTTP_AUTH) {
            char hint[600];
            sx_conn_auth_hint(c, status, hint, sizeof hint);
            sx_errf(err, errlen, "%s: %s", why, hint);
            goto done;
        }
        if (cls == SX_HTTP_FAIL) {
            sx_errf(err, errlen, "%s", why);
            goto done;
        }
        if (attempt >= sx_retry_limit(cr, o->retries)) {
            sx_retry_gave_up(why, sizeof why, cr, attempt + 1, o->retries);
            sx_conn_host_hint(c, cr, why, sizeof why);
            sx_errf(err, errlen, "%s", why);
            goto done;
        }
        long wait = sx_retry_backoff_ms(attempt + 1, o->retry_base_ms, o->retry_max_ms, &seed);
        long ra = cr == CURLE_OK ? sx_http_retry_after(h) : -1;
        if (ra >= 0)
            wait = ra < 600000 ? ra : 600000;
        sx_sleep_ms(wait);
    }
done:
    if (err)
        sx_conn_redact(c, err);
    sx_http_body_free(&body);
    curl_slist_free_all(hdr);
    if (h)
        curl_easy_cleanup(h);
    free(url);
    return rc;
}
