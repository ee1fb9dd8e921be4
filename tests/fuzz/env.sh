# env.sh : sanitizer options for the fuzz targets, sourced by run.sh and by
# the replay test (tests/cli/t0070-fuzz-replay.sh).
#
# Leak detection stays on. libjq 1.6 leaks a string it refuses in one case
# (lsan.supp says which): that leak is suppressed by name, which needs the
# allocation's whole stack. libjq is built without frame pointers, so the
# fast unwinder stops at its first frame: fast_unwind_on_malloc=0 asks for
# the slow one (about 3x fewer executions a second on the targets that parse
# with libjq), kept to 8 frames, which reach jv_parse_sized and its caller.
_fuzz_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=8:abort_on_error=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$_fuzz_here/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
