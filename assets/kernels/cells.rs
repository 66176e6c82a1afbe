//! cells.rs: drifting Voronoi cells (format 1, RGBA8, stateless), the gallery's Rust kernel.
//! A grid of seeds, each circling its own cell, splits the frame into stained-glass cells: every
//! pixel takes the colour of its nearest seed, darkened towards the cell's rim, with a dark lead
//! line where two cells meet. `no_std` for wasm32-unknown-unknown, on the SDK crate
//! (assets/sdk/rust/framepipe); built by scripts/build-kernels.sh.
#![no_std]

use core::arch::wasm32;
use framepipe::{math, ParamInfo};

const MAX_SIDE: i32 = 4096;
/// Cells along the frame's shorter side (more along the longer one, at most MAX_GRID in all).
const CELLS_SHORT: i32 = 6;
const MAX_GRID: usize = 64;

static PARAMS: [ParamInfo; 2] = [
    ParamInfo::new("speed", 0.0, 4.0, 1.0),     // seed turns per 10 s
    ParamInfo::new("lead", 0.0, 0.3, 0.08),     // width of the lines between cells, in cells
];

struct State { width: i32, height: i32, out: *mut u8, cell: f32, cols: i32, rows: i32 }
// One instance per module instance and a single thread: a plain static is what the C kernels use too.
static mut STATE: State = State { width: 0, height: 0, out: core::ptr::null_mut(), cell: 1.0, cols: 0, rows: 0 };
/// Per call: each seed's position (pixels) and colour, for the whole grid (depends only on time).
static mut SEEDS: [(f32, f32); MAX_GRID * MAX_GRID] = [(0.0, 0.0); MAX_GRID * MAX_GRID];
static mut COLOURS: [[u8; 3]; MAX_GRID * MAX_GRID] = [[0; 3]; MAX_GRID * MAX_GRID];

fn clamp01(x: f32) -> f32 { math::clampf(x, 0.0, 1.0) }

fn init(w: i32, h: i32) -> i32 {
    if w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE { return 1; }
    let bytes = w as usize * h as usize * 4;
    // Grow linear memory past everything else and put the output there (new pages read as zero).
    let start = wasm32::memory_size(0) * 65536;
    if wasm32::memory_grow(0, (bytes + 65535) / 65536) == usize::MAX { return 2; }
    let short = if w < h { w } else { h };
    let long = if w < h { h } else { w };
    // Cells of `short / CELLS_SHORT` pixels, bigger where the longer side would need over MAX_GRID - 1.
    let mut cell = short as f32 / CELLS_SHORT as f32;
    let least = long as f32 / (MAX_GRID - 1) as f32;
    if cell < least { cell = least; }
    if cell < 1.0 { cell = 1.0; }
    let fit = |side: i32| { let n = (side as f32 / cell) as i32 + 2; if n > MAX_GRID as i32 { MAX_GRID as i32 } else { n } };
    unsafe {
        STATE = State { width: w, height: h, out: start as *mut u8, cell, cols: fit(w), rows: fit(h) };
        // Colours never change: a hashed hue through a cosine palette, set once.
        for (i, colour) in COLOURS.iter_mut().enumerate() {
            let hue = framepipe::hash_unitf(i as u32 ^ 0x5EED_CE11);
            let lift = 0.55 + 0.45 * framepipe::hash_unitf(i as u32 ^ 0x0B0E_5A1D);
            for (c, phase) in [0.0f32, 0.33, 0.67].iter().enumerate() {
                let v = lift * (0.5 + 0.5 * math::sinf(6.2831853 * (hue + phase)));
                colour[c] = (clamp01(v) * 255.0) as u8;
            }
        }
    }
    framepipe::log("cells: ready");
    0
}

fn frame(_frame: i32, time: f64, begin: i32, end: i32) -> i32 {
    let s = unsafe { &*core::ptr::addr_of!(STATE) };
    if s.width == 0 { return 3; }
    if begin < 0 || end > s.height || begin > end { return 4; }
    let speed = framepipe::param(0);
    let lead = framepipe::param(1);
    // The phase from f64 time, reduced to one turn before going to f32.
    let turns = time * speed as f64 * 0.1;
    let phase = math::fract(turns) as f32 * 6.2831853;
    let seeds = unsafe { &mut *core::ptr::addr_of_mut!(SEEDS) };
    let colours = unsafe { &*core::ptr::addr_of!(COLOURS) };
    let cols = s.cols as usize;
    for j in 0..s.rows as usize {
        for i in 0..cols {
            let k = j * cols + i;
            let h = framepipe::hash_u32(k as u32);
            let radius = 0.15 + 0.2 * ((h & 0xFF) as f32 / 255.0);
            let offset = 6.2831853 * ((h >> 8 & 0xFFFF) as f32 / 65536.0);
            let way = if h >> 31 == 0 { 1.0 } else { -1.0 };
            let a = way * phase + offset;
            seeds[k] = (
                (i as f32 + 0.5 + radius * math::sinf(a + 1.5707963)) * s.cell,
                (j as f32 + 0.5 + radius * math::sinf(a)) * s.cell,
            );
        }
    }
    let lead_px = lead * s.cell;
    for y in begin..end {
        let py = y as f32 + 0.5;
        let cy = math::floorf(py / s.cell) as i32;
        let row = unsafe { core::slice::from_raw_parts_mut(s.out.add(y as usize * s.width as usize * 4), s.width as usize * 4) };
        for x in 0..s.width {
            let px = x as f32 + 0.5;
            let cx = math::floorf(px / s.cell) as i32;
            // Nearest and second-nearest seed among the 3×3 cells around the pixel's own.
            let (mut d1, mut d2, mut nearest) = (f32::MAX, f32::MAX, 0usize);
            for j in cy - 1..=cy + 1 {
                if j < 0 || j >= s.rows { continue; }
                for i in cx - 1..=cx + 1 {
                    if i < 0 || i >= s.cols { continue; }
                    let k = j as usize * cols + i as usize;
                    let (sx, sy) = seeds[k];
                    let d = (sx - px) * (sx - px) + (sy - py) * (sy - py);
                    if d < d1 { d2 = d1; d1 = d; nearest = k; } else if d < d2 { d2 = d; }
                }
            }
            let (d1, d2) = (math::sqrtf(d1), math::sqrtf(d2));
            // Rim shading from the distance to the seed, the lead line from how close the second seed is.
            let shade = clamp01(1.15 - 0.75 * d1 / s.cell);
            let edge = if lead_px > 0.0 { clamp01((d2 - d1) / lead_px - 1.0) } else { 1.0 };
            let k = shade * edge;
            let c = colours[nearest];
            let p = &mut row[x as usize * 4..x as usize * 4 + 4];
            p[0] = (c[0] as f32 * k) as u8;
            p[1] = (c[1] as f32 * k) as u8;
            p[2] = (c[2] as f32 * k) as u8;
            p[3] = 255;
        }
    }
    0
}

fn output() -> i32 { unsafe { framepipe::offset((*core::ptr::addr_of!(STATE)).out) } }

framepipe::kernel! { format: Rgba, init: init, frame: frame, output: output, params: PARAMS }

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { wasm32::unreachable() }
