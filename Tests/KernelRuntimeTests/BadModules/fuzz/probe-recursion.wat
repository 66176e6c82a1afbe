;; fuzz: fp_abi_version recurses (call, not return_call) until the stack is exhausted: WasmKit printed a 17 133-character error line (the backtrace, frame by frame) in the 16:00 release build; fixed in the 17:01 debug build (smith, seed 11 module 11; hand-reduced)
(module
  (memory (export "memory") 1)
  (func $v (export "fp_abi_version") (result i32) (call $v))
  (func (export "fp_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) (i32.const 0)))
