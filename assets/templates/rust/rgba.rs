//! @NAME@ — a Framepipe kernel (Kernel ABI v1) in Rust that draws an animated RGBA image.
//! Written by `framepipe new @NAME@ --lang rust --format rgba`; build with ./build.sh, run with
//! `framepipe view @NAME@.wasm --watch --build ./build.sh`. The ABI: docs/kernel-abi.md.
//!
//! Stateless: a pixel depends only on its coordinates, the time and the parameters, so the host may
//! split a frame's rows [begin, end) over several instances of this module and compute frames in any
//! order. Each instance has its own memory (and its own `IMAGE`). A panic ends the call as a fault
//! the host reports, without taking anything else down.
use framepipe::ParamInfo;
use std::cell::RefCell;

static PARAMS: [ParamInfo; 2] = [ParamInfo::new("speed", 0.0, 4.0, 1.0), ParamInfo::new("scale", 1.0, 32.0, 8.0)];

struct Image {
    width: usize,
    height: usize,
    rgba: Vec<u8>, // width × height × 4 bytes: R, G, B, A
}

thread_local! {
    // wasm kernels are single-threaded: the RefCell is never contended.
    static IMAGE: RefCell<Image> = RefCell::new(Image { width: 0, height: 0, rgba: Vec::new() });
}

fn channel(x: f32) -> u8 { (x.clamp(0.0, 1.0) * 255.0 + 0.5) as u8 }

fn init(width: i32, height: i32) -> i32 {
    let (width, height) = (width as usize, height as usize);
    IMAGE.with(|image| *image.borrow_mut() = Image { width, height, rgba: vec![0; width * height * 4] });
    println!("@NAME@: {}x{}", width, height);
    0
}

fn frame(_frame: i32, time: f64, begin: i32, end: i32) -> i32 {
    let t = time as f32 * framepipe::param(0);
    let scale = framepipe::param(1);
    IMAGE.with(|image| {
        let image = &mut *image.borrow_mut();
        for y in begin as usize..end as usize {
            let v = y as f32 / image.height as f32 - 0.5;
            for x in 0..image.width {
                let u = x as f32 / image.width as f32 - 0.5;
                let wave = (u * scale + t).sin() + (v * scale * 1.3 - t * 0.7).sin() + (u.hypot(v) * scale * 2.0 - t).sin();
                let i = (y * image.width + x) * 4;
                image.rgba[i..i + 4].copy_from_slice(&[
                    channel(0.5 + 0.5 * (wave * 1.5).sin()),
                    channel(0.5 + 0.5 * (wave * 1.5 + 2.1).sin()),
                    channel(0.5 + 0.5 * (wave * 1.5 + 4.2).sin()),
                    255,
                ]);
            }
        }
    });
    0
}

fn output() -> i32 { IMAGE.with(|image| framepipe::offset(image.borrow().rgba.as_ptr())) }

framepipe::kernel! { format: Rgba, init: init, frame: frame, output: output, params: PARAMS }
