#!/usr/bin/env bash
# sx-fetch connection: host and token sources, tenant, plugin-run variables,
# headers (User-Agent, compression, keep-alive), TLS, proxies; the token is
# never printed.
. "$(dirname "$0")/../lib/test-lib.sh"
# a hung sx-fetch fails its test instead of the whole run
sx-fetch() { timeout 120 "$SX_BUILD/bin/sx-fetch" "$@"; }
. "$(dirname "$0")/../lib/fake-backend.sh"

LOG=$TRASH_ROOT/fake.log
fake_backend_start --items 23 --log "$LOG"
listing() { grep "^GET /sdk/" "$LOG"; }

test_expect_success '--token-file: the token read from a file, sent as Synapse-Access-Token' '
    printf "%s\n" "$FAKE_TOKEN" > token && : > "$LOG" &&
    env -u SYNAPSE_ACCESS_TOKEN sx-fetch -f project=1 --token-file token > out &&
    tail -1 out | jq -e ".count == 23" &&
    test -z "$(listing | grep -v "auth=synapse")"
'

test_expect_success 'a missing or empty token file: usage error naming the file' '
    : > empty &&
    expect_code 2 sx-fetch -f project=1 --token-file nosuch 2> err && assert_grep "nosuch" err &&
    expect_code 2 sx-fetch -f project=1 --token-file empty 2> err && assert_grep "empty" err
'

test_expect_success 'no token anywhere: usage error naming SYNAPSE_ACCESS_TOKEN, no request' '
    : > "$LOG" &&
    (unset SYNAPSE_ACCESS_TOKEN; expect_code 2 sx-fetch -f project=1 > out 2> err) &&
    assert_grep "SYNAPSE_ACCESS_TOKEN" err && test ! -s out && test ! -s "$LOG"
'

test_expect_success '~/.synapse/config.json gives host and token when the environment does not' '
    mkdir -p "$HOME/.synapse" &&
    printf "{\"host\": \"%s\", \"access_token\": \"%s\"}\n" "$SYNAPSE_HOST" "$FAKE_TOKEN" > "$HOME/.synapse/config.json" &&
    env -u SYNAPSE_ACCESS_TOKEN -u SYNAPSE_HOST sx-fetch -f project=1 > out; rc=$?;
    rm -rf "$HOME/.synapse" && test $rc = 0 &&
    tail -1 out | jq -e ".count == 23" && head -1 out | jq -e ".source.host == env.SYNAPSE_HOST"
'

test_expect_success 'plugin runs: SYNAPSE_PLUGIN_RUN_USER_TOKEN sent as Authorization, tenant sent' '
    : > "$LOG" &&
    env -u SYNAPSE_ACCESS_TOKEN SYNAPSE_PLUGIN_RUN_USER_TOKEN="$FAKE_TOKEN" SYNAPSE_PLUGIN_RUN_TENANT=acme \
        sx-fetch -f project=1 > out && tail -1 out | jq -e ".count == 23" &&
    test -z "$(listing | grep -v "auth=authorization tenant=yes")"
'

test_expect_success 'SYNAPSE_TENANT is sent as Synapse-Tenant; without it no tenant header' '
    : > "$LOG" && SYNAPSE_TENANT=acme sx-fetch -f project=1 > out &&
    test -z "$(listing | grep -v "tenant=yes")" &&
    : > "$LOG" && sx-fetch -f project=1 > out && test -z "$(listing | grep -v "tenant=no")"
'

test_expect_success '--host wins over SYNAPSE_HOST; a trailing slash is fine' '
    SYNAPSE_HOST=http://127.0.0.1:9 sx-fetch --host "$SYNAPSE_HOST/" -f project=1 > out &&
    tail -1 out | jq -e ".count == 23"
'

test_expect_success 'a host that is not an http(s) URL: usage error' '
    expect_code 2 sx-fetch --host ftp://127.0.0.1 -f project=1 2> err && assert_grep "not an http" err
'

test_expect_success 'credentials in the host URL do not reach meta' '
    sx-fetch --host "http://user:pw123@${SYNAPSE_HOST#http://}" -f project=1 --limit 1 > out &&
    ! grep -q pw123 out && head -1 out | jq -e ".source.host == env.SYNAPSE_HOST"
'

test_expect_success 'User-Agent sx/<version>, gzip answers accepted' '
    : > "$LOG" && sx-fetch -f project=1 > out &&
    v=$(sx-fetch --version | awk "{print \$3}") &&
    test -z "$(listing | grep -v "ua=sx/$v\$")" && test -z "$(listing | grep -v "enc=gzip")"
'

test_expect_success 'keep-alive: one connection carries every page with --jobs 1' '
    : > "$LOG" && sx-fetch -f project=1 --page-size 2 --jobs 1 > out &&
    assert_eq 12 "$(listing | wc -l)" requests &&
    assert_eq 1 "$(listing | sed "s/.*conn=\([0-9]*\).*/\1/" | sort -u | wc -l)" connections
'

test_expect_success 'proxies from http_proxy: the requests go through the proxy' '
    python3 "$FAKE_BACKEND_PY" --token "$FAKE_TOKEN" --log proxy.log > proxy.port 2>/dev/null & ppid=$! &&
    for i in $(seq 50); do test -s proxy.port && break; sleep 0.1; done &&
    http_proxy=http://127.0.0.1:$(head -1 proxy.port) sx-fetch -f project=1 --limit 3 > out; rc=$?;
    kill $ppid; test $rc = 0 &&
    assert_grep "^GET $SYNAPSE_HOST/sdk/assignments/" proxy.log
'

# TLS needs a certificate: openssl makes a self-signed one (skipped without openssl)
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TRASH_ROOT/key.pem" -out "$TRASH_ROOT/cert.pem" \
    -days 2 -subj /CN=localhost >/dev/null 2>&1; then
fake_backend_start --items 23 --log "$LOG" --tls-cert "$TRASH_ROOT/cert.pem" --tls-key "$TRASH_ROOT/key.pem"
test_expect_success 'TLS is verified: a self-signed server is refused (exit 3) unless --insecure' '
    case $SYNAPSE_HOST in https://*) ;; *) false ;; esac &&
    expect_code 3 sx-fetch -f project=1 > out 2> err && assert_grep "certificate" err && test ! -s out &&
    sx-fetch -f project=1 --insecure > out && tail -1 out | jq -e ".count == 23"
'
fi

test_expect_success 'the token appears in no output of this script' '
    ! grep -r --exclude=token -- "$FAKE_TOKEN" "$TRASH_ROOT" "$LOG"
'

test_done
