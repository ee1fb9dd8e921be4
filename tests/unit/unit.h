/*
 * unit.h : the smallest test harness that reads like the tests it runs.
 * A test is a function; CHECK() records a failed condition with its line;
 * RUN() prints "ok - name" or "not ok - name" for tests/run.sh to count.
 */
#ifndef SX_UNIT_H
#define SX_UNIT_H

#include <stdio.h>

static int unit_failed_checks, unit_passed, unit_failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            unit_failed_checks++;                                          \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                  \
    } while (0)

#define RUN(fn)                                                            \
    do {                                                                   \
        int before_ = unit_failed_checks;                                  \
        fn();                                                              \
        if (unit_failed_checks == before_) {                               \
            unit_passed++;                                                 \
            printf("ok - %s\n", #fn);                                      \
        } else {                                                           \
            unit_failed++;                                                 \
            printf("not ok - %s\n", #fn);                                  \
        }                                                                  \
        fflush(stdout);                                                    \
    } while (0)

#define UNIT_DONE() (unit_failed ? 1 : 0)

#endif
