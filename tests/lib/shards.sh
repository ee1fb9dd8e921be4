# shards.sh : is a merged export the single-machine export of the same data?
#
# same_coco WANT GOT: the same annotations per item (their ids aside: those
#   are numbered per file), the same categories and ids, the same image name
#   for each item, the same image files with the same bytes; for a split
#   export (no WANT/annotations.json), split by split
# same_yolo WANT GOT: the same classes.txt and dataset.yaml, the same label
#   and image files with the same bytes, and each image with its labels (the
#   dataset; not the export's error_file_list.json and export.json, which
#   sx-merge-yolo does not write from the shards' own)
# Both print what differs on stderr and return 1.

_coco_norm='(.images | map({key: (.id | tostring), value: .sx_item}) | from_entries) as $im
    | (.categories | map({key: (.id | tostring), value: .name}) | from_entries) as $c
    | [.annotations[] | .image_id = $im[.image_id | tostring] | .category_id = $c[.category_id | tostring] | del(.id)]
    | sort_by(.image_id)'

_same_file() { # _same_file WHAT A B (files, not pipes: they are read twice)
    cmp -s "$2" "$3" && return 0
    echo "$1 differ:" >&2
    diff "$2" "$3" | head -n 10 >&2
    return 1
}

# _same_tree WANT GOT: the same files with the same bytes; not the manifest,
# nor export.json: a merged export's export.json counts 0 items (the merge's
# sx-save sees no items, only files), its result line has the right counts
# (and the merges write no error_file_list.json: see same_yolo)
_same_tree() {
    local w g
    w=$( (cd "$1" && find . -type f ! -name '.sx-*' ! -path ./export.json -exec sha256sum {} + | sort -k 2) ) || return 1
    g=$( (cd "$2" && find . -type f ! -name '.sx-*' ! -path ./export.json -exec sha256sum {} + | sort -k 2) ) || return 1
    [ "$w" = "$g" ] && return 0
    echo "the files of '$1' and '$2' differ:" >&2
    diff <(echo "$w") <(echo "$g") | head -n 10 >&2
    return 1
}

_same_coco_file() { # _same_coco_file WANT.json GOT.json
    local t
    t=$(mktemp -d)
    jq -c "$_coco_norm" "$1" >"$t/w.ann" && jq -c "$_coco_norm" "$2" >"$t/g.ann" &&
        jq -c .categories "$1" >"$t/w.cat" && jq -c .categories "$2" >"$t/g.cat" &&
        jq -r '.images[] | "\(.sx_item) \(.file_name)"' "$1" | sort >"$t/w.img" &&
        jq -r '.images[] | "\(.sx_item) \(.file_name)"' "$2" | sort >"$t/g.img" &&
        _same_file "annotations per item" "$t/w.ann" "$t/g.ann" &&
        _same_file "categories" "$t/w.cat" "$t/g.cat" &&
        _same_file "image names" "$t/w.img" "$t/g.img"
    local st=$?
    rm -rf "$t"
    return $st
}

same_coco() {
    local f n=0
    if [ -f "$1/annotations.json" ]; then
        _same_coco_file "$1/annotations.json" "$2/annotations.json" || return 1
        n=1
    else
        for f in "$1"/*/annotations.json; do
            [ -f "$f" ] || continue
            f=${f#"$1"/}
            _same_coco_file "$1/$f" "$2/$f" || return 1
            n=$((n + 1))
        done
    fi
    [ "$n" -gt 0 ] || { echo "no annotations.json in '$1'" >&2; return 1; }
    if [ -d "$1/images" ] || [ -d "$2/images" ]; then _same_tree "$1/images" "$2/images" || return 1; fi
}

same_yolo() {
    _same_file "classes.txt" "$1/classes.txt" "$2/classes.txt" &&
        _same_file "dataset.yaml" "$1/dataset.yaml" "$2/dataset.yaml" &&
        _same_tree "$1/labels" "$2/labels" || return 1
    if [ -d "$1/images" ] || [ -d "$2/images" ]; then _same_tree "$1/images" "$2/images" || return 1; fi
    local t st
    t=$(mktemp -d)
    _yolo_pairs "$1" >"$t/w" && _yolo_pairs "$2" >"$t/g" && _same_file "images with their labels" "$t/w" "$t/g"
    st=$?
    rm -rf "$t"
    return $st
}

_yolo_pairs() { # each image's bytes with its label, whatever the names (one sha256sum, no process a label)
    local -A sum
    local h f stem l lines
    while read -r h f; do
        stem=${f#images/}
        sum[${stem%.*}]=${h:0:16}
    done < <(cd "$1" && [ ! -d images ] || find images -type f -exec sha256sum {} +)
    local IFS='|' # joins a label's lines
    for l in "$1"/labels/*.txt; do
        stem=${l##*/}
        stem=${stem%.txt}
        mapfile -t lines <"$l"
        printf '%s %s\n' "${sum[$stem]:-}" "${lines[*]}"
    done | sort
}
