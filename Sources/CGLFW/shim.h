#pragma once
// GLFW's Vulkan helpers (glfwCreateWindowSurface, glfwGetRequiredInstanceExtensions) need this first.
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
