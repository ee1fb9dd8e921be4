/*
 * sx_dmexport.h : the SDK's default raw export layout (sx-convert-dm) on the
 * sx_convert driver, so that the SDK's own converters (and sx-fetch --dir)
 * can read an sx export:
 *     [<split>/]json/<stem>.json          the item's `data`, indented 4
 *     [<split>/]origin_files/<name>       the original file (--images)
 * The data is written as it is (DM v1 or v2, not parsed into the model), so
 * an item only fails when its `data` is null or it is not an item at all.
 */
#ifndef SX_DMEXPORT_H
#define SX_DMEXPORT_H

#include "sx_convert.h"

typedef struct sx_dmexport sx_dmexport;

/*! sx_dmexport_new() : @return a converter, or NULL when out of memory. */
sx_dmexport *sx_dmexport_new(void);

/*! sx_dmexport_ops() : the driver callbacks of `d`. */
sx_conv_ops sx_dmexport_ops(sx_dmexport *d);

/*! sx_dmexport_free() : NULL is accepted. */
void sx_dmexport_free(sx_dmexport *d);

#endif
