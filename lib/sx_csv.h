/*
 * sx_csv.h : the CSV converter (sx-convert-csv) on the sx_convert driver.
 *
 * One file, `annotations.csv`: a header line
 * `image,width,height,class,xmin,ymin,xmax,ymax`, then one row per bounding
 * box and per polygon (its extent) of every converted item, in stream order.
 * `image` is the image's path in the dataset (images/[<split>/]<name>);
 * coordinates are absolute pixels clipped to the image (corner form), up to
 * 6 decimals, never in exponent form. Fields are quoted as RFC 4180 says
 * (a field holding a comma, a quote, CR or LF is quoted, quotes doubled);
 * lines end with CRLF as RFC 4180 asks. Rows are spooled to a temporary file
 * and the CSV is written at the upstream `end` (its chunks must not be
 * interleaved with image records). A box without area inside the image is
 * dropped and reported with an `error` record. With --classes or a project
 * configuration, a class outside the list fails the item.
 */
#ifndef SX_CSV_H
#define SX_CSV_H

#include "sx_convert.h"

typedef struct sx_csv sx_csv;

typedef struct {
    const char *classes_file;   /* --classes FILE, or NULL */
} sx_csv_opts;

/*! sx_csv_new() : @return a converter, or NULL with a message in err. */
sx_csv *sx_csv_new(const sx_csv_opts *o, char *err, size_t errlen);

/*! sx_csv_ops() : the driver callbacks of `c`. */
sx_conv_ops sx_csv_ops(sx_csv *c);

/*! sx_csv_free() : NULL is accepted. */
void sx_csv_free(sx_csv *c);

#endif
