;; fuzz: a GC struct type (no GC instruction): WasmKit refuses the module (invalid-module), wasmtime accepts and runs it (capture exit 0); engines must agree (scripts/fuzz.py, smith with GC on; hand-reduced); wat2wasm 1.0.32 cannot read GC syntax, hence .wast: built with `wasm-tools parse NAME.wast -o NAME.wasm`
(module
  (type $point (struct (field i32)))
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) (i32.const 0)))
