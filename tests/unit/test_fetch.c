/* Unit tests of sx-fetch's library parts: targets and filters (sx_target.h),
 * URL and HTTP helpers and the connection settings (sx_http.h), shard
 * arithmetic (sx_pager.h), the local dataset reader (sx_dataset.h). */
#include "sx_dataset.h"
#include "sx_http.h"
#include "sx_pager.h"
#include "sx_proto.h"
#include "sx_target.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static void test_filter_pairs(void)
{
    jv f = sx_filter_add(jv_array(), "project=12");
    f = sx_filter_add(f, "status=a=b");
    f = sx_filter_add_json(f, "{\"tag\": [\"x\", 2, true], \"skip\": null, \"n\": 1.5}");
    CHECK(jv_is_valid(f));
    CHECK(streq(sx_filter_get(f, "project"), "12"));
    CHECK(streq(sx_filter_get(f, "status"), "a=b"));
    CHECK(streq(sx_filter_get(f, "tag"), "x"));
    CHECK(streq(sx_filter_get(f, "n"), "1.5"));
    CHECK(sx_filter_get(f, "skip") == NULL);
    jv o = sx_filter_object(f);
    jv s = jv_dump_string(o, 0);
    CHECK(streq(jv_string_value(s), "{\"project\":\"12\",\"status\":\"a=b\",\"tag\":[\"x\",\"2\",\"true\"],\"n\":\"1.5\"}"));
    jv_free(s);
    jv_free(f);
}

static void test_filter_errors(void)
{
    jv f = sx_filter_add(jv_array(), "novalue");
    CHECK(!jv_is_valid(f));
    jv_free(f);
    f = sx_filter_add(jv_array(), "=x");
    CHECK(!jv_is_valid(f));
    jv_free(f);
    f = sx_filter_add_json(jv_array(), "{\"a\": {\"b\": 1}}");
    CHECK(!jv_is_valid(f));
    jv_free(f);
    f = sx_filter_add_json(jv_array(), "[1]");
    CHECK(!jv_is_valid(f));
    jv_free(f);
    f = sx_filter_add_json(jv_array(), "{oops");
    CHECK(!jv_is_valid(f));
    jv_free(f);
}

static void test_builtin_targets(void)
{
    char err[512];
    sx_target *t = sx_target_open(NULL, NULL, err, sizeof err);
    CHECK(t && streq(sx_target_name(t), "assignment") && streq(sx_target_path(t), "sdk/assignments/"));
    jv f = jv_array();
    CHECK(sx_target_check(t, f, err, sizeof err) < 0 && strstr(err, "'project'"));
    f = sx_filter_add(f, "project=3");
    f = sx_filter_add(f, "q=a b/é");
    CHECK(sx_target_check(t, f, err, sizeof err) == 0);
    char *q = sx_target_query(t, f, 50);
    CHECK(streq(q, "project=3&q=a%20b%2F%C3%A9&expand=data&page_size=50"));
    free(q);
    jv rec = jv_parse("{\"id\": 7, \"file\": {\"url\": \"u\"}, \"data\": null, \"extra\": 1}");
    jv item = sx_target_map(t, rec);
    jv s = jv_dump_string(item, 0);
    CHECK(streq(jv_string_value(s), "{\"id\":7,\"files\":{\"url\":\"u\"},\"data\":null}"));
    jv_free(s);
    sx_target_free(t);

    t = sx_target_open("ground_truth", NULL, err, sizeof err);
    CHECK(t != NULL);
    CHECK(sx_target_check(t, f, err, sizeof err) < 0 && strstr(err, "ground_truth_dataset_version"));
    jv g = sx_filter_add(jv_array(), "ground_truth_dataset_version=9");
    q = sx_target_query(t, g, 0);
    CHECK(streq(q, "ground_truth_dataset_versions=9&expand=data"));
    free(q);
    rec = jv_parse("{\"id\": 1, \"data\": {}, \"data_unit\": {\"files\": {\"image_1\": {\"url\": \"a\"}, \"image_2\": {}}}}");
    item = sx_target_map(t, rec);
    jv fl = jv_object_get(jv_copy(item), jv_string("files"));
    CHECK(streq(sx_get_str(fl, "url"), "a"));
    jv_free(fl);
    jv_free(item);
    /* a record without data_unit fails its mapping with a message, not a crash */
    item = sx_target_map(t, jv_parse("{\"id\": 2, \"data\": {}}"));
    CHECK(!jv_is_valid(item));
    jv_free(item);
    jv_free(g);
    sx_target_free(t);

    t = sx_target_open("task", NULL, err, sizeof err);
    q = sx_target_query(t, f, 100);
    CHECK(streq(q, "project=3&q=a%20b%2F%C3%A9&expand=data_unit&expand=assignment&expand=workshop&page_size=100"));
    free(q);
    sx_target_free(t);
    jv_free(f);

    CHECK(sx_target_open("nosuch", NULL, err, sizeof err) == NULL && strstr(err, "unknown target 'nosuch'"));
}

static void test_target_file(void)
{
    char path[] = "/tmp/sx-test-target-XXXXXX";
    int fd = mkstemp(path);
    const char *txt = "[{\"name\": \"u\", \"path\": \"sdk/x/\", \"params\": {\"kind\": 1}, \"item\": \"{id: (.id + 1)}\"},"
                      " {\"name\": \"bad\", \"path\": \"sdk/y/\", \"item\": \"{id: \"}]";
    CHECK(fd >= 0 && write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt));
    close(fd);
    char err[512];
    sx_target *t = sx_target_open(NULL, path, err, sizeof err);
    CHECK(t && streq(sx_target_name(t), "u"));
    jv f = jv_array();
    char *q = sx_target_query(t, f, 10);
    CHECK(streq(q, "kind=1&page_size=10"));
    free(q);
    jv item = sx_target_map(t, jv_parse("{\"id\": 1}"));
    CHECK(sx_get_num(item, "id", 0) == 2);
    jv_free(item);
    item = sx_target_map(t, jv_parse("{\"id\": \"s\"}")); /* "s" + 1: a jq error */
    CHECK(!jv_is_valid(item));
    jv_free(item);
    sx_target_free(t);
    t = sx_target_open("bad", path, err, sizeof err);
    CHECK(!t && strstr(err, "does not compile") && strstr(err, path));
    jv list = sx_target_list(path);
    CHECK(jv_array_length(list) == 5);
    jv_free(f);
    unlink(path);
}

static void test_urls(void)
{
    CHECK(sx_url_same_origin("http://127.0.0.1:80/a", "http://127.0.0.1/b?x"));
    CHECK(sx_url_same_origin("https://API.example/", "https://api.example:443/sdk/"));
    CHECK(!sx_url_same_origin("http://127.0.0.1:8000/", "http://127.0.0.1:8001/"));
    CHECK(!sx_url_same_origin("http://127.0.0.1/", "https://127.0.0.1/"));
    CHECK(!sx_url_same_origin("http://127.0.0.1/", "http://evil.invalid/"));
    CHECK(!sx_url_same_origin("http://127.0.0.1/", "not a url"));
    char *e = sx_url_escape("a-b_c.d~e f&=/%");
    CHECK(streq(e, "a-b_c.d~e%20f%26%3D%2F%25"));
    free(e);
    char *p = sx_url_public("http://user:secret@127.0.0.1:8000/x");
    CHECK(p && !strstr(p, "secret") && !strstr(p, "user") && strstr(p, "127.0.0.1:8000/x"));
    free(p);
}

/* sx_conn_rebase() of `link` from page `page` with host `host`: the URL, or
 * "!" + the message when refused. */
static char *rebase(const char *host, const char *page, const char *link)
{
    sx_conn c = {.host = (char *)host};
    char err[512], *u = sx_conn_rebase(&c, page, link, err, sizeof err), *out;
    if (u)
        return u;
    if (asprintf(&out, "!%s", err) < 0)
        return NULL;
    return out;
}

static int rebased(const char *host, const char *page, const char *link, const char *want)
{
    char *got = rebase(host, page, link);
    int ok = got && (want[0] == '!' ? got[0] == '!' && strstr(got, want + 1) != NULL : strcmp(got, want) == 0);
    if (!ok)
        printf("#   rebase(%s, %s) = %s, want %s\n", host, link, got ? got : "NULL", want);
    free(got);
    return ok;
}

static void test_rebase(void)
{
    const char *pg = "https://api.example/sdk/a/?page=1";
    /* the configured origin: as it is */
    CHECK(rebased("https://api.example", pg, "https://api.example/sdk/a/?page=2", "https://api.example/sdk/a/?page=2"));
    CHECK(rebased("https://api.example", pg, "https://API.example:443/sdk/a/?page=2",
                  "https://api.example/sdk/a/?page=2"));
    /* a TLS proxy's http:// link, another host name: onto the configured host */
    CHECK(rebased("https://api.example", pg, "http://api.example/sdk/a/?cursor=x%3D", "https://api.example/sdk/a/?cursor=x%3d"));
    CHECK(rebased("https://api.example", pg, "http://backend-7.internal/sdk/a/?page=2",
                  "https://api.example/sdk/a/?page=2"));
    CHECK(rebased("http://127.0.0.1:8000", "http://127.0.0.1:8000/sdk/a/", "https://localhost:8000/sdk/a/?page=2",
                  "http://127.0.0.1:8000/sdk/a/?page=2"));
    /* another port, another scheme: refused */
    CHECK(rebased("https://api.example", pg, "https://api.example:8443/sdk/a/?page=2", "!another host 'https://api.example:8443/"));
    CHECK(rebased("https://api.example", pg, "http://api.example:8000/sdk/a/", "!another host"));
    CHECK(rebased("https://api.example", pg, "file:///etc/passwd", "!not an http or https URL"));
    CHECK(rebased("https://api.example", pg, "ftp://api.example/x", "!not an http or https URL"));
    CHECK(rebased("https://api.example", pg, "https://user:pw@evil.example:1/x", "!another host 'https://evil.example:1/x'"));
    /* relative links: against the page */
    CHECK(rebased("https://api.example", pg, "?cursor=abc", "https://api.example/sdk/a/?cursor=abc"));
    CHECK(rebased("https://api.example", pg, "/sdk/a/?page=3", "https://api.example/sdk/a/?page=3"));
    /* a path prefix: put back when a link lacks it, never doubled */
    const char *px = "https://x.example/api/sdk/a/?page=1";
    CHECK(rebased("https://x.example/api", px, "/sdk/a/?page=2", "https://x.example/api/sdk/a/?page=2"));
    CHECK(rebased("https://x.example/api", px, "/api/sdk/a/?page=2", "https://x.example/api/sdk/a/?page=2"));
    CHECK(rebased("https://x.example/api", px, "http://internal:8443/sdk/a/?page=2", "!another host"));
    CHECK(rebased("https://x.example/api", px, "http://internal/sdk/a/?page=2", "https://x.example/api/sdk/a/?page=2"));
    CHECK(rebased("https://x.example/api", px, "?cursor=c", "https://x.example/api/sdk/a/?cursor=c"));
    char *v = sx_url_param("http://h/p?a=1&page=12&b=2", "page");
    CHECK(v && streq(v, "12"));
    free(v);
    CHECK(!sx_url_param("http://h/p?xpage=1", "page"));
    CHECK(!sx_url_param("http://h/p", "page"));
}

static void test_redirect(void)
{
    sx_conn c = {.host = "http://127.0.0.1:8000/api"};
    char err[512];
    char *u = sx_conn_redirect(&c, "http://127.0.0.1:8000/api/sdk/a?page=2", "/api/sdk/a/?page=2", err, sizeof err);
    CHECK(u && streq(u, "http://127.0.0.1:8000/api/sdk/a/?page=2"));
    free(u);
    u = sx_conn_redirect(&c, "http://127.0.0.1:8000/api/x", "https://127.0.0.1:8000/api/x", err, sizeof err);
    CHECK(!u && strstr(err, "another host"));
    u = sx_conn_redirect(&c, "http://127.0.0.1:8000/api/x", "file:///etc/passwd", err, sizeof err);
    CHECK(!u && strstr(err, "not to an http or https URL"));
}

static void test_classify_and_reason(void)
{
    CHECK(sx_http_classify(CURLE_OK, 200) == SX_HTTP_OK);
    CHECK(sx_http_classify(CURLE_OK, 503) == SX_HTTP_RETRY);
    CHECK(sx_http_classify(CURLE_OK, 429) == SX_HTTP_RETRY);
    CHECK(sx_http_classify(CURLE_OK, 401) == SX_HTTP_AUTH);
    CHECK(sx_http_classify(CURLE_OK, 403) == SX_HTTP_AUTH);
    CHECK(sx_http_classify(CURLE_OK, 404) == SX_HTTP_FAIL);
    CHECK(sx_http_classify(CURLE_OK, 400) == SX_HTTP_FAIL);
    CHECK(sx_http_classify(CURLE_COULDNT_CONNECT, 0) == SX_HTTP_RETRY);
    CHECK(sx_http_classify(CURLE_OPERATION_TIMEDOUT, 0) == SX_HTTP_RETRY);
    CHECK(sx_http_classify(CURLE_PARTIAL_FILE, 200) == SX_HTTP_RETRY);
    CHECK(sx_http_classify(CURLE_RECV_ERROR, 0) == SX_HTTP_RETRY);
    CHECK(sx_http_classify(CURLE_PEER_FAILED_VERIFICATION, 0) == SX_HTTP_FAIL);
    char r[200];
    sx_http_body b = {0};
    const char *json = "{\"detail\": \"Invalid\\npage.\"}";
    sx_http_body_write((char *)json, 1, strlen(json), &b);
    sx_http_reason(&b, NULL, r, sizeof r);
    CHECK(streq(r, "Invalid page."));
    b.len = 0;
    const char *html = "<html><body>\n<h1>Bad   Gateway</h1></body></html>";
    sx_http_body_write((char *)html, 1, strlen(html), &b);
    sx_http_reason(&b, NULL, r, sizeof r);
    CHECK(streq(r, "Bad Gateway"));
    sx_http_describe(CURLE_OK, 404, NULL, NULL, NULL, r, sizeof r);
    CHECK(streq(r, "HTTP 404"));
    /* a token that straddles the 160-byte cut is redacted first, not cut
     * into a prefix that no longer matches it */
    b.len = 0;
    char long_reason[400];
    snprintf(long_reason, sizeof long_reason, "{\"detail\": \"%0150d TOKEN-abcdefghijklmnopqrstuvwxyz\"}", 0);
    sx_http_body_write(long_reason, 1, strlen(long_reason), &b);
    sx_http_reason(&b, "TOKEN-abcdefghijklmnopqrstuvwxyz", r, sizeof r);
    CHECK(!strstr(r, "TOKEN") && strstr(r, "***"));
    sx_http_describe(CURLE_OK, 500, &b, NULL, "TOKEN-abcdefghijklmnopqrstuvwxyz", r, sizeof r);
    CHECK(!strstr(r, "TOKEN"));
    sx_http_body_free(&b);
    sx_http_reason(NULL, NULL, r, sizeof r);
    CHECK(r[0] == 0);
}

static void test_conn_env(void)
{
    char err[512];
    sx_conn c;
    setenv("HOME", "/nonexistent-sx-home", 1);
    unsetenv("SYNAPSE_ACCESS_TOKEN");
    unsetenv("SYNAPSE_PLUGIN_RUN_USER_TOKEN");
    unsetenv("SYNAPSE_TENANT");
    unsetenv("SYNAPSE_PLUGIN_RUN_TENANT");
    unsetenv("SYNAPSE_HOST");
    CHECK(sx_conn_init(&c, NULL, NULL, err, sizeof err) == 0);
    CHECK(streq(c.host, SX_DEFAULT_HOST) && c.auth == SX_AUTH_NONE && !c.token && !c.tenant);
    sx_conn_clear(&c);

    setenv("SYNAPSE_HOST", "http://127.0.0.1:1234///", 1);
    setenv("SYNAPSE_PLUGIN_RUN_USER_TOKEN", "plug", 1);
    setenv("SYNAPSE_PLUGIN_RUN_TENANT", "ten", 1);
    CHECK(sx_conn_init(&c, NULL, NULL, err, sizeof err) == 0);
    CHECK(streq(c.host, "http://127.0.0.1:1234") && c.auth == SX_AUTH_AUTHORIZATION && streq(c.token, "plug"));
    CHECK(streq(c.tenant, "ten"));
    char *u = sx_conn_url(&c, "/sdk/tasks/");
    CHECK(streq(u, "http://127.0.0.1:1234/sdk/tasks/"));
    free(u);
    u = sx_conn_url(&c, "https://other/x");
    CHECK(streq(u, "https://other/x"));
    free(u);
    char msg[64] = "echo plug and plug again";
    sx_conn_redact(&c, msg);
    CHECK(streq(msg, "echo *** and *** again"));
    sx_conn_clear(&c);

    setenv("SYNAPSE_ACCESS_TOKEN", " tok \n", 1);
    CHECK(sx_conn_init(&c, "https://h.example", NULL, err, sizeof err) == 0);
    CHECK(streq(c.host, "https://h.example") && c.auth == SX_AUTH_SYNAPSE && streq(c.token, "tok"));
    sx_conn_clear(&c);

    setenv("SYNAPSE_ACCESS_TOKEN", "a\rb", 1);
    CHECK(sx_conn_init(&c, NULL, NULL, err, sizeof err) < 0 && !strstr(err, "a\rb"));
    CHECK(sx_conn_init(&c, "ftp://x", NULL, err, sizeof err) < 0);
    CHECK(sx_conn_init(&c, NULL, "/nonexistent/token", err, sizeof err) < 0 && strstr(err, "/nonexistent/token"));
    unsetenv("SYNAPSE_ACCESS_TOKEN");
    unsetenv("SYNAPSE_PLUGIN_RUN_USER_TOKEN");
    unsetenv("SYNAPSE_PLUGIN_RUN_TENANT");
    unsetenv("SYNAPSE_HOST");
}

static void test_auth_headers(void)
{
    sx_conn c = {0};
    c.host = "http://h";
    c.token = "T";
    c.auth = SX_AUTH_SYNAPSE;
    c.tenant = "X";
    struct curl_slist *l = sx_http_auth_headers(&c, NULL), *p;
    int tok = 0, ten = 0;
    for (p = l; p; p = p->next) {
        tok += streq(p->data, "Synapse-Access-Token: Token T");
        ten += streq(p->data, "Synapse-Tenant: Token X");
    }
    CHECK(tok == 1 && ten == 1);
    curl_slist_free_all(l);
    c.auth = SX_AUTH_AUTHORIZATION;
    c.tenant = NULL;
    l = sx_http_auth_headers(&c, NULL);
    tok = ten = 0;
    for (p = l; p; p = p->next) {
        tok += streq(p->data, "Authorization: Token T");
        ten += strstr(p->data, "Tenant") != NULL;
    }
    CHECK(tok == 1 && ten == 0);
    curl_slist_free_all(l);
}

static void test_shard_total(void)
{
    CHECK(sx_pager_shard_total(23, 5, 1, 1) == 23);
    CHECK(sx_pager_shard_total(23, 5, 1, 3) == 10);
    CHECK(sx_pager_shard_total(23, 5, 2, 3) == 8);
    CHECK(sx_pager_shard_total(23, 5, 3, 3) == 5);
    CHECK(sx_pager_shard_total(23, 5, 7, 8) == 0);
    CHECK(sx_pager_shard_total(0, 5, 1, 2) == 0);
    CHECK(sx_pager_shard_total(20, 5, 4, 4) == 5);
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_dataset(void)
{
    char root[] = "/tmp/sx-test-ds-XXXXXX", dir[600], err[512];
    CHECK(mkdtemp(root) != NULL);
    const char *subdirs[] = {"train", "train/json", "train/original_files", "valid", "valid/json",
                             "valid/origin_files"};
    for (size_t i = 0; i < 6; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, subdirs[i]);
        CHECK(mkdir(dir, 0755) == 0);
    }
    snprintf(dir, sizeof dir, "%s/train", root);
    put(dir, "json/b.json", "{\"n\": 2}");
    put(dir, "json/a.json", "{\"n\": 1}");
    put(dir, "original_files/a.png", "x");
    put(dir, "original_files/ab.png", "x");
    put(dir, "original_files/b.jpg", "x");
    snprintf(dir, sizeof dir, "%s/valid", root);
    put(dir, "json/c.json", "{oops");
    put(dir, "json/d.json", "null");
    sx_dataset *d = sx_dataset_open(root, err, sizeof err);
    CHECK(d != NULL);
    if (!d)
        return;
    CHECK(sx_dataset_count(d) == 4);
    jv item;
    CHECK(sx_dataset_next(d, &item, err, sizeof err) == 1);
    jv files = jv_object_get(jv_copy(item), jv_string("files"));
    CHECK(streq(sx_get_str(item, "id"), "a") && streq(sx_get_str(item, "split"), "train"));
    CHECK(streq(sx_get_str(files, "file_name_original"), "a.png"));
    const char *path = sx_get_str(files, "path");
    CHECK(path && path[0] == '/' && access(path, R_OK) == 0);
    jv_free(files);
    jv_free(item);
    CHECK(sx_dataset_next(d, &item, err, sizeof err) == 1);
    files = jv_object_get(jv_copy(item), jv_string("files"));
    jv data = jv_object_get(jv_copy(item), jv_string("data"));
    CHECK(streq(sx_get_str(files, "file_name_original"), "b.jpg") && sx_get_num(data, "n", 0) == 2);
    jv_free(data);
    jv_free(files);
    jv_free(item);
    CHECK(sx_dataset_next(d, &item, err, sizeof err) == -1 && strstr(err, "c.json"));
    CHECK(sx_dataset_next(d, &item, err, sizeof err) == 1);
    CHECK(streq(sx_get_str(item, "split"), "valid"));
    files = jv_object_get(jv_copy(item), jv_string("files"));
    CHECK(jv_get_kind(files) == JV_KIND_OBJECT && jv_object_length(jv_copy(files)) == 0);
    jv_free(files);
    jv_free(item);
    CHECK(sx_dataset_next(d, &item, err, sizeof err) == 0);
    sx_dataset_free(d);
    CHECK(sx_dataset_open("/nonexistent-sx", err, sizeof err) == NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

static int scans(const char *s)
{
    const char *e = s + strlen(s), *end = sx_json_scan(s, e);
    return end == e;
}

static void test_json_scan(void)
{
    CHECK(scans("{\"a\": [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"], \"b\": {}}"));
    CHECK(scans(" [ ] ") == 0); /* trailing space is not part of the value */
    CHECK(scans("\"caf\xc3\xa9\""));
    CHECK(!scans("{\"a\": 1,}"));
    CHECK(!scans("[1 2]"));
    CHECK(!scans("{\"a\" 1}"));
    CHECK(!scans("\"\\x\""));
    CHECK(!scans("\"a\tb\""));          /* raw control character */
    CHECK(scans("\"\xc3\""));             /* cut UTF-8: libjq reads U+FFFD */
    CHECK(scans("\"\xed\xa0\x80 \xc0\x80 \xf4\x90\x80\x80\""));  /* the same */
    CHECK(scans("\"\\udc00\""));           /* a lone low surrogate: U+FFFD */
    CHECK(!scans("\"\\ud800x\""));         /* a lone high one: libjq refuses it */
    CHECK(!scans("\"\\ud800\\u0041\""));
    CHECK(scans("\"\\ud83d\\ude00\""));
    CHECK(!scans("\"a\x1f\"") && !scans("nan") && !scans("\xef\xbb\xbf{}"));
    CHECK(!scans("01"));
    CHECK(!scans("1."));
    CHECK(!scans("tru"));
    CHECK(!scans("{\"a\": "));
    CHECK(!scans("<html>"));
    const char *o = "{ \"a\" : 1, \"b\": { \"c\": [1, 2] }, \"a\": \"last\" }";
    const char *v;
    size_t vl;
    CHECK(sx_json_member(o, strlen(o), "a", &v, &vl) == 1 && vl == 6 && strncmp(v, "\"last\"", 6) == 0);
    CHECK(sx_json_member(o, strlen(o), "b", &v, &vl) == 1 && v[0] == '{');
    char out[64];
    size_t n = sx_json_compact(v, vl, out);
    CHECK(n == 11 && strncmp(out, "{\"c\":[1,2]}", n) == 0);
    CHECK(sx_json_member(o, strlen(o), "zz", &v, &vl) == 0);
    CHECK(sx_json_member("{\"a\\u0062\": 1}", 13, "ab", &v, &vl) == -1);
    /* jq's to_entries[0].value: the first key, with its last value */
    CHECK(sx_json_first(o, strlen(o), &v, &vl) == 1 && vl == 6 && strncmp(v, "\"last\"", 6) == 0);
    CHECK(sx_json_first("{\"a\":1,\"b\":2}", 13, &v, &vl) == 1 && vl == 1 && *v == '1');
    CHECK(sx_json_first("{\"a\":1,\"\\u0061\":2}", 18, &v, &vl) == -1);
    CHECK(sx_json_first("{}", 2, &v, &vl) == 0);
    const char *sp = "{\"s\": \"a b\\\" c\"}";
    n = sx_json_compact(sp, strlen(sp), out);
    CHECK(n == strlen(sp) - 1 && strncmp(out, "{\"s\":\"a b\\\" c\"}", n) == 0);
}

/* the text path of a mapping gives what jq gives */
static void same_as_jq(sx_target *t, const char *rec)
{
    char *buf = NULL;
    size_t cap = 0;
    long n = sx_target_map_text(t, rec, strlen(rec), &buf, &cap);
    jv item = sx_target_map(t, jv_parse(rec));
    if (n < 0) {
        CHECK(!jv_is_valid(item)); /* the text path gives up only where jq fails */
    } else {
        jv dumped = jv_dump_string(item, 0);
        CHECK((size_t)n == strlen(jv_string_value(dumped)) && memcmp(buf, jv_string_value(dumped), (size_t)n) == 0);
        if ((size_t)n != strlen(jv_string_value(dumped)) || memcmp(buf, jv_string_value(dumped), (size_t)n) != 0)
            printf("#   text %.*s\n#   jq   %s\n", (int)n, buf, jv_string_value(dumped));
        item = dumped;
    }
    jv_free(item);
    free(buf);
}

static void test_map_text(void)
{
    char err[256];
    sx_target *a = sx_target_open("assignment", NULL, err, sizeof err);
    sx_target *g = sx_target_open("ground_truth", NULL, err, sizeof err);
    same_as_jq(a, "{\"id\": 7, \"file\": {\"url\": \"u\", \"w\": 3}, \"data\": {\"x\": [1, 2]}}");
    same_as_jq(a, "{\"id\": 7}");
    same_as_jq(a, "{ \"data\" : null , \"id\" : \"s\\\"q\" , \"file\" : [ ] }");
    same_as_jq(g, "{\"id\": 1, \"data\": {}, \"data_unit\": {\"files\": {\"image_1\": {\"url\": \"a\"}, \"image_2\": 2}}}");
    same_as_jq(g, "{\"id\": 1, \"data_unit\": {\"files\": {}}}");
    same_as_jq(g, "{\"id\": 1, \"data\": {}}");                   /* no data_unit: jq fails */
    same_as_jq(g, "{\"id\": 1, \"data_unit\": 5}");               /* not an object: jq fails */
    char *buf = NULL;
    size_t cap = 0;
    CHECK(sx_target_map_text(g, "{\"id\": 1, \"data\": {}}", 22, &buf, &cap) == -1);
    free(buf);
    /* one big value picked several times */
    char path[] = "/tmp/sx-test-target-XXXXXX";
    int fd = mkstemp(path);
    const char *txt = "{\"name\": \"t\", \"path\": \"x/\", \"item\": \"{a: .d, b: .d, c: .d, d, id: .i.j}\"}";
    CHECK(fd >= 0 && write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt));
    close(fd);
    sx_target *m = sx_target_open(NULL, path, err, sizeof err);
    CHECK(m != NULL);
    char big[20000];
    int n = snprintf(big, sizeof big, "{\"d\": \"");
    memset(big + n, 'x', 15000);
    snprintf(big + n + 15000, sizeof big - (size_t)n - 15000, "\", \"i\": null}");
    same_as_jq(m, big);
    sx_target_free(m);
    unlink(path);
    sx_target_free(a);
    sx_target_free(g);
}

int main(void)
{
    RUN(test_filter_pairs);
    RUN(test_filter_errors);
    RUN(test_builtin_targets);
    RUN(test_target_file);
    RUN(test_urls);
    RUN(test_rebase);
    RUN(test_redirect);
    RUN(test_classify_and_reason);
    RUN(test_conn_env);
    RUN(test_auth_headers);
    RUN(test_shard_total);
    RUN(test_dataset);
    RUN(test_json_scan);
    RUN(test_map_text);
    return UNIT_DONE();
}
