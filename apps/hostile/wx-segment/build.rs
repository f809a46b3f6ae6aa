//! Links this program with one PT_LOAD segment that is readable, writable
//! and executable, which the kernel's loader must refuse (W^X).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let script = out.join("wx.ld");
    fs::write(
        &script,
        "OUTPUT_ARCH(riscv)\n\
         ENTRY(_start)\n\
         PHDRS { all PT_LOAD FLAGS(7); }\n\
         SECTIONS {\n\
           . = 0x100000000;\n\
           .text : { *(.text.entry) *(.text .text.*) } :all\n\
           .rodata : { *(.rodata .rodata.* .srodata .srodata.*) } :all\n\
           .data : { *(.data .data.* .sdata .sdata.*) } :all\n\
           .bss : { *(.bss .bss.* .sbss .sbss.* COMMON) } :all\n\
           /DISCARD/ : { *(.eh_frame .eh_frame_hdr .comment .note .note.*) }\n\
         }\n",
    )
    .expect("write wx.ld");
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
}
