/*
 * particles.c — a two-armed spiral galaxy of PARTICLES_COUNT stars, swirling.
 *
 * Format FP_FORMAT_POINTS, stateless: every star is a pure function of its index
 * and time (plus the aspect ratio, so the disc stays round), so any point range
 * can be computed on any instance in any order. Each star has hashed constants:
 *   - disc stars (4 of 5) ride one of GALAXY_ARMS logarithmic-looking spiral arms
 *     outward from the core, appearing and fading at the ends of their trip, while
 *     the whole pattern turns;
 *   - bulge stars (1 of 5) circle the core, the inner ones faster.
 * Colour goes from warm white in the core to blue at the rim, with a few pink
 * star-forming knots. z is the distance from the centre (0..1).
 *
 * Parameters: twist (how tightly the arms wind), star_size (a scale on every
 * star) and pointer_push. The pointer reacts: while it is over the frame
 * (FP_INPUT_POINTER_INSIDE), stars near it are pushed aside like light round a
 * lens, pointer_push strong, twice as far while a button is held.
 */
#include "framepipe.h"

/* Error codes returned by fp_init / fp_frame. */
enum {
    PARTICLES_OK = 0,
    PARTICLES_ERR_SIZE = 1,     /* width or height outside 1..PARTICLES_MAX_SIDE */
    PARTICLES_ERR_GROW = 2,     /* memory.grow failed */
    PARTICLES_ERR_NOT_INIT = 3, /* fp_frame before a successful fp_init */
    PARTICLES_ERR_RANGE = 4,    /* begin/end not a valid point range */
};

#define PARTICLES_COUNT 4096 /* fp_points(); nothing else changes it */
#define PARTICLES_MAX_SIDE 16384
#define PARTICLES_SEED 0x3C6EF372u

#define GALAXY_ARMS 2
#define GALAXY_TURN_HZ 0.025      /* the whole pattern's rotation, turns per second */
#define GALAXY_FLOW_HZ 0.04       /* trips along an arm per second, for the slowest star */
#define GALAXY_BULGE_EVERY 5      /* one star in 5 belongs to the bulge */

enum { PARAM_TWIST, PARAM_STAR_SIZE, PARAM_POINTER_PUSH };
FP_PARAMS({"twist", 0.0f, 12.0f, 5.0f},        /* radians of winding from core to rim */
          {"star_size", 0.25f, 4.0f, 1.0f},    /* scale on every star's size */
          {"pointer_push", 0.0f, 0.5f, 0.15f}) /* how far stars near the pointer move aside (clip units) */

#define LENS_RADIUS 0.35f /* stars within this distance of the pointer (clip units) are pushed */

static float g_scale_x, g_scale_y; /* aspect correction: the shorter side spans -1..1 */
static float *g_out;               /* PARTICLES_COUNT * FP_POINT_FLOATS f32 */

FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }

FP_EXPORT(fp_format) int32_t fp_format(void) { return FP_FORMAT_POINTS; }

FP_EXPORT(fp_points) int32_t fp_points(void) { return PARTICLES_COUNT; }

FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(g_out); }

FP_EXPORT(fp_init) int32_t fp_init(int32_t width, int32_t height) {
    if (width <= 0 || height <= 0 || width > PARTICLES_MAX_SIDE || height > PARTICLES_MAX_SIDE)
        return PARTICLES_ERR_SIZE;
    g_out = (float *)fp_heap_reserve((uint64_t)PARTICLES_COUNT * FP_POINT_FLOATS * sizeof(float));
    if (g_out == 0) return PARTICLES_ERR_GROW;
    g_scale_x = width > height ? (float)height / (float)width : 1.0f;
    g_scale_y = height > width ? (float)width / (float)height : 1.0f;
    return PARTICLES_OK;
}

FP_EXPORT(fp_frame) int32_t fp_frame(int32_t frame, double time, int32_t begin, int32_t end) {
    (void)frame; /* motion follows time only */
    if (g_out == 0) return PARTICLES_ERR_NOT_INIT;
    if (begin < 0 || end > PARTICLES_COUNT || begin > end) return PARTICLES_ERR_RANGE;

    /* Phases in double precision (time grows without bound), reduced to one turn. */
    const float turn = -FP_TWO_PI * (float)fp_fract(time * GALAXY_TURN_HZ);
    const float twist = fp_param(PARAM_TWIST), star_size = fp_param(PARAM_STAR_SIZE);
    /* The pointer in clip units (x right, y down, as the points are drawn), and how hard it pushes. */
    const int lens = fp_input(FP_INPUT_POINTER_INSIDE) > 0.5f;
    const float pointer_x = 2.0f * fp_input(FP_INPUT_POINTER_X) - 1.0f;
    const float pointer_y = 2.0f * fp_input(FP_INPUT_POINTER_Y) - 1.0f;
    const float push = fp_param(PARAM_POINTER_PUSH) * (fp_input(FP_INPUT_BUTTONS) > 0.5f ? 2.0f : 1.0f);

    for (int32_t i = begin; i < end; i++) {
        const uint32_t key = ((uint32_t)i * 4u) ^ PARTICLES_SEED;
        const float h0 = fp_hash_unitf(key), h1 = fp_hash_unitf(key + 1u);
        const float h2 = fp_hash_unitf(key + 2u), h3 = fp_hash_unitf(key + 3u);
        float radius, angle, size, alpha;
        if (i % GALAXY_BULGE_EVERY == 0) {
            /* Bulge: a dense core, radius ~ h0^2; inner stars orbit faster. */
            radius = 0.22f * h0 * h0 + 0.01f;
            const double hz = 0.05 / (double)(radius + 0.1f);
            angle = FP_TWO_PI * (h1 + (float)fp_fract(time * hz));
            size = 1.5f + 2.0f * h2;
            alpha = 0.55f;
        } else {
            /* Disc: position along the arm 0..1, flowing outward at a per-star speed. */
            const double speed = GALAXY_FLOW_HZ * (0.5 + (double)h1);
            const float along = (float)fp_fract((double)h0 + time * speed);
            radius = 0.08f + 0.86f * along;
            const int32_t arm = i % GALAXY_ARMS;
            const float spread = (h2 - 0.5f) * (0.9f - 0.5f * along); /* arms are thick near the core */
            angle = FP_TWO_PI * (float)arm / (float)GALAXY_ARMS + twist * radius + spread + turn;
            radius += 0.04f * (h3 - 0.5f);
            size = 1.0f + 2.5f * h3 * h3 * h3;
            /* Appear near the core, fade out at the rim. */
            alpha = 0.9f * fp_smoothstepf(0.0f, 0.08f, along) * (1.0f - fp_smoothstepf(0.8f, 1.0f, along));
        }

        float x = radius * fp_cosf(angle) * g_scale_x;
        float y = radius * fp_sinf(angle) * g_scale_y * 0.8f; /* tilted disc */
        if (lens) {
            /* Away from the pointer, most at its centre, smoothly to nothing at LENS_RADIUS. */
            const float dx = x - pointer_x, dy = y - pointer_y;
            const float distance = fp_sqrtf(dx * dx + dy * dy);
            if (distance < LENS_RADIUS && distance > 1e-6f) {
                const float shove = push * (1.0f - fp_smoothstepf(0.0f, LENS_RADIUS, distance)) / distance;
                x += dx * shove;
                y += dy * shove;
            }
        }
        const float rim = fp_clampf(radius / 0.94f, 0.0f, 1.0f);
        float r = fp_mixf(1.0f, 0.55f, rim), g = fp_mixf(0.88f, 0.7f, rim), b = fp_mixf(0.65f, 1.0f, rim);
        if (h2 > 0.97f && i % GALAXY_BULGE_EVERY != 0) { /* star-forming knot */
            r = 1.0f;
            g = 0.45f;
            b = 0.75f;
            size += 1.0f;
        }

        float *p = g_out + (uint32_t)i * FP_POINT_FLOATS;
        p[0] = fp_clampf(x, -1.0f, 1.0f);
        p[1] = fp_clampf(y, -1.0f, 1.0f);
        p[2] = rim;
        p[3] = size * star_size;
        p[4] = r;
        p[5] = g;
        p[6] = b;
        p[7] = alpha;
    }
    return PARTICLES_OK;
}
