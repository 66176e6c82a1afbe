// The viewer's overlay: Dear ImGui 1.86 (Debian libimgui-dev; libimgui.a holds the GLFW and Vulkan backends) drawn
// into the viewer's own render pass. The C API and its threading rule are in include/fp_overlay.h.
//
// Invariants:
// - One overlay at a time (Dear ImGui's backends keep global state): fp_overlay_create refuses a second one.
// - Strings and arrays in fp_overlay_frame are read only during fp_overlay_build; nothing keeps a pointer to them.
// - The Vulkan objects made here (descriptor pool, the font upload's command pool and fence) live until
//   fp_overlay_destroy, which the renderer calls once the device is idle; the backend's own objects go with
//   ImGui_ImplVulkan_Shutdown there.
#include "fp_overlay.h"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_vulkan.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

static_assert(sizeof(VkRenderPass) == sizeof(void *), "Vulkan handles are pointers on the targets fp_overlay.h supports");

struct fp_overlay {
    VkDevice device = VK_NULL_HANDLE;
    /// Builds left that still reserve the backend's buffers (see reserve_backend_buffers).
    uint32_t reserving_builds = 0;
    VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;
    bool glfw_ready = false;
    bool vulkan_ready = false;
};

namespace {

fp_overlay *g_overlay = nullptr;
VkResult g_first_error = VK_SUCCESS;

void note_result(VkResult result) {
    if (result < 0 && g_first_error == VK_SUCCESS) g_first_error = result;
}

void say(char *error, size_t capacity, const char *text, VkResult result = VK_SUCCESS) {
    if (error == nullptr || capacity == 0) return;
    if (result == VK_SUCCESS) {
        std::snprintf(error, capacity, "%s", text);
    } else {
        std::snprintf(error, capacity, "%s (VkResult %d)", text, static_cast<int>(result));
    }
}

/// 0xAARRGGBB → Dear ImGui's packed colour.
ImU32 colour(uint32_t argb) {
    return IM_COL32((argb >> 16) & 0xff, (argb >> 8) & 0xff, argb & 0xff, (argb >> 24) & 0xff);
}

VkDevice device_of(const fp_overlay_setup *setup) { return static_cast<VkDevice>(setup->device); }

/// Uploads the font atlas with a one-time command buffer on `queue`, and waits for it.
bool upload_fonts(const fp_overlay_setup *setup, char *error, size_t capacity) {
    const VkDevice device = device_of(setup);
    VkCommandPoolCreateInfo pool_info = {};
    pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pool_info.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pool_info.queueFamilyIndex = setup->queue_family;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkResult r = vkCreateCommandPool(device, &pool_info, nullptr, &pool);
    if (r != VK_SUCCESS) {
        say(error, capacity, "overlay: vkCreateCommandPool failed", r);
        return false;
    }
    VkCommandBufferAllocateInfo allocate = {};
    allocate.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    allocate.commandPool = pool;
    allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    allocate.commandBufferCount = 1;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    bool ok = false;
    do {
        r = vkAllocateCommandBuffers(device, &allocate, &cb);
        if (r != VK_SUCCESS) { say(error, capacity, "overlay: vkAllocateCommandBuffers failed", r); break; }
        VkFenceCreateInfo fence_info = {};
        fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        r = vkCreateFence(device, &fence_info, nullptr, &fence);
        if (r != VK_SUCCESS) { say(error, capacity, "overlay: vkCreateFence failed", r); break; }
        VkCommandBufferBeginInfo begin = {};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        r = vkBeginCommandBuffer(cb, &begin);
        if (r != VK_SUCCESS) { say(error, capacity, "overlay: vkBeginCommandBuffer failed", r); break; }
        if (!ImGui_ImplVulkan_CreateFontsTexture(cb)) { say(error, capacity, "overlay: the font atlas could not be built"); break; }
        r = vkEndCommandBuffer(cb);
        if (r != VK_SUCCESS) { say(error, capacity, "overlay: vkEndCommandBuffer failed", r); break; }
        VkSubmitInfo submit = {};
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &cb;
        r = vkQueueSubmit(static_cast<VkQueue>(setup->queue), 1, &submit, fence);
        if (r != VK_SUCCESS) { say(error, capacity, "overlay: vkQueueSubmit (font upload) failed", r); break; }
        r = vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX);
        if (r != VK_SUCCESS) { say(error, capacity, "overlay: vkWaitForFences (font upload) failed", r); break; }
        ok = true;
    } while (false);
    ImGui_ImplVulkan_DestroyFontUploadObjects();
    if (fence != VK_NULL_HANDLE) vkDestroyFence(device, fence, nullptr);
    vkDestroyCommandPool(device, pool, nullptr);  // frees cb
    return ok;
}

/// Dear ImGui's Vulkan backend gives each vertex and index buffer (one pair per frame in flight) and the font atlas an
/// allocation of its own, sized to the first use and regrown on demand: small dedicated allocations, which the
/// validation layer's best-practices checks report (docs/testing.md, "Validation"). Rather than filter those ids (they
/// would then hide our own allocations), the overlay makes every such allocation at least 1 MiB, the larger of the two
/// thresholds: the atlas reserves a 1000×200 px rectangle (a 1024×512 atlas), and the first build for each frame in
/// flight adds degenerate triangles (all indices 0: nothing is rasterised) to the foreground list so that its vertex and
/// index buffers are allocated at ≥ 1 MiB once and never regrown.
constexpr int kReservedVertices = (1 << 20) / sizeof(ImDrawVert) + 4;
constexpr int kReservedIndices = (1 << 20) / sizeof(ImDrawIdx) + 3;
static_assert(kReservedVertices < 65536, "the reservation must fit 16-bit indices");

void reserve_backend_buffers() {
    ImDrawList *list = ImGui::GetForegroundDrawList();
    list->PrimReserve(kReservedIndices - kReservedIndices % 3, kReservedVertices);
    const ImVec2 white = ImGui::GetIO().Fonts->TexUvWhitePixel;
    const ImDrawIdx base = static_cast<ImDrawIdx>(list->_VtxCurrentIdx);
    for (int v = 0; v < kReservedVertices; v++) list->PrimWriteVtx(ImVec2(0, 0), white, 0);
    for (int i = 0; i < kReservedIndices - kReservedIndices % 3; i++) list->PrimWriteIdx(base);
}

/// The stacked frame-time bars: one bar per frame (oldest left), a segment per stage in its colour, the target line
/// labelled with its value, the scale's top and 0 on the left axis.
void plot(const fp_overlay_frame *f) {
    const float font = ImGui::GetFontSize();
    const float axis_width = ImGui::CalcTextSize("000.0 ms").x + 4;
    const float bar_width = 1.0f;
    const float graph_width = 240 * bar_width;
    const float graph_height = font * 7;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const float target_label_width = ImGui::CalcTextSize("000.0 ms target").x + 4;
    ImGui::Dummy(ImVec2(axis_width + graph_width + target_label_width, graph_height + 2));
    ImDrawList *draw = ImGui::GetWindowDrawList();
    const ImVec2 g0(origin.x + axis_width, origin.y + 1);
    const ImVec2 g1(g0.x + graph_width, g0.y + graph_height);
    draw->AddRectFilled(g0, g1, IM_COL32(0, 0, 0, 200));
    const float top = f->top_ms > 0 ? f->top_ms : 1;
    const int stages = std::max(0, f->stage_count);
    if (f->history != nullptr && stages > 0) {
        const int frames = std::min(f->frame_count, 240);
        const int first = f->frame_count - frames;
        for (int i = 0; i < frames; i++) {
            const float x = g1.x - (frames - i) * bar_width;
            float y = g1.y;
            for (int s = 0; s < stages; s++) {
                const float ms = f->history[(first + i) * stages + s];
                if (!(ms > 0) || !std::isfinite(ms)) continue;
                const float h = std::min(ms / top * graph_height, y - g0.y);
                if (h <= 0) break;
                draw->AddRectFilled(ImVec2(x, y - h), ImVec2(x + bar_width, y), colour(f->stages[s].colour));
                y -= h;
            }
        }
    }
    char label[32];
    if (f->target_ms > 0 && f->target_ms < top) {
        const float y = g1.y - f->target_ms / top * graph_height;
        draw->AddLine(ImVec2(g0.x, y), ImVec2(g1.x, y), IM_COL32(255, 255, 255, 230), 1.0f);
        std::snprintf(label, sizeof label, "%.1f ms target", f->target_ms);
        draw->AddText(ImVec2(g1.x + 4, y - font / 2), IM_COL32(255, 255, 255, 255), label);
    }
    std::snprintf(label, sizeof label, "%.1f ms", top);
    draw->AddText(ImVec2(origin.x, g0.y), IM_COL32(200, 200, 200, 255), label);
    draw->AddText(ImVec2(origin.x, g1.y - font), IM_COL32(200, 200, 200, 255), "0 ms");
}

void stage_table(const fp_overlay_frame *f) {
    if (f->stage_count <= 0 || f->stages == nullptr) return;
    if (!ImGui::BeginTable("stages", 4, ImGuiTableFlags_SizingFixedFit)) return;
    ImGui::TableSetupColumn("");
    ImGui::TableSetupColumn("stage");
    ImGui::TableSetupColumn("last ms");
    ImGui::TableSetupColumn("median ms");
    ImGui::TableHeadersRow();
    for (int s = 0; s < f->stage_count; s++) {
        const fp_overlay_stage &stage = f->stages[s];
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        const ImVec2 p = ImGui::GetCursorScreenPos();
        const float side = ImGui::GetFontSize() * 0.8f;
        ImGui::GetWindowDrawList()->AddRectFilled(
            ImVec2(p.x, p.y + 2), ImVec2(p.x + side, p.y + 2 + side), colour(stage.colour));
        ImGui::Dummy(ImVec2(side, side));
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(stage.name != nullptr ? stage.name : "?");
        ImGui::TableNextColumn();
        if (std::isfinite(stage.last_ms)) ImGui::Text("%8.3f", stage.last_ms); else ImGui::TextUnformatted("      NA");
        ImGui::TableNextColumn();
        if (std::isfinite(stage.median_ms)) ImGui::Text("%8.3f", stage.median_ms); else ImGui::TextUnformatted("      NA");
    }
    ImGui::EndTable();
}

}  // namespace

extern "C" fp_overlay *fp_overlay_create(const fp_overlay_setup *setup, char *error, size_t error_capacity) {
    if (g_overlay != nullptr) {
        say(error, error_capacity, "overlay: one overlay per process (Dear ImGui's backends are global)");
        return nullptr;
    }
    if (setup == nullptr || setup->window == nullptr || setup->device == nullptr ||
        setup->render_pass == nullptr || setup->image_count < 2) {
        say(error, error_capacity, "overlay: incomplete setup (window, device, render pass, 2+ frames in flight)");
        return nullptr;
    }
    auto *overlay = new fp_overlay();
    overlay->device = device_of(setup);
    g_first_error = VK_SUCCESS;

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO &io = ImGui::GetIO();
    io.IniFilename = nullptr;  // no imgui.ini in the user's directory
    io.LogFilename = nullptr;
    ImGui::StyleColorsDark();
    io.Fonts->AddFontDefault();
    io.Fonts->TexDesiredWidth = 1024;
    io.Fonts->AddCustomRectRegular(1000, 200);  // see reserve_backend_buffers
    ImGuiStyle &style = ImGui::GetStyle();
    style.WindowRounding = 4;
    style.Colors[ImGuiCol_WindowBg].w = 0.88f;  // readable over any frame, black or white

    // install_callbacks: the backend chains to the callbacks installed before (ViewerWindow's keys and resize).
    if (!ImGui_ImplGlfw_InitForVulkan(static_cast<GLFWwindow *>(setup->window), true)) {
        say(error, error_capacity, "overlay: the Dear ImGui GLFW backend did not start");
        fp_overlay_destroy(overlay);
        return nullptr;
    }
    overlay->glfw_ready = true;

    VkDescriptorPoolSize pool_size = {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1};
    VkDescriptorPoolCreateInfo pool_info = {};
    pool_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    pool_info.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pool_info.maxSets = 1;  // the font atlas
    pool_info.poolSizeCount = 1;
    pool_info.pPoolSizes = &pool_size;
    VkResult r = vkCreateDescriptorPool(overlay->device, &pool_info, nullptr, &overlay->descriptor_pool);
    if (r != VK_SUCCESS) {
        say(error, error_capacity, "overlay: vkCreateDescriptorPool failed", r);
        fp_overlay_destroy(overlay);
        return nullptr;
    }

    ImGui_ImplVulkan_InitInfo info = {};
    info.Instance = static_cast<VkInstance>(setup->instance);
    info.PhysicalDevice = static_cast<VkPhysicalDevice>(setup->physical_device);
    info.Device = overlay->device;
    info.QueueFamily = setup->queue_family;
    info.Queue = static_cast<VkQueue>(setup->queue);
    info.DescriptorPool = overlay->descriptor_pool;
    info.Subpass = 0;
    info.MinImageCount = setup->image_count;
    info.ImageCount = setup->image_count;
    info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
    info.CheckVkResultFn = note_result;
    if (!ImGui_ImplVulkan_Init(&info, static_cast<VkRenderPass>(setup->render_pass))) {
        say(error, error_capacity, "overlay: the Dear ImGui Vulkan backend did not start");
        fp_overlay_destroy(overlay);
        return nullptr;
    }
    overlay->vulkan_ready = true;
    if (!upload_fonts(setup, error, error_capacity)) {
        fp_overlay_destroy(overlay);
        return nullptr;
    }
    overlay->reserving_builds = setup->image_count;
    g_overlay = overlay;
    return overlay;
}

extern "C" void fp_overlay_destroy(fp_overlay *overlay) {
    if (overlay == nullptr) return;
    if (overlay->vulkan_ready) ImGui_ImplVulkan_Shutdown();
    if (overlay->glfw_ready) ImGui_ImplGlfw_Shutdown();
    if (ImGui::GetCurrentContext() != nullptr) ImGui::DestroyContext();
    if (overlay->descriptor_pool != VK_NULL_HANDLE) vkDestroyDescriptorPool(overlay->device, overlay->descriptor_pool, nullptr);
    if (g_overlay == overlay) g_overlay = nullptr;
    delete overlay;
}

extern "C" void fp_overlay_build(fp_overlay *overlay, const fp_overlay_frame *f) {
    if (overlay == nullptr || f == nullptr) return;
    ImGui_ImplVulkan_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();

    ImGui::SetNextWindowPos(ImVec2(8, 8), ImGuiCond_FirstUseEver);
    const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                   ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoNav;
    if (ImGui::Begin("framepipe", nullptr, flags)) {
        ImGui::Text("%s   frame %llu", f->kernel != nullptr ? f->kernel : "?", static_cast<unsigned long long>(f->frame_on_screen));
        ImGui::Text("%.1f fps   interval p50 %.2f ms   p99 %.2f ms", f->fps, f->interval_p50_ms, f->interval_p99_ms);
        ImGui::Text("dropped %llu   failed %llu   stale %llu", static_cast<unsigned long long>(f->dropped),
                    static_cast<unsigned long long>(f->failed), static_cast<unsigned long long>(f->stale));
        ImGui::Text("engine %s   workers %d", f->engine != nullptr ? f->engine : "?", f->workers);
        ImGui::Text("upload %s   compute rate %s", f->upload != nullptr ? f->upload : "?",
                    f->compute_rate != nullptr ? f->compute_rate : "?");
        if (f->device != nullptr) ImGui::Text("device %s", f->device);
        ImGui::Separator();
        stage_table(f);
        plot(f);

        ImGui::Separator();
        ImGui::PushTextWrapPos(ImGui::GetFontSize() * 36);
        const char *state = f->state != nullptr ? f->state : "running";
        const bool bad = f->disabled_reason != nullptr;
        ImGui::TextColored(bad ? ImVec4(1, 0.35f, 0.3f, 1) : ImVec4(0.5f, 0.9f, 0.5f, 1), "kernel %s", state);
        if (f->disabled_reason != nullptr) ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", f->disabled_reason);
        if (f->reload != nullptr) {
            ImGui::TextColored(f->reload_failed ? ImVec4(1, 0.6f, 0.2f, 1) : ImVec4(0.8f, 0.8f, 0.8f, 1), "%s", f->reload);
        }
        for (int i = 0; f->faults != nullptr && i < f->fault_count; i++) {
            if (f->faults[i] != nullptr) ImGui::TextColored(ImVec4(1, 0.75f, 0.4f, 1), "%s", f->faults[i]);
        }
        ImGui::PopTextWrapPos();

        if (f->parameter_count > 0 && f->parameters != nullptr) {
            ImGui::Separator();
            for (int i = 0; i < f->parameter_count; i++) {
                const fp_overlay_parameter &p = f->parameters[i];
                if (p.value == nullptr) continue;
                ImGui::PushID(i);
                if (p.rect != nullptr) {  // the slider's frame, without its label
                    const ImVec2 at = ImGui::GetCursorScreenPos();
                    p.rect[0] = at.x;
                    p.rect[1] = at.y;
                    p.rect[2] = at.x + ImGui::CalcItemWidth();
                    p.rect[3] = at.y + ImGui::GetFrameHeight();
                }
                ImGui::SliderFloat(p.name != nullptr ? p.name : "?", p.value, p.minimum, p.maximum, "%.3f");
                ImGui::PopID();
            }
        }
        if (f->help != nullptr) {
            ImGui::Separator();
            ImGui::PushTextWrapPos(ImGui::GetFontSize() * 36);
            ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
            ImGui::TextWrapped("%s", f->help);
            ImGui::PopStyleColor();
            ImGui::PopTextWrapPos();
        }
    }
    ImGui::End();
    if (overlay->reserving_builds > 0) {
        overlay->reserving_builds--;
        reserve_backend_buffers();
    }
    ImGui::Render();
}

extern "C" void fp_overlay_record(fp_overlay *overlay, void *command_buffer) {
    if (overlay == nullptr || command_buffer == nullptr) return;
    ImDrawData *data = ImGui::GetDrawData();
    if (data != nullptr) ImGui_ImplVulkan_RenderDrawData(data, static_cast<VkCommandBuffer>(command_buffer));
}

extern "C" bool fp_overlay_wants_keyboard(const fp_overlay *overlay) {
    return overlay != nullptr && ImGui::GetCurrentContext() != nullptr && ImGui::GetIO().WantCaptureKeyboard;
}

extern "C" bool fp_overlay_wants_pointer(const fp_overlay *overlay) {
    return overlay != nullptr && ImGui::GetCurrentContext() != nullptr && ImGui::GetIO().WantCaptureMouse;
}

extern "C" int32_t fp_overlay_vulkan_error(const fp_overlay *overlay) {
    (void)overlay;
    return static_cast<int32_t>(g_first_error);
}
