;; fuzz: fp_abi_version and fp_format return_call each other for ever (with a data.drop): WasmKit ran 51 s (inspect) and past 60 s (bench) in the 16:00 release build, > 120 s under load; wasmtime stops it at its 5 s deadline; the 17:01 debug build stops it at the 10^7 probe fuel (19 s in debug) (smith, seed 7 module 937; hand-reduced from the shrunk module)
(module
  (memory (export "memory") 17 21)
  (data "")
  (func $version (export "fp_abi_version") (result i32) (data.drop 0) (return_call $format))
  (func $format (export "fp_format") (result i32) (return_call $version))
  (func (export "fp_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) (i32.const 0)))
