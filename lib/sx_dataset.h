/*
 * sx_dataset.h : a DM dataset on disk, read as export items.
 *
 * The layout of the synapse-sdk exporter and converters: `json/<stem>.json`
 * (the item's annotation data) beside `original_files/` or `origin_files/`
 * (the image whose name has the same stem), either at the top of the dataset
 * or under each of `train/`, `valid/`, `test/`. Items come in split order
 * (train, valid, test), then in sorted file-name order (bytewise), as
 *
 *   {"id": "<stem>", "files": {"path": "<absolute path of the image>",
 *    "file_name_original": "<image name>", "width": W, "height": H},
 *    "data": <the JSON file>, "split": "train"}
 *
 * (`split` only when the dataset has splits; `width` and `height` when the
 * image is a PNG or JPEG whose header says them; `files` is {} when no image
 * has the stem). The listing is made once at open time (names only); each JSON
 * file is read when its item is asked for.
 */
#ifndef SX_DATASET_H
#define SX_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <jv.h>

typedef struct sx_dataset sx_dataset;

/*! sx_dataset_open() : lists the dataset at `dir`.
 *  @return the dataset, or NULL with a message in err ("'d' is not a DM
 *          dataset: no json/ nor train/json, valid/json, test/json"). */
sx_dataset *sx_dataset_open(const char *dir, char *err, size_t errlen);

/*! sx_dataset_count() : the number of items (JSON files). */
uint64_t sx_dataset_count(const sx_dataset *d);

/*! sx_dataset_root() : the dataset's absolute path. */
const char *sx_dataset_root(const sx_dataset *d);

/*! sx_dataset_next() : the next item. @item set to the item (the caller owns
 *  it) when 1 is returned. @return 1, 0 at the end, or -1 with a message in
 *  err naming the file (unreadable, not JSON); the next call goes on with
 *  the following file. */
int sx_dataset_next(sx_dataset *d, jv *item, char *err, size_t errlen);

/*! sx_dataset_free() : NULL is accepted. */
void sx_dataset_free(sx_dataset *d);

#endif
