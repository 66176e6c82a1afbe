#pragma once
#include <vulkan/vulkan.h>

// Vulkan's function-like macros do not import into Swift; these stand in for them.
static inline uint32_t fp_vk_make_api_version(uint32_t variant, uint32_t major, uint32_t minor, uint32_t patch) {
    return VK_MAKE_API_VERSION(variant, major, minor, patch);
}
static inline uint32_t fp_vk_api_version_major(uint32_t version) { return VK_API_VERSION_MAJOR(version); }
static inline uint32_t fp_vk_api_version_minor(uint32_t version) { return VK_API_VERSION_MINOR(version); }
static inline uint32_t fp_vk_api_version_patch(uint32_t version) { return VK_API_VERSION_PATCH(version); }
