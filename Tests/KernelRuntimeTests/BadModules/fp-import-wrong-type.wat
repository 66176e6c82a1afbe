;; Imports fp.log with the wrong type: refused at load, in the host's words, the same on
;; every engine (WASITests; before, each engine refused it at instantiation in its own words).
(module
  (import "fp" "log" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) (i32.const 0)))
