# labelme.jq: a complete sx converter written in jq: one LabelMe JSON per
# image (shapes with label, points, shape_type), next to the image.
#
#   sx-fetch ... | sx-jq --converter -f labelme.jq | sx-save -o out
#
# Named arguments (all optional, through sx-jq --arg NAME VALUE):
#   images   url|copy|none  bring the image along (default: url for items
#                           from a backend, copy for local ones); none: JSON only
#   prefix   id             name files <item id>_<name>, for exports whose
#                           items share file names (sx-save refuses a path
#                           written twice)
#   version  STRING         the "version" field (default "5.0.1")
#
# Input: sx-fetch items {id, files: {url|path, file_name_original, width,
# height}, data: DM v1 or v2}. Output per item: a `file` record with the JSON
# text (category data_file) and, unless images=none, one for the image
# (category original_file). An item that cannot be converted stops the run
# with the input line, or becomes an error record under sx-jq --keep-going.

def arg($name; $default): $ARGS.named[$name] // $default;

def num: if type == "number" and isinfinite == false and isnan == false then .
         else error("impossible coordinate: \(tojson)") end;

def pt: [(.x | num), (.y | num)];

# one LabelMe shape from a DM tool name, class and coordinate
def shape($tool; $cls; $c):
  if $c == null then error("annotation of \($cls | tojson) has no coordinate")
  elif $tool == "bounding_box" then
    {"label": $cls, points: [[($c.x | num), ($c.y | num)], [($c.x + $c.width | num), ($c.y + $c.height | num)]],
     shape_type: "rectangle"}
  elif $tool == "polygon" then
    if ($c | length) < 3 then error("polygon of \($cls | tojson) has fewer than 3 points") else
    {"label": $cls, points: [$c[] | pt], shape_type: "polygon"} end
  elif $tool == "polyline" then {"label": $cls, points: [$c[] | pt], shape_type: "linestrip"}
  elif $tool == "keypoint" then {"label": $cls, points: [$c | pt], shape_type: "point"}
  else error("unknown tool \($tool | tojson)") end
  | . + {group_id: null, description: "", flags: {}};

# DM v1: annotations joined with annotationsData by id, per asset
def shapes_v1:
  (.annotationsData // {}) as $data
  | [ (.annotations // {}) | to_entries[]
      | (($data[.key] // []) | map({key: .id, value: .coordinate}) | from_entries) as $coords
      | .value[]
      | shape(.tool; .classification.class; $coords[.id]) ];

# DM v2: images[0] with a list per tool, data in arrays
def shapes_v2:
  [ (.images[0] // {}) | to_entries[] | .key as $tool | .value[]
    | .classification as $cls | .data as $d
    | if $tool == "bounding_box" then shape($tool; $cls; {x: $d[0], y: $d[1], width: $d[2], height: $d[3]})
      elif $tool == "keypoint" then shape($tool; $cls; {x: $d[0], y: $d[1]})
      else shape($tool; $cls; [$d[] | {x: .[0], y: .[1]}]) end ];

def size_of($what):
  (.files[$what] // .data[$what] // null) as $v
  | if ($v | type) == "number" and $v > 0 then $v
    else error("image \($what) unknown: LabelMe needs the image size") end;

if .data == null then error("data is Null") else . end
| (.files.file_name_original // (.files.path // "" | split("/") | last)) as $file
| if ($file | length) == 0 then error("item has no file name") else . end
| (if arg("prefix"; "") == "id" then "\(.id)_\($file)" else $file end) as $name
| ($name | sub("\\.[^.]*$"; "")) as $stem
| {version: arg("version"; "5.0.1"), flags: {},
   shapes: (if .data | has("images") then .data | shapes_v2 else .data | shapes_v1 end),
   imagePath: $name, imageData: null,
   imageHeight: size_of("height"), imageWidth: size_of("width")} as $doc
| arg("images"; if .files.url then "url" else "copy" end) as $images
| {sx: "file", path: "\($stem).json", text: ($doc | tojson), item: .id, category: "data_file"},
  ( if $images == "none" then empty
    elif $images == "url" and .files.url then
      {sx: "file", path: $name, url: .files.url, item: .id, category: "original_file"}
    elif .files.path then
      {sx: "file", path: $name, src: .files.path, item: .id, category: "original_file"}
    else error("no image to bring: files has neither url nor path") end )
