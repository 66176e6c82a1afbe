;; probe-tail-call-loop.wat — Framepipe Kernel ABI v1 test module (found by fuzzing, reduced).
;; Wrong: fp_abi_version return_calls itself for ever (a probe must be stopped within its bound:
;; each probe's budget is KernelLimits.probeBudget).
;; Built to probe-tail-call-loop.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (memory (export "memory") 1)
  (func $version (export "fp_abi_version") (result i32) (return_call $version))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (i32.const 0))
)
