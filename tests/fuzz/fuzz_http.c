/*
 * fuzz_http.c : what sx reads of a backend's answers besides its pages
 * (lib/sx_retry.h, lib/sx_http.h): a Retry-After header, the reason of an
 * error answer, and the links it gives.
 *
 * The input is a Retry-After value, an error body and two URLs, separated
 * by lines "--". Properties: a Retry-After is a wait of 0 or more ms, or
 * -1; the reason shown never holds the token, even when the body does (in
 * any spelling JSON allows), is one line and, from a body of UTF-8, is
 * cut between characters;
 * a public URL has no password left; sameness of origin is symmetric.
 */
#include "fuzz.h"
#include "sx_http.h"
#include "sx_retry.h"
#include "sx_utf8.h"

#include <curl/curl.h>

static const char token[] = "s3cr3t-T0KEN-xyz";

/* part i of the input as a NUL-terminated string (malloc'ed) */
static char *part(const uint8_t *data, size_t size, int i)
{
    const uint8_t *p = data, *next = data;
    size_t n = 0;
    for (int k = 0; k <= i; k++) {
        if (!next)
            return strdup("");
        p = next;
        n = fuzz_split(p, size - (size_t)(p - data), "--", &next);
    }
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static int is_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + strlen(s);
    while (p < e) {
        size_t n = *p < 0x80 ? 1 : sx_utf8_seq(p, e);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

static int has_password(const char *url)
{
    CURLU *u = curl_url();
    char *pw = NULL;
    int has = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK && pw && *pw;
    curl_free(pw);
    curl_url_cleanup(u);
    return has;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0;
    char *after = part(data, size, 0), *body = part(data, size, 1), *a = part(data, size, 2),
         *b = part(data, size, 3);

    long ms = sx_retry_after_ms(after, (time_t)1700000000);
    FUZZ_ASSERT(ms >= -1, "Retry-After '%s' gives %ld", fuzz_show(after, strlen(after)), ms);

    sx_http_body hb = {body, strlen(body), strlen(body) + 1, 0, 0};
    char reason[161], small[17];
    sx_http_reason(&hb, token, reason, sizeof reason);
    sx_http_reason(&hb, token, small, sizeof small);
    int utf8 = is_utf8(body);
    for (const char *r = reason; r; r = r == reason ? small : NULL) {
        FUZZ_ASSERT(!strstr(r, token), "the token in a reason: %s", r);
        FUZZ_ASSERT(!strchr(r, '\n') && !strchr(r, '\r'), "a reason of several lines: %s", fuzz_show(r, strlen(r)));
        FUZZ_ASSERT(!utf8 || is_utf8(r), "a reason cut inside a character: %s", fuzz_show(r, strlen(r)));
    }
    char desc[300];
    sx_http_describe(CURLE_OK, 503, &hb, NULL, token, desc, sizeof desc);
    FUZZ_ASSERT(!strstr(desc, token), "the token in a description: %s", desc);

    char *pub = sx_url_public(a);
    FUZZ_ASSERT(!pub || !has_password(pub), "a public URL with a password: %s", pub);
    free(pub);
    FUZZ_ASSERT(sx_url_same_origin(a, b) == sx_url_same_origin(b, a), "same origin is not symmetric");

    free(after);
    free(body);
    free(a);
    free(b);
    return 0;
}
