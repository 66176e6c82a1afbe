// fp_wasmtime.h — the subset of wasmtime's public C API (wasm.h + wasmtime/*.h, version 50) that
// Framepipe's wasmtime engine uses, declared by hand: the library ships in the `wasmtime==50.0.1`
// PyPI wheel without headers, and it is dlopen()ed at run time, so Framepipe builds and runs
// without it. Declarations only; `fp_wasmtime_api_load` fills a table of entry points with dlsym.
//
// Layouts are pinned by static asserts in fp_wasmtime.c (wasmtime_val_t and wasmtime_extern_t are
// 32 bytes in this build because the wheel has the GC feature). A library of another major version
// may lay these out differently: the engine refuses it (WasmtimeLibrary.swift checks the version the
// engine itself writes into serialized modules).
#ifndef FP_WASMTIME_H
#define FP_WASMTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Only the entry-point table states nullability (its pointers are non-null unless marked); the
// plain C structs wasmtime and Swift fill in leave theirs unspecified.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-completeness"

#ifdef __cplusplus
extern "C" {
#endif

// Opaque handles.
typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasm_frame_t wasm_frame_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef struct wasm_externtype_t wasm_externtype_t;
typedef struct wasm_importtype_t wasm_importtype_t;
typedef struct wasm_exporttype_t wasm_exporttype_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;

// Vectors (wasm.h): a size and a pointer.
typedef struct wasm_byte_vec_t { size_t size; char *data; } wasm_byte_vec_t;
typedef wasm_byte_vec_t wasm_name_t;
typedef wasm_byte_vec_t wasm_message_t;
typedef struct wasm_valtype_vec_t { size_t size; wasm_valtype_t **data; } wasm_valtype_vec_t;
typedef struct wasm_importtype_vec_t { size_t size; wasm_importtype_t **data; } wasm_importtype_vec_t;
typedef struct wasm_exporttype_vec_t { size_t size; wasm_exporttype_t **data; } wasm_exporttype_vec_t;
typedef struct wasm_frame_vec_t { size_t size; wasm_frame_t **data; } wasm_frame_vec_t;

// wasm_valkind_t (wasm.h).
enum { FP_WASM_I32 = 0, FP_WASM_I64 = 1, FP_WASM_F32 = 2, FP_WASM_F64 = 3, FP_WASM_V128 = 4 };
// wasm_externkind_t (wasm.h).
enum { FP_WASM_EXTERN_FUNC = 0, FP_WASM_EXTERN_GLOBAL = 1, FP_WASM_EXTERN_TABLE = 2, FP_WASM_EXTERN_MEMORY = 3 };
// wasmtime_valkind_t and wasmtime_extern_kind_t (wasmtime/val.h, wasmtime/extern.h).
enum { FP_WASMTIME_I32 = 0, FP_WASMTIME_I64 = 1, FP_WASMTIME_F32 = 2, FP_WASMTIME_F64 = 3 };
enum { FP_WASMTIME_EXTERN_FUNC = 0, FP_WASMTIME_EXTERN_MEMORY = 3 };
// wasmtime_profiling_strategy_t (wasmtime/config.h).
enum { FP_WASMTIME_PROFILING_NONE = 0, FP_WASMTIME_PROFILING_JITDUMP = 1, FP_WASMTIME_PROFILING_PERFMAP = 3 };
// wasmtime_opt_level_t.
enum { FP_WASMTIME_OPT_SPEED = 1 };
// wasmtime_trap_code_t (wasmtime/trap.h), the codes Framepipe names.
enum {
    FP_WASMTIME_TRAP_STACK_OVERFLOW = 0,
    FP_WASMTIME_TRAP_MEMORY_OUT_OF_BOUNDS = 1,
    FP_WASMTIME_TRAP_HEAP_MISALIGNED = 2,
    FP_WASMTIME_TRAP_TABLE_OUT_OF_BOUNDS = 3,
    FP_WASMTIME_TRAP_INDIRECT_CALL_TO_NULL = 4,
    FP_WASMTIME_TRAP_BAD_SIGNATURE = 5,
    FP_WASMTIME_TRAP_INTEGER_OVERFLOW = 6,
    FP_WASMTIME_TRAP_INTEGER_DIVISION_BY_ZERO = 7,
    FP_WASMTIME_TRAP_BAD_CONVERSION_TO_INTEGER = 8,
    FP_WASMTIME_TRAP_UNREACHABLE_CODE_REACHED = 9,
    FP_WASMTIME_TRAP_INTERRUPT = 10,
    FP_WASMTIME_TRAP_OUT_OF_FUEL = 11,
    FP_WASMTIME_TRAP_NULL_REFERENCE = 13,
};

// Store-owned handles (wasmtime/extern.h, wasmtime/instance.h).
typedef struct wasmtime_func { uint64_t store_id; void *private_; } wasmtime_func_t;
typedef struct wasmtime_memory { struct { uint64_t store_id; uint32_t private1; } anon; uint32_t private2; } wasmtime_memory_t;
typedef struct wasmtime_instance { uint64_t store_id; size_t private_; } wasmtime_instance_t;

// wasmtime_extern_t: a kind and a 24-byte union (only func and memory are read here).
typedef union wasmtime_extern_union {
    wasmtime_func_t func;
    wasmtime_memory_t memory;
    uint8_t storage[24];
} wasmtime_extern_union_t;
typedef struct wasmtime_extern { uint8_t kind; wasmtime_extern_union_t of; } wasmtime_extern_t;

// wasmtime_val_t: a kind and a 24-byte union (GC references are 24 bytes).
typedef union wasmtime_valunion {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t storage[24];
} wasmtime_valunion_t;
typedef struct wasmtime_val { uint8_t kind; wasmtime_valunion_t of; } wasmtime_val_t;

// wasmtime_val_raw_t: a value without its kind, for wasmtime_func_call_unchecked (16 bytes: the largest member is a
// v128; scalars are stored little-endian).
typedef union wasmtime_val_raw {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    void *funcref;
} wasmtime_val_raw_t;

// Host functions (wasmtime/func.h). Returning non-NULL traps the caller.
typedef wasm_trap_t *(*wasmtime_func_callback_t)(
    void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs, wasmtime_val_t *results,
    size_t nresults);
typedef void (*fp_wasmtime_finalizer_t)(void *);

// Host-defined linear memories (wasmtime/config.h): how a refused memory.grow is seen at all —
// wasmtime's store limiter makes memory.grow return −1 and tells nobody.
typedef uint8_t *(*wasmtime_memory_get_callback_t)(void *env, size_t *byte_size, size_t *maximum_byte_size);
typedef wasmtime_error_t *(*wasmtime_memory_grow_callback_t)(void *env, size_t new_size);
typedef struct wasmtime_linear_memory {
    void *env;
    wasmtime_memory_get_callback_t get_memory;
    wasmtime_memory_grow_callback_t grow_memory;
    fp_wasmtime_finalizer_t finalizer;
} wasmtime_linear_memory_t;
typedef wasmtime_error_t *(*wasmtime_new_memory_callback_t)(
    void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum, size_t reserved_size_in_bytes,
    size_t guard_size_in_bytes, wasmtime_linear_memory_t *memory_ret);
typedef struct wasmtime_memory_creator {
    void *env;
    wasmtime_new_memory_callback_t new_memory;
    fp_wasmtime_finalizer_t finalizer;
} wasmtime_memory_creator_t;

/// The entry points Framepipe calls, filled by `fp_wasmtime_api_load` (none is NULL). Each member
/// has the signature of the documented C function of the same name; pointers are non-null unless
/// marked _Nullable (errors and traps are NULL on success).
#pragma clang assume_nonnull begin
typedef struct fp_wasmtime_api {
    // Configuration and engine.
    wasm_config_t *_Nonnull (*_Nonnull wasm_config_new)(void);
    void (*_Nonnull wasmtime_config_epoch_interruption_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_consume_fuel_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_simd_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_bulk_memory_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_gc_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_function_references_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_threads_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_memory64_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_multi_memory_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_relaxed_simd_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_wide_arithmetic_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_custom_page_sizes_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_wasm_stack_switching_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_cranelift_opt_level_set)(wasm_config_t *, uint8_t);
    void (*_Nonnull wasmtime_config_profiler_set)(wasm_config_t *, uint8_t);
    void (*_Nonnull wasmtime_config_max_wasm_stack_set)(wasm_config_t *, size_t);
    void (*_Nonnull wasmtime_config_parallel_compilation_set)(wasm_config_t *, bool);
    void (*_Nonnull wasmtime_config_host_memory_creator_set)(wasm_config_t *, wasmtime_memory_creator_t *);
    void (*_Nonnull wasmtime_config_memory_init_cow_set)(wasm_config_t *, bool);
    wasm_engine_t *_Nullable (*_Nonnull wasm_engine_new_with_config)(wasm_config_t *);
    void (*_Nonnull wasm_engine_delete)(wasm_engine_t *);
    void (*_Nonnull wasmtime_engine_increment_epoch)(wasm_engine_t *);

    // Modules.
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_module_new)(wasm_engine_t *, const uint8_t *, size_t, wasmtime_module_t *_Nullable *);
    void (*_Nonnull wasmtime_module_delete)(wasmtime_module_t *);
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_module_serialize)(wasmtime_module_t *, wasm_byte_vec_t *);
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_module_deserialize)(wasm_engine_t *, const uint8_t *, size_t, wasmtime_module_t *_Nullable *);
    void (*_Nonnull wasmtime_module_imports)(const wasmtime_module_t *, wasm_importtype_vec_t *);
    void (*_Nonnull wasmtime_module_exports)(const wasmtime_module_t *, wasm_exporttype_vec_t *);
    const wasm_name_t *_Nonnull (*_Nonnull wasm_importtype_module)(const wasm_importtype_t *);
    const wasm_name_t *_Nonnull (*_Nonnull wasm_importtype_name)(const wasm_importtype_t *);
    const wasm_externtype_t *_Nonnull (*_Nonnull wasm_importtype_type)(const wasm_importtype_t *);
    void (*_Nonnull wasm_importtype_vec_delete)(wasm_importtype_vec_t *);
    const wasm_name_t *_Nonnull (*_Nonnull wasm_exporttype_name)(const wasm_exporttype_t *);
    const wasm_externtype_t *_Nonnull (*_Nonnull wasm_exporttype_type)(const wasm_exporttype_t *);
    void (*_Nonnull wasm_exporttype_vec_delete)(wasm_exporttype_vec_t *);
    uint8_t (*_Nonnull wasm_externtype_kind)(const wasm_externtype_t *);
    const wasm_functype_t *_Nullable (*_Nonnull wasm_externtype_as_functype_const)(const wasm_externtype_t *);
    const wasm_valtype_vec_t *_Nonnull (*_Nonnull wasm_functype_params)(const wasm_functype_t *);
    const wasm_valtype_vec_t *_Nonnull (*_Nonnull wasm_functype_results)(const wasm_functype_t *);
    uint8_t (*_Nonnull wasm_valtype_kind)(const wasm_valtype_t *);
    wasm_valtype_t *_Nonnull (*_Nonnull wasm_valtype_new)(uint8_t);
    void (*_Nonnull wasm_valtype_vec_new)(wasm_valtype_vec_t *, size_t, wasm_valtype_t *_Nullable const *);
    void (*_Nonnull wasm_valtype_vec_new_empty)(wasm_valtype_vec_t *);
    wasm_functype_t *_Nonnull (*_Nonnull wasm_functype_new)(wasm_valtype_vec_t *, wasm_valtype_vec_t *);
    void (*_Nonnull wasm_functype_delete)(wasm_functype_t *);
    void (*_Nonnull wasm_byte_vec_delete)(wasm_byte_vec_t *);

    // Stores, linking, instances, calls, memory.
    wasmtime_store_t *_Nonnull (*_Nonnull wasmtime_store_new)(wasm_engine_t *, void *_Nullable, fp_wasmtime_finalizer_t _Nullable);
    wasmtime_context_t *_Nonnull (*_Nonnull wasmtime_store_context)(wasmtime_store_t *);
    void (*_Nonnull wasmtime_store_delete)(wasmtime_store_t *);
    void (*_Nonnull wasmtime_store_limiter)(wasmtime_store_t *, int64_t, int64_t, int64_t, int64_t, int64_t);
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_context_set_fuel)(wasmtime_context_t *, uint64_t);
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_context_get_fuel)(const wasmtime_context_t *, uint64_t *);
    void (*_Nonnull wasmtime_context_set_epoch_deadline)(wasmtime_context_t *, uint64_t);
    wasmtime_linker_t *_Nonnull (*_Nonnull wasmtime_linker_new)(wasm_engine_t *);
    void (*_Nonnull wasmtime_linker_delete)(wasmtime_linker_t *);
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_linker_define_func)(
        wasmtime_linker_t *, const char *, size_t, const char *, size_t, const wasm_functype_t *,
        wasmtime_func_callback_t, void *_Nullable, fp_wasmtime_finalizer_t _Nullable);
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_linker_instantiate)(
        const wasmtime_linker_t *, wasmtime_context_t *, const wasmtime_module_t *, wasmtime_instance_t *,
        wasm_trap_t *_Nullable *);
    bool (*_Nonnull wasmtime_instance_export_get)(
        wasmtime_context_t *, const wasmtime_instance_t *, const char *, size_t, wasmtime_extern_t *);
    wasm_functype_t *_Nonnull (*_Nonnull wasmtime_func_type)(const wasmtime_context_t *, const wasmtime_func_t *);
    // Arguments from index 0 in, results from index 0 out; the caller guarantees the function's type (no check).
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_func_call_unchecked)(
        wasmtime_context_t *, const wasmtime_func_t *, wasmtime_val_raw_t *, size_t, wasm_trap_t *_Nullable *);
    uint8_t *_Nonnull (*_Nonnull wasmtime_memory_data)(const wasmtime_context_t *, const wasmtime_memory_t *);
    size_t (*_Nonnull wasmtime_memory_data_size)(const wasmtime_context_t *, const wasmtime_memory_t *);
    bool (*_Nonnull wasmtime_caller_export_get)(wasmtime_caller_t *, const char *, size_t, wasmtime_extern_t *);
    wasmtime_context_t *_Nonnull (*_Nonnull wasmtime_caller_context)(wasmtime_caller_t *);

    // Errors and traps.
    wasmtime_error_t *_Nullable (*_Nonnull wasmtime_error_new)(const char *);
    void (*_Nonnull wasmtime_error_message)(const wasmtime_error_t *, wasm_name_t *);
    void (*_Nonnull wasmtime_error_delete)(wasmtime_error_t *);
    void (*_Nonnull wasmtime_error_wasm_trace)(const wasmtime_error_t *, wasm_frame_vec_t *);
    bool (*_Nonnull wasmtime_error_exit_status)(const wasmtime_error_t *, int *);
    void (*_Nonnull wasm_trap_message)(const wasm_trap_t *, wasm_message_t *);
    void (*_Nonnull wasm_trap_delete)(wasm_trap_t *);
    wasm_trap_t *_Nonnull (*_Nonnull wasmtime_trap_new)(const char *, size_t);
    bool (*_Nonnull wasmtime_trap_code)(const wasm_trap_t *, uint8_t *);
    void (*_Nonnull wasm_trap_trace)(const wasm_trap_t *, wasm_frame_vec_t *);
    uint32_t (*_Nonnull wasm_frame_func_index)(const wasm_frame_t *);
    /// The frame's instruction as a byte offset in the module's bytes (the trapping instruction, or the
    /// call in a caller frame): what the DWARF line table is looked up with (WasmSourceMap.swift).
    size_t (*_Nonnull wasm_frame_module_offset)(const wasm_frame_t *);
    const wasm_name_t *_Nullable (*_Nonnull wasmtime_frame_func_name)(const wasm_frame_t *);
    void (*_Nonnull wasm_frame_vec_delete)(wasm_frame_vec_t *);
} fp_wasmtime_api;
#pragma clang assume_nonnull end

/// Opens the library at `path` (RTLD_NOW | RTLD_LOCAL) and returns its entry points (allocated once
/// per successful load; the library stays loaded for the life of the process), or NULL with a
/// one-line reason in `error` (the dlerror text, or the first missing symbol).
const fp_wasmtime_api *fp_wasmtime_api_load(const char *path, char *error, size_t error_size);

/// The owner that host memories created on this thread are attributed to (an opaque pointer
/// the engine sets around instantiation; see WasmtimeMemory.swift).
void fp_wasmtime_set_memory_owner(void *owner);
void *fp_wasmtime_memory_owner(void);

#pragma clang diagnostic pop

#ifdef __cplusplus
}
#endif
#endif
