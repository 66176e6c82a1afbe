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

/// Deterministic math for `no_std` kernels: `core` (Rust 1.63) has no `floor`, `sqrt` or `sin`
/// for floats, and these use IEEE-exact operations only, so every engine gives the same bits
/// (the counterparts of framepipe.h's fp_floorf, fp_fract, fp_sqrtf, fp_sinf).
pub mod math {
    /// floor(x), the sign of zero included; integral values, infinities and NaN pass through.
    pub fn floorf(x: f32) -> f32 {
        if !(abs(x) < 8388608.0) || x == 0.0 { return x; } // 2^23: already integral
        let t = x as i32 as f32; // truncates toward zero, exact below 2^23
        if t > x { t - 1.0 } else { t }
    }
    /// floor(x) for f64.
    pub fn floor(x: f64) -> f64 {
        if !(if x < 0.0 { -x } else { x } < 4503599627370496.0) || x == 0.0 { return x; } // 2^52
        let t = x as i64 as f64;
        if t > x { t - 1.0 } else { t }
    }
    /// x - floor(x), in [0, 1).
    pub fn fractf(x: f32) -> f32 { x - floorf(x) }
    /// x - floor(x) for f64: use it for phases of a growing `time` (`fract(time * hz)`).
    pub fn fract(x: f64) -> f64 { x - floor(x) }
    pub fn abs(x: f32) -> f32 { f32::from_bits(x.to_bits() & 0x7FFF_FFFF) }
    /// Square root by Newton's method from a bit-level first guess (relative error < 1e-7);
    /// 0 for x <= 0 or NaN, x for infinity.
    pub fn sqrtf(x: f32) -> f32 {
        if !(x > 0.0) { return 0.0; }
        if x == f32::INFINITY { return x; }
        let mut r = f32::from_bits((x.to_bits() >> 1) + 0x1FBD_1DF5);
        let mut i = 0;
        while i < 4 { r = 0.5 * (r + x / r); i += 1; }
        r
    }
    /// sin(x) by reduction to ±π and an odd degree-11 polynomial: error < 1e-6 for |x| ≤ 20.
    pub fn sinf(x: f32) -> f32 {
        const PI: f32 = 3.14159265;
        const TWO_PI: f32 = 6.28318531;
        let x = x - TWO_PI * floorf((x + PI) / TWO_PI);
        let x2 = x * x;
        x * (1.0 + x2 * (-1.6666667e-1 + x2 * (8.3333337e-3 + x2 * (-1.9841270e-4 + x2 * (2.7557319e-6 - x2 * 2.5052108e-8)))))
    }
    /// cos(x) = sin(x + π/2).
    pub fn cosf(x: f32) -> f32 { sinf(x + 1.57079633) }
    pub fn clampf(x: f32, lo: f32, hi: f32) -> f32 { if x > hi { hi } else if x >= lo { x } else { lo } }
}

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
