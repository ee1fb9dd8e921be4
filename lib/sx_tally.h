/*
 * sx_tally.h : counts by reason, with the first few items of each, for the
 * lines that end a run ("35 items failed: 30 data is Null (items 7, 14,
 * 21, …), 5 cannot download: HTTP 404 after 5 tries (items 3, …)").
 *
 * Memory is bounded whatever the run: at most SX_TALLY_REASONS reasons (the
 * rest is counted as "other"), three item ids each. Reasons are grouped as
 * given; sx_tally_reason() makes a stable one of a message (quoted parts,
 * which name a file or an annotation, masked).
 */
#ifndef SX_TALLY_H
#define SX_TALLY_H

#include <stddef.h>
#include <stdint.h>

#define SX_TALLY_REASONS 32

typedef struct sx_tally sx_tally;

/*! sx_tally_new() : an empty tally. @return it, or NULL when out of memory. */
sx_tally *sx_tally_new(void);

/*! sx_tally_free() : NULL is accepted. */
void sx_tally_free(sx_tally *t);

/*! sx_tally_add() : counts `count` under `reason` for the item whose id is
 *  the JSON text `item` (NULL: none). Items are counted once each when their
 *  additions come together, as a stream gives them. */
void sx_tally_add(sx_tally *t, const char *reason, uint64_t count, const char *item);

/*! sx_tally_total() : the sum of the counts; sx_tally_items() the items. */
uint64_t sx_tally_total(const sx_tally *t);
uint64_t sx_tally_items(const sx_tally *t);

/*! sx_tally_format() : "7 annotation outside the image (items 3, 4, 9, …),
 *  5 polygon with fewer than 3 points (item 12)", largest count first,
 *  into out (cut to n bytes). @return out. */
char *sx_tally_format(const sx_tally *t, char *out, size_t n);

/*! sx_tally_reason() : a stable reason from a message, into out: quoted
 *  parts masked, at most 200 bytes. @return out. */
char *sx_tally_reason(const char *message, char *out, size_t n);

#endif
