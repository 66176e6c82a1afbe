;; good-stateful-counter.wat — Framepipe Kernel ABI v1 test module.
;; A correct STATEFUL kernel (fp_stateful = 1): RGBA8, sizes up to 64x64, output at offset 1024.
;; Every fp_frame call increments a counter kept in the instance; pixel = (calls & 255, frame & 255,
;; 0, 255). Run in order on one instance, frame f is therefore the (f+1)-th call: R = (f + 1) & 255.
;; Built to good-stateful-counter.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (global $width (mut i32) (i32.const 0))
  (global $height (mut i32) (i32.const 0))
  (global $calls (mut i32) (i32.const 0))
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_stateful") (result i32) (i32.const 1))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (global.set $width (local.get $w))
    (global.set $height (local.get $h))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $p i32) (local $stop i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.set $p (i32.add (i32.const 1024)
      (i32.shl (i32.mul (local.get $begin) (global.get $width)) (i32.const 2))))
    (local.set $stop (i32.add (i32.const 1024)
      (i32.shl (i32.mul (local.get $end) (global.get $width)) (i32.const 2))))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $p) (local.get $stop)))
        (i32.store8 offset=0 (local.get $p) (global.get $calls))
        (i32.store8 offset=1 (local.get $p) (local.get $frame))
        (i32.store8 offset=2 (local.get $p) (i32.const 0))
        (i32.store8 offset=3 (local.get $p) (i32.const 255))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $pixels)))
    (i32.const 0))
)
