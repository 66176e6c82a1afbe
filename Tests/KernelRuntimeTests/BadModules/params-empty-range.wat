;; params-empty-range.wat — a parameter with min = max = 1: a range needs min < max.
;; Built by scripts/build-kernels.sh (wat2wasm).
(module
  (import "fp" "param" (func $param (param i32) (result f32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "\66\6c\61\74\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\80\3f\00\00\80\3f\00\00\80\3f")
  (global $width (mut i32) (i32.const 0))
  (global $height (mut i32) (i32.const 0))
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_format") (result i32) (i32.const 2))
  (func (export "fp_output") (result i32) (i32.const 4096))
  (func (export "fp_param_count") (result i32) (i32.const 1))
  (func (export "fp_params") (result i32) (i32.const 256))
  ;; at most 64x64: the f32 field at 4096 fits the one page
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (if (i32.or (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 64)))
                (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 64))))
      (then (return (i32.const 1))))
    (global.set $width (local.get $w))
    (global.set $height (local.get $h))
    (i32.const 0))
  ;; pixel (x, y) of the field = fp.param(x mod 4): the three values, then 0 for the undeclared index 3
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $y i32) (local $x i32)
    (local.set $y (local.get $begin))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $y) (local.get $end)))
        (local.set $x (i32.const 0))
        (block $done
          (loop $columns
            (br_if $done (i32.ge_s (local.get $x) (global.get $width)))
            (f32.store
              (i32.add (i32.const 4096)
                (i32.shl (i32.add (i32.mul (local.get $y) (global.get $width)) (local.get $x)) (i32.const 2)))
              (call $param (i32.rem_u (local.get $x) (i32.const 4))))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $columns)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (i32.const 0)))
