#!/usr/bin/env python3
"""merge-shards.py DIR SEED IMAGES SHARDS [SAME]: COCO shards for sx-merge-coco.

Writes DIR/s1 ... DIR/sSHARDS, each with an annotations.json, holding about
IMAGES images in all with what makes a merge hard: the same sx_item in two
shards (under the same or another file_name), file_names that several images
use, names that look like the ones the merge makes up (a_7.jpg), sx_items
that are strings, big or negative numbers, 1 and 1.0, null or absent, image
ids that are strings, categories whose ids disagree between shards, and
annotations in sx-convert-coco's form and in others. With SAME, that many
images of the first shard share one file_name. The same SEED writes the
same bytes."""
import json, random, sys

out, seed, n, shards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
same = int(sys.argv[5]) if len(sys.argv) > 5 else 0
rng = random.Random(seed)
names = ["a.jpg", "b.png", "a_7.jpg", "dir.v2/c", "noext", ".hidden", "x/y.z.jpg", "a_x.jpg", "e\u00e9.jpg"]
cats = ["car", "person", "bicycle", "truck"]


def item():
    r = rng.random()
    if r < 0.55:
        return rng.randint(1, max(2, n // 2))
    if r < 0.65:
        return "it%d" % rng.randint(1, 50)
    if r < 0.7:
        return rng.choice([1.0, -3, 1e17, 7, 0.5, "7", "a/b"])
    if r < 0.8:
        return None
    return "absent"


def name():
    r = rng.random()
    if r < 0.5:
        return "img%06d.jpg" % rng.randint(1, max(2, n))
    return rng.choice(names)


for s in range(1, shards + 1):
    scats = rng.sample(cats, rng.randint(1, len(cats)))
    base = 0 if s % 2 else 10
    categories = [{"id": base + cats.index(c) + 1, "name": c, "supercategory": "thing"} for c in scats]
    images, anns = [], []
    count = n // shards
    for k in range(1, count + 1):
        iid = k if rng.random() < 0.9 else "s%d" % k
        img = {"id": iid, "file_name": "same.jpg" if s == 1 and k <= same else name(), "width": 640, "height": 480}
        it = item()
        if it != "absent":
            img["sx_item"] = it
        images.append(img)
        for j in range(rng.randint(0, 2)):
            c = rng.choice(categories)["id"]
            if rng.random() < 0.8:
                anns.append('{"id":%d,"image_id":%s,"category_id":%d,"bbox":[%d,2,3,4],"area":12,"iscrowd":0}'
                            % (len(anns) + 1, json.dumps(iid), c, j))
            else:
                anns.append(json.dumps({"bbox": [1, 2, 3, j], "image_id": iid, "category_id": c,
                                        "id": len(anns) + 1, "note": "slow"}))
    import os
    os.makedirs("%s/s%d" % (out, s), exist_ok=True)
    with open("%s/s%d/annotations.json" % (out, s), "w") as f:
        f.write('{"info":{"description":"shard %d"},"licenses":[],"categories":%s,\n"images":[\n' % (s, json.dumps(categories)))
        f.write(",\n".join(json.dumps(i) for i in images))
        f.write('],\n"annotations":[\n' + ",\n".join(anns) + "]}\n")
