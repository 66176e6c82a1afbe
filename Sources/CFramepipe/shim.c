#define _GNU_SOURCE
#include "framepipe_shim.h"

#include <errno.h>
#include <linux/futex.h>
#include <png.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void set_error(char *error, size_t capacity, const char *what, const char *detail) {
    if (error && capacity > 0) snprintf(error, capacity, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

int fp_png_write_rgba8(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                       size_t stride, char *error, size_t error_capacity) {
    return fp_png_write_rgba8_text(path, pixels, width, height, stride, NULL, NULL, 0, error, error_capacity);
}

int fp_png_write_rgba8_text(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                            size_t stride, const char *const *keys, const char *const *values, size_t count,
                            char *error, size_t error_capacity) {
    FILE *file = fopen(path, "wb");
    if (!file) { int code = errno; set_error(error, error_capacity, "cannot create PNG file", strerror(code)); return code ? code : EIO; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info); fclose(file);
        set_error(error, error_capacity, "libpng could not allocate its state", NULL); return ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info); fclose(file);
        set_error(error, error_capacity, "libpng failed while writing", path); return EIO;
    }
    png_init_io(png, file);
    // Level 1: screenshots and last frames are written on the way out of a run; speed beats size.
    png_set_compression_level(png, 1);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // tEXt chunks before the image data: libpng copies key and text during png_set_text.
    for (size_t i = 0; i < count; i++) {
        png_text text;
        memset(&text, 0, sizeof text);
        text.compression = PNG_TEXT_COMPRESSION_NONE;
        text.key = (png_charp)keys[i];
        text.text = (png_charp)values[i];
        text.text_length = strlen(values[i]);
        png_set_text(png, info, &text, 1);
    }
    png_write_info(png, info);
    for (uint32_t row = 0; row < height; row++) png_write_row(png, pixels + (size_t)row * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) { int code = errno; set_error(error, error_capacity, "cannot finish PNG file", strerror(code)); return code ? code : EIO; }
    return 0;
}

int fp_png_read_rgba8(const char *path, uint8_t *pixels, size_t capacity, uint32_t *width, uint32_t *height,
                      char *error, size_t error_capacity) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) {
        set_error(error, error_capacity, "cannot read PNG", image.message); return EINVAL;
    }
    image.format = PNG_FORMAT_RGBA;
    *width = image.width; *height = image.height;
    if (!pixels || capacity < PNG_IMAGE_SIZE(image)) { png_image_free(&image); return ERANGE; }
    if (!png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        set_error(error, error_capacity, "cannot decode PNG", image.message); return EINVAL;
    }
    return 0;
}
