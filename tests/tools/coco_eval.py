#!/usr/bin/env python3
"""coco_eval.py ANNOTATIONS.json [bbox|segm ...] : evaluates a COCO ground
truth against itself, by the rules of pycocotools (COCO, COCOeval, the
cocoapi's maskApi.c), in the Python standard library.

Every annotation becomes a detection of score 1 (for bbox its `bbox`, for
segm the RLE of its own `segmentation`, as loadRes() takes them); then
COCOeval's matching (greedy by score, IoU thresholds .50:.05:.95, gt ignore
flags from iscrowd and the area range), and its accumulation (101 recall
points, the precision envelope) give the AP over all areas and 100
detections per image, the number COCOeval.summarize() prints first.

What pycocotools would crash on is reported as such: an annotation without
`segmentation`, an empty one ([]), a polygon of fewer than 3 points. A
polygon is rasterised as maskApi.c's rleFrPoly() does it (the outline at 5x,
a pixel in when its centre is, even-odd); boxes and masks are compared as
bbIou() and rleIou() compare them.

Prints one line per iou type, "bbox AP 1.0000 (...)", and the annotations
that cannot be matched with themselves; exits 1 when an AP is below 1 or
pycocotools would crash, 0 otherwise.
"""
import json
import math
import sys

SCALE = 5


def fr_poly(xy, h, w):
    """The mask of polygon xy (flat list) in an h x w image, as sorted
    run boundaries (positions col*h+row where the mask toggles)."""
    k = len(xy) // 2
    x = [int(SCALE * xy[2 * j] + .5) for j in range(k)]
    y = [int(SCALE * xy[2 * j + 1] + .5) for j in range(k)]
    x.append(x[0])
    y.append(y[0])
    u, v = [], []
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx == 0 and dy == 0:
            u.append(xs)
            v.append(ys)
            continue
        if dx >= dy:
            s = (ye - ys) / dx
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + xs)
                v.append(int(ys + s * t + .5))
        else:
            s = (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + ys)
                u.append(int(xs + s * t + .5))
    toggles = []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = u[j] if u[j] < u[j - 1] else u[j] - 1
        xd = (xd + .5) / SCALE - .5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = v[j] if v[j] < v[j - 1] else v[j - 1]
        yd = (yd + .5) / SCALE - .5
        yd = min(max(yd, 0), h)
        toggles.append(int(xd) * h + math.ceil(yd))
    toggles.sort()
    return runs_of_toggles(toggles, h * w)


def runs_of_toggles(t, end):
    """[start, stop) runs of ones: value toggles at each position of t."""
    runs = []
    t = t + [end] if len(t) % 2 else t
    for i in range(0, len(t), 2):
        if t[i + 1] > t[i]:
            if runs and runs[-1][1] == t[i]:
                runs[-1] = (runs[-1][0], t[i + 1])
            else:
                runs.append((t[i], t[i + 1]))
    return runs


def union(a, b):
    out = []
    for s, e in sorted(a + b):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def area(runs):
    return sum(e - s for s, e in runs)


def intersection(a, b):
    i = j = n = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            n += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return n


def runs_bbox(runs, h):
    """rleToBbox(): the extent of the mask, [x, y, w, h]."""
    if not runs:
        return [0, 0, 0, 0]
    xs, ys, xe, ye = None, h, 0, 0
    for s, e in runs:
        x0, x1 = s // h, (e - 1) // h
        y0, y1 = s % h, (e - 1) % h
        if x0 != x1:
            y0, y1 = 0, h - 1
        xs = x0 if xs is None else min(xs, x0)
        xe, ys, ye = max(xe, x1), min(ys, y0), max(ye, y1)
    return [xs, ys, xe - xs + 1, ye - ys + 1]


def bb_iou(d, g):
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    hh = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if hh <= 0:
        return 0.0
    i = w * hh
    return i / (d[2] * d[3] + g[2] * g[3] - i)


class Crash(Exception):
    pass


def ann_to_rle(ann, img):
    """COCO.annToRLE(): a crash where pycocotools would crash."""
    if "segmentation" not in ann:
        raise Crash("annotation %s has no segmentation (KeyError)" % ann["id"])
    segm = ann["segmentation"]
    h, w = img["height"], img["width"]
    if isinstance(segm, list):
        if not segm:
            raise Crash("annotation %s has segmentation [] (IndexError in frPyObjects)" % ann["id"])
        if len(segm[0]) == 4:  # frPyObjects reads a 4-list as boxes
            raise Crash("annotation %s has a polygon of 2 points (read as a box)" % ann["id"])
        runs = []
        for p in segm:
            if len(p) < 6 or len(p) % 2:
                raise Crash("annotation %s has a polygon of %d numbers" % (ann["id"], len(p)))
            runs = union(runs, fr_poly(p, h, w))
        return runs
    raise Crash("annotation %s: segmentation of kind %s is not checked here" % (ann["id"], type(segm).__name__))


def evaluate(gt, iou_type):
    imgs = {i["id"]: i for i in gt["images"]}
    anns = gt["annotations"]
    cats = sorted(c["id"] for c in gt["categories"])
    # loadRes(): every annotation a detection of score 1, ids from 1
    masks = {}
    for a in anns:
        a.setdefault("iscrowd", 0)
        if iou_type == "segm":
            masks[a["id"]] = ann_to_rle(a, imgs[a["image_id"]])
    dts = []
    for n, a in enumerate(anns):
        d = {"id": n + 1, "image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0,
             "iscrowd": 0, "src": a["id"]}
        if iou_type == "bbox":
            d["bbox"] = a["bbox"]
            d["area"] = a["bbox"][2] * a["bbox"][3]
        else:
            d["area"] = area(masks[a["id"]])
        dts.append(d)
    by = {}
    for a in anns:
        by.setdefault((a["image_id"], a["category_id"]), ([], []))[0].append(a)
    for d in dts:
        by.setdefault((d["image_id"], d["category_id"]), ([], []))[1].append(d)
    thrs = [.5 + .05 * i for i in range(10)]
    rec_thrs = [i / 100 for i in range(101)]
    max_det = 100
    a_rng = (0, 1e5 ** 2)
    per_cat = {c: [] for c in cats}
    unmatched = set()
    for (img_id, cat), (g, d) in sorted(by.items()):
        if cat not in per_cat:
            continue
        h = imgs[img_id]["height"]
        for x in g:
            x["_ignore"] = 1 if (x["iscrowd"] or x["area"] < a_rng[0] or x["area"] > a_rng[1]) else 0
        g = sorted(g, key=lambda x: x["_ignore"])
        d = sorted(d, key=lambda x: -x["score"])[:max_det]
        ious = []
        for dd in d:
            row = []
            for gg in g:
                if iou_type == "bbox":
                    row.append(bb_iou(dd["bbox"], gg["bbox"]))
                else:
                    dm, gm = masks[dd["src"]], masks[gg["id"]]
                    o = bb_iou(runs_bbox(dm, h), runs_bbox(gm, h))
                    if o > 0:
                        i = intersection(dm, gm)
                        u = area(dm) + area(gm) - i
                        o = i / u if i else 0.0
                    row.append(o)
            ious.append(row)
        gt_ig = [x["_ignore"] for x in g]
        dtm = [[0] * len(d) for _ in thrs]
        dt_ig = [[0] * len(d) for _ in thrs]
        gtm = [[0] * len(g) for _ in thrs]
        for ti, t in enumerate(thrs):
            for di, dd in enumerate(d):
                iou, m = min(t, 1 - 1e-10), -1
                for gi, gg in enumerate(g):
                    if gtm[ti][gi] > 0 and not gg["iscrowd"]:
                        continue
                    if m > -1 and gt_ig[m] == 0 and gt_ig[gi] == 1:
                        break
                    if ious[di][gi] < iou:
                        continue
                    iou, m = ious[di][gi], gi
                if m == -1:
                    if ti == len(thrs) - 1:
                        unmatched.add(dd["src"])
                    continue
                dt_ig[ti][di] = gt_ig[m]
                dtm[ti][di] = g[m]["id"]
                gtm[ti][m] = dd["id"]
        for ti in range(len(thrs)):
            for di, dd in enumerate(d):
                if dtm[ti][di] == 0 and (dd["area"] < a_rng[0] or dd["area"] > a_rng[1]):
                    dt_ig[ti][di] = 1
        per_cat[cat].append((d, dtm, dt_ig, gt_ig))
    precisions = []
    for cat in cats:
        e = per_cat[cat]
        npig = sum(1 for (_, _, _, gi) in e for x in gi if x == 0)
        if npig == 0:
            continue
        order = []
        for (d, dtm, dt_ig, _) in e:
            for di, dd in enumerate(d):
                order.append((dd["score"], [dtm[t][di] for t in range(len(thrs))], [dt_ig[t][di] for t in range(len(thrs))]))
        order.sort(key=lambda x: -x[0])  # stable, as numpy's mergesort
        for ti in range(len(thrs)):
            tp = fp = 0
            rc, pr = [], []
            for _, m, ig in order:  # an ignored detection counts as neither
                tp += 1 if m[ti] and not ig[ti] else 0
                fp += 1 if not m[ti] and not ig[ti] else 0
                rc.append(tp / npig)
                pr.append(tp / (tp + fp + sys.float_info.epsilon))
            for i in range(len(pr) - 1, 0, -1):
                if pr[i] > pr[i - 1]:
                    pr[i - 1] = pr[i]
            for r in rec_thrs:
                lo = 0
                while lo < len(rc) and rc[lo] < r:  # searchsorted(side='left')
                    lo += 1
                precisions.append(pr[lo] if lo < len(pr) else 0.0)
    ap = sum(precisions) / len(precisions) if precisions else -1.0
    return ap, sorted(unmatched)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    gt = json.load(open(sys.argv[1], encoding="utf-8"))
    rc = 0
    for t in sys.argv[2:] or ["bbox", "segm"]:
        try:
            ap, bad = evaluate(json.loads(json.dumps(gt)), t)
        except Crash as e:
            print("%s crash: %s" % (t, e))
            rc = 1
            continue
        print("%s AP %.4f (%d annotations, %d not matched with themselves%s)" % (
            t, ap, len(gt["annotations"]), len(bad), (": " + " ".join(map(str, bad[:10]))) if bad else ""))
        if ap < 1:
            rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
