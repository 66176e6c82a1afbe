// framepipe.hpp — C++ wrappers over framepipe.h (Kernel ABI v1, docs/kernel-abi.md).
// Header-only; include it instead of framepipe.h. Works freestanding (no libc++) and with
// wasi-libc + libc++ (FP_HAVE_LIBC), where std::string_view overloads are available.
#ifndef FRAMEPIPE_HPP
#define FRAMEPIPE_HPP

#include "framepipe.h"

#if FP_HAVE_LIBC
#include <string_view>
#include <cstdio>
#include <cstdarg>
#endif

namespace framepipe {

enum class Format : int32_t { rgba8 = FP_FORMAT_RGBA8, f32_field = FP_FORMAT_F32_FIELD, points = FP_FORMAT_POINTS };
enum class Input : int32_t {
    pointer_x = FP_INPUT_POINTER_X, pointer_y = FP_INPUT_POINTER_Y,
    buttons = FP_INPUT_BUTTONS, pointer_inside = FP_INPUT_POINTER_INSIDE,
};

inline void log(const char *text, int32_t len) { fp_log(text, len); }
inline float input(Input what) { return fp_input(static_cast<int32_t>(what)); }

#if FP_HAVE_LIBC
inline void log(std::string_view text) { fp_log(text.data(), static_cast<int32_t>(text.size())); }
// printf-style; messages over 4096 bytes are cut by the host anyway.
__attribute__((format(printf, 1, 2))) inline void logf(const char *format, ...) {
    char buffer[4096];
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    if (n > 0) fp_log(buffer, n < (int)sizeof buffer ? n : (int)sizeof buffer - 1);
}
#endif

} // namespace framepipe

// FP_CPP_KERNEL(FORMAT, INIT, FRAME, OUTPUT): the five required exports from C++ functions
//   int32_t INIT(int32_t w, int32_t h); int32_t FRAME(int32_t frame, double time, int32_t begin, int32_t end);
//   const void *OUTPUT();   FORMAT is a framepipe::Format.
#define FP_CPP_KERNEL(FORMAT, INIT, FRAME, OUTPUT)                                                       \
    extern "C" {                                                                                         \
    FP_EXPORT(fp_abi_version) int32_t fp_abi_version(void) { return FP_ABI_VERSION; }                   \
    FP_EXPORT(fp_format) int32_t fp_format(void) { return static_cast<int32_t>(FORMAT); }                \
    FP_EXPORT(fp_init) int32_t fp_init(int32_t w, int32_t h) { return INIT(w, h); }                      \
    FP_EXPORT(fp_frame) int32_t fp_frame(int32_t f, double t, int32_t b, int32_t e) { return FRAME(f, t, b, e); } \
    FP_EXPORT(fp_output) int32_t fp_output(void) { return fp_offset(OUTPUT()); }                         \
    }

#endif // FRAMEPIPE_HPP
