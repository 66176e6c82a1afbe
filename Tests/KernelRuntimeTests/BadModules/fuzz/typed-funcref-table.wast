;; fuzz: a table of typed function references (ref null $frame), function-references proposal: WasmKit refuses the module (invalid-module), wasmtime accepts it and runs fp_frame (smith, seed 2026 module 289, wasm-tools shrink; tidied); wat2wasm 1.0.32 cannot read it, hence .wast: built with `wasm-tools parse NAME.wast -o NAME.wasm`
(module
  (type $frame (func (param i32 f64 i32 i32) (result i32)))
  (table 0 (ref null $frame) (ref.null $frame))
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 0))
  (func (export "fp_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "fp_frame") (type $frame) (i32.const 0)))
