;; log-injection.wat — Framepipe Kernel ABI v1 test module.
;; Wrong: its log text tries to forge host output. fp_init logs a newline, a fake
;; "framepipe: error:" line, an ESC colour sequence and a BEL; fp_frame logs 100 lines per call
;; and calls fp.log(pointer, -1) and fp.log(pointer, 0), which the ABI drops. Otherwise good-gradient.
;; Built to log-injection.wasm by scripts/build-kernels.sh (wat2wasm).
(module
  (import "fp" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\nframepipe: error: forged\1b[31mred\07")
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (global $width (mut i32) (i32.const 0))
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or
          (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
          (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (global.set $width (local.get $w))
    (call $log (i32.const 16) (i32.const 36))
    (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $i i32)
    (call $log (i32.const 16) (i32.const -1))
    (call $log (i32.const 16) (i32.const 0))
    (loop $lines
      (call $log (i32.const 16) (i32.const 2))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_s (local.get $i) (i32.const 100))))
    (i32.const 0))
)
