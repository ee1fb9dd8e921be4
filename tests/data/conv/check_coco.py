#!/usr/bin/env python3
"""check_coco.py FILE : checks a COCO annotations.json the way the tests of
issue 4 ask: top-level keys, unique integer ids from 1, 1-based categories,
boxes inside their images, areas (w*h for boxes, shoelace for polygons)."""
import json, sys

c = json.load(open(sys.argv[1], encoding="utf-8"))
for k in ("info", "licenses", "images", "annotations", "categories"):
    assert k in c, "missing " + k
imgs = {}
for i, im in enumerate(c["images"]):
    assert isinstance(im["id"], int) and im["id"] == i + 1, im
    assert isinstance(im["width"], int) and im["width"] > 0 and isinstance(im["height"], int) and im["height"] > 0
    imgs[im["id"]] = im
cats = set()
for i, ca in enumerate(c["categories"]):
    assert ca["id"] == i + 1 and isinstance(ca["name"], str) and isinstance(ca["supercategory"], str), ca
    cats.add(ca["id"])
ids = set()
for a in c["annotations"]:
    assert isinstance(a["id"], int) and a["id"] >= 1 and a["id"] not in ids, a
    ids.add(a["id"])
    assert a["image_id"] in imgs and a["category_id"] in cats, a
    im = imgs[a["image_id"]]
    x, y, w, h = a["bbox"]
    assert x >= 0 and y >= 0 and w >= 0 and h >= 0 and x + w <= im["width"] + 1e-6 and y + h <= im["height"] + 1e-6, a
    assert a["iscrowd"] in (0, 1)
    if a.get("segmentation"):
        p = a["segmentation"][0]
        xs, ys = p[0::2], p[1::2]
        n = len(xs)
        assert n >= 3
        s = abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2
        assert abs(s - a["area"]) < 1e-3 * max(1, s), (s, a)
    elif "keypoints" in a:
        assert a["num_keypoints"] == sum(1 for v in a["keypoints"][2::3] if v > 0)
    elif "polyline" not in a:
        assert abs(a["area"] - w * h) < 1e-3 * max(1, w * h), a
assert sorted(ids) == list(range(1, len(ids) + 1)), "annotation ids not 1..n"
print("ok", len(c["images"]), len(c["annotations"]), len(c["categories"]))
