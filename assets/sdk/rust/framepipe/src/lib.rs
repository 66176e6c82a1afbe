//! Framepipe kernel SDK for Rust (Kernel ABI v1, docs/kernel-abi.md).
//! `no_std` unless the `std` feature (cargo) or `--cfg feature="std"` (rustc) is set.
#![cfg_attr(not(feature = "std"), no_std)]

pub const ABI_VERSION: i32 = 1;

/// Output formats (`fp_format`).
#[repr(i32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format { Rgba = 1, Field = 2, Points = 3 }

/// `fp.input` selectors.
#[repr(i32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Input { PointerX = 0, PointerY = 1, Buttons = 2, PointerInside = 3 }

/// Floats per point in `Format::Points`: x, y, z, size, r, g, b, a.
pub const POINT_FLOATS: usize = 8;
pub const MAX_PARAMS: usize = 16;

/// One 44-byte parameter table entry (docs/kernel-abi.md, "Parameters").
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ParamInfo { pub name: [u8; 32], pub min: f32, pub max: f32, pub initial: f32 }

impl ParamInfo {
    /// `ParamInfo::new("iterations", 8.0, 512.0, 64.0)`; the name must be 1..=31 bytes.
    pub const fn new(name: &str, min: f32, max: f32, initial: f32) -> ParamInfo {
        let bytes = name.as_bytes();
        assert!(bytes.len() >= 1 && bytes.len() <= 31);
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < bytes.len() { out[i] = bytes[i]; i += 1; }
        ParamInfo { name: out, min, max, initial }
    }
}

#[cfg(target_arch = "wasm32")]
mod sys {
    #[link(wasm_import_module = "fp")]
    extern "C" {
        #[link_name = "log"] pub fn fp_log(ptr: *const u8, len: i32);
        #[link_name = "input"] pub fn fp_input(what: i32) -> f32;
        #[link_name = "param"] pub fn fp_param(index: i32) -> f32;
    }
}

/// Writes `text` to the host's kernel log (at most 4096 bytes are kept).
#[inline]
pub fn log(text: &str) {
    #[cfg(target_arch = "wasm32")]
    unsafe { sys::fp_log(text.as_ptr(), text.len() as i32) }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = text;
}

/// Reads a pointer/button value; 0 headless.
#[inline]
pub fn input(what: Input) -> f32 {
    #[cfg(target_arch = "wasm32")]
    unsafe { sys::fp_input(what as i32) }
    #[cfg(not(target_arch = "wasm32"))]
    { let _ = what; 0.0 }
}

/// The value of parameter `index` for the frame being computed (0 for an undeclared index).
#[inline]
pub fn param(index: i32) -> f32 {
    #[cfg(target_arch = "wasm32")]
    unsafe { sys::fp_param(index) }
    #[cfg(not(target_arch = "wasm32"))]
    { let _ = index; 0.0 }
}

/// The offset `fp_output` returns for a pointer into linear memory.
#[inline]
pub fn offset<T>(p: *const T) -> i32 { p as usize as i32 }

/// Deterministic helpers (same bits on every host).
pub fn hash_u32(mut x: u32) -> u32 {
    x ^= x >> 16; x = x.wrapping_mul(0x7FEB352D);
    x ^= x >> 15; x = x.wrapping_mul(0x846CA68B);
    x ^= x >> 16; x
}
pub fn hash_unitf(x: u32) -> f32 { (hash_u32(x) >> 8) as f32 * (1.0 / 16777216.0) }

/// Writes the `#[no_mangle] extern "C"` exports of a kernel:
/// ```ignore
/// framepipe::kernel! {
///     format: Rgba,
///     init: my_init,        // fn(i32, i32) -> i32
///     frame: my_frame,      // fn(i32, f64, i32, i32) -> i32
///     output: my_output,    // fn() -> i32 (framepipe::offset(ptr))
///     // optional, in this order:
///     points: my_points,    // fn() -> i32, Format::Points only
///     stateful: true,
///     params: PARAMS,       // static [ParamInfo; N]
/// }
/// ```
#[macro_export]
macro_rules! kernel {
    (format: $fmt:ident, init: $init:path, frame: $frame:path, output: $output:path
     $(, points: $points:path)? $(, stateful: $stateful:expr)? $(, params: $params:path)? $(,)?) => {
        #[no_mangle] pub extern "C" fn fp_abi_version() -> i32 { $crate::ABI_VERSION }
        #[no_mangle] pub extern "C" fn fp_format() -> i32 { $crate::Format::$fmt as i32 }
        #[no_mangle] pub extern "C" fn fp_init(w: i32, h: i32) -> i32 { $init(w, h) }
        #[no_mangle] pub extern "C" fn fp_frame(f: i32, t: f64, b: i32, e: i32) -> i32 { $frame(f, t, b, e) }
        #[no_mangle] pub extern "C" fn fp_output() -> i32 { $output() }
        $( #[no_mangle] pub extern "C" fn fp_points() -> i32 { $points() } )?
        $( #[no_mangle] pub extern "C" fn fp_stateful() -> i32 { if $stateful { 1 } else { 0 } } )?
        $(
            #[no_mangle] pub extern "C" fn fp_param_count() -> i32 { $params.len() as i32 }
            #[no_mangle] pub extern "C" fn fp_params() -> i32 { $params.as_ptr() as usize as i32 }
        )?
    };
}
