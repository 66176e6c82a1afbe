;; atomic-load.wat — fuzzing reproducer (seed 20261203, module 386, reduced by hand).
;; An atomic load (i64.atomic.load8_u) and no other atomic: WasmKit ran it, wasmtime refused it; both refuse atomics now.
;; Built to atomic-load.wasm by scripts/build-kernels.sh (wat2wasm --enable-threads).
(module
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (global $width (mut i32) (i32.const 0))
  (global $height (mut i32) (i32.const 0))
  ;; Accepts 1..64 x 1..64 (error 1 otherwise): 1024 + 64*64*4 bytes fit in one page.
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
  ;; Pixel (x, y) of frame f = (x*4 & 255, y*4 & 255, f & 255, 255). Errors: 3 = not
  ;; initialised, 4 = bad row range.
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $x i32) (local $y i32) (local $p i32)
    (drop (i64.atomic.load8_u (i32.const 0)))
    (if (i32.eqz (global.get $width)) (then (return (i32.const 3))))
    (if (i32.or (i32.lt_s (local.get $begin) (i32.const 0))
          (i32.or (i32.gt_s (local.get $end) (global.get $height))
                  (i32.gt_s (local.get $begin) (local.get $end))))
      (then (return (i32.const 4))))
    (local.set $y (local.get $begin))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $y) (local.get $end)))
        ;; p = 1024 + y * width * 4
        (local.set $p (i32.add (i32.const 1024)
          (i32.shl (i32.mul (local.get $y) (global.get $width)) (i32.const 2))))
        (local.set $x (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $x) (global.get $width)))
            (i32.store8 offset=0 (local.get $p)
              (i32.and (i32.shl (local.get $x) (i32.const 2)) (i32.const 255)))
            (i32.store8 offset=1 (local.get $p)
              (i32.and (i32.shl (local.get $y) (i32.const 2)) (i32.const 255)))
            (i32.store8 offset=2 (local.get $p)
              (i32.and (local.get $frame) (i32.const 255)))
            (i32.store8 offset=3 (local.get $p) (i32.const 255))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $cols)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (i32.const 0))
)
