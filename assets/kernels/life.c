/*
 * life.c — Conway's Game of Life on a torus, one generation per frame.
 *
 * Format FP_FORMAT_RGBA8, STATEFUL (fp_stateful returns 1): each fp_frame call
 * advances the grid by one generation and draws it, so the host runs this kernel
 * on one instance, whole frame, frames in order. The frame number is not used:
 * a fresh instance starts from the same seed whatever frame it is asked for.
 *
 * One cell is LIFE_CELL_PX x LIFE_CELL_PX pixels. fp_init seeds a random soup in
 * a central ellipse (fixed hash seed, so every run is the same) and, when the grid
 * is big enough, a Gosper glider gun near the top-left corner, whose gliders fly
 * into the soup. Live cells are
 * drawn white-ish; dead cells dark, with a fading blue trail where life was.
 */
#include "framepipe.h"

/* Error codes returned by fp_init / fp_frame. */
enum {
    LIFE_OK = 0,
    LIFE_ERR_SIZE = 1,     /* width or height outside 1..LIFE_MAX_SIDE */
    LIFE_ERR_GROW = 2,     /* memory.grow failed */
    LIFE_ERR_NOT_INIT = 3, /* fp_frame before a successful fp_init */
    LIFE_ERR_RANGE = 4,    /* not the whole frame [0, height): stateful kernels need it */
};

#define LIFE_MAX_SIDE 8192
#define LIFE_CELL_PX 2             /* pixels per cell side */
#define LIFE_SEED 0x5EED1234u      /* soup seed */
#define LIFE_SOUP_DENSITY 0.35f    /* fraction of soup cells alive at the start */
#define LIFE_SOUP_RADIUS 0.7f      /* the soup is an ellipse this wide (1 = touching the edges) */

/* Cell bytes: ALIVE, or the trail brightness left behind by a dead cell (0..TRAIL_START),
 * which dims by TRAIL_DECAY each generation. */
#define ALIVE 255u
#define TRAIL_START 160u
#define TRAIL_DECAY 8u

/* The Gosper glider gun (36 x 9 cells), the first known infinite-growth pattern. */
#define GUN_W 36
#define GUN_H 9
#define GUN_MARGIN 4 /* cleared cells around the gun */
static const char k_gun[GUN_H][GUN_W + 1] = {
    "........................O...........",
    "......................O.O...........",
    "............OO......OO............OO",
    "...........O...O....OO............OO",
    "OO........O.....O...OO..............",
    "OO........O...O.OO....O.O...........",
    "..........O.....O.......O...........",
    "...........O...O....................",
    "............OO......................",
};

static int32_t g_width, g_height; /* pixels */
static int32_t g_cols, g_rows;    /* cells */
static uint8_t *g_cells;          /* current generation, g_cols * g_rows */
static uint8_t *g_next;           /* the generation being computed */
static uint8_t *g_out;            /* RGBA8 output, width * height * 4 bytes */

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }

FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_RGBA8; }

FP_EXPORT(fp_stateful) int32_t fp_stateful(void) { return 1; }

FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

static void seed(void) {
    const uint32_t cells = (uint32_t)g_cols * (uint32_t)g_rows;
    const int with_gun = g_cols >= GUN_W + 2 * GUN_MARGIN && g_rows >= GUN_H + 2 * GUN_MARGIN;
    for (uint32_t i = 0; i < cells; i++) {
        const int32_t col = (int32_t)(i % (uint32_t)g_cols), row = (int32_t)(i / (uint32_t)g_cols);
        /* Position relative to the centre, -1..1 on each axis: the soup fills an ellipse. */
        const float u = 2.0f * ((float)col + 0.5f) / (float)g_cols - 1.0f;
        const float v = 2.0f * ((float)row + 0.5f) / (float)g_rows - 1.0f;
        const int in_gun_box = with_gun && col < GUN_W + 2 * GUN_MARGIN && row < GUN_H + 2 * GUN_MARGIN;
        const int in_soup = u * u + v * v < LIFE_SOUP_RADIUS * LIFE_SOUP_RADIUS;
        g_cells[i] = in_soup && !in_gun_box && fp_hash_unitf(i ^ LIFE_SEED) < LIFE_SOUP_DENSITY ? ALIVE : 0u;
    }
    if (!with_gun) return;
    for (int32_t r = 0; r < GUN_H; r++)
        for (int32_t c = 0; c < GUN_W; c++)
            if (k_gun[r][c] == 'O')
                g_cells[(uint32_t)(r + GUN_MARGIN) * (uint32_t)g_cols + (uint32_t)(c + GUN_MARGIN)] = ALIVE;
}

FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
    if (width <= 0 || height <= 0 || width > LIFE_MAX_SIDE || height > LIFE_MAX_SIDE) return LIFE_ERR_SIZE;
    const int32_t cols = (width + LIFE_CELL_PX - 1) / LIFE_CELL_PX;
    const int32_t rows = (height + LIFE_CELL_PX - 1) / LIFE_CELL_PX;
    const uint64_t cells = (uint64_t)cols * (uint64_t)rows;
    const uint64_t cells_bytes = (cells + 15u) & ~(uint64_t)15u; /* keep g_out 16-byte aligned */
    uint8_t *heap = (uint8_t *)fp_heap_reserve(2u * cells_bytes + (uint64_t)width * (uint64_t)height * 4u);
    if (heap == 0) return LIFE_ERR_GROW;
    g_cells = heap;
    g_next = heap + cells_bytes;
    g_out = heap + 2u * cells_bytes;
    g_width = width;
    g_height = height;
    g_cols = cols;
    g_rows = rows;
    seed();
    return LIFE_OK;
}

/* One generation: g_cells -> g_next (B3/S23 on a torus), then swap. */
static void step(void) {
    const int32_t cols = g_cols, rows = g_rows;
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *up = g_cells + (uint32_t)(r == 0 ? rows - 1 : r - 1) * (uint32_t)cols;
        const uint8_t *mid = g_cells + (uint32_t)r * (uint32_t)cols;
        const uint8_t *down = g_cells + (uint32_t)(r == rows - 1 ? 0 : r + 1) * (uint32_t)cols;
        uint8_t *out = g_next + (uint32_t)r * (uint32_t)cols;
        for (int32_t c = 0; c < cols; c++) {
            const int32_t left = c == 0 ? cols - 1 : c - 1, right = c == cols - 1 ? 0 : c + 1;
            const int32_t neighbours = (up[left] == ALIVE) + (up[c] == ALIVE) + (up[right] == ALIVE)
                                     + (mid[left] == ALIVE) + (mid[right] == ALIVE)
                                     + (down[left] == ALIVE) + (down[c] == ALIVE) + (down[right] == ALIVE);
            const uint8_t self = mid[c];
            if (neighbours == 3 || (neighbours == 2 && self == ALIVE)) out[c] = ALIVE;
            else if (self == ALIVE) out[c] = TRAIL_START;             /* just died */
            else out[c] = self > TRAIL_DECAY ? (uint8_t)(self - TRAIL_DECAY) : 0u; /* trail fades */
        }
    }
    uint8_t *swap = g_cells;
    g_cells = g_next;
    g_next = swap;
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* one generation per call, whatever the frame number */
    (void)time;
    if (g_width <= 0) return LIFE_ERR_NOT_INIT;
    if (begin != 0 || end != g_height) return LIFE_ERR_RANGE;

    step();

    for (int32_t y = 0; y < g_height; y++) {
        const uint8_t *cells = g_cells + (uint32_t)(y / LIFE_CELL_PX) * (uint32_t)g_cols;
        uint8_t *px = g_out + (uint32_t)y * (uint32_t)g_width * 4u;
        for (int32_t x = 0; x < g_width; x++, px += 4) {
            const uint32_t cell = cells[x / LIFE_CELL_PX];
            if (cell == ALIVE) {
                px[0] = 240;
                px[1] = 240;
                px[2] = 225;
            } else { /* dark background plus a blue glow for the trail */
                px[0] = (uint8_t)(10u + cell / 8u);
                px[1] = (uint8_t)(12u + cell / 3u);
                px[2] = (uint8_t)(20u + cell * 3u / 4u);
            }
            px[3] = 255;
        }
    }
    return LIFE_OK;
}
