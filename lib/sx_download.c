#include "sx_download.h"
#include "sx_cli.h"
#include "sx_retry.h"
#include "sx_sha256.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum { ST_QUEUED, ST_ACTIVE, ST_WAITING };

typedef struct xfer {
    struct xfer *next;     /* in the queue or the waiting list */
    sx_dl *d;
    CURL *e;
    char *url;
    int fd;
    int state;
    int64_t want_size;
    char want_sha[65];
    void *user;
    sx_sha256 sha;
    int64_t written;       /* bytes in the file */
    int64_t range_from;    /* this try asked for bytes from here (0: all) */
    int checked;           /* the status of this try was looked at */
    int http_error;        /* this try answered non-2xx: body dropped */
    int disk_errno;
    int too_big;
    int bad_range;         /* this try's 206 did not continue the file */
    int64_t total;         /* the whole file's size the server gave, or -1 */
    int tries;
    int64_t due_ms;        /* when waiting: try again at */
    char errbuf[CURL_ERROR_SIZE];
} xfer;

struct sx_dl {
    sx_dl_opts o;
    CURLM *m;
    xfer *queue, *queue_tail;
    xfer *waiting;
    xfer *running;         /* active transfers (at most jobs) */
    int active, pending;
    uint64_t seed;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sx_dl_opts sx_dl_opts_default(void)
{
    sx_dl_opts o = {8, 5, 500, 30000, 0, 30000, 30};
    return o;
}

static int curl_ready;

sx_dl *sx_dl_new(const sx_dl_opts *o)
{
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = 1;
    }
    sx_dl *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->o = *o;
    if (d->o.jobs < 1)
        d->o.jobs = 1;
    if (d->o.tries < 1)
        d->o.tries = 1;
    d->m = curl_multi_init();
    if (!d->m) {
        free(d);
        return NULL;
    }
    curl_multi_setopt(d->m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)d->o.jobs);
    d->seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
    return d;
}

const char *sx_dl_url_ok(const char *url)
{
    if (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8))
        return NULL;
    return "refused: only http and https URLs are downloaded";
}

/* A 206 answer continues the file only when it was asked for, starts
 * where the file stops (Content-Range: bytes FROM-LAST/TOTAL) and agrees
 * with the size the file had before. */
static int range_continues(xfer *x)
{
    if (x->range_from == 0)
        return 0;
    struct curl_header *h;
    if (curl_easy_header(x->e, "Content-Range", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return 0;
    long long from, last, total = -1;
    char star[2];
    if (sscanf(h->value, "bytes %lld-%lld/%lld", &from, &last, &total) != 3 &&
        sscanf(h->value, "bytes %lld-%lld/%1[*]", &from, &last, star) != 3)
        return 0;
    if (from != x->range_from || last < from || (total >= 0 && last >= total))
        return 0;
    if (total >= 0 && ((x->total >= 0 && total != x->total) || (x->want_size >= 0 && total != x->want_size)))
        return 0;
    if (total >= 0)
        x->total = total;
    return 1;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->checked) {
        x->checked = 1;
        long code = 0;
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
        if (code != 0 && (code < 200 || code > 299)) {
            x->http_error = 1;
            return 0;   /* never written: abort this try */
        }
        if (code == 206 && !range_continues(x)) {
            /* the bytes of another offset, another file, or a part never
             * asked for: nothing of it is kept, the next try starts over */
            x->bad_range = 1;
            if (ftruncate(x->fd, 0) < 0)
                x->disk_errno = errno;
            x->written = 0;
            sx_sha256_init(&x->sha);
            return 0;
        }
        if (x->range_from > 0 && code != 206) {
            /* the server sent the whole body again: start over */
            if (ftruncate(x->fd, 0) < 0) {
                x->disk_errno = errno;
                return 0;
            }
            x->written = 0;
            sx_sha256_init(&x->sha);
        }
        if (code != 206) {
            curl_off_t len = -1;
            if (curl_easy_getinfo(x->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK && len >= 0)
                x->total = (int64_t)len;
        }
    }
    if (x->want_size >= 0 && x->written + (int64_t)n > x->want_size) {
        x->too_big = 1;
        return 0;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(x->fd, p + off, n - off, (off_t)(x->written + (int64_t)off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            x->disk_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    sx_sha256_update(&x->sha, p, n);
    x->written += (int64_t)n;
    return n;
}

static int start(sx_dl *d, xfer *x)
{
    if (!x->e) {
        x->e = curl_easy_init();
        if (!x->e)
            return -1;
        CURL *e = x->e;
        curl_easy_setopt(e, CURLOPT_URL, x->url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, x);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "sx/" SX_VERSION);   /* as sx_http.c: sx-download uses it too */
        curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, d->o.connect_timeout_ms);
        if (d->o.stall_s > 0) {
            /* a trickle (under 1 KB/s) is a stalled transfer, retried */
            curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
            curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, d->o.stall_s);
        }
        if (d->o.timeout_ms > 0)
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, d->o.timeout_ms);
    }
    char range[40];
    x->range_from = x->written;
    if (x->written > 0) {
        snprintf(range, sizeof range, "%lld-", (long long)x->written);
        curl_easy_setopt(x->e, CURLOPT_RANGE, range);
    } else {
        curl_easy_setopt(x->e, CURLOPT_RANGE, NULL);
    }
    x->checked = x->http_error = x->too_big = x->bad_range = 0;
    x->errbuf[0] = 0;
    x->tries++;
    if (curl_multi_add_handle(d->m, x->e) != CURLM_OK)
        return -1;
    x->state = ST_ACTIVE;
    x->next = d->running;
    d->running = x;
    d->active++;
    return 0;
}

int sx_dl_add(sx_dl *d, const char *url, int fd, int64_t size, const char *sha256, void *user)
{
    xfer *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->url = strdup(url);
    if (!x->url) {
        free(x);
        return -1;
    }
    x->d = d;
    x->fd = fd;
    x->want_size = size;
    x->total = -1;
    if (sha256)
        snprintf(x->want_sha, sizeof x->want_sha, "%s", sha256);
    x->user = user;
    sx_sha256_init(&x->sha);
    x->state = ST_QUEUED;
    if (d->queue_tail)
        d->queue_tail->next = x;
    else
        d->queue = x;
    d->queue_tail = x;
    d->pending++;
    return 0;
}

int sx_dl_pending(const sx_dl *d) { return d->pending; }

static void xfer_free(xfer *x)
{
    if (x->e)
        curl_easy_cleanup(x->e);
    free(x->url);
    free(x);
}

static void finish(sx_dl *d, xfer *x, int ok, const char *why, sx_dl_done_fn done, void *ud)
{
    sx_dl_result r;
    memset(&r, 0, sizeof r);
    r.user = x->user;
    r.ok = ok;
    r.disk_errno = x->disk_errno;
    r.tries = x->tries;
    r.size = x->written;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &r.status);
    if (ok)
        sx_sha256_hex(&x->sha, r.sha256);
    else
        snprintf(r.error, sizeof r.error, "%s", why);
    d->pending--;
    xfer_free(x);
    done(ud, &r);
}

static int transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: case CURLE_COULDNT_CONNECT: case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: case CURLE_PARTIAL_FILE: case CURLE_GOT_NOTHING:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM: case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static void retry_later(sx_dl *d, xfer *x, long wait_ms)
{
    x->state = ST_WAITING;
    x->due_ms = now_ms() + wait_ms;
    x->next = d->waiting;
    d->waiting = x;
}

/* One try ended: finish, or schedule another. */
static void ended(sx_dl *d, xfer *x, CURLcode rc, sx_dl_done_fn done, void *ud)
{
    char why[256];
    long code = 0;
    curl_multi_remove_handle(d->m, x->e);
    d->active--;
    for (xfer **pp = &d->running; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    }
    x->next = NULL;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    if (x->disk_errno) {
        snprintf(why, sizeof why, "cannot write: %s", strerror(x->disk_errno));
        finish(d, x, 0, why, done, ud);
        return;
    }
    if (x->too_big) {
        snprintf(why, sizeof why, "larger than the expected %lld byte%s", (long long)x->want_size,
                 x->want_size == 1 ? "" : "s");
        finish(d, x, 0, why, done, ud);
        return;
    }
    int http_bad = x->http_error || (rc == CURLE_OK && code != 0 && (code < 200 || code > 299));
    int again = 0;
    if (x->bad_range) {
        snprintf(why, sizeof why, x->range_from ? "the server's Content-Range does not continue the file"
                                                 : "a part (206) came back for the whole file");
        again = 1;
        x->total = -1;
    } else if (http_bad) {
        snprintf(why, sizeof why, "HTTP %ld", code);
        again = sx_retry_status(code);
        if (code == 416 && x->written > 0) {
            /* asked for bytes past the end: start over */
            again = 1;
        }
    } else if (rc != CURLE_OK) {
        snprintf(why, sizeof why, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        again = transient(rc) && x->tries <= sx_retry_limit(rc, d->o.tries - 1);
    } else if (x->total >= 0 && x->written != x->total) {
        snprintf(why, sizeof why, "got %lld of %lld byte%s", (long long)x->written, (long long)x->total,
                 x->total == 1 ? "" : "s");
        again = 1;
    } else {
        if (x->want_size >= 0 && x->written != x->want_size) {
            snprintf(why, sizeof why, "got %lld byte%s, expected %lld", (long long)x->written,
                     x->written == 1 ? "" : "s", (long long)x->want_size);
            finish(d, x, 0, why, done, ud);
            return;
        }
        if (x->want_sha[0]) {
            sx_sha256 c = x->sha;
            char hex[65];
            sx_sha256_hex(&c, hex);
            if (strcasecmp(hex, x->want_sha)) {
                snprintf(why, sizeof why, "sha256 mismatch: got %s, expected %s", hex, x->want_sha);
                finish(d, x, 0, why, done, ud);
                return;
            }
        }
        finish(d, x, 1, NULL, done, ud);
        return;
    }
    if (!again || x->tries >= d->o.tries) {
        sx_retry_gave_up(why, sizeof why, rc, x->tries, d->o.tries - 1);
        finish(d, x, 0, why, done, ud);
        return;
    }
    /* keep what arrived and ask for the rest (a 206 continues, a 200
     * starts over), unless the server said it cannot */
    int ranges = 0;
    struct curl_header *h;
    if (!http_bad && x->written > 0) {
        ranges = 1;
        if (curl_easy_header(x->e, "Accept-Ranges", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
            !strcasecmp(h->value, "none"))
            ranges = 0;
    }
    if (!ranges && x->written > 0) {
        if (ftruncate(x->fd, 0) < 0) {
            x->disk_errno = errno;
            snprintf(why, sizeof why, "cannot write: %s", strerror(errno));
            finish(d, x, 0, why, done, ud);
            return;
        }
        x->written = 0;
        sx_sha256_init(&x->sha);
    }
    long wait = sx_retry_backoff_ms(x->tries, d->o.backoff_ms, d->o.backoff_max_ms, &d->seed);
    if (http_bad && curl_easy_header(x->e, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
        long ra = sx_retry_after_ms(h->value, time(NULL));
        if (ra >= 0)
            wait = ra < d->o.backoff_max_ms ? ra : d->o.backoff_max_ms;
    }
    retry_later(d, x, wait);
}

/* Starts queued and due transfers while there is room. @return ms until
 * the next retry is due, or -1 when none waits. */
static long schedule(sx_dl *d, sx_dl_done_fn done, void *ud)
{
    int64_t now = now_ms();
    long next = -1;
    xfer **pp = &d->waiting;
    while (*pp) {
        xfer *x = *pp;
        if (x->due_ms <= now && d->active < d->o.jobs) {
            *pp = x->next;
            x->next = NULL;
            if (start(d, x) < 0) {
                d->pending--;
                xfer_free(x);   /* cannot happen but out of memory */
            }
            continue;
        }
        long w = x->due_ms <= now ? 0 : (long)(x->due_ms - now);
        if (next < 0 || w < next)
            next = w;
        pp = &x->next;
    }
    while (d->queue && d->active < d->o.jobs) {
        xfer *x = d->queue;
        d->queue = x->next;
        if (!d->queue)
            d->queue_tail = NULL;
        x->next = NULL;
        if (start(d, x) < 0) {
            snprintf(x->errbuf, sizeof x->errbuf, "out of memory");
            x->tries = 1;
            sx_dl_result r;
            memset(&r, 0, sizeof r);
            r.user = x->user;
            snprintf(r.error, sizeof r.error, "cannot start the transfer");
            d->pending--;
            xfer_free(x);
            done(ud, &r);
        }
    }
    return next;
}

int sx_dl_run(sx_dl *d, const int *wake, int nwake, int timeout_ms, sx_dl_done_fn done, void *ud)
{
    long next = schedule(d, done, ud);
    int wait = timeout_ms;
    if (next >= 0 && next < wait)
        wait = (int)next;
    struct curl_waitfd extra[4];
    unsigned n = 0;
    for (int i = 0; i < nwake && n < 4; i++) {
        if (wake[i] >= 0) {
            extra[n].fd = wake[i];
            extra[n].events = CURL_WAIT_POLLIN;
            extra[n].revents = 0;
            n++;
        }
    }
    int nfds = 0;
    if (curl_multi_poll(d->m, n ? extra : NULL, n, wait, &nfds) != CURLM_OK)
        return -1;
    int running = 0;
    if (curl_multi_perform(d->m, &running) != CURLM_OK)
        return -1;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(d->m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        ended(d, x, msg->data.result, done, ud);
    }
    schedule(d, done, ud);
    return 0;
}

void sx_dl_free(sx_dl *d)
{
    if (!d)
        return;
    for (xfer *x = d->running, *n; x; x = n) {
        n = x->next;
        curl_multi_remove_handle(d->m, x->e);
        xfer_free(x);
    }
    for (xfer *x = d->queue, *n; x; x = n) {
        n = x->next;
        xfer_free(x);
    }
    for (xfer *x = d->waiting, *n; x; x = n) {
        n = x->next;
        xfer_free(x);
    }
    curl_multi_cleanup(d->m);
    free(d);
}
