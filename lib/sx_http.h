/*
 * sx_http.h : the HTTP side of libsx, over libcurl.
 *
 * Three separate concerns, so that a program that downloads media (which is
 * fetched without credentials) reuses the generic part without the secret:
 *   - sx_conn: where the backend is and how to authenticate (SYNAPSE_HOST,
 *     SYNAPSE_ACCESS_TOKEN, ~/.synapse/config.json, plugin-run variables),
 *     and where each came from, for messages;
 *   - sx_http_setup(): the generic setup of an easy handle (User-Agent
 *     sx/<version>, keep-alive, compressed answers, TLS verification,
 *     timeouts, no signals, no redirects), proxies left to libcurl's
 *     defaults (http_proxy, https_proxy, no_proxy);
 *   - sx_http_auth_headers(): the backend's credentials as request headers.
 * Plus what every caller needs around a request: a growable body buffer,
 * error classification and a message that never holds the token.
 *
 * The library never prints and never exits: functions return -1 or NULL and
 * write a message into the caller's buffer.
 */
#ifndef SX_HTTP_H
#define SX_HTTP_H

#include <stddef.h>
#include <curl/curl.h>
#include <jv.h>

#define SX_DEFAULT_HOST "https://api.synapse.sh"

/* How the token travels. */
enum {
    SX_AUTH_NONE = 0,
    SX_AUTH_SYNAPSE,      /* Synapse-Access-Token: Token <t> */
    SX_AUTH_AUTHORIZATION /* Authorization: Token <t> (plugin runs) */
};

typedef struct sx_conn {
    char *host;               /* base URL, no trailing '/' */
    char *token;              /* the secret: never print it */
    int auth;                 /* SX_AUTH_* */
    char *tenant;             /* NULL when none */
    char *token_source;       /* where the token came from, for messages:
                                 "SYNAPSE_ACCESS_TOKEN", "--token-file 'FILE'",
                                 "SYNAPSE_PLUGIN_RUN_USER_TOKEN", "the access_token
                                 of ~/.synapse/config.json"; NULL without token */
    const char *host_source;  /* where the host came from: "--host",
                                 "SYNAPSE_HOST", "~/.synapse/config.json"; NULL
                                 for SX_DEFAULT_HOST */
} sx_conn;

/*! sx_conn_init() :
 *  Fills `c` the way synapse-sdk does. Host: `host_opt`, else SYNAPSE_HOST,
 *  else `host` of ~/.synapse/config.json, else SX_DEFAULT_HOST. Token: the
 *  first line of `token_file`, else SYNAPSE_ACCESS_TOKEN, else
 *  SYNAPSE_PLUGIN_RUN_USER_TOKEN (sent as Authorization), else `access_token`
 *  of ~/.synapse/config.json. Tenant: SYNAPSE_TENANT, else
 *  SYNAPSE_PLUGIN_RUN_TENANT. A missing token is not an error here (c->auth
 *  is SX_AUTH_NONE).
 *  @host_opt, @token_file  may be NULL.
 *  @return 0, or -1 with a message in err (bad host, unreadable token file,
 *          a token holding control characters); the message never holds the
 *          token. c is cleared on error. */
int sx_conn_init(sx_conn *c, const char *host_opt, const char *token_file, char *err, size_t errlen);

/*! sx_conn_auth_hint() : what to check after the backend refused the
 *  credentials of `c` with `status` (401 or 403), naming where the token
 *  came from: "the backend refused the access token from --token-file 't'".
 *  Written into out (n bytes). */
void sx_conn_auth_hint(const sx_conn *c, long status, char *out, size_t n);

/*! sx_conn_host_hint() : appends to `msg` (NUL-terminated, n bytes) where
 *  the host came from when `rc` says it could not be reached (name not
 *  resolved, connection refused): " (host from SYNAPSE_HOST)";
 *  nothing for other failures. */
void sx_conn_host_hint(const sx_conn *c, CURLcode rc, char *msg, size_t n);

/*! sx_conn_clear() : wipes the token and frees the strings. */
void sx_conn_clear(sx_conn *c);

/*! sx_conn_url() : host + "/" + path (path without its leading '/'), or path
 *  itself when it is already an absolute http(s) URL. @return malloc'ed, or
 *  NULL when out of memory. */
char *sx_conn_url(const sx_conn *c, const char *path);

/*! sx_conn_redact() : replaces every occurrence of the token in `msg` (a
 *  NUL-terminated buffer, edited in place) by "***". A safety net for
 *  messages built from server answers. */
void sx_conn_redact(const sx_conn *c, char *msg);

/*! sx_url_public() : `url` without user name and password, for messages and
 *  `meta`. @return malloc'ed, or NULL when the URL does not parse. */
char *sx_url_public(const char *url);

/*! sx_url_same_origin() : 1 when both URLs have the same scheme, host and
 *  port (default ports made explicit), 0 otherwise or when one does not parse. */
int sx_url_same_origin(const char *a, const char *b);

/*! sx_conn_rebase() :
 *  The URL to fetch for a link the backend gave (a pagination `next`),
 *  resolved against `page_url` (the URL of the answer that held it; a path or
 *  a query alone is relative to it). A link of the configured host's origin
 *  is taken as it is; one whose origin differs from it only by scheme or
 *  host name (a TLS proxy writes http:// links; the backend knows itself
 *  under another name) is moved onto the configured host: its path and query
 *  on the configured scheme, host and port. Anything else (another port, a
 *  scheme that is not http or https, not a URL) is refused: the token goes to
 *  the configured host only. When the configured host has a path prefix
 *  (https://x/api) and the link's path lacks it, the prefix is put back.
 *  @return the URL (malloc'ed), or NULL with "another host
 *          'http://evil:8001/…'" (the link without credentials) in err. */
char *sx_conn_rebase(const sx_conn *c, const char *page_url, const char *link, char *err, size_t errlen);

/*! sx_conn_redirect() :
 *  Where a redirect of the backend may be followed: `location` resolved
 *  against `from` (the URL that answered 3xx) when the result has the
 *  configured host's origin, with the credentials. @return the URL
 *  (malloc'ed), or NULL with the reason in err (another origin, not http or
 *  https). */
char *sx_conn_redirect(const sx_conn *c, const char *from, const char *location, char *err, size_t errlen);

/* Redirects of the backend followed in a row, at most. */
#define SX_MAX_REDIRECTS 10

/*! sx_conn_follow() : after a transfer `h` of the backend that answered
 *  `status`, from URL `from`: whether to follow a redirect.
 *  @return 0 when the answer is no redirect (no 301/302/303/307/308 with a
 *          Location); 1 with *next (malloc'ed) set by sx_conn_redirect();
 *          -1 when the redirect is refused (reason in err). */
int sx_conn_follow(const sx_conn *c, CURL *h, long status, const char *from, char **next, char *err, size_t errlen);

/*! sx_url_param() : the value of query parameter `key` of `url` (as
 *  written, not decoded), or NULL. @return malloc'ed, or NULL. */
char *sx_url_param(const char *url, const char *key);

/*! sx_url_escape() : percent-encodes every byte but unreserved ones
 *  (RFC 3986: A-Z a-z 0-9 - . _ ~). @return malloc'ed, or NULL. */
char *sx_url_escape(const char *s);

typedef struct sx_http_opts {
    long timeout_ms;         /* whole request; 0: none */
    long connect_timeout_ms; /* 0: libcurl's default */
    int insecure;            /* 1: do not verify TLS peer and host */
    int follow_redirects;    /* 1: follow (downloads); the backend client follows
                                them itself, same origin only (sx_conn_redirect()) */
    int retries;             /* tries after the first */
    long retry_base_ms;      /* first backoff */
    long retry_max_ms;       /* backoff cap (Retry-After is honoured up to 10 min) */
} sx_http_opts;

/*! sx_http_opts_default() : 60 s timeout, 10 s connect timeout, TLS
 *  verified, no redirects, 5 retries, backoff 500 ms doubling to 30 s. */
sx_http_opts sx_http_opts_default(void);

/*! sx_http_setup() :
 *  The generic setup of an easy handle: User-Agent sx/<SX_VERSION>, TCP
 *  keep-alive, every encoding libcurl decodes (CURLOPT_ACCEPT_ENCODING ""),
 *  TLS peer and host verification unless o->insecure, timeouts, NOSIGNAL,
 *  redirects as o->follow_redirects says (never across hosts with
 *  credentials: libcurl drops custom auth headers only for Authorization,
 *  so the backend client keeps redirects off), HTTP and HTTPS only. Proxies:
 *  libcurl's defaults from the environment. Sets no URL, no header, no
 *  callback. `errbuf` (CURL_ERROR_SIZE bytes, or NULL) receives libcurl's
 *  detailed messages. @return 0, or -1 when libcurl refuses an option. */
int sx_http_setup(CURL *h, const sx_http_opts *o, char *errbuf);

/*! sx_http_auth_headers() : appends the credentials of `c` (token, tenant)
 *  and `Accept: application/json` to `list`. @return the new list (free it
 *  with curl_slist_free_all()), or NULL when out of memory (list freed). */
struct curl_slist *sx_http_auth_headers(const sx_conn *c, struct curl_slist *list);

/* A body received into memory. */
typedef struct sx_http_body {
    char *p;
    size_t len, cap;
    size_t max; /* refuse bodies larger than this (0: 1 GiB) */
    int too_big; /* set when one was refused */
} sx_http_body;

/*! sx_http_body_write() : a CURLOPT_WRITEFUNCTION appending to the sx_http_body given as
 *  CURLOPT_WRITEDATA; keeps the buffer NUL-terminated. */
size_t sx_http_body_write(char *p, size_t size, size_t n, void *buf);

/*! sx_http_body_free() : frees and zeroes. */
void sx_http_body_free(sx_http_body *b);

/* What to do after a request. */
enum {
    SX_HTTP_OK = 0,   /* 2xx */
    SX_HTTP_RETRY,    /* worth another try: 408/425/429/5xx listed in sx_retry.h, timeouts, refused, reset, cut bodies */
    SX_HTTP_AUTH,     /* 401, 403 */
    SX_HTTP_FAIL      /* anything else: 404, other 4xx, a bad URL, ... */
};

/*! sx_http_classify() : the class of a finished transfer. */
int sx_http_classify(CURLcode rc, long status);

/*! sx_http_reason() : the server's reason in an error answer: `detail` (or
 *  `message`, `error`) of a JSON body, else the body's text on one line, at
 *  most 160 bytes; "" when none. Every occurrence of `secret` (the token, or
 *  NULL) is replaced by "***" before the reason is cut, so that no prefix of
 *  it is ever shown. @body may be NULL. */
void sx_http_reason(const sx_http_body *body, const char *secret, char *out, size_t n);

/*! sx_http_describe() : "HTTP 404: Not found." or libcurl's reason
 *  ("couldn't connect to server: Failed to connect to 127.0.0.1 port 9: ...").
 *  @errbuf  libcurl's error buffer or NULL. @secret as sx_http_reason(). */
void sx_http_describe(CURLcode rc, long status, const sx_http_body *body, const char *errbuf, const char *secret,
                      char *out, size_t n);

/*! sx_http_retry_after() : the wait a 429/503 answer asks for through its
 *  Retry-After header, in ms; -1 when none. */
long sx_http_retry_after(CURL *h);

/*! sx_http_get_json() :
 *  GETs `path` of the backend with credentials and retries (blocking), and
 *  parses the answer; redirects to the configured host's origin are
 *  followed (10 at most), others refused.
 *  @out  set to the parsed value (the caller owns it).
 *  @return 0; -1 on a backend or network failure after retries, with
 *  "HTTP 404: Not found." (or similar) in err; 401/403 name where the token
 *  came from (sx_conn_auth_hint()); a host name that does not resolve is
 *  not retried, a refused connection once (sx_retry_limit()). */
int sx_http_get_json(const sx_conn *c, const sx_http_opts *o, const char *path, jv *out, char *err,
                     size_t errlen);

/*! sx_sleep_ms() : sleeps, resuming after signals. */
void sx_sleep_ms(long ms);

/*! sx_now_ms() : a monotonic clock in ms. */
long long sx_now_ms(void);

#endif
