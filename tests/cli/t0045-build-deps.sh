#!/usr/bin/env bash
# make installs the Debian packages it needs (the compiler too) before it
# compiles anything, whatever -j. apt-get and dpkg-query are stand-ins here
# (tests/bare.sh, make bare-demo, does it for real on a bare Debian 12).
. "$(dirname "$0")/../lib/test-lib.sh"

# fakebin/: dpkg-query answers "installed" once apt-get has run; apt-get
# logs its arguments and takes a second and a half to "install"; cc notes
# whether it ran before the install had finished, then compiles.
make_fakes() {
    mkdir -p fakebin &&
    cat > fakebin/dpkg-query <<-\EOS &&
	#!/bin/sh
	[ -e "$FAKE_DIR/installed" ] && printf "install ok installed" && exit 0
	exit 1
	EOS
    cat > fakebin/apt-get <<-\EOS &&
	#!/bin/sh
	echo "apt-get $*" >> "$FAKE_DIR/apt.log"
	case " $* " in *" install "*) sleep 1.5; touch "$FAKE_DIR/installed" ;; esac
	EOS
    cat > fakebin/cc <<-\EOS &&
	#!/bin/sh
	[ -e "$FAKE_DIR/installed" ] || echo "compiled before the install: $*" >> "$FAKE_DIR/early.log"
	exec /usr/bin/cc "$@"
	EOS
    chmod +x fakebin/*
}

if [ "$(id -u)" != 0 ]; then
    echo "ok 1 - $TEST_NAME: # skip: make installs packages only as root"
    test_done
fi

test_expect_success 'make -j4 of two objects: apt-get installs the compiler first, then cc runs' '
    make_fakes && export FAKE_DIR=$PWD &&
    PATH=$PWD/fakebin:$PATH make -s -C "$SX_ROOT" -j4 O="$PWD/b" CC="$PWD/fakebin/cc" \
        "$PWD/b/obj/lib/sx_cli.o" "$PWD/b/obj/bin/sx-jq.o" > out 2> err &&
    test -s b/obj/lib/sx_cli.o && test -s b/obj/bin/sx-jq.o &&
    test ! -e early.log &&
    assert_grep "^apt-get .* install -y -qq.* gcc libc6-dev " apt.log &&
    assert_grep "libjq-dev" apt.log &&
    assert_grep "^installing: gcc libc6-dev" out
'

test_expect_success 'make demo installs what the demo needs with the build packages, in one apt-get' '
    make -s -C "$SX_ROOT" -n demo > plan &&
    grep "dpkg-query" plan | head -n 1 > first &&
    assert_grep " gcc libc6-dev .* jq" first
'

test_done
