/* sx-convert-yolo : items in, the file operations of a YOLO (Ultralytics) dataset out. */
#include "sx_cli.h"
#include "sx_convcli.h"
#include "sx_yolo.h"

#include <string.h>

static const char usage_text[] =
    "usage: sx-convert-yolo [options] [FILE...]\n"
    "\n"
    "Reads export items (NDJSON, zstd or plain; standard input without FILE) and\n"
    "writes the file operations of a YOLO dataset (Ultralytics layout) for sx-save:\n"
    "labels/[<split>/]<stem>.txt (empty for an image without objects), classes.txt,\n"
    "dataset.yaml and the images under images/[<split>/]. Boxes are clipped in corner\n"
    "form, normalised and printed %.6f; a box left without area is dropped and\n"
    "reported with an error record. Control records are forwarded in order; a failing\n"
    "item becomes an error record and the stream goes on.\n"
    "\n"
    "options:\n"
    SX_CONVCLI_HELP_IO
    "      --classes FILE  class names, one per line, in id order (ids from 0);\n"
    "                      default: the project configuration in meta, else sorted names\n"
    SX_CONVCLI_HELP_SPLIT
    "  -t, --task TASK     detect (class cx cy w h; default), segment (class x1 y1 …)\n"
    "                      or pose (class cx cy w h, then x y v per keypoint name)\n"
    "      --dataset-path DIR  the `path` written in dataset.yaml (default: empty,\n"
    "                      which Ultralytics reads as the directory of dataset.yaml)\n"
    "      --layout NAME   sx (default: dataset.yaml, which Ultralytics and FiftyOne's\n"
    "                      YOLOv5Dataset read) or datumaro (data.yaml, the name Datumaro\n"
    "                      detects and Roboflow writes; detect only for Datumaro)\n"
    SX_CONVCLI_HELP_TAIL
    "example:\n"
    "  sx-fetch --target assignment -f project=123 | sx-convert-yolo --task detect --split train=0.8,val=0.2 \\\n"
    "    | sx-save -o exports/yolo-123\n";

int main(int argc, char **argv)
{
    sx_cli_init("sx-convert-yolo");
    sx_convcli cli = {0};
    const char *task_name = NULL, *dataset_path = NULL, *layout = NULL;
    enum { OPT_DATASET_PATH = SX_CONVCLI_FIRST_FREE, OPT_LAYOUT };
    static const struct option longopts[] = {
        SX_COMMON_LONGOPTS,
        SX_CONVCLI_LONGOPTS,
        SX_CONVCLI_CLASSES_OPT,
        {"task", required_argument, NULL, 't'},
        {"dataset-path", required_argument, NULL, OPT_DATASET_PATH},
        {"layout", required_argument, NULL, OPT_LAYOUT},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = sx_convcli_next(&cli, argc, argv, SX_CONVCLI_SHORTOPTS "t:", longopts, usage_text)) != -1) {
        switch (c) {
        case 't': task_name = optarg; break;
        case OPT_DATASET_PATH: dataset_path = optarg; break;
        case OPT_LAYOUT: layout = optarg; break;
        default: sx_bad_option('?', argv);
        }
    }
    sx_conv_opts co = {.stage = "sx-convert-yolo", .parse_dm = 1, .need_size = 1};
    sx_convcli_finish(&cli, &co, argc - optind, argv + optind);
    sx_yolo_task task = SX_YOLO_DETECT;
    if (task_name && sx_yolo_task_parse(task_name, &task) < 0)
        sx_usage_error("--task: '%s' is not detect, segment or pose", task_name);
    sx_yolo_layout lay = SX_YOLO_LAYOUT_SX;
    if (layout && strcmp(layout, "datumaro") == 0)
        lay = SX_YOLO_LAYOUT_DATUMARO;
    else if (layout && strcmp(layout, "sx") != 0)
        sx_usage_error("--layout: '%s' is not sx or datumaro", layout);
    sx_yolo_opts fo = {.task = task, .classes_file = cli.classes, .dataset_path = dataset_path, .layout = lay,
                       .split = cli.split};
    char err[512];
    sx_yolo *conv = sx_yolo_new(&fo, err, sizeof err);
    if (!conv)
        sx_die(SX_EXIT_FAIL, "%s", err);
    sx_conv_ops ops = sx_yolo_ops(conv);
    int code = sx_convcli_run(&cli, &co, &ops);
    sx_yolo_free(conv);
    sx_convcli_free(&cli);
    return code;
}
