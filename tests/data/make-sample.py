#!/usr/bin/env python3
"""Writes the bundled sample: a small DM dataset on disk (sample/) in the
layout of the synapse-sdk exporter (split/json/<stem>.json + original_files/),
with tiny PNG images, and the same items as an sx stream (sample.ndjson).
Deterministic: running it again gives the same bytes."""
import json, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))

def png(w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def box(aid, cls, x, y, w, h, **attrs):
    c = {"class": cls}; c.update(attrs)
    return ({"id": aid, "tool": "bounding_box", "isLocked": False, "isVisible": True, "classification": c},
            {"id": aid, "coordinate": {"x": x, "y": y, "width": w, "height": h}})

def poly(aid, cls, pts):
    return ({"id": aid, "tool": "polygon", "isLocked": False, "isVisible": True, "classification": {"class": cls}},
            {"id": aid, "coordinate": [{"x": x, "y": y, "id": "%s-%d" % (aid, i)} for i, (x, y) in enumerate(pts)]})

def kp(aid, cls, x, y):
    return ({"id": aid, "tool": "keypoint", "isLocked": False, "isVisible": True, "classification": {"class": cls}},
            {"id": aid, "coordinate": {"x": x, "y": y}})

def dm(*anns):
    return {"annotations": {"image_1": [a for a, _ in anns]},
            "annotationsData": {"image_1": [d for _, d in anns]},
            "relations": {}, "annotationGroups": {}, "extra": {}}

SAMPLES = [
    ("train", "street_001", 64, 48, (90, 90, 90), dm(box("a1", "car", 4, 10, 20, 12, color="red"),
                                                      box("a2", "person", 40, 6, 8, 30))),
    ("train", "street_002", 64, 48, (80, 100, 80), dm(box("b1", "car", 50, 30, 20, 20),  # clipped at the edge
                                                       poly("b2", "road", [(0, 40), (63, 40), (63, 47), (0, 47)]))),
    ("train", "street_003", 32, 32, (120, 80, 80), dm(kp("c1", "nose", 16, 12), box("c2", "person", 8, 4, 16, 26))),
    ("train", "empty_004", 32, 24, (40, 40, 40), dm()),
    ("valid", "street_005", 64, 48, (70, 70, 120), dm(box("d1", "bicycle", 10, 20, 24, 16),
                                                       poly("d2", "road", [(0, 44), (64, 44), (64, 48)]))),
    ("valid", "street_006", 48, 48, (100, 100, 40), dm(box("e1", "car", 2, 2, 30, 20, color="blue"),
                                                        box("e2", "person", 36, 10, 10, 30))),
]

def main():
    items = []
    for split, stem, w, h, rgb, data in SAMPLES:
        d = os.path.join(HERE, "sample", split)
        os.makedirs(os.path.join(d, "json"), exist_ok=True)
        os.makedirs(os.path.join(d, "original_files"), exist_ok=True)
        with open(os.path.join(d, "json", stem + ".json"), "w") as f:
            json.dump(data, f, indent=4)
            f.write("\n")
        with open(os.path.join(d, "original_files", stem + ".png"), "wb") as f:
            f.write(png(w, h, rgb))
        items.append({"id": len(items) + 1,
                      "files": {"file_name_original": stem + ".png", "width": w, "height": h},
                      "data": data, "split": split})
    with open(os.path.join(HERE, "sample.ndjson"), "w") as f:
        f.write(json.dumps({"sx": "meta", "target": "sample", "total": len(items)}, separators=(",", ":")) + "\n")
        for it in items:
            f.write(json.dumps(it, separators=(",", ":")) + "\n")
        f.write(json.dumps({"sx": "end", "count": len(items)}, separators=(",", ":")) + "\n")

main()
