/*
 * libc.c: a C kernel with wasi-libc (malloc, printf, qsort, sinf, fopen), built from source by
 * scripts/build-test-kernels.sh in the test suite (WASIKernelSourceTests) and run on both engines with
 * --data holding input.txt. The test checks:
 *   - the log lines "libc kernel ready: sorted 64 values, sinf(1)=0.841471", "read: <input.txt>",
 *     "escape: refused" (fopen("../etc/passwd") is refused by the data directory);
 *   - the output: row y, pixel x has red = sorted[(x + y) % 64] * 127 + 128, so red rises along
 *     row 0 for x in 0..<64, and green = the frame number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include "framepipe.h"
static uint8_t *out; static int W, H; static float *values;
static int cmp(const void *a, const void *b) { float x=*(const float*)a, y=*(const float*)b; return (x>y)-(x<y); }
FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }
FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }
FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(out); }
FP_EXPORT(fp_init) int32_t fp_init(int32_t w, int32_t h) {
  W=w; H=h; out = malloc((size_t)w*h*4); values = malloc(64*sizeof(float));
  for (int i=0;i<64;i++) values[i] = sinf((float)i * 0.7f);
  qsort(values, 64, sizeof(float), cmp);
  printf("libc kernel ready: sorted 64 values, sinf(1)=%f\n", sinf(1.0f));
  FILE *f = fopen("input.txt", "rb"); char buf[32] = {0};
  if (f) { fread(buf, 1, 31, f); fclose(f); printf("read: %s\n", buf); } else printf("no input.txt\n");
  FILE *g = fopen("../etc/passwd", "rb"); printf("escape: %s\n", g ? "OPENED" : "refused");
  return out && values ? 0 : 1;
}
FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double t, int32_t b, int32_t e) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  if (b == 0 && frame < 2) printf("frame %d clock %ld.%09ld rand %d\n", frame, (long)ts.tv_sec, ts.tv_nsec, rand());
  for (int y=b;y<e;y++) for (int x=0;x<W;x++) { uint8_t *p = out + (y*W+x)*4; p[0]=(uint8_t)(values[(x+y)%64]*127+128); p[1]=(uint8_t)frame; p[2]=0; p[3]=255; }
  return 0;
}
