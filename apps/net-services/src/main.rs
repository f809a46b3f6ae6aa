//! `net-services`: TCP echo (port 7) and HTTP (port 80) as a task of their
//! own. netd owns the network and the sockets; this task holds only its
//! end of a stream channel to netd, over which it learns of connections,
//! receives their bytes and sends its answers (`net_services::Services`).
//! It sleeps in `wait` while there is nothing to do and signals netd only
//! when netd said it may be asleep.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
#![forbid(unsafe_code)]

#[cfg(target_os = "none")]
mod task {
    use core::fmt::{self, Write};

    use mmio_types::DmaRegion;
    use net_services::{ServiceError, Services, TaskInfo};
    use nexus_abi::notify::NO_DEADLINE;
    use nexus_abi::{SysError, println, sys};
    use ring_types::stream::StreamClient;

    nexus_abi::entry!(main);

    /// Where system.toml puts the channel to netd, and the bit netd's
    /// signal raises.
    const CHANNEL_SLOT: usize = 1;
    const CHANNEL_BIT: u64 = 1 << 0;
    /// Capability slots a task has (the kernel's `CAP_SLOTS`).
    const CAP_SLOTS: usize = 32;
    /// Ticks of `sys::time()` per millisecond (10 MHz timebase on QEMU virt).
    const TICKS_PER_MS: u64 = 10_000;

    fn main() -> i32 {
        match run() {
            Ok(never) => match never {},
            Err(why) => {
                println!("net-services: FAIL {why}");
                1
            }
        }
    }

    fn ring(e: ServiceError) -> &'static str {
        match e {
            ServiceError::Ring(_) => "netd broke the ring protocol",
            ServiceError::Protocol => "netd answered with an unexpected completion",
        }
    }

    fn run() -> Result<core::convert::Infallible, &'static str> {
        let mem = DmaRegion::new(
            sys::channel_map(CHANNEL_SLOT).map_err(|_| "channel_map of the netd channel failed")?,
        );
        let client = StreamClient::new(mem).map_err(|_| "the channel is smaller than the ring")?;
        let mut services = Services::new(client).map_err(ring)?;
        signal(&mut services)?;
        println!("net-services: serving tcp echo :7 and http :80 through netd");
        let mut proven = false;
        loop {
            let n = services
                .step(sys::time() / TICKS_PER_MS, &TaskView)
                .map_err(ring)?;
            signal(&mut services)?;
            if !proven && services.proven() {
                proven = true;
                let s = services.stats();
                // An echo connection was served to its end and a whole
                // status page was queued, both through netd's relay.
                println!(
                    "SELFTEST: net services task ok ({} echo connections, {} bytes echoed, {} http requests)",
                    s.echo_connections, s.echo_bytes, s.http_requests
                );
            }
            if n == 0 && services.prepare_sleep().map_err(ring)? {
                match sys::wait(CHANNEL_BIT, NO_DEADLINE) {
                    Ok(_) | Err(SysError::TimedOut) => {}
                    Err(_) => return Err("wait failed"),
                }
                services.woke().map_err(ring)?;
            }
        }
    }

    /// Signals netd if it must be (requests submitted while it may sleep).
    fn signal(services: &mut Services) -> Result<(), &'static str> {
        if services.must_signal() {
            sys::channel_signal(CHANNEL_SLOT).map_err(|e| match e {
                SysError::PeerEnded => "netd ended",
                _ => "channel_signal failed",
            })?;
        }
        Ok(())
    }

    /// What this task can see of the system: itself, netd at the other end
    /// of its channel, the hart's `instret`, its own capabilities (the
    /// kernel offers no call that lists other tasks or devices).
    struct TaskView;

    impl TaskInfo for TaskView {
        fn describe(&self, out: &mut dyn Write) -> fmt::Result {
            writeln!(
                out,
                "tasks: net-services (this task) and netd (the network task, at the other \
                 end of its channel); no system call lists the others"
            )?;
            // Instructions retired by the hart so far (all tasks and the
            // kernel; exact under -icount): the host measures costs with it.
            writeln!(out, "instret: {}", sys::instret())?;
            writeln!(out, "capabilities of net-services:")?;
            for slot in 0..CAP_SLOTS {
                if let Ok(info) = sys::cap_info(slot) {
                    writeln!(out, "  slot {slot}: {info}")?;
                }
            }
            Ok(())
        }
    }
}

/// On the host only the services' library (`net_services::Services`) is
/// built and tested.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("net-services runs on NEURON: use `cargo xtask run`");
    std::process::exit(2);
}
