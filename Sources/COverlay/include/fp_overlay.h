// The viewer's overlay (Dear ImGui 1.86 from Debian's libimgui-dev, its GLFW and Vulkan backends), behind a C API
// that Swift imports (docs/architecture.md, "Overlay"). One overlay per process: Dear ImGui's backends keep global
// state. Every call is made on the thread that owns the window and the Vulkan queue (the viewer's main thread).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_overlay fp_overlay;

/// Vulkan and GLFW handles travel as `void *` (every one is a pointer on the 64-bit targets Framepipe builds for), so
/// this header needs neither vulkan.h nor glfw3.h: Swift sees those through CVulkan and CGLFW only.
///
/// What the overlay draws with. `render_pass` is the pass the overlay is recorded in (its colour attachment is the
/// swapchain image, loaded); `image_count` the frames the renderer has in flight (≥ 2): Dear ImGui keeps that many
/// vertex buffers and reuses one only after the renderer waited for the frame that used it.
typedef struct {
    void *instance;         // VkInstance
    void *physical_device;  // VkPhysicalDevice
    void *device;           // VkDevice
    uint32_t queue_family;
    void *queue;            // VkQueue
    void *render_pass;      // VkRenderPass
    uint32_t image_count;
    void *window;           // GLFWwindow *
} fp_overlay_setup;

/// Creates the overlay, uploads its font (a submit on `queue`, waited for) and chains GLFW's input callbacks to the
/// ones installed before. NULL on failure, with a one-line reason in `error`.
fp_overlay *fp_overlay_create(const fp_overlay_setup *setup, char *error, size_t error_capacity);
/// Waits for nothing: the caller has waited until the device is idle. Gives GLFW its callbacks back.
void fp_overlay_destroy(fp_overlay *overlay);

/// One stage of the frame record (compute, handoff_wait, upload, gpu, present): its name, its colour (0xAARRGGBB)
/// and the last frame's value in ms (NaN when that frame did not measure it).
typedef struct {
    const char *name;
    uint32_t colour;
    float last_ms;
    float median_ms;
} fp_overlay_stage;

/// A kernel parameter shown as a slider; the slider writes `*value`, and `rect` (when not NULL) gets where the slider
/// was drawn: x0, y0, x1, y1 in window pixels.
typedef struct {
    const char *name;
    float minimum, maximum;
    float *value;
    float *rect;
} fp_overlay_parameter;

/// Everything one overlay frame shows. Strings are UTF-8 and may be NULL (not shown); they are read during
/// fp_overlay_build only.
typedef struct {
    const char *kernel;
    const char *engine;
    const char *device;
    const char *upload;
    const char *compute_rate;
    int32_t workers;
    float fps;
    float interval_p50_ms, interval_p99_ms;
    /// The display's frame time: the plot's target line.
    float target_ms;
    /// The plot's top (ms).
    float top_ms;
    uint64_t frame_on_screen;
    uint64_t dropped, failed, stale;
    const fp_overlay_stage *stages;
    int32_t stage_count;
    /// frame_count × stage_count values (ms, NaN where not measured), oldest frame first: the stacked bars.
    const float *history;
    int32_t frame_count;
    /// "running", "paused", "disabled", "hidden" …
    const char *state;
    /// The last reload's result ("reloaded …" or "reload refused: …"), or NULL.
    const char *reload;
    bool reload_failed;
    /// Why the kernel is disabled, or NULL.
    const char *disabled_reason;
    /// The last faults, newest last (already one line each, bounded).
    const char *const *faults;
    int32_t fault_count;
    const fp_overlay_parameter *parameters;
    int32_t parameter_count;
    const char *help;
} fp_overlay_frame;

/// Builds the overlay's draw lists for this frame (input from GLFW is read here).
void fp_overlay_build(fp_overlay *overlay, const fp_overlay_frame *frame);
/// Records the draw lists of the last fp_overlay_build into `command_buffer`, inside the overlay's render pass.
void fp_overlay_record(fp_overlay *overlay, void *command_buffer /* VkCommandBuffer */);
/// Whether the overlay wants the keyboard / the pointer (a slider is being dragged, the pointer is over it): the
/// viewer then leaves those events to it.
bool fp_overlay_wants_keyboard(const fp_overlay *overlay);
bool fp_overlay_wants_pointer(const fp_overlay *overlay);
/// The first Vulkan error (a VkResult) a backend call returned since creation; 0 (VK_SUCCESS) if none.
int32_t fp_overlay_vulkan_error(const fp_overlay *overlay);

#ifdef __cplusplus
}
#endif
