;; fuzz: fp.log imported as (i32) -> i32: WasmKit now says invalid-module, wasmtime cannot-instantiate (kernel-abi.md: a wrong import signature fails at instantiation) (smith, CI seed 20261201 module 2, debug build of 17:01; hand-reduced)
(module
  (import "fp" "log" (func $log (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) i32.const 1)
  (func (export "fp_format") (result i32) i32.const 1)
  (func (export "fp_output") (result i32) i32.const 0)
  (func (export "fp_init") (param i32 i32) (result i32) i32.const 0)
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) i32.const 0))
