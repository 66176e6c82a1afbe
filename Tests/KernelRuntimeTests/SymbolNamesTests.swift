import XCTest

@testable import KernelRuntime

/// Backtrace names of Rust and C++ kernels (SymbolNames): decoded where the grammar is understood, else kept.
final class SymbolNamesTests: XCTestCase {
    func testRustLegacyNamesLoseTheirHashAndEscapes() {
        XCTAssertEqual(
            SymbolNames.readable("_ZN3std9panicking20rust_panic_with_hook17h6ac9107c42850161E"),
            "std::panicking::rust_panic_with_hook")
        XCTAssertEqual(
            SymbolNames.readable("_ZN3std9panicking19begin_panic_handler28_$u7b$$u7b$closure$u7d$$u7d$17h8ef066ac4d1e7406E"),
            "std::panicking::begin_panic_handler::{{closure}}")
        XCTAssertEqual(
            SymbolNames.readable("_ZN4core3fmt3num3imp52_$LT$impl$u20$core..fmt..Display$u20$for$u20$i32$GT$3fmt17h01a0e079eb228f83E"),
            "core::fmt::num::imp::<impl core::fmt::Display for i32>::fmt")
    }

    func testCPlusPlusNamesLoseTheirParameterTypes() {
        XCTAssertEqual(SymbolNames.readable("_ZN12_GLOBAL__N_15Image9draw_rowsEffii"), "(anonymous namespace)::Image::draw_rows")
        XCTAssertEqual(SymbolNames.readable("_Z5shadeii"), "shade")
        XCTAssertEqual(SymbolNames.readable("_ZNKSt3__16vectorIfNS_9allocatorIfEEE4sizeEv"), "_ZNKSt3__16vectorIfNS_9allocatorIfEEE4sizeEv")
        XCTAssertEqual(SymbolNames.readable("_ZN9framepipe3mixIfEET_S1_S1_f"), "framepipe::mix<…>")
    }

    func testOtherNamesAreKeptAsTheyAre() {
        for name in ["fp_frame", "shade", "wasm function[3]", "_Z", "_ZN", "_ZN3abE", "_ZN99999x", "_R", "_Zz", "__rust_start_panic"] {
            XCTAssertEqual(SymbolNames.readable(name), name)
        }
        let long = "_ZN" + String(repeating: "3abc", count: 400) + "E"
        XCTAssertEqual(SymbolNames.readable(long), long, "over the length bound: kept")
    }
}
