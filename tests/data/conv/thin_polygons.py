#!/usr/bin/env python3
"""thin_polygons.py SEED N : N items (DM v1) of a 50x40 image with five
polygons each, many of them smaller or thinner than a pixel (some points
outside the image, coordinates with 0 to 6 decimals), then an end record:
the polygons COCO tools may or may not rasterise to any pixel."""
import json
import random
import sys

rng = random.Random(int(sys.argv[1]))
n = int(sys.argv[2])
W, H = 50, 40
for i in range(1, n + 1):
    anns, datas = [], []
    for k in range(5):
        aid = "p%d_%d" % (i, k)
        s = rng.choice([0.2, 0.5, 1, 2, 4])
        cx, cy = rng.uniform(-1, W + 1), rng.uniform(-1, H + 1)
        pts = [{"x": round(cx + rng.uniform(-s, s), rng.choice([0, 1, 3, 6])),
                "y": round(cy + rng.uniform(-s, s) * rng.choice([0.05, 1]), rng.choice([0, 1, 3, 6]))}
               for _ in range(rng.randint(3, 6))]
        anns.append({"id": aid, "tool": "polygon", "classification": {"class": "c"}})
        datas.append({"id": aid, "coordinate": pts})
    print(json.dumps({"id": i, "files": {"file_name_original": "i%d.jpg" % i, "width": W, "height": H},
                      "data": {"annotations": {"image_1": anns}, "annotationsData": {"image_1": datas}}}))
print(json.dumps({"sx": "end", "count": n}, separators=(",", ":")))
