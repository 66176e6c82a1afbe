;; points-absurd.wat — Framepipe Kernel ABI v1 test module.
;; Wrong: format 3 (points) but fp_points returns 0 points.
;; Built to points-absurd.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  ;; Accepts 1..64 x 1..64, like the other modules here.
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 3))
  (func (export "fp_output") (result i32) (i32.const 1024))
  ;; Computes nothing (there are no points).
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (i32.const 0))
  (func (export "fp_points") (result i32) (i32.const 0))
)
