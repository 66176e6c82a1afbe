//! @NAME@ — a Framepipe kernel (Kernel ABI v1) in Rust that computes an animated scalar field, which
//! the host colours with a colormap (--colormap). Written by `framepipe new @NAME@ --lang rust --format field`;
//! build with ./build.sh, run with `framepipe view @NAME@.wasm --watch --build ./build.sh`.
//! The ABI: docs/kernel-abi.md.
//!
//! Stateless: a value depends only on its coordinates, the time and the parameters, so the host may
//! split a frame's rows [begin, end) over several instances of this module and compute frames in any
//! order. Each instance has its own memory (and its own `FIELD`). A panic ends the call as a fault
//! the host reports, without taking anything else down.
use framepipe::ParamInfo;
use std::cell::RefCell;
use std::f32::consts::TAU;

static PARAMS: [ParamInfo; 2] =
    [ParamInfo::new("speed", 0.0, 4.0, 1.0), ParamInfo::new("wavelength", 0.01, 0.5, 0.08)];

struct Field {
    width: usize,
    height: usize,
    values: Vec<f32>, // width × height values in 0..1, row-major, top row first
}

thread_local! {
    // wasm kernels are single-threaded: the RefCell is never contended.
    static FIELD: RefCell<Field> = RefCell::new(Field { width: 0, height: 0, values: Vec::new() });
}

fn init(width: i32, height: i32) -> i32 {
    let (width, height) = (width as usize, height as usize);
    FIELD.with(|field| *field.borrow_mut() = Field { width, height, values: vec![0.0; width * height] });
    println!("@NAME@: {}x{}", width, height);
    0
}

fn frame(_frame: i32, time: f64, begin: i32, end: i32) -> i32 {
    let t = time as f32 * framepipe::param(0);
    let k = TAU / framepipe::param(1);
    // Wave sources circling the centre; the field is their interference pattern.
    let sources: Vec<(f32, f32)> = (0..5)
        .map(|i| {
            let angle = t * 0.3 + i as f32 * TAU / 5.0;
            (0.5 + 0.3 * angle.cos(), 0.5 + 0.3 * angle.sin())
        })
        .collect();
    FIELD.with(|field| {
        let field = &mut *field.borrow_mut();
        for y in begin as usize..end as usize {
            let v = y as f32 / field.height as f32;
            for x in 0..field.width {
                let u = x as f32 / field.width as f32;
                let sum: f32 = sources.iter().map(|&(sx, sy)| ((u - sx).hypot(v - sy) * k - t * 4.0).cos()).sum();
                field.values[y * field.width + x] = 0.5 + 0.5 * sum / sources.len() as f32;
            }
        }
    });
    0
}

fn output() -> i32 { FIELD.with(|field| framepipe::offset(field.borrow().values.as_ptr())) }

framepipe::kernel! { format: Field, init: init, frame: frame, output: output, params: PARAMS }
