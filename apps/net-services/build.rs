//! Links net-services with the userspace runtime's link script (target builds only:
//! on the host only its library is built and tested).
fn main() {
    if std::env::var("TARGET").is_ok_and(|t| t.starts_with("riscv64")) {
        println!("cargo:rustc-link-arg-bins=-Tuser.ld");
    }
}
