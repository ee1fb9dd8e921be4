#include "sx_pager.h"
#include "sx_errbuf.h"
#include "sx_hash.h"

#include "sx_proto.h"
#include "sx_retry.h"
#include "sx_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_FREE = 0, S_WAIT, S_RUN, S_DONE, S_END, S_FAIL };

/* How the listing goes forward, decided by the first page's `next` link. */
enum {
    M_FIRST = 0, /* the first page is not in yet */
    M_PAGES,     /* DRF page links: pages fetched by number, jobs at once */
    M_NEXT       /* anything else (cursor): `next` followed, one at a time */
};

struct slot {
    int state;
    uint64_t j;         /* index in the shard's page sequence */
    uint64_t page;      /* page number */
    char *url;          /* what to fetch instead of the page's number URL: a
                           followed next link, a redirect's target */
    char *req;          /* the URL of the request (relative links, redirects) */
    int redirects;
    CURL *h;
    sx_http_body body;
    int tries;
    long long due;      /* when S_WAIT may start */
    const char *results; /* the page's results array (in body), when S_DONE */
    size_t results_len;
    double count;       /* -1 when the page has none (cursor pagination) */
    int more;           /* next is a link */
    char *next_url;     /* the link, moved onto the configured host */
    uint64_t next_hash; /* of next_url */
    uint64_t next_page; /* its page parameter, 0 when none */
    unsigned nres;      /* records in results */
    int code;           /* SX_PAGER_* when S_FAIL */
    char errbuf[CURL_ERROR_SIZE];
    char reason[200];   /* the server's reason of the last error answer */
    char why[1024];
};

typedef struct pager {
    const sx_pager_opts *o;
    const sx_pager_cb *cb;
    void *ctx;
    CURLM *m;
    struct curl_slist *hdr;
    struct slot *slots;
    unsigned nslots;
    char *base;          /* host/path?query */
    unsigned shard_i, shard_n;
    int mode;            /* M_* */
    char *next_url;      /* M_NEXT: the link of the last page handed out */
    uint64_t chain0;     /* M_NEXT: the index of the listing's first page */
    uint64_t chain_items; /* M_NEXT: records of the pages handed out or skipped */
    uint64_t wj;         /* next index to hand out */
    uint64_t nextj;      /* next index to ask for */
    int known;           /* count known (first page handed out) */
    uint64_t expect_j;   /* pages of the shard according to count */
    unsigned ps;         /* the page size the backend gives (it may cap ours) */
    int64_t more_j;      /* highest index whose page had a next page */
    uint64_t written;
    uint64_t seed;
    int progressed;
    uint64_t *links;     /* hashes of the next links handed out (open addressing, 0 empty) */
    size_t nlinks, caplinks;
} pager;

uint64_t sx_pager_shard_total(uint64_t count, unsigned page_size, unsigned shard_i, unsigned shard_n)
{
    if (page_size == 0)
        return 0;
    if (shard_n <= 1)
        return count;
    uint64_t pages = (count + page_size - 1) / page_size, total = 0;
    for (uint64_t p = shard_i; p <= pages; p += shard_n)
        total += p < pages ? page_size : count - (p - 1) * page_size;
    return total;
}

static uint64_t page_of(const pager *p, uint64_t j) { return p->shard_i + j * p->shard_n; }

/* The page's number in the listing, for messages. */
static uint64_t page_no(const pager *p, uint64_t j) { return p->mode == M_NEXT ? j - p->chain0 + 1 : page_of(p, j); }

static int may_ask(const pager *p, uint64_t j)
{
    /* with --limit, no page past those that full pages would need */
    if (p->o->limit && j > p->wj && p->written + (j - p->wj) * p->ps >= p->o->limit)
        return 0;
    if (j == 0)
        return 1;
    if (!p->known)
        return 0;
    if (p->mode == M_NEXT) /* one page at a time: its URL is the last one's next */
        return j == p->wj && p->next_url;
    return j < p->expect_j || (int64_t)j <= p->more_j + 1;
}

static void slot_reset(struct slot *s)
{
    free(s->url);
    free(s->req);
    free(s->next_url);
    s->url = s->req = s->next_url = NULL;
    s->results = NULL;
    s->state = S_FREE;
    s->tries = 0;
    s->body.len = 0;
    s->why[0] = 0;
}

/* Remembers the hash of a next link. @return 1 when it was seen before, 0
 * when new, -1 when out of memory. */
static int link_seen(pager *p, uint64_t h)
{
    h = h ? h : 1;
    if ((p->nlinks + 1) * 2 > p->caplinks) {
        size_t cap = p->caplinks ? p->caplinks * 2 : 256;
        uint64_t *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < p->caplinks; i++)
            if (p->links[i]) {
                size_t k = p->links[i] & (cap - 1);
                while (v[k])
                    k = (k + 1) & (cap - 1);
                v[k] = p->links[i];
            }
        free(p->links);
        p->links = v;
        p->caplinks = cap;
    }
    size_t k = h & (p->caplinks - 1);
    while (p->links[k]) {
        if (p->links[k] == h)
            return 1;
        k = (k + 1) & (p->caplinks - 1);
    }
    p->links[k] = h;
    p->nlinks++;
    return 0;
}

static int start(pager *p, struct slot *s)
{
    char *url = NULL;
    if (s->url ? !(url = strdup(s->url))
               : asprintf(&url, "%s%cpage=%llu", p->base, strchr(p->base, '?') ? '&' : '?',
                          (unsigned long long)s->page) < 0)
        return -1;
    free(s->req);
    s->req = url;
    s->body.len = 0;
    s->body.too_big = 0;
    if (s->body.p)
        s->body.p[0] = 0;
    s->errbuf[0] = 0;
    CURLcode rc = curl_easy_setopt(s->h, CURLOPT_URL, url);
    if (rc != CURLE_OK || curl_multi_add_handle(p->m, s->h) != CURLM_OK)
        return -1;
    s->state = S_RUN;
    return 0;
}

static void fail(pager *p, struct slot *s, int code, const char *what)
{
    sx_errf(s->why, sizeof s->why, "cannot list '%s': %s (page %llu%s%s)", p->o->path, what,
        (unsigned long long)(p->mode == M_NEXT ? page_no(p, s->j) : s->page), s->reason[0] ? ": " : "", s->reason);
    s->code = code;
    s->state = S_FAIL;
}

/* Another try of the slot's page after a failure (rc CURLE_OK for an
 * answer that was wrong), or the listing's failure when no try is left. */
static void retry(pager *p, struct slot *s, CURLcode rc, const char *what, long retry_after)
{
    s->tries++;
    if (s->tries > sx_retry_limit(rc, p->o->http.retries)) {
        char m[700];
        snprintf(m, sizeof m, "%s", what);
        sx_retry_gave_up(m, sizeof m, rc, s->tries, p->o->http.retries);
        sx_conn_host_hint(p->o->conn, rc, m, sizeof m);
        fail(p, s, SX_PAGER_BACKEND, m);
        return;
    }
    long wait = sx_retry_backoff_ms(s->tries, p->o->http.retry_base_ms, p->o->http.retry_max_ms, &p->seed);
    if (retry_after >= 0)
        wait = retry_after < 600000 ? retry_after : 600000;
    s->due = sx_now_ms() + wait;
    s->state = S_WAIT;
}

static const char *skip_value(const char *p, const char *e);

/* A page that arrived whole: is it a DRF page? */
static void parsed(pager *p, struct slot *s)
{
    s->reason[0] = 0;
    const char *b = s->body.p, *e = b ? b + s->body.len : NULL, *end = b ? sx_json_scan(b, e) : NULL;
    while (end && end < e && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    const char *t = b;
    while (t && t < e && (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t'))
        t++;
    if (!end || end != e || *t != '{') {
        char what[200];
        struct curl_header *ct;
        if (curl_easy_header(s->h, "Content-Type", 0, CURLH_HEADER, -1, &ct) == CURLHE_OK &&
            !strstr(ct->value, "json"))
            snprintf(what, sizeof what, "the answer is not JSON (%.80s)", ct->value);
        else
            snprintf(what, sizeof what, end ? "the answer is not a JSON object" : "the answer is not valid JSON");
        retry(p, s, CURLE_OK, what, -1);
        return;
    }
    static const char *const keys[3] = {"results", "count", "next"};
    const char *v[3];
    size_t vl[3];
    int h[3];
    if (sx_json_members(b, s->body.len, 3, keys, h, v, vl) < 0)
        h[0] = h[1] = h[2] = -1;
    const char *res = v[0], *cnt = v[1], *nxt = v[2];
    size_t rl = vl[0], nl = vl[2];
    int hr = h[0], hc = h[1], hn = h[2];
    const char *what = NULL;
    /* count is optional: cursor pagination has none */
    int has_count = hc == 1 && (*cnt == '-' || (*cnt >= '0' && *cnt <= '9'));
    if (hr != 1 || *res != '[')
        what = "the answer has no 'results' array";
    else if (hc == 1 && !has_count && *cnt != 'n')
        what = "the answer's 'count' is not a number";
    else if (hn != 1 || (*nxt != '"' && *nxt != 'n'))
        what = "the answer has no 'next' link";
    if (!what) {
        /* every record must be an object */
        const char *q = res + 1, *re = res + rl;
        s->nres = 0;
        for (;;) {
            while (q < re && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t' || *q == ','))
                q++;
            if (q >= re || *q == ']')
                break;
            if (*q != '{') {
                what = "the answer's 'results' holds something else than objects";
                break;
            }
            q = skip_value(q, re);
            s->nres++;
        }
    }
    if (what) {
        retry(p, s, CURLE_OK, what, -1);
        return;
    }
    s->more = *nxt == '"';
    free(s->next_url);
    s->next_url = NULL;
    s->next_page = 0;
    if (s->more) {
        /* the link leads where the token may go, or nowhere */
        jv link = jv_parse_sized(nxt, (int)nl);
        char m[600];
        char *url = jv_get_kind(link) == JV_KIND_STRING
                        ? sx_conn_rebase(p->o->conn, s->req, jv_string_value(link), m, sizeof m)
                        : (snprintf(m, sizeof m, "the answer's 'next' is not a string"), NULL);
        jv_free(link);
        if (!url) {
            fail(p, s, SX_PAGER_BACKEND, m);
            return;
        }
        s->next_url = url;
        s->next_hash = sx_mix64(sx_fnv1a(SX_FNV_BASIS, url, strlen(url)));
        char *pg = sx_url_param(url, "page");
        if (pg && *pg && strspn(pg, "0123456789") == strlen(pg) && strlen(pg) < 19)
            s->next_page = strtoull(pg, NULL, 10);
        free(pg);
    }
    s->count = has_count ? strtod(cnt, NULL) : -1;
    s->results = res;
    s->results_len = rl;
    s->state = S_DONE;
}

static void finished(pager *p, CURLMsg *msg)
{
    struct slot *s = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
    curl_multi_remove_handle(p->m, msg->easy_handle);
    p->progressed = 1;
    CURLcode rc = msg->data.result;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    int cls = sx_http_classify(rc, status);
    char what[600];
    if (s->body.too_big) {
        size_t max = s->body.max;
        if (max >= (1u << 20) && max % (1u << 20) == 0)
            snprintf(what, sizeof what, "the answer is larger than %zu MiB (--max-page-bytes)", max >> 20);
        else /* not "larger than 0 MiB" */
            snprintf(what, sizeof what, "the answer is larger than %zu bytes (--max-page-bytes)", max);
        s->reason[0] = 0;
        fail(p, s, SX_PAGER_BACKEND, what);
        return;
    }
    if (rc == CURLE_OK) {
        /* a redirect of the backend: followed on its own origin only */
        char *next = NULL;
        int moved = sx_conn_follow(p->o->conn, s->h, status, s->req, &next, what, sizeof what);
        s->reason[0] = 0;
        if (moved < 0 || (moved > 0 && ++s->redirects > SX_MAX_REDIRECTS)) {
            free(next);
            if (moved > 0)
                snprintf(what, sizeof what, "more than %d redirects", SX_MAX_REDIRECTS);
            sx_conn_redact(p->o->conn, what);
            fail(p, s, SX_PAGER_BACKEND, what);
            return;
        }
        if (moved > 0) {
            free(s->url);
            s->url = next;
            s->due = 0;
            s->state = S_WAIT;
            return;
        }
    }
    sx_http_describe(rc, status, NULL, s->errbuf, p->o->conn->token, what, sizeof what);
    s->reason[0] = 0;
    if (rc == CURLE_OK && cls != SX_HTTP_OK)
        sx_http_reason(&s->body, p->o->conn->token, s->reason, sizeof s->reason);
    sx_conn_redact(p->o->conn, what);
    sx_conn_redact(p->o->conn, s->reason);
    if (cls == SX_HTTP_OK) {
        parsed(p, s);
        return;
    }
    if (status == 404 && rc == CURLE_OK && p->mode != M_NEXT && s->body.p && strstr(s->body.p, "Invalid page")) {
        s->state = S_END;
        return;
    }
    if (cls == SX_HTTP_RETRY) {
        retry(p, s, rc, what, rc == CURLE_OK ? sx_http_retry_after(s->h) : -1);
        return;
    }
    if (cls == SX_HTTP_AUTH) {
        char m[1400], hint[600];
        sx_conn_auth_hint(p->o->conn, status, hint, sizeof hint);
        snprintf(m, sizeof m, "%s: %s", what, hint);
        fail(p, s, SX_PAGER_AUTH, m);
        return;
    }
    fail(p, s, SX_PAGER_BACKEND, what);
}

/* The first page decides how the listing goes on and what to expect of it,
 * and begin() is called. @return 1 to hand it out, 2 when it is not part of
 * the listing's records (a shard of a cursor listing starts over from its
 * first page), or a negative SX_PAGER_* code. */
static int first_page(pager *p, struct slot *s)
{
    uint64_t total = SX_PAGER_TOTAL_UNKNOWN;
    int done = s->state == S_DONE;
    /* DRF's page links: the request's URL with page=N+1. Anything else is
     * followed: a backend that does not page by number ignores page=N. */
    p->mode = done && s->more && s->next_page != page_of(p, 0) + 1 ? M_NEXT : M_PAGES;
    if (!done) {
        total = 0;
    } else if (p->mode == M_PAGES && s->count >= 0) {
        uint64_t count = s->count > 0 ? (uint64_t)s->count : 0;
        /* a backend whose max_page_size is below ours gives smaller
         * pages: number them by what it gives */
        if (s->more && s->nres > 0 && s->nres < p->ps)
            p->ps = s->nres;
        unsigned ps = p->ps;
        uint64_t pages = (count + ps - 1) / ps;
        p->expect_j = pages >= p->shard_i ? (pages - p->shard_i) / p->shard_n + 1 : 0;
        total = sx_pager_shard_total(count, ps, p->shard_i, p->shard_n);
    } else if (s->count >= 0) {
        uint64_t count = s->count > 0 ? (uint64_t)s->count : 0;
        total = sx_pager_shard_total(count, s->nres ? s->nres : p->ps, p->shard_i, p->shard_n);
    }
    if (p->o->limit && total != SX_PAGER_TOTAL_UNKNOWN && total > p->o->limit)
        total = p->o->limit;
    p->known = 1;
    if (p->cb->begin && p->cb->begin(p->ctx, total) < 0)
        return SX_PAGER_STOPPED;
    if (p->mode == M_NEXT && p->shard_i > 1) {
        /* page=I was not page I: walk the listing from its start */
        if (!(p->next_url = strdup(p->base)))
            return SX_PAGER_NOMEM;
        p->chain0 = 1;
        slot_reset(s);
        p->wj++;
        return 2;
    }
    return 1;
}

/* Whether a page that says there is a next one may be followed: a listing
 * that would never end is refused. @return 0, or a negative SX_PAGER_* code
 * (the slot failed with the reason). */
static int check_next(pager *p, struct slot *s)
{
    char m[700];
    unsigned long long page = (unsigned long long)page_no(p, s->j);
    int seen = link_seen(p, s->next_hash);
    if (seen < 0)
        return SX_PAGER_NOMEM;
    if (seen)
        snprintf(m, sizeof m, "the 'next' link of page %llu repeats an earlier one: the listing loops", page);
    else if (s->nres == 0)
        snprintf(m, sizeof m, "page %llu has no records but a 'next' link: the listing makes no progress", page);
    else if (p->mode == M_PAGES && s->count >= 0 && (double)page * p->ps >= s->count)
        snprintf(m, sizeof m, "page %llu has a 'next' link, but its count (%.0f) makes it the last", page, s->count);
    else if (p->mode == M_NEXT && s->count >= 0 && (double)(p->chain_items + s->nres) >= s->count)
        snprintf(m, sizeof m, "page %llu has a 'next' link, but its count (%.0f) makes it the last", page, s->count);
    else if (p->mode == M_PAGES && s->j > 0 && s->next_page != page + 1)
        snprintf(m, sizeof m, "the 'next' link of page %llu is not page %llu: the listing changed how it pages", page,
                 page + 1);
    else
        return 0;
    fail(p, s, SX_PAGER_BACKEND, m);
    return s->code;
}

/* Whether this shard hands out the records of page j. */
static int mine(const pager *p, uint64_t j)
{
    return p->mode != M_NEXT || p->shard_n <= 1 || (j - p->chain0) % p->shard_n == p->shard_i - 1;
}

/* Hands out what is ready, in order. @return 1 to go on, 0 at the end, or a
 * negative SX_PAGER_* code. */
static int hand_out(pager *p)
{
    for (;;) {
        struct slot *s = &p->slots[p->wj % p->nslots];
        if (s->state == S_FREE || s->state == S_WAIT || s->state == S_RUN || s->j != p->wj)
            return 1;
        p->progressed = 1;
        if (s->state == S_FAIL)
            return s->code;
        if (!p->known) {
            int r = first_page(p, s);
            if (r < 0)
                return r;
            if (r == 2)
                continue;
        }
        if (s->state == S_END)
            return 0;
        int more = s->more, r;
        if (more && (r = check_next(p, s)) < 0)
            return r;
        if (more && (int64_t)s->j > p->more_j)
            p->more_j = (int64_t)s->j;
        int keep = mine(p, s->j);
        if (p->mode == M_NEXT) {
            p->chain_items += s->nres;
            free(p->next_url);
            p->next_url = s->next_url; /* NULL at the end */
            s->next_url = NULL;
        }
        const char *q = s->results + 1, *re = s->results + s->results_len;
        int stop = 0;
        while (keep) {
            while (q < re && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t' || *q == ','))
                q++;
            if (q >= re || *q == ']')
                break;
            if (p->o->limit && p->written >= p->o->limit) {
                stop = 1;
                break;
            }
            const char *qe = skip_value(q, re);
            p->written++;
            if (p->cb->record(p->ctx, q, (size_t)(qe - q)) < 0)
                return SX_PAGER_STOPPED;
            q = qe;
        }
        slot_reset(s);
        p->wj++;
        if (keep && p->cb->page_done && p->cb->page_done(p->ctx) < 0)
            return SX_PAGER_STOPPED;
        if (stop || !more || (p->o->limit && p->written >= p->o->limit))
            return 0;
    }
}

static int ask_more(pager *p)
{
    unsigned window = p->known ? p->nslots : 1;
    while (p->nextj < p->wj + window && may_ask(p, p->nextj)) {
        struct slot *s = &p->slots[p->nextj % p->nslots];
        if (s->state != S_FREE)
            break;
        s->j = p->nextj;
        s->page = page_of(p, p->nextj);
        if (p->mode == M_NEXT) {
            s->url = p->next_url;
            p->next_url = NULL;
        }
        s->redirects = 0;
        s->tries = 0;
        s->due = 0;
        s->state = S_WAIT;
        p->nextj++;
    }
    long long now = sx_now_ms();
    for (unsigned i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == S_WAIT && s->due <= now && start(p, s) < 0)
            return -1;
    }
    return 0;
}

static long next_wait(pager *p)
{
    long long now = sx_now_ms(), best = 1000;
    for (unsigned i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == S_WAIT) {
            long long d = s->due - now;
            if (d < best)
                best = d < 0 ? 0 : d;
        }
    }
    return (long)best;
}

static int setup(pager *p, char *err, size_t errlen)
{
    const sx_pager_opts *o = p->o;
    p->nslots = o->jobs ? o->jobs : 1;
    p->shard_n = o->shard_n ? o->shard_n : 1;
    p->shard_i = o->shard_i ? o->shard_i : 1;
    p->more_j = -1;
    p->ps = o->page_size;
    p->seed = (uint64_t)sx_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)p;
    char *url = sx_conn_url(o->conn, o->path);
    if (!url)
        return -1;
    int r = o->query && *o->query ? asprintf(&p->base, "%s?%s", url, o->query) : asprintf(&p->base, "%s", url);
    free(url);
    if (r < 0) {
        p->base = NULL;
        return -1;
    }
    p->m = curl_multi_init();
    p->hdr = sx_http_auth_headers(o->conn, NULL);
    p->slots = calloc(p->nslots, sizeof *p->slots);
    if (!p->m || !p->hdr || !p->slots)
        return -1;
    curl_multi_setopt(p->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)p->nslots);
    curl_multi_setopt(p->m, CURLMOPT_MAXCONNECTS, (long)p->nslots);
    for (unsigned i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        s->body.max = o->max_page_bytes ? o->max_page_bytes : SX_PAGER_MAX_PAGE_BYTES;
        s->h = curl_easy_init();
        if (!s->h || sx_http_setup(s->h, &o->http, s->errbuf) < 0) {
            sx_errf(err, errlen, "cannot set up an HTTP request");
            return -1;
        }
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, p->hdr);
        curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sx_http_body_write);
        curl_easy_setopt(s->h, CURLOPT_WRITEDATA, &s->body);
        curl_easy_setopt(s->h, CURLOPT_PRIVATE, (char *)s);
    }
    return 0;
}

static void teardown(pager *p)
{
    for (unsigned i = 0; p->slots && i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->h) {
            if (s->state == S_RUN)
                curl_multi_remove_handle(p->m, s->h);
            curl_easy_cleanup(s->h);
        }
        sx_http_body_free(&s->body);
        slot_reset(s);
    }
    free(p->slots);
    free(p->links);
    free(p->next_url);
    if (p->m)
        curl_multi_cleanup(p->m);
    curl_slist_free_all(p->hdr);
    free(p->base);
}

int sx_pager_run(const sx_pager_opts *o, const sx_pager_cb *cb, void *ctx, char *err, size_t errlen)
{
    pager p;
    memset(&p, 0, sizeof p);
    p.o = o;
    p.cb = cb;
    p.ctx = ctx;
    if (o->page_size == 0) {
        sx_errf(err, errlen, "page size 0");
        return SX_PAGER_BACKEND;
    }
    int rc;
    if (setup(&p, err, errlen) < 0) {
        if (err && !*err)
            sx_errf(err, errlen, "out of memory");
        rc = SX_PAGER_NOMEM;
        goto done;
    }
    for (;;) {
        p.progressed = 0;
        if (ask_more(&p) < 0) {
            sx_errf(err, errlen, "cannot start an HTTP request");
            rc = SX_PAGER_NOMEM;
            goto done;
        }
        int running;
        curl_multi_perform(p.m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(p.m, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE)
                finished(&p, msg);
        rc = hand_out(&p);
        if (rc <= 0) {
            if (rc < 0 && rc != SX_PAGER_STOPPED) {
                struct slot *s = &p.slots[p.wj % p.nslots];
                sx_errf(err, errlen, "%s", s->why);
                sx_conn_redact(o->conn, err);
            }
            goto done;
        }
        if (p.progressed)
            continue;
        int busy = 0;
        for (unsigned i = 0; i < p.nslots; i++)
            busy |= p.slots[i].state != S_FREE;
        if (!busy) { /* cannot happen: never wait forever, never claim an end we did not see */
            sx_errf(err, errlen, "cannot list '%s': lost track of the listing at page %llu", o->path,
                (unsigned long long)page_of(&p, p.wj));
            rc = SX_PAGER_BACKEND;
            goto done;
        }
        curl_multi_poll(p.m, NULL, 0, (int)next_wait(&p), NULL);
    }
done:
    teardown(&p);
    return rc;
}

/* ---- JSON text without jv ---- */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* A \u escape's four hex digits at p: @return the code unit, or -1. */
static long hex4(const char *p, const char *e)
{
    if (e - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 32) >= 'a' && (c | 32) <= 'f')
            d = (c | 32) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* The bytes a string may hold as they are, '"' and '\\' aside: all but
 * control characters. Bytes that are not UTF-8 are among them: libjq reads
 * them as U+FFFD, and so does every stage after sx-fetch. */
static const unsigned char plain[256] = {
#define P4(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1
#define P16(c) P4(c), P4(c + 4), P4(c + 8), P4(c + 12)
    P16(0x20), P16(0x30), P16(0x40), P16(0x50), P16(0x60), P16(0x70),
    P16(0x80), P16(0x90), P16(0xA0), P16(0xB0), P16(0xC0), P16(0xD0), P16(0xE0), P16(0xF0),
#undef P16
#undef P4
};

/* p at '"'; @return after the closing quote, or NULL. What libjq refuses in
 * a string is refused here (a control character, a bad escape, a high
 * surrogate without its low half); what it repairs passes (bytes that are
 * not UTF-8, a lone low surrogate: U+FFFD). libjq also lets a raw U+0000 and
 * U+001F through, which JSON forbids: those are refused. */
static const char *scan_string(const char *p, const char *e)
{
    p++;
    for (;;) {
        while (p < e && plain[(unsigned char)*p] && *p != '"' && *p != '\\')
            p++;
        if (p >= e)
            return NULL;
        if (*p == '"')
            return p + 1;
        if (*p != '\\' || ++p >= e)
            return NULL;
        if (*p == 'u') {
            long u = hex4(p + 1, e);
            if (u < 0)
                return NULL;
            p += 5;
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo = e - p >= 2 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, e) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                p += 6;
            }
        } else if (*p && strchr("\"\\/bfnrt", *p)) {
            p++;
        } else {
            return NULL;
        }
    }
}

static const char *scan_number(const char *p, const char *e)
{
    if (p < e && *p == '-')
        p++;
    if (p >= e || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *literal(const char *p, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* libjq counts open arrays and objects and, inside an object, the key whose
 * value it reads; it refuses a container opened at 256 of them. */
#define SCAN_MAX_DEPTH 256

/* `depth`: what libjq counts at this value. */
static const char *scan_value(const char *p, const char *e, int depth)
{
    p = ws(p, e);
    if (p >= e)
        return NULL;
    if ((*p == '{' || *p == '[') && depth >= SCAN_MAX_DEPTH)
        return NULL;
    switch (*p) {
    case '{':
        p = ws(p + 1, e);
        if (p < e && *p == '}')
            return p + 1;
        for (;;) {
            if (p >= e || *p != '"' || !(p = scan_string(p, e)))
                return NULL;
            p = ws(p, e);
            if (p >= e || *p != ':' || !(p = scan_value(p + 1, e, depth + 2)))
                return NULL;
            p = ws(p, e);
            if (p < e && *p == ',') {
                p = ws(p + 1, e);
                continue;
            }
            return p < e && *p == '}' ? p + 1 : NULL;
        }
    case '[':
        p = ws(p + 1, e);
        if (p < e && *p == ']')
            return p + 1;
        for (;;) {
            if (!(p = scan_value(p, e, depth + 1)))
                return NULL;
            p = ws(p, e);
            if (p < e && *p == ',') {
                p++;
                continue;
            }
            return p < e && *p == ']' ? p + 1 : NULL;
        }
    case '"':
        return scan_string(p, e);
    case 't':
        return literal(p, e, "true");
    case 'f':
        return literal(p, e, "false");
    case 'n':
        return literal(p, e, "null");
    default:
        return scan_number(p, e);
    }
}

const char *sx_json_scan(const char *p, const char *end) { return scan_value(p, end, 0); }

/* Skipping over text sx_json_scan() validated: no checks, runs of bytes
 * that cannot end the value are passed over at once. */
static const unsigned char str_stop[256] = {['"'] = 1, ['\\'] = 1};
static const unsigned char box_stop[256] = {['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1};

/* p at '"'; @return after the closing quote */
static const char *skip_string(const char *p, const char *e)
{
    p++;
    for (;;) {
        while (p < e && !str_stop[(unsigned char)*p])
            p++;
        if (p >= e)
            return e;
        if (*p == '"')
            return p + 1;
        p += 2; /* an escape */
    }
}

static const char *skip_value(const char *p, const char *e)
{
    p = ws(p, e);
    if (p >= e)
        return e;
    if (*p == '"')
        return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (;;) {
            while (p < e && !box_stop[(unsigned char)*p])
                p++;
            if (p >= e)
                return e;
            if (*p == '"') {
                p = skip_string(p, e);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (--depth == 0)
                return p + 1;
            p++;
        }
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
        p++;
    return p;
}

/* Walks the members of a validated object; calls fn(key, klen, v, vlen) for
 * each until it returns non-zero. */
static int members(const char *obj, size_t len, int (*fn)(void *, const char *, size_t, const char *, size_t),
                   void *arg)
{
    const char *p = obj, *e = obj + len;
    p = ws(p, e);
    if (p >= e || *p != '{')
        return -1;
    p = ws(p + 1, e);
    while (p < e && *p == '"') {
        const char *k = p + 1, *ke = skip_string(p, e);
        p = ws(ke, e);
        if (p >= e || *p != ':')
            return -1;
        const char *v = ws(p + 1, e), *ve = skip_value(v, e);
        int r = fn(arg, k, (size_t)(ke - 1 - k), v, (size_t)(ve - v));
        if (r)
            return r;
        p = ws(ve, e);
        if (p < e && *p == ',')
            p = ws(p + 1, e);
    }
    return 0;
}

struct find {
    const char *key;
    size_t klen;
    const char *v;
    size_t vlen;
    int found, unsure;
};

/* A key jq reads as the bytes it is written with: no escape, all UTF-8
 * (libjq reads other bytes as U+FFFD, making two keys one). */
static int key_is_literal(const char *k, size_t kl)
{
    const unsigned char *p = (const unsigned char *)k, *e = p + kl;
    while (p < e) {
        if (*p == '\\')
            return 0;
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = sx_utf8_seq(p, e);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

static int find_cb(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    struct find *f = arg;
    if (!key_is_literal(k, kl))
        f->unsure = 1;
    else if (kl == f->klen && memcmp(k, f->key, kl) == 0) {
        f->v = v;
        f->vlen = vl;
        f->found = 1;
    }
    return 0;
}

struct finds {
    int n;
    struct find *f;
};

static int finds_cb(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    struct finds *fs = arg;
    for (int i = 0; i < fs->n; i++)
        find_cb(&fs->f[i], k, kl, v, vl);
    return 0;
}

int sx_json_members(const char *obj, size_t len, int n, const char *const *keys, int *found, const char **v,
                    size_t *vlen)
{
    struct find f[16];
    if (n > 16)
        return -1;
    for (int i = 0; i < n; i++)
        f[i] = (struct find){keys[i], strlen(keys[i]), NULL, 0, 0, 0};
    struct finds fs = {n, f};
    if (members(obj, len, finds_cb, &fs) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if (f[i].unsure)
            return -1;
        found[i] = f[i].found;
        v[i] = f[i].v;
        vlen[i] = f[i].vlen;
    }
    return 0;
}

int sx_json_member(const char *obj, size_t len, const char *key, const char **v, size_t *vlen)
{
    struct find f = {key, strlen(key), NULL, 0, 0, 0};
    if (members(obj, len, find_cb, &f) < 0 || f.unsure)
        return -1;
    if (f.found) {
        *v = f.v;
        *vlen = f.vlen;
    }
    return f.found;
}

static int first_cb(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)v, (void)vl;
    struct find *f = arg;
    f->key = k;
    f->klen = kl;
    f->found = 1;
    return 1;
}

int sx_json_first(const char *obj, size_t len, const char **v, size_t *vlen)
{
    struct find first = {0};
    if (members(obj, len, first_cb, &first) < 0)
        return -1;
    if (!first.found)
        return 0;
    /* the first key's last member: jq's object keeps one value a key */
    struct find f = {first.key, first.klen, NULL, 0, 0, 0};
    if (members(obj, len, find_cb, &f) < 0 || f.unsure || !f.found)
        return -1;
    *v = f.v;
    *vlen = f.vlen;
    return 1;
}

size_t sx_json_compact(const char *p, size_t len, char *out)
{
    const char *e = p + len;
    char *o = out;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            const char *q = p + 1;
            while (q < e && *q != '"')
                q += *q == '\\' ? 2 : 1;
            q = q < e ? q + 1 : e;
            memcpy(o, p, (size_t)(q - p));
            o += q - p;
            p = q;
        } else {
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
                *o++ = c;
            p++;
        }
    }
    return (size_t)(o - out);
}
