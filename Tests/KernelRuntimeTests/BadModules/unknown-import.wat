;; unknown-import.wat — Framepipe Kernel ABI v1 test module.
;; Wrong: imports env.abort, which the host does not provide (only fp.log and fp.input).
;; Built to unknown-import.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  ;; Accepts 1..64 x 1..64: the output buffer (1024 + 64*64*4 bytes) fits in one page.
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  ;; Leaves the (zeroed) output as it is: a black, transparent image.
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (i32.const 0))
)
