//! @NAME@ — a Framepipe kernel (Kernel ABI v1) in Rust that moves a cloud of points, which the host
//! draws as sprites. Written by `framepipe new @NAME@ --lang rust --format points`; build with
//! ./build.sh, run with `framepipe view @NAME@.wasm --watch --build ./build.sh`. The ABI: docs/kernel-abi.md.
//!
//! Stateless: a point depends only on its index, the time and the parameters, so the host may split a
//! frame's points [begin, end) over several instances of this module and compute frames in any order.
//! Each instance has its own memory (and its own `POINTS`). A panic ends the call as a fault the host
//! reports, without taking anything else down.
use framepipe::ParamInfo;
use std::cell::RefCell;
use std::f32::consts::TAU;

static PARAMS: [ParamInfo; 2] = [ParamInfo::new("speed", 0.0, 4.0, 1.0), ParamInfo::new("size", 1.0, 16.0, 3.0)];

const POINT_COUNT: usize = 4096;

/// One point as the host reads it: `framepipe::POINT_FLOATS` floats.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Point { x: f32, y: f32, z: f32, size: f32, r: f32, g: f32, b: f32, a: f32 }

thread_local! {
    // wasm kernels are single-threaded: the RefCell is never contended.
    static POINTS: RefCell<Vec<Point>> = RefCell::new(Vec::new());
}

fn init(width: i32, height: i32) -> i32 {
    POINTS.with(|points| *points.borrow_mut() = vec![Point::default(); POINT_COUNT]);
    println!("@NAME@: {} points on a {}x{} frame", POINT_COUNT, width, height);
    0
}

fn frame(_frame: i32, time: f64, begin: i32, end: i32) -> i32 {
    let t = time as f32 * framepipe::param(0);
    let size = framepipe::param(1);
    POINTS.with(|points| {
        let points = &mut *points.borrow_mut();
        for i in begin as usize..end as usize {
            let s = i as f32 / POINT_COUNT as f32; // 0..1 along a spiral galaxy's two arms
            let arm = if i % 2 == 0 { 0.0 } else { TAU / 2.0 };
            let angle = s * TAU * 2.0 + arm + t * 0.5;
            let radius = 0.05 + 0.85 * s;
            let wobble = 0.03 * (framepipe::hash_unitf(i as u32) - 0.5) * (1.0 + (t + s * 40.0).sin());
            points[i] = Point {
                x: (radius + wobble) * angle.cos(),
                y: (radius + wobble) * angle.sin(),
                z: s,
                size,
                r: 1.0 - 0.6 * s,
                g: 0.6 + 0.3 * (t + s * TAU).sin(),
                b: 0.4 + 0.6 * s,
                a: 0.8,
            };
        }
    });
    0
}

fn output() -> i32 { POINTS.with(|points| framepipe::offset(points.borrow().as_ptr())) }

fn points() -> i32 { POINT_COUNT as i32 }

framepipe::kernel! { format: Points, init: init, frame: frame, output: output, points: points, params: PARAMS }
