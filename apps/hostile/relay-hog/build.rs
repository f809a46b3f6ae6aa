//! Links this program with the userspace runtime's link script.
fn main() {
    println!("cargo:rustc-link-arg-bins=-Tuser.ld");
}
