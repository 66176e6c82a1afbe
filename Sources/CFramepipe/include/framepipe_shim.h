// C shim: what Swift cannot import or should not do itself.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Writes an 8-bit RGBA PNG (rows top first, `stride` bytes apart) to `path`.
/// Returns 0 on success, else errno-like code; `error` (may be NULL) receives a one-line message.
int fp_png_write_rgba8(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                       size_t stride, char *error, size_t error_capacity);

/// As fp_png_write_rgba8, with `count` tEXt chunks (Latin-1 keywords of 1–79 characters; values as given).
int fp_png_write_rgba8_text(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                            size_t stride, const char *const *keys, const char *const *values, size_t count,
                            char *error, size_t error_capacity);

/// Reads any PNG as 8-bit RGBA into `pixels` (capacity bytes). Always reports the size in
/// *width, *height when the header is readable; returns ERANGE (without decoding) when `capacity` is
/// below width*height*4, so callers ask once for the size and once for the pixels. Other failures
/// return non-zero with a one-line message in `error`.
int fp_png_read_rgba8(const char *path, uint8_t *pixels, size_t capacity, uint32_t *width, uint32_t *height,
                      char *error, size_t error_capacity);

