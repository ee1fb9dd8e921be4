/* test_sha256.c : FIPS 180-2 example vectors, split updates, a million 'a'. */
#include "sx_sha256.h"
#include "unit.h"

#include <string.h>

static void hex_of(const char *s, size_t n, size_t step, char out[65])
{
    sx_sha256 c;
    sx_sha256_init(&c);
    for (size_t i = 0; i < n; i += step)
        sx_sha256_update(&c, s + i, n - i < step ? n - i : step);
    sx_sha256_hex(&c, out);
}

static void test_vectors(void)
{
    char h[65];
    hex_of("", 0, 1, h);
    CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    hex_of("abc", 3, 3, h);
    CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), 56, h);
    CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

static void test_split_updates(void)
{
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char a[65], b[65];
    for (size_t step = 1; step < 70; step += 3) {
        hex_of(two, strlen(two), step, a);
        hex_of(two, strlen(two), 1000, b);
        CHECK(!strcmp(a, b));
    }
}

static void test_million_a(void)
{
    static char buf[1000];
    memset(buf, 'a', sizeof buf);
    sx_sha256 c;
    sx_sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        sx_sha256_update(&c, buf, sizeof buf);
    char h[65];
    sx_sha256_hex(&c, h);
    CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

int main(void)
{
    RUN(test_vectors);
    RUN(test_split_updates);
    RUN(test_million_a);
    return UNIT_DONE();
}
