#!/usr/bin/env python3
"""coco_shards.py DIR IMAGES SHARDS: COCO shards as sx-convert-coco writes them, for the merge benchmark.
1 image in 1000 is also in the next shard, 1 in 500 shares its file_name with an image of another shard."""
import sys, os

out, n, shards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = n // shards
for s in range(shards):
    d = "%s/s%d" % (out, s + 1)
    os.makedirs(d, exist_ok=True)
    with open(d + "/annotations.json", "w") as f:
        f.write('{"info":{"description":"bench"},"licenses":[],"categories":[{"id":1,"name":"car","supercategory":""},{"id":2,"name":"person","supercategory":""}],\n"images":[')
        first = s * per
        w = f.write
        buf = []
        for k in range(1, per + 1):
            item = first + k
            if k % 1000 == 0 and s + 1 < shards:
                item = first + per + k  # also in the next shard
            name = "%09d.jpg" % (item if k % 500 else (item % 1000))
            buf.append('%s\n{"id":%d,"file_name":"%s","width":1920,"height":1080,"sx_item":%d}' % ("," if k > 1 else "", k, name, item))
            if len(buf) >= 10000:
                w("".join(buf)); buf = []
        w("".join(buf)); buf = []
        w('],\n"annotations":[')
        for k in range(1, per + 1):
            buf.append('%s\n{"id":%d,"image_id":%d,"category_id":%d,"bbox":[10.5,20,30,40],"area":1200,"iscrowd":0,"segmentation":[]}' % ("," if k > 1 else "", k, k, 1 + k % 2))
            if len(buf) >= 10000:
                w("".join(buf)); buf = []
        w("".join(buf))
        w(']}\n')
