/* gen-items N [SEED] : writes a synthetic export stream for the converter
 * benchmarks: a meta record, N DM v1 items with on average 4 annotations
 * (about 85% bounding boxes, 10% polygons of 5 points, 5% keypoints; a few
 * boxes partly outside the image), 12 classes, file sizes 1920x1080, two
 * splits, and an end record. Deterministic for a given seed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t st;
static uint32_t rnd(void)
{
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(st >> 33);
}
static double uni(double a, double b) { return a + (b - a) * (rnd() / 2147483648.0); }

static const char *const classes[] = {"car", "person", "bicycle", "truck", "bus", "traffic light",
                                      "stop sign", "dog", "cat", "motorcycle", "bench", "train"};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen-items N [SEED]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    st = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    static char buf[1 << 20];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    printf("{\"sx\":\"meta\",\"target\":\"bench\",\"total\":%ld}\n", n);
    for (long i = 1; i <= n; i++) {
        int k = 1 + (int)(rnd() % 7); /* 1..7, mean 4 */
        printf("{\"id\":%ld,\"files\":{\"url\":\"http://127.0.0.1:1/media/%ld.jpg\",\"file_name_original\":\"%ld.jpg\","
               "\"width\":1920,\"height\":1080},\"data\":{\"annotations\":{\"image_1\":[",
               i, i, i);
        int tool[8];
        for (int j = 0; j < k; j++) {
            uint32_t r = rnd() % 100;
            tool[j] = r < 85 ? 0 : r < 95 ? 1 : 2;
            static const char *const tn[] = {"bounding_box", "polygon", "keypoint"};
            printf("%s{\"id\":\"%08x\",\"tool\":\"%s\",\"isLocked\":false,\"isVisible\":true,"
                   "\"classification\":{\"class\":\"%s\"}}",
                   j ? "," : "", (unsigned)(i * 8 + j), tn[tool[j]], tool[j] == 2 ? "nose" : classes[rnd() % 12]);
        }
        printf("]},\"annotationsData\":{\"image_1\":[");
        for (int j = 0; j < k; j++) {
            printf("%s{\"id\":\"%08x\",\"coordinate\":", j ? "," : "", (unsigned)(i * 8 + j));
            if (tool[j] == 0) {
                printf("{\"x\":%.2f,\"y\":%.2f,\"width\":%.2f,\"height\":%.2f}}", uni(-20, 1800), uni(-20, 1000),
                       uni(5, 300), uni(5, 300));
            } else if (tool[j] == 1) {
                double cx = uni(100, 1800), cy = uni(100, 980);
                printf("[");
                for (int p = 0; p < 5; p++)
                    printf("%s{\"x\":%.2f,\"y\":%.2f}", p ? "," : "", cx + uni(-90, 90), cy + uni(-90, 90));
                printf("]}");
            } else {
                printf("{\"x\":%.2f,\"y\":%.2f}}", uni(0, 1920), uni(0, 1080));
            }
        }
        printf("]},\"relations\":{},\"annotationGroups\":{},\"extra\":{}},\"split\":\"%s\"}\n",
               rnd() % 5 ? "train" : "val");
    }
    printf("{\"sx\":\"end\",\"count\":%ld}\n", n);
    return fflush(stdout) ? 1 : 0;
}
