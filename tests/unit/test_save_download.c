/* test_save_download.c : sx_download.h against a small HTTP server of the
 * test's own on 127.0.0.1: bytes and digest, size and sha256 checks, 404s,
 * refused schemes (file: above all), many at once, and ranges: a cut body
 * continued with a Range request, and a 206 that does not continue the
 * file (wrong offset, wrong total, or never asked for) dropped. */
#include "sx_download.h"
#include "sx_sha256.h"
#include "unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[256];
static int port;

/* The body of /NAME?size=N: byte i is i*7+3, whatever NAME is. */
static unsigned char body_byte(size_t i) { return (unsigned char)(i * 7 + 3); }

static void body_sha(size_t n, char sha[65])
{
    sx_sha256 c;
    sx_sha256_init(&c);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = body_byte(i);
        sx_sha256_update(&c, &b, 1);
    }
    sx_sha256_hex(&c, sha);
}

static long qnum(const char *req, const char *key, long dflt)
{
    const char *p = strstr(req, key);
    return p ? atol(p + strlen(key)) : dflt;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL); /* a client that hung up: no SIGPIPE */
        if (k <= 0)
            return;
        c += k;
        n -= (size_t)k;
    }
}

/* One request: size=N; cut=K closes after K bytes of the first answer;
 * range=bad answers a Range with the wrong offset; range=total with
 * another total; range=always answers 206 even without a Range. */
static void serve(int c)
{
    char req[4096];
    ssize_t n = read(c, req, sizeof req - 1);
    if (n <= 0)
        return;
    req[n] = 0;
    if (strncmp(req, "GET /", 5) || strstr(req, "/missing")) {
        const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
        send_all(c, r, strlen(r));
        return;
    }
    size_t size = (size_t)qnum(req, "size=", 100);
    long from = -1;
    const char *rh = strcasestr(req, "\r\nRange: bytes=");
    if (rh)
        from = atol(rh + 15);
    int bad = strstr(req, "range=bad") != NULL, total = strstr(req, "range=total") != NULL;
    int always = strstr(req, "range=always") != NULL;
    long cut = from < 0 ? qnum(req, "cut=", -1) : -1;
    char head[300];
    size_t start = 0;
    if (from >= 0 || always) {
        start = from >= 0 ? (size_t)from : 0;
        size_t shown = bad ? start + 1 : start;
        snprintf(head, sizeof head,
                 "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %zu-%zu/%zu\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 shown, size - 1, total ? size + 5 : size, size - start);
    } else {
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", size);
    }
    send_all(c, head, strlen(head));
    size_t end = cut >= 0 && (size_t)cut < size ? (size_t)cut : size;
    unsigned char buf[4096];
    for (size_t i = start; i < end;) {
        size_t k = 0;
        while (k < sizeof buf && i < end)
            buf[k++] = body_byte(i++);
        send_all(c, buf, k);
    }
}

static void *server(void *arg)
{
    int s = *(int *)arg;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        serve(c);
        shutdown(c, SHUT_RDWR);
        close(c);
    }
    return NULL;
}

static void start_server(void)
{
    static int s;
    s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) < 0) {
        perror("server");
        exit(1);
    }
    port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, server, &s);
    pthread_detach(t);
}

typedef struct {
    int done, ok, tries;
    int64_t size;
    char sha[65];
    char error[256];
} outcome;

static void on_done(void *ud, const sx_dl_result *r)
{
    (void)ud;
    outcome *o = r->user;
    o->done = 1;
    o->ok = r->ok;
    o->tries = r->tries;
    o->size = r->size;
    snprintf(o->sha, sizeof o->sha, "%s", r->sha256);
    snprintf(o->error, sizeof o->error, "%s", r->error);
}

static void url_of(char *url, size_t n, const char *query)
{
    snprintf(url, n, "http://127.0.0.1:%d/f.bin?%s", port, query);
}

/* Downloads url into a new file; @return its descriptor (closed by caller). */
static int fetch(const char *url, int64_t size, const char *sha, outcome *o, int tries)
{
    sx_dl_opts opts = sx_dl_opts_default();
    opts.tries = tries;
    opts.backoff_ms = 10;
    sx_dl *d = sx_dl_new(&opts);
    char out[512];
    snprintf(out, sizeof out, "%s/out-XXXXXX", dir);
    int fd = mkstemp(out);
    unlink(out);
    memset(o, 0, sizeof *o);
    CHECK(sx_dl_add(d, url, fd, size, sha, o) == 0);
    for (int i = 0; i < 300 && sx_dl_pending(d); i++)
        CHECK(sx_dl_run(d, NULL, 0, 100, on_done, NULL) == 0);
    CHECK(o->done);
    sx_dl_free(d);
    return fd;
}

static void test_http(void)
{
    char url[600], sha[65];
    outcome o;
    body_sha(300000, sha);
    url_of(url, sizeof url, "size=300000");
    int fd = fetch(url, 300000, sha, &o, 1);
    CHECK(o.ok && o.size == 300000 && !strcmp(o.sha, sha));
    CHECK(lseek(fd, 0, SEEK_END) == 300000);
    close(fd);
}

static void test_checks(void)
{
    char url[600], sha[65];
    outcome o;
    body_sha(1000, sha);
    url_of(url, sizeof url, "size=1000");
    close(fetch(url, 999, NULL, &o, 1));
    CHECK(!o.ok && strstr(o.error, "larger than the expected 999"));
    close(fetch(url, 1001, NULL, &o, 1));
    CHECK(!o.ok && strstr(o.error, "got 1000 bytes, expected 1001"));
    char bad[65];
    memcpy(bad, sha, 65);
    bad[0] = bad[0] == '0' ? '1' : '0';
    close(fetch(url, -1, bad, &o, 1));
    CHECK(!o.ok && strstr(o.error, "sha256 mismatch"));
    char missing[600];
    snprintf(missing, sizeof missing, "http://127.0.0.1:%d/missing", port);
    close(fetch(missing, -1, NULL, &o, 1));
    CHECK(!o.ok && strstr(o.error, "HTTP 404"));
}

static void test_schemes(void)
{
    CHECK(sx_dl_url_ok("http://h/x") == NULL);
    CHECK(sx_dl_url_ok("HTTPS://h/x") == NULL);
    CHECK(sx_dl_url_ok("file:///x") != NULL);
    CHECK(sx_dl_url_ok("FILE:///proc/self/environ") != NULL);
    CHECK(sx_dl_url_ok("ftp://h/x") != NULL);
    CHECK(sx_dl_url_ok("gopher://h/x") != NULL);
    CHECK(sx_dl_url_ok("/etc/passwd") != NULL);
    /* and libcurl itself is held to the same: a file: URL never reads */
    outcome o;
    close(fetch("file:///etc/hostname", -1, NULL, &o, 1));
    CHECK(!o.ok && o.size == 0);
}

static void test_ranges(void)
{
    char url[600], sha[65];
    outcome o;
    body_sha(200000, sha);
    /* cut after 70,000 bytes: the next try asks for the rest and gets it */
    url_of(url, sizeof url, "size=200000&cut=70000");
    close(fetch(url, 200000, sha, &o, 3));
    CHECK(o.ok && o.size == 200000 && !strcmp(o.sha, sha) && o.tries == 2);
    /* a 206 that starts elsewhere: dropped, started over, never spliced */
    url_of(url, sizeof url, "size=200000&cut=70000&range=bad");
    close(fetch(url, -1, NULL, &o, 2));
    CHECK(!o.ok && strstr(o.error, "Content-Range does not continue the file"));
    url_of(url, sizeof url, "size=200000&cut=70000&range=bad");
    int fd = fetch(url, -1, NULL, &o, 4);   /* tries: cut, bad range, cut, bad */
    CHECK(!o.ok && lseek(fd, 0, SEEK_END) <= 70000);
    close(fd);
    /* a 206 with another total than the first answer gave */
    url_of(url, sizeof url, "size=200000&cut=70000&range=total");
    close(fetch(url, -1, NULL, &o, 2));
    CHECK(!o.ok && strstr(o.error, "Content-Range does not continue the file"));
    /* a 206 to a request for the whole file is not the whole file */
    url_of(url, sizeof url, "size=1000&range=always");
    close(fetch(url, -1, NULL, &o, 2));
    CHECK(!o.ok && strstr(o.error, "a part (206) came back for the whole file"));
}

static void test_many(void)
{
    char url[600], sha[65];
    body_sha(5000, sha);
    url_of(url, sizeof url, "size=5000");
    sx_dl_opts opts = sx_dl_opts_default();
    opts.jobs = 3;
    sx_dl *d = sx_dl_new(&opts);
    outcome o[20];
    int fds[20];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 20; i++) {
        char out[512];
        snprintf(out, sizeof out, "%s/m-XXXXXX", dir);
        fds[i] = mkstemp(out);
        unlink(out);
        CHECK(sx_dl_add(d, url, fds[i], 5000, sha, &o[i]) == 0);
    }
    CHECK(sx_dl_pending(d) == 20);
    for (int i = 0; i < 500 && sx_dl_pending(d); i++)
        sx_dl_run(d, NULL, 0, 100, on_done, NULL);
    for (int i = 0; i < 20; i++) {
        CHECK(o[i].done && o[i].ok);
        close(fds[i]);
    }
    sx_dl_free(d);
}

static void test_free_unfinished(void)
{
    char url[600];
    url_of(url, sizeof url, "size=10");
    sx_dl_opts opts = sx_dl_opts_default();
    sx_dl *d = sx_dl_new(&opts);
    int fd = open("/dev/null", O_WRONLY);
    outcome o;
    CHECK(sx_dl_add(d, url, fd, -1, NULL, &o) == 0);
    sx_dl_free(d);   /* aborts without callbacks, frees all */
    close(fd);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/sx-test-dl-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    start_server();
    RUN(test_http);
    RUN(test_checks);
    RUN(test_schemes);
    RUN(test_ranges);
    RUN(test_many);
    RUN(test_free_unfinished);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return UNIT_DONE();
}
