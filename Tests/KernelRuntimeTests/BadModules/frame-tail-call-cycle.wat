;; frame-tail-call-cycle.wat — Framepipe Kernel ABI v1 test module (found by fuzzing, reduced).
;; Wrong: every fp_frame enters a return_call cycle between two functions, with an operand left on
;; the stack each time (the host must stop it within --tile-timeout on every engine).
;; Built to frame-tail-call-cycle.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func $ping (param $n i32) (result i32) (i32.const 7) (return_call $pong (i32.add (local.get $n) (i32.const 1))))
  (func $pong (param $n i32) (result i32) (i32.const 7) (return_call $ping (local.get $n)))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (call $ping (local.get $frame)))
)
