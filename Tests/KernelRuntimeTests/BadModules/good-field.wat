;; good-field.wat — Framepipe Kernel ABI v1 test module.
;; A correct stateless F32 FIELD kernel (format 2) for sizes up to 64x64, output at offset 1024.
;; Value at (x, y) of frame f = ((x + y + f) & 255) / 255 as f32: every value is an exact step of the
;; 256-entry colour maps, so a rendered frame can be checked pixel for pixel.
;; Built to good-field.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (global $width (mut i32) (i32.const 0))
  (global $height (mut i32) (i32.const 0))
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (global.set $width (local.get $w))
    (global.set $height (local.get $h))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 2))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $x i32) (local $y i32) (local $p i32)
    (if (i32.or (i32.lt_s (local.get $begin) (i32.const 0))
          (i32.or (i32.gt_s (local.get $end) (global.get $height))
                  (i32.gt_s (local.get $begin) (local.get $end))))
      (then (return (i32.const 4))))
    (local.set $y (local.get $begin))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $y) (local.get $end)))
        (local.set $p (i32.add (i32.const 1024)
          (i32.shl (i32.mul (local.get $y) (global.get $width)) (i32.const 2))))
        (local.set $x (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $x) (global.get $width)))
            (f32.store (local.get $p)
              (f32.div
                (f32.convert_i32_s
                  (i32.and (i32.add (i32.add (local.get $x) (local.get $y)) (local.get $frame)) (i32.const 255)))
                (f32.const 255)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $cols)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (i32.const 0))
)
