/*
 * sx_meter.h : what a progress display knows about a stream, and how it is
 * drawn. Fed with counts of data records and with the control records that
 * carry progress (`meta`, `progress`, `metrics`, `log`, `error`, `result`,
 * `end`); it never sees a data record's content.
 *
 * Progress is kept per category (dataset_conversion, original_file, …): a
 * `progress` record sets its category's current/total; data records counted
 * by sx_meter_data() feed the category "dataset_conversion" against the
 * `meta` total. The category shown is the one updated last, unless that
 * update finished it while the one shown is still going.
 */
#ifndef SX_METER_H
#define SX_METER_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "sx_proto.h"

typedef struct sx_meter sx_meter;

/*! sx_meter_new() : @now seconds on a monotonic clock. NULL if out of memory. */
sx_meter *sx_meter_new(double now);
void sx_meter_free(sx_meter *m);

/*! sx_meter_data() : `n` more data records went by at time `now`. */
void sx_meter_data(sx_meter *m, uint64_t n, double now);

/*! sx_meter_control() : follows one control record.
 *  @rec borrowed (a parsed control record). */
void sx_meter_control(sx_meter *m, sx_kind kind, jv rec, double now);

/*! sx_meter_bar() : the one-line display for a terminal `width` columns
 *  wide: category, percent, bar, count/total, rate, ETA, failures.
 *  `color` adds ANSI colour to the failures. @return length written
 *  (truncated to cap - 1, always NUL-terminated). */
size_t sx_meter_bar(const sx_meter *m, double now, int width, int color, char *buf, size_t cap);

/* What sx_meter_lines() writes. */
enum { SX_METER_PROGRESS = 1, SX_METER_METRICS = 2 };

/*! sx_meter_lines() : the synapse-sdk console lines for every category that
 *  changed since the last call (all of them when `all`), e.g.
 *  "[dataset_conversion] Progress: 12.5% | ETA: 3.21s\n" (SX_METER_PROGRESS)
 *  and "[data_file] Metrics: stand_by 3, success 10, failed 1\n"
 *  (SX_METER_METRICS); `what` is one or both.
 *  @return a string the caller frees (possibly ""). */
char *sx_meter_lines(sx_meter *m, double now, int all, int what);

/*! sx_meter_percent() : the shown category's percent (0..100), or -1 when
 *  its total is unknown. */
double sx_meter_percent(const sx_meter *m);

/*! sx_meter_snapshot() : the shown category as a `progress` control record
 *  (owned by the caller), for a job log; jv_null() when nothing to say. */
jv sx_meter_snapshot(const sx_meter *m);

/*! sx_meter_failed() : items failed: the result's failed_count once it
 *  came, before that the items of the error records seen. */
uint64_t sx_meter_failed(const sx_meter *m);

/*! sx_meter_summary() : the closing line (records, failures, result), owned
 *  by the caller. */
char *sx_meter_summary(const sx_meter *m, double now);

#endif
