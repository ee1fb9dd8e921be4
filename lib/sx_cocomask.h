/*
 * sx_cocomask.h : what COCO's mask API (pycocotools, the cocoapi's
 * maskApi.c, which FiftyOne, Detectron2 and MMDetection evaluate with) makes
 * of an annotation's geometry, so that sx-convert-coco writes only
 * annotations those tools can match.
 *
 * COCO rasterises a polygon by walking its outline at 5x resolution (each
 * vertex rounded to 1/5 pixel) and taking, in each pixel column whose centre
 * the outline crosses, the rows between the crossings: a pixel is in the
 * mask when its centre is inside, even-odd. A polygon thinner than a pixel
 * can cover no pixel centre at all, and its mask is empty: evaluated against
 * itself its segm IoU is 0, and it can never be matched. Boxes have the same
 * problem with a width or height of 0 (bbox IoU 0).
 */
#ifndef SX_COCOMASK_H
#define SX_COCOMASK_H

#include <stddef.h>

/*! sx_cocomask_covers() : whether COCO's rasterisation of the polygon
 *  xy[0..2k) (absolute pixels, inside the image) in a w x h image covers at
 *  least one pixel. A pixel centre well inside the polygon answers at once;
 *  otherwise (thin, small or concave polygons) the outline is walked as
 *  maskApi.c's rleFrPoly() walks it.
 *  @return 1 when it covers one, 0 when its mask is empty, -1 when out of
 *          memory. */
int sx_cocomask_covers(const double *xy, size_t k, long w, long h);

/*! sx_cocomask_whole_pixel() : an extent [*lo, *hi] narrower than a pixel
 *  grows to the whole pixel its centre lies in, kept inside [0, max], so that
 *  it has an area and a pixel centre (a keypoint, a horizontal line, a box
 *  thinner than a pixel). A wider extent is left as it is. */
void sx_cocomask_whole_pixel(double *lo, double *hi, double max);

#endif
