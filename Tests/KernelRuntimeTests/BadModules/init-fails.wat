;; init-fails.wat — Framepipe Kernel ABI v1 test module.
;; Wrong: fp_init always returns error code 5.
;; Built to init-fails.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (i32.const 5))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  ;; Leaves the (zeroed) output as it is: a black, transparent image.
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (i32.const 0))
)
