;; good-points.wat — Framepipe Kernel ABI v1 test module.
;; A correct stateless POINTS kernel (format 3): 12 points, output at offset 1024, any frame size.
;; Point k sits on the centre of pixel (2 + 5·(k mod 4), 2 + 5·(k div 4)) — x = (px + 0.5) / width · 2 − 1,
;; likewise y — with size 3 px, so it covers exactly the 3×3 pixels around that centre. Colour:
;; r = 20k / 255, g = 1 − 20k / 255, b = (frame & 255) / 255, a = 1; z = 0.
;; Built to good-points.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (global $width (mut f32) (f32.const 0))
  (global $height (mut f32) (f32.const 0))
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.lt_s (local.get $h) (i32.const 1)))
      (then (return (i32.const 1))))
    (global.set $width (f32.convert_i32_s (local.get $w)))
    (global.set $height (f32.convert_i32_s (local.get $h)))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 3))
  (func (export "fp_points") (result i32) (i32.const 12))
  (func (export "fp_output") (result i32) (i32.const 1024))
  ;; clip coordinate of the centre of pixel `pixel` on an axis of `size` pixels
  (func $centre (param $pixel i32) (param $size f32) (result f32)
    (f32.sub
      (f32.mul
        (f32.div (f32.add (f32.convert_i32_s (local.get $pixel)) (f32.const 0.5)) (local.get $size))
        (f32.const 2))
      (f32.const 1)))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $k i32) (local $p i32) (local $shade f32)
    (if (i32.or (i32.lt_s (local.get $begin) (i32.const 0))
          (i32.or (i32.gt_s (local.get $end) (i32.const 12))
                  (i32.gt_s (local.get $begin) (local.get $end))))
      (then (return (i32.const 4))))
    (local.set $k (local.get $begin))
    (block $done
      (loop $points
        (br_if $done (i32.ge_s (local.get $k) (local.get $end)))
        (local.set $p (i32.add (i32.const 1024) (i32.shl (local.get $k) (i32.const 5))))
        (local.set $shade (f32.div (f32.convert_i32_s (i32.mul (local.get $k) (i32.const 20))) (f32.const 255)))
        (f32.store offset=0 (local.get $p)
          (call $centre (i32.add (i32.const 2) (i32.mul (i32.const 5) (i32.rem_u (local.get $k) (i32.const 4))))
            (global.get $width)))
        (f32.store offset=4 (local.get $p)
          (call $centre (i32.add (i32.const 2) (i32.mul (i32.const 5) (i32.div_u (local.get $k) (i32.const 4))))
            (global.get $height)))
        (f32.store offset=8 (local.get $p) (f32.const 0))
        (f32.store offset=12 (local.get $p) (f32.const 3))
        (f32.store offset=16 (local.get $p) (local.get $shade))
        (f32.store offset=20 (local.get $p) (f32.sub (f32.const 1) (local.get $shade)))
        (f32.store offset=24 (local.get $p)
          (f32.div (f32.convert_i32_s (i32.and (local.get $frame) (i32.const 255))) (f32.const 255)))
        (f32.store offset=28 (local.get $p) (f32.const 1))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $points)))
    (i32.const 0))
)
