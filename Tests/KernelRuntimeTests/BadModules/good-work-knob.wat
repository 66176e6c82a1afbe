;; good-work-knob.wat — Framepipe Kernel ABI v1 test module: a kernel whose cost per frame is set by a parameter,
;; for the baseline comparison's true-positive test (docs/benchmarking.md, "How often the verdicts are right").
;; RGBA8, any size up to 2048x2048 (memory grows in fp_init to fit); parameter `work` 1...1000 (initial 20): each
;; pixel runs `work` dependent steps of a linear congruential generator seeded by (x, y, frame), so the compute time
;; is about proportional to `work` (22 instead of 20: ~10 % slower). Alpha is 255.
;; Built by scripts/build-kernels.sh (wat2wasm).
(module
  (import "fp" "param" (func $param (param i32) (result f32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "\77\6f\72\6b\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\80\3f\00\00\7a\44\00\00\a0\41")
  (global $width (mut i32) (i32.const 0))
  (global $height (mut i32) (i32.const 0))
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 65536))
  (func (export "fp_param_count") (result i32) (i32.const 1))
  (func (export "fp_params") (result i32) (i32.const 256))
  ;; the frame lives at 65536: grow to 1 + ceil(width * height * 4 / 65536) pages
  (func (export "fp_init") (param $w i32) (param $h i32) (result i32)
    (local $pages i32)
    (if (i32.or (i32.or (i32.lt_s (local.get $w) (i32.const 1)) (i32.gt_s (local.get $w) (i32.const 2048)))
                (i32.or (i32.lt_s (local.get $h) (i32.const 1)) (i32.gt_s (local.get $h) (i32.const 2048))))
      (then (return (i32.const 1))))
    (local.set $pages
      (i32.add (i32.const 1)
        (i32.shr_u (i32.add (i32.mul (i32.mul (local.get $w) (local.get $h)) (i32.const 4)) (i32.const 65535))
                   (i32.const 16))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 2))))))
    (global.set $width (local.get $w))
    (global.set $height (local.get $h))
    (i32.const 0))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param $end i32) (result i32)
    (local $y i32) (local $x i32) (local $v i32) (local $k i32) (local $work i32) (local $address i32)
    (local.set $work (i32.trunc_sat_f32_s (call $param (i32.const 0))))
    (if (i32.lt_s (local.get $work) (i32.const 1)) (then (local.set $work (i32.const 1))))
    (local.set $y (local.get $begin))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $y) (local.get $end)))
        (local.set $address
          (i32.add (i32.const 65536) (i32.shl (i32.mul (local.get $y) (global.get $width)) (i32.const 2))))
        (local.set $x (i32.const 0))
        (block $done
          (loop $columns
            (br_if $done (i32.ge_s (local.get $x) (global.get $width)))
            (local.set $v (i32.xor (i32.xor (local.get $x) (i32.shl (local.get $y) (i32.const 16)))
                                   (i32.mul (local.get $frame) (i32.const 40503))))
            (local.set $k (local.get $work))
            (loop $steps
              (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 1664525)) (i32.const 1013904223)))
              (local.set $k (i32.sub (local.get $k) (i32.const 1)))
              (br_if $steps (i32.gt_s (local.get $k) (i32.const 0))))
            (i32.store (local.get $address) (i32.or (local.get $v) (i32.const 0xff000000)))
            (local.set $address (i32.add (local.get $address) (i32.const 4)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $columns)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (i32.const 0)))
