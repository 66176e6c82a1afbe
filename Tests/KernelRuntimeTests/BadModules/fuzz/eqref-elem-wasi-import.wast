;; fuzz: an eqref element segment (GC) and a WASI import: WasmKit refuses it as invalid (16:00 release build: "Message(text: "malformed value type: 113")"), wasmtime names the import (`wasi_snapshot_preview1.clock_time_get`); one check order and no Swift values (smith, seed 2026 module 120, wasm-tools shrink); wat2wasm 1.0.32 cannot read it, hence .wast: built with `wasm-tools parse NAME.wast -o NAME.wasm`
(module
  (type (;0;) (func (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (;0;) (type 0) (param i32 i64 i32) (result i32)))
  (elem (;0;) eqref)
)
