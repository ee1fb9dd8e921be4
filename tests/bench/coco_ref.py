#!/usr/bin/env python3
"""coco_ref.py OUTDIR < items.ndjson : the Python reference converter of the
converter benchmark. Standard-library json only; the COCO algorithm of the
synapse-sdk docs (FromDMToCOCOConverter): per split, images numbered from 1,
categories created on first sight, one annotation per bounding box, polygon and
polyline (bbox from the points, area w*h), all keypoints of an image in one
annotation of the category "keypoints"; everything held in memory and dumped
at the end. DM v1 items are joined (annotations + annotationsData by id) into
the v2 lists the SDK reads. Written for the benchmark, not for production."""
import datetime
import json
import os
import sys


def v1_to_lists(data):
    anns = (data.get("annotations") or {}).get("image_1") or []
    coords = {d["id"]: d.get("coordinate") for d in (data.get("annotationsData") or {}).get("image_1") or []}
    out = {}
    for a in anns:
        c = coords.get(a["id"])
        tool = a["tool"]
        cls = a["classification"]["class"]
        if tool == "bounding_box":
            d = [c["x"], c["y"], c["width"], c["height"]]
        elif tool in ("polygon", "polyline"):
            d = [[p["x"], p["y"]] for p in c]
        else:
            d = [c["x"], c["y"]]
        out.setdefault(tool, []).append({"id": a["id"], "classification": cls, "data": d})
    return out


class Split:
    def __init__(self):
        self.images, self.annotations, self.categories, self.cat_ids = [], [], [], {}
        self.ann_id, self.img_id = 1, 1

    def category(self, name, keypoints=None):
        if name not in self.cat_ids:
            cid = len(self.cat_ids) + 1
            self.cat_ids[name] = cid
            self.categories.append({"id": cid, "name": name, "supercategory": name, "keypoints": keypoints,
                                    "skeleton": [] if keypoints else None})
        return self.cat_ids[name]

    def add(self, cat, seg, bbox, area, **extra):
        a = {"id": self.ann_id, "image_id": self.img_id, "category_id": cat, "segmentation": seg or None,
             "bbox": bbox, "iscrowd": 0, "area": area}
        a.update(extra)
        self.annotations.append(a)
        self.ann_id += 1

    def item(self, rec):
        f = rec.get("files") or {}
        self.images.append({"id": self.img_id, "file_name": f.get("file_name_original"),
                            "width": f.get("width"), "height": f.get("height"), "license": 1})
        anns = v1_to_lists(rec["data"])
        for poly in anns.get("polyline", []) + anns.get("polygon", []):
            xs = [p[0] for p in poly["data"]]
            ys = [p[1] for p in poly["data"]]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            self.add(self.category(poly["classification"]), [sum(poly["data"], [])], bbox, bbox[2] * bbox[3])
        for box in anns.get("bounding_box", []):
            b = box["data"]
            self.add(self.category(box["classification"]), [], b, b[2] * b[3])
        if "keypoint" in anns:
            kps = anns["keypoint"]
            cat = self.category("keypoints", [k["classification"] for k in kps])
            flat, xs, ys = [], [], []
            for k in kps:
                x, y = k["data"]
                flat += [x, y, 2]
                xs.append(x)
                ys.append(y)
            self.add(cat, None, [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)], 0,
                     keypoints=flat, num_keypoints=len(kps))
        self.img_id += 1


def main():
    out = sys.argv[1]
    splits = {}
    for line in sys.stdin:
        rec = json.loads(line)
        if "sx" in rec:
            continue
        if rec.get("data") is None:
            continue
        splits.setdefault(rec.get("split") or "", Split()).item(rec)
    now = datetime.datetime.now()
    for name, s in splits.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        coco = {"info": {"description": "Converted from DM format", "url": "", "version": "1.0", "year": now.year,
                         "contributor": "", "date_created": now.strftime("%Y-%m-%d %H:%M:%S")},
                "licenses": [{"id": 1, "name": "Unknown", "url": ""}],
                "images": s.images, "annotations": s.annotations, "categories": s.categories}
        with open(os.path.join(d, "annotations.json"), "w", encoding="utf-8") as f:
            json.dump(coco, f)


if __name__ == "__main__":
    main()
