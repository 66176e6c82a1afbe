;; A kernel that calls the WASI preview1 subset (docs/kernel-abi.md, "WASI subset") and writes each answer
;; into its output as i32 slots (RGBA8, 16 pixels a row: 16 slots, in the first row of the call), for WASITests on both engines:
;;   0 fd_write(1) errno      1 bytes written        2 path_open input.txt errno  3 fd_read errno
;;   4 bytes read             5 first 4 bytes read    6 open ../outside.txt errno  7 open /etc/passwd errno
;;   8 open escape/passwd     9 open new.txt O_CREAT  10 fd_read of directory sub  11 clock_time_get in µs
;;   12 random_get 4 bytes    13 fd_prestat_get(3)    14 fd_write(fd 9) errno      15 open input.txt for writing
;; fp_init writes "wasi kernel ready" to stdout and "and to stderr" to fd 2, without a newline (flushed at the end).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x80) "\00\01\00\00\12\00\00\00")  ;; iovec: 0x100, 18 bytes
  (data (i32.const 0x90) "\40\01\00\00\0d\00\00\00")  ;; iovec: 0x140, 13 bytes
  (data (i32.const 0x88) "\00\04\00\00\40\00\00\00")  ;; iovec for reads: 0x400, 64 bytes
  (data (i32.const 0x100) "wasi kernel ready\n")
  (data (i32.const 0x140) "and to stderr")
  (data (i32.const 0x200) "input.txt")
  (data (i32.const 0x210) "../outside.txt")
  (data (i32.const 0x220) "/etc/passwd")
  (data (i32.const 0x230) "escape/passwd")
  (data (i32.const 0x240) "sub")
  (data (i32.const 0x250) "new.txt")
  (global $out i32 (i32.const 0x1000))
  (global $row (mut i32) (i32.const 0x1000))
  (func $slot (param $index i32) (param $value i32)
    (i32.store (i32.add (global.get $row) (i32.shl (local.get $index) (i32.const 2))) (local.get $value)))
  ;; path_open under fd 3; the new fd lands at 0x300. Returns the errno.
  (func $open (param $path i32) (param $length i32) (param $oflags i32) (param $rights i64) (result i32)
    (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $length) (local.get $oflags)
      (local.get $rights) (i64.const 0) (i32.const 0) (i32.const 0x300)))
  (func (export "fp_abi_version") (result i32) (i32.const 1))
  (func (export "fp_format") (result i32) (i32.const 1))
  (func (export "fp_output") (result i32) (global.get $out))
  (func (export "fp_init") (param i32 i32) (result i32)
    (drop (call $args_sizes_get (i32.const 0x310) (i32.const 0x314)))
    (drop (call $fd_write (i32.const 1) (i32.const 0x80) (i32.const 1) (i32.const 0x318)))
    (drop (call $fd_write (i32.const 2) (i32.const 0x90) (i32.const 1) (i32.const 0x318)))
    (i32.const 0))
  (func (export "fp_frame") (param $frame i32) (param $time f64) (param $begin i32) (param i32) (result i32)
    (global.set $row (i32.add (global.get $out) (i32.shl (local.get $begin) (i32.const 6))))
    (call $slot (i32.const 0) (call $fd_write (i32.const 1) (i32.const 0x80) (i32.const 1) (i32.const 0x318)))
    (call $slot (i32.const 1) (i32.load (i32.const 0x318)))
    (call $slot (i32.const 2) (call $open (i32.const 0x200) (i32.const 9) (i32.const 0) (i64.const 2)))
    (call $slot (i32.const 3) (call $fd_read (i32.load (i32.const 0x300)) (i32.const 0x88) (i32.const 1) (i32.const 0x308)))
    (call $slot (i32.const 4) (i32.load (i32.const 0x308)))
    (call $slot (i32.const 5) (i32.load (i32.const 0x400)))
    (drop (call $fd_close (i32.load (i32.const 0x300))))
    (call $slot (i32.const 6) (call $open (i32.const 0x210) (i32.const 14) (i32.const 0) (i64.const 2)))
    (call $slot (i32.const 7) (call $open (i32.const 0x220) (i32.const 11) (i32.const 0) (i64.const 2)))
    (call $slot (i32.const 8) (call $open (i32.const 0x230) (i32.const 13) (i32.const 0) (i64.const 2)))
    (call $slot (i32.const 9) (call $open (i32.const 0x250) (i32.const 7) (i32.const 1) (i64.const 2)))
    (drop (call $open (i32.const 0x240) (i32.const 3) (i32.const 0) (i64.const 2)))
    (call $slot (i32.const 10) (call $fd_read (i32.load (i32.const 0x300)) (i32.const 0x88) (i32.const 1) (i32.const 0x308)))
    (drop (call $fd_close (i32.load (i32.const 0x300))))
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0x320)))
    (call $slot (i32.const 11) (i32.wrap_i64 (i64.div_u (i64.load (i32.const 0x320)) (i64.const 1000))))
    (drop (call $random_get (i32.const 0x328) (i32.const 4)))
    (call $slot (i32.const 12) (i32.load (i32.const 0x328)))
    (call $slot (i32.const 13) (call $fd_prestat_get (i32.const 3) (i32.const 0x330)))
    (call $slot (i32.const 14) (call $fd_write (i32.const 9) (i32.const 0x80) (i32.const 1) (i32.const 0x318)))
    (call $slot (i32.const 15) (call $open (i32.const 0x200) (i32.const 9) (i32.const 0) (i64.const 64)))
    (i32.const 0)))
