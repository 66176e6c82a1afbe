;; fuzz: an fp_init body that does not validate AND no fp_abi_version export (build with wat2wasm --no-check): WasmKit says missing-export, wasmtime invalid-module; one check order on both engines (mutated gallery kernel, seed 11 module 81; hand-reduced)
(module
  (memory (export "memory") 1)
  (func (export "fp_init") (param i32 i32) (result i32) (i32.add))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) (i32.const 0)))
