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
 *
 * The SIMD build (-msimd128) and native builds step and draw 16 cells per vector (clang's vector
 * extensions: next16, draw16); the MVP build keeps the scalar loops, since the same vector code
 * scalarised runs 1.7x slower in wasmtime, and WasmKit runs the MVP build.
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
_Static_assert(LIFE_CELL_PX == 2, "fp_frame draws two pixels per cell (g_rgba2)");
#define LIFE_SEED 0x5EED1234u      /* soup seed */
#define LIFE_SOUP_DENSITY 0.35f    /* fraction of soup cells alive at the start */
#define LIFE_SOUP_RADIUS 0.7f      /* the soup is an ellipse this wide (1 = touching the edges) */

/* Cell bytes: ALIVE, or the trail brightness left behind by a dead cell (0..TRAIL_START),
 * which dims by TRAIL_DECAY each generation. */
#define ALIVE 255u
#define TRAIL_START 160u
#define TRAIL_DECAY 8u

/* Colours: a live cell's, and a dead one's from its trail byte (a dark background plus a blue
 * glow), written once for the colour table (fp_init) and draw16, which computes them 16 cells at
 * a time: CELL is a cell byte, or a vector of them in u16 lanes. cell * 171 / 512 is cell / 3 for
 * every byte. */
#define ALIVE_R 240
#define ALIVE_G 240
#define ALIVE_B 225
#define DEAD_R(cell) (10 + (cell) / 8)
#define DEAD_G(cell) (12 + (cell) * 171 / 512)
#define DEAD_B(cell) (20 + (cell) * 3 / 4)

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
static uint8_t g_rgba2[256][8];   /* per cell byte: its RGBA colour twice (two pixels), from fp_init */

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
    for (uint32_t cell = 0; cell < 256u; cell++) {
        uint8_t *rgba = g_rgba2[cell];
        if (cell == ALIVE) {
            rgba[0] = ALIVE_R;
            rgba[1] = ALIVE_G;
            rgba[2] = ALIVE_B;
        } else {
            rgba[0] = (uint8_t)DEAD_R(cell);
            rgba[1] = (uint8_t)DEAD_G(cell);
            rgba[2] = (uint8_t)DEAD_B(cell);
        }
        rgba[3] = 255;
        __builtin_memcpy(rgba + 4, rgba, 4);
    }
    seed();
    return LIFE_OK;
}

/* 1 if cell byte v is ALIVE, else 0. ALIVE (255) is the only cell byte with both top bits set
 * (a trail is at most TRAIL_START < 192); unlike (v == ALIVE) this stays 8-bit arithmetic, so
 * where clang vectorises a loop of next_cell it does 16 cells per vector instead of widening
 * every count to 32 bits. */
_Static_assert(TRAIL_START < 192u && ALIVE == 255u, "is_alive() needs trail bytes below 192");
static inline uint8_t is_alive(uint8_t v) { return (uint8_t)(v >> 7 & v >> 6); }

/* The next state of the cell in column c of row `mid` (rows up and down around it, columns
 * l and r beside it): B3/S23, and a trail that fades after a cell dies. */
static inline uint8_t next_cell(const uint8_t *up, const uint8_t *mid, const uint8_t *down,
                                int32_t l, int32_t c, int32_t r) {
    const uint8_t neighbours = (uint8_t)(is_alive(up[l]) + is_alive(up[c]) + is_alive(up[r])
                                         + is_alive(mid[l]) + is_alive(mid[r])
                                         + is_alive(down[l]) + is_alive(down[c]) + is_alive(down[r]));
    const uint8_t self = mid[c];
    const uint8_t faded = self > TRAIL_DECAY ? (uint8_t)(self - TRAIL_DECAY) : 0u;
    const uint8_t dead = self == ALIVE ? (uint8_t)TRAIL_START : faded; /* just died, or fading */
    return neighbours == 3 || (neighbours == 2 && self == ALIVE) ? (uint8_t)ALIVE : dead;
}

#define LIFE_VECTORS FP_V128
#if LIFE_VECTORS

/* For wasmtime's deadline guard (README.md, "The deadline guard"), the SIMD build steps and draws rows at least
 * LIFE_BLOCK_CELLS wide in blocks of that many cells, four vectors per call of step_block or draw_block; a row's
 * last block overlaps the one before it (those cells get the same values again: the step's output is not read
 * while it is written, the draw writes the same pixels), so there is no remainder loop, whose back-edge per vector
 * cost as much as the blocks. The native loops are left as they are. */
#if defined(__wasm__)
#define LIFE_BLOCKS 1
/* 64 rather than 128: on an EPYC 7001, median 1.19x native against 1.26x, draw_block's machine code at 128 being
 * 7.3 KB (as grayscott's GS_BLOCK; 32 was 1.30-1.33x). */
#define LIFE_BLOCK_CELLS 64
/* Rows too narrow for one block: two vectors per back-edge (1.2x faster at 128x128 than one; blocks of 32 cells in
 * functions of their own were no faster than this, their calls costing what the checks did). */
#define LIFE_NARROW_ROW_LOOP _Pragma("clang loop unroll_count(2)")
#else
#define LIFE_BLOCKS 0
#define LIFE_NARROW_ROW_LOOP
#endif

typedef fp_v128 u8x16;
typedef uint16_t u16x8 __attribute__((vector_size(16)));

static inline u8x16 load16(const uint8_t *p) { return fp_load_v128(p); }
static inline void store16(uint8_t *p, u8x16 v) { fp_store_v128(p, v); }

/* next_cell of the 16 cells from column c of row `mid` (c >= 1, c + 16 <= cols - 1): a live
 * neighbour is a byte equal to ALIVE, whose mask is 0xFF (-1), so the masks' sum is minus the
 * count of live neighbours. */
static inline u8x16 next16(const uint8_t *up, const uint8_t *mid, const uint8_t *down, int32_t c) {
    const u8x16 alive = (u8x16){0} + (uint8_t)ALIVE;
    const u8x16 self = load16(mid + c);
    const u8x16 minus_count = (u8x16)(load16(up + c - 1) == alive) + (u8x16)(load16(up + c) == alive)
                            + (u8x16)(load16(up + c + 1) == alive) + (u8x16)(load16(mid + c - 1) == alive)
                            + (u8x16)(load16(mid + c + 1) == alive) + (u8x16)(load16(down + c - 1) == alive)
                            + (u8x16)(load16(down + c) == alive) + (u8x16)(load16(down + c + 1) == alive);
    const u8x16 self_alive = (u8x16)(self == alive);
    const u8x16 lives = (u8x16)(minus_count == (u8x16){0} - 3) | ((u8x16)(minus_count == (u8x16){0} - 2) & self_alive);
    const u8x16 faded = __builtin_elementwise_sub_sat(self, (u8x16){0} + (uint8_t)TRAIL_DECAY);
    const u8x16 dead = (self_alive & (uint8_t)TRAIL_START) | (~self_alive & faded);
    return lives | (~lives & dead);
}
#endif

#if LIFE_BLOCKS
/* next16 of LIFE_BLOCK_CELLS cells, from the column the pointers point at (as next16's c): a function of its own
 * without a loop, whose entry is its only epoch check, so Cranelift keeps the vector constants in registers instead
 * of spilling and reloading them around the check of a loop it is inlined into. */
__attribute__((noinline)) static void step_block(const uint8_t *restrict up, const uint8_t *restrict mid,
                                                 const uint8_t *restrict down, uint8_t *restrict out) {
#pragma clang loop unroll(full)
    for (int32_t i = 0; i < LIFE_BLOCK_CELLS; i += 16) store16(out + i, next16(up, mid, down, i));
}
#endif

/* One generation: g_cells -> g_next (B3/S23 on a torus), then swap. Each row is split into its
 * first column, the interior and its last column, so that the interior has no wraparound
 * selects: 16 cells at a time where there are vectors (next16), the rest one by one. */
static void step(void) {
    const int32_t cols = g_cols, rows = g_rows;
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *up = g_cells + (uint32_t)(r == 0 ? rows - 1 : r - 1) * (uint32_t)cols;
        const uint8_t *mid = g_cells + (uint32_t)r * (uint32_t)cols;
        const uint8_t *down = g_cells + (uint32_t)(r == rows - 1 ? 0 : r + 1) * (uint32_t)cols;
        uint8_t *restrict out = g_next + (uint32_t)r * (uint32_t)cols;
        const int32_t last = cols - 1;
        /* c = 0: the left neighbour wraps to the last column (itself when cols == 1). */
        out[0] = next_cell(up, mid, down, last, 0, cols == 1 ? 0 : 1);
        int32_t c = 1;
#if LIFE_VECTORS
#if LIFE_BLOCKS
        if (last - 1 >= LIFE_BLOCK_CELLS) {
            while (c < last) {
                const int32_t base = c + LIFE_BLOCK_CELLS <= last ? c : last - LIFE_BLOCK_CELLS;
                step_block(up + base, mid + base, down + base, out + base);
                c = base + LIFE_BLOCK_CELLS;
            }
        }
#endif
        LIFE_NARROW_ROW_LOOP
        for (; c + 16 <= last; c += 16) store16(out + c, next16(up, mid, down, c));
        if (c < last && last > 16) {
            /* The rest as one vector ending at the last interior cell: it overlaps cells done
             * already, which get the same values again (out is not read here). */
            store16(out + last - 16, next16(up, mid, down, last - 16));
            c = last;
        }
#endif
        for (; c < last; c++) out[c] = next_cell(up, mid, down, c - 1, c, c + 1);
        /* c = cols - 1 (cols >= 2): the right neighbour wraps to column 0. */
        if (cols >= 2) out[last] = next_cell(up, mid, down, last - 1, last, 0);
    }
    uint8_t *swap = g_cells;
    g_cells = g_next;
    g_next = swap;
}

#if LIFE_VECTORS
/* u16 lanes of v's first and last 8 bytes, and back (the low byte of each lane). */
static inline u16x8 widen_low(u8x16 v) {
    return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), u16x8);
}
static inline u16x8 widen_high(u8x16 v) {
    return __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15), u16x8);
}
static inline u8x16 narrow(u16x8 low, u16x8 high) {
    return __builtin_shufflevector((u8x16)low, (u8x16)high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

/* Two cells' pixels, each twice (pixels `first` and `second` of the 4 RGBA pixels in px), to the
 * same 16 bytes of both pixel rows. */
#define STORE_CELL_PAIR(px, first, second, offset)                                                      \
    do {                                                                                                \
        const u8x16 pair_ = __builtin_shufflevector(px, px, 4 * (first), 4 * (first) + 1, 4 * (first) + 2, \
            4 * (first) + 3, 4 * (first), 4 * (first) + 1, 4 * (first) + 2, 4 * (first) + 3, 4 * (second), \
            4 * (second) + 1, 4 * (second) + 2, 4 * (second) + 3, 4 * (second), 4 * (second) + 1,          \
            4 * (second) + 2, 4 * (second) + 3);                                                        \
        store16(top + (offset), pair_);                                                                 \
        store16(bottom + (offset), pair_);                                                              \
    } while (0)

/* 16 cells -> their 32 RGBA pixels (two per cell) in both pixel rows: g_rgba2's colours,
 * computed 16 at a time instead of looked up. */
static inline void draw16(u8x16 cells, uint8_t *top, uint8_t *bottom) {
    const u16x8 low = widen_low(cells), high = widen_high(cells);
    const u8x16 alive = (u8x16)(cells == (u8x16){0} + (uint8_t)ALIVE);
    const u8x16 r = (alive & ALIVE_R) | (~alive & narrow(DEAD_R(low), DEAD_R(high)));
    const u8x16 g = (alive & ALIVE_G) | (~alive & narrow(DEAD_G(low), DEAD_G(high)));
    const u8x16 b = (alive & ALIVE_B) | (~alive & narrow(DEAD_B(low), DEAD_B(high)));
    const u8x16 a = (u8x16){0} + (uint8_t)255;
    /* Interleave to RGBA: r g pairs and b a pairs, then pixels 0-3, 4-7, 8-11, 12-15. */
    const u8x16 rg_low = __builtin_shufflevector(r, g, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const u8x16 rg_high = __builtin_shufflevector(r, g, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const u8x16 ba_low = __builtin_shufflevector(b, a, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const u8x16 ba_high = __builtin_shufflevector(b, a, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const u8x16 px0 = __builtin_shufflevector(rg_low, ba_low, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const u8x16 px1 = __builtin_shufflevector(rg_low, ba_low, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const u8x16 px2 = __builtin_shufflevector(rg_high, ba_high, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const u8x16 px3 = __builtin_shufflevector(rg_high, ba_high, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    STORE_CELL_PAIR(px0, 0, 1, 0);
    STORE_CELL_PAIR(px0, 2, 3, 16);
    STORE_CELL_PAIR(px1, 0, 1, 32);
    STORE_CELL_PAIR(px1, 2, 3, 48);
    STORE_CELL_PAIR(px2, 0, 1, 64);
    STORE_CELL_PAIR(px2, 2, 3, 80);
    STORE_CELL_PAIR(px3, 0, 1, 96);
    STORE_CELL_PAIR(px3, 2, 3, 112);
}
#endif

#if LIFE_BLOCKS
/* draw16 of LIFE_BLOCK_CELLS cells from the one `cells` points at, in a function of its own as step_block. */
__attribute__((noinline)) static void draw_block(const uint8_t *restrict cells, uint8_t *top, uint8_t *bottom) {
#pragma clang loop unroll(full)
    for (int32_t i = 0; i < LIFE_BLOCK_CELLS; i += 16) draw16(load16(cells + i), top + 8 * i, bottom + 8 * i);
}
#endif

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* one generation per call, whatever the frame number */
    (void)time;
    if (g_width <= 0) return LIFE_ERR_NOT_INIT;
    if (begin != 0 || end != g_height) return LIFE_ERR_RANGE;

    step();

    const int32_t w = g_width;
    const uint32_t row_bytes = (uint32_t)w * 4u;
#if LIFE_VECTORS
    const int32_t pairs = w / 2; /* cells with both their pixels in the row */
    /* A cell row gives LIFE_CELL_PX identical pixel rows, drawn in one pass: 16 cells at a time
     * (draw16), the rest from the colour table, one 8-byte copy (two pixels) per cell and row. */
    for (int32_t y = 0; y < g_height; y += LIFE_CELL_PX) {
        uint8_t *top = g_out + (uint32_t)y * row_bytes;
        /* An odd height's last cell row has one pixel row: it is drawn twice, in place. */
        uint8_t *bottom = y + 1 < g_height ? top + row_bytes : top;
        const uint8_t *cells = g_cells + (uint32_t)(y / LIFE_CELL_PX) * (uint32_t)g_cols;
        int32_t c = 0;
#if LIFE_BLOCKS
        if (pairs >= LIFE_BLOCK_CELLS) {
            while (c < pairs) {
                const int32_t base = c + LIFE_BLOCK_CELLS <= pairs ? c : pairs - LIFE_BLOCK_CELLS;
                draw_block(cells + base, top + 8 * base, bottom + 8 * base);
                c = base + LIFE_BLOCK_CELLS;
            }
        }
#endif
        LIFE_NARROW_ROW_LOOP
        for (; c + 16 <= pairs; c += 16) draw16(load16(cells + c), top + 8 * c, bottom + 8 * c);
        for (; c < pairs; c++) {
            __builtin_memcpy(top + 8 * c, g_rgba2[cells[c]], 8);
            __builtin_memcpy(bottom + 8 * c, g_rgba2[cells[c]], 8);
        }
        if (w % 2 != 0) { /* odd width */
            __builtin_memcpy(top + 8 * pairs, g_rgba2[cells[pairs]], 4);
            __builtin_memcpy(bottom + 8 * pairs, g_rgba2[cells[pairs]], 4);
        }
    }
#else
    /* A cell row gives LIFE_CELL_PX identical pixel rows: the first is drawn from the colour
     * table, one 8-byte copy (two pixels) per cell, and copied to the second. */
    for (int32_t y = 0; y < g_height; y++) {
        uint8_t *px = g_out + (uint32_t)y * row_bytes;
        if (y % LIFE_CELL_PX != 0) {
            __builtin_memcpy(px, px - row_bytes, row_bytes);
            continue;
        }
        const uint8_t *cells = g_cells + (uint32_t)(y / LIFE_CELL_PX) * (uint32_t)g_cols;
        const int32_t pairs = w / 2; /* cells with both their pixels in the row */
        for (int32_t c = 0; c < pairs; c++) __builtin_memcpy(px + 8 * c, g_rgba2[cells[c]], 8);
        if (w % 2 != 0) __builtin_memcpy(px + 8 * pairs, g_rgba2[cells[pairs]], 4); /* odd width */
    }
#endif
    return LIFE_OK;
}
