;; good-gradient's shape, but fp_abi_version's body does not validate: i32.add on an empty stack.
;; Built with `wat2wasm --no-check` (scripts/build-kernels.sh builds every invalid-*.wat so): wasmtime
;; finds it when it compiles the module, WasmKit when it translates functions at instantiation; both
;; must refuse it as an invalid module (exit 2), in the same words.
(module
  (memory (export "memory") 1)
  (func (export "fp_abi_version") (result i32) (i32.add))
  (func (export "fp_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (i32.const 1024))
  (func (export "fp_frame") (param i32 f64 i32 i32) (result i32) (i32.const 0)))
