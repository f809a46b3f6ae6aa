//! The NEURON kernel image: the portable core plus the generated system table.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod system {
    //! The programs and grants `cargo xtask` generated from `system.toml`.
    include!(env!("NEURON_SYSTEM_RS"));
}

/// Called by the boot code with the hart id and the device-tree address.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
extern "C" fn neuron_start(hartid: usize, dtb: usize) -> ! {
    neuron::arch::boot::kmain(hartid, dtb, system::TASKS, system::CHANNELS)
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("neuron runs on riscv64gc-unknown-none-elf: use `cargo xtask run`");
    std::process::exit(2);
}
