// Loads wasmtime's C API library with dlopen and fills the entry-point table (fp_wasmtime.h).
#include "fp_wasmtime.h"

#include <assert.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The layouts the C API documents for wasmtime 50 on x86_64/aarch64 Linux, as the wheel builds it
// (GC feature on: references in wasmtime_val_t are 24 bytes).
static_assert(sizeof(wasm_byte_vec_t) == 16, "wasm_byte_vec_t is a size and a pointer");
static_assert(sizeof(wasmtime_func_t) == 16, "wasmtime_func_t is 16 bytes");
static_assert(sizeof(wasmtime_memory_t) == 24, "wasmtime_memory_t is 24 bytes");
static_assert(sizeof(wasmtime_instance_t) == 16, "wasmtime_instance_t is 16 bytes");
static_assert(sizeof(wasmtime_extern_t) == 32, "wasmtime_extern_t is 32 bytes in this build");
static_assert(offsetof(wasmtime_extern_t, of) == 8, "wasmtime_extern_t's union starts at 8");
static_assert(sizeof(wasmtime_val_t) == 32, "wasmtime_val_t is 32 bytes in this build (GC feature)");
static_assert(offsetof(wasmtime_val_t, of) == 8, "wasmtime_val_t's union starts at 8");
static_assert(sizeof(wasmtime_val_raw_t) == 16 && _Alignof(wasmtime_val_raw_t) == 8, "wasmtime_val_raw_t is 16 bytes");
static_assert(sizeof(wasmtime_linear_memory_t) == 4 * sizeof(void *), "wasmtime_linear_memory_t is four pointers");
static_assert(sizeof(wasmtime_memory_creator_t) == 3 * sizeof(void *), "wasmtime_memory_creator_t is three pointers");

const fp_wasmtime_api *fp_wasmtime_api_load(const char *path, char *error, size_t error_size) {
    fp_wasmtime_api *api = calloc(1, sizeof *api);
    if (api == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_size, "%s", reason ? reason : "dlopen failed");
        free(api);
        return NULL;
    }
#define FP_LOAD(name)                                                                                 \
    do {                                                                                              \
        *(void **)(&api->name) = dlsym(handle, #name);                                                \
        if (api->name == NULL) {                                                                      \
            snprintf(error, error_size, "%s has no symbol %s (not a wasmtime C API library?)", path, #name); \
            dlclose(handle);                                                                          \
            free(api);                                                                                \
            return NULL;                                                                              \
        }                                                                                             \
    } while (0)
    FP_LOAD(wasm_config_new);
    FP_LOAD(wasmtime_config_epoch_interruption_set);
    FP_LOAD(wasmtime_config_consume_fuel_set);
    FP_LOAD(wasmtime_config_wasm_simd_set);
    FP_LOAD(wasmtime_config_wasm_bulk_memory_set);
    FP_LOAD(wasmtime_config_wasm_gc_set);
    FP_LOAD(wasmtime_config_wasm_function_references_set);
    FP_LOAD(wasmtime_config_wasm_threads_set);
    FP_LOAD(wasmtime_config_wasm_memory64_set);
    FP_LOAD(wasmtime_config_wasm_multi_memory_set);
    FP_LOAD(wasmtime_config_wasm_relaxed_simd_set);
    FP_LOAD(wasmtime_config_wasm_wide_arithmetic_set);
    FP_LOAD(wasmtime_config_wasm_custom_page_sizes_set);
    FP_LOAD(wasmtime_config_wasm_stack_switching_set);
    FP_LOAD(wasmtime_config_cranelift_opt_level_set);
    FP_LOAD(wasmtime_config_profiler_set);
    FP_LOAD(wasmtime_config_max_wasm_stack_set);
    FP_LOAD(wasmtime_config_parallel_compilation_set);
    FP_LOAD(wasmtime_config_host_memory_creator_set);
    FP_LOAD(wasmtime_config_memory_init_cow_set);
    FP_LOAD(wasm_engine_new_with_config);
    FP_LOAD(wasm_engine_delete);
    FP_LOAD(wasmtime_engine_increment_epoch);
    FP_LOAD(wasmtime_module_new);
    FP_LOAD(wasmtime_module_delete);
    FP_LOAD(wasmtime_module_serialize);
    FP_LOAD(wasmtime_module_deserialize);
    FP_LOAD(wasmtime_module_imports);
    FP_LOAD(wasmtime_module_exports);
    FP_LOAD(wasm_importtype_module);
    FP_LOAD(wasm_importtype_name);
    FP_LOAD(wasm_importtype_type);
    FP_LOAD(wasm_importtype_vec_delete);
    FP_LOAD(wasm_exporttype_name);
    FP_LOAD(wasm_exporttype_type);
    FP_LOAD(wasm_exporttype_vec_delete);
    FP_LOAD(wasm_externtype_kind);
    FP_LOAD(wasm_externtype_as_functype_const);
    FP_LOAD(wasm_functype_params);
    FP_LOAD(wasm_functype_results);
    FP_LOAD(wasm_valtype_kind);
    FP_LOAD(wasm_valtype_new);
    FP_LOAD(wasm_valtype_vec_new);
    FP_LOAD(wasm_valtype_vec_new_empty);
    FP_LOAD(wasm_functype_new);
    FP_LOAD(wasm_functype_delete);
    FP_LOAD(wasm_byte_vec_delete);
    FP_LOAD(wasmtime_store_new);
    FP_LOAD(wasmtime_store_context);
    FP_LOAD(wasmtime_store_delete);
    FP_LOAD(wasmtime_store_limiter);
    FP_LOAD(wasmtime_context_set_fuel);
    FP_LOAD(wasmtime_context_get_fuel);
    FP_LOAD(wasmtime_context_set_epoch_deadline);
    FP_LOAD(wasmtime_linker_new);
    FP_LOAD(wasmtime_linker_delete);
    FP_LOAD(wasmtime_linker_define_func);
    FP_LOAD(wasmtime_linker_instantiate);
    FP_LOAD(wasmtime_instance_export_get);
    FP_LOAD(wasmtime_func_type);
    FP_LOAD(wasmtime_func_call_unchecked);
    FP_LOAD(wasmtime_memory_data);
    FP_LOAD(wasmtime_memory_data_size);
    FP_LOAD(wasmtime_caller_export_get);
    FP_LOAD(wasmtime_caller_context);
    FP_LOAD(wasmtime_error_new);
    FP_LOAD(wasmtime_error_message);
    FP_LOAD(wasmtime_error_delete);
    FP_LOAD(wasmtime_error_wasm_trace);
    FP_LOAD(wasmtime_error_exit_status);
    FP_LOAD(wasm_trap_message);
    FP_LOAD(wasm_trap_delete);
    FP_LOAD(wasmtime_trap_new);
    FP_LOAD(wasmtime_trap_code);
    FP_LOAD(wasm_trap_trace);
    FP_LOAD(wasm_frame_func_index);
    FP_LOAD(wasm_frame_module_offset);
    FP_LOAD(wasmtime_frame_func_name);
    FP_LOAD(wasm_frame_vec_delete);
#undef FP_LOAD
    return api;
}

static _Thread_local void *memory_owner;

void fp_wasmtime_set_memory_owner(void *owner) { memory_owner = owner; }
void *fp_wasmtime_memory_owner(void) { return memory_owner; }
