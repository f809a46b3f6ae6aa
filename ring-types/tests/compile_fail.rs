//! What must not compile: touching a buffer after lending it, answering a
//! lease twice, copying either token, a layout that breaks its rules.

#[test]
#[cfg_attr(miri, ignore = "trybuild runs rustc, which Miri cannot")]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
