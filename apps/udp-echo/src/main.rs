//! `udp-echo`: the UDP echo service as a task of its own. netd owns the
//! network and the port (7007); this task holds only its end of a channel
//! to netd, over which it receives each datagram and sends it back
//! (`udp_echo::Echo`). It sleeps in `wait` while there is nothing to do and
//! signals netd only when netd said it may be asleep.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
#![forbid(unsafe_code)]

#[cfg(target_os = "none")]
mod task {
    use mmio_types::DmaRegion;
    use nexus_abi::notify::NO_DEADLINE;
    use nexus_abi::{SysError, println, sys};
    use ring_types::dgram::DgramClient;
    use udp_echo::{Echo, EchoError};

    nexus_abi::entry!(main);

    /// Where system.toml puts the channel to netd, and the bit netd's
    /// signal raises.
    const CHANNEL_SLOT: usize = 1;
    const CHANNEL_BIT: u64 = 1 << 0;

    fn main() -> i32 {
        match run() {
            Ok(never) => match never {},
            Err(why) => {
                println!("udp-echo: FAIL {why}");
                1
            }
        }
    }

    fn ring(e: EchoError) -> &'static str {
        match e {
            EchoError::Ring(_) => "netd broke the ring protocol",
            EchoError::Protocol => "netd answered with an unexpected completion",
        }
    }

    fn run() -> Result<core::convert::Infallible, &'static str> {
        let mem = DmaRegion::new(
            sys::channel_map(CHANNEL_SLOT).map_err(|_| "channel_map of the netd channel failed")?,
        );
        let client = DgramClient::new(mem).map_err(|_| "the channel is smaller than the ring")?;
        let mut echo = Echo::new(client).map_err(ring)?;
        signal(&mut echo)?;
        println!("udp-echo: serving udp :7007 through netd");
        loop {
            echo.step().map_err(ring)?;
            signal(&mut echo)?;
            // `step` took every completion; `prepare_sleep` looks again.
            if echo.prepare_sleep().map_err(ring)? {
                match sys::wait(CHANNEL_BIT, NO_DEADLINE) {
                    Ok(_) | Err(SysError::TimedOut) => {}
                    Err(_) => return Err("wait failed"),
                }
                echo.woke().map_err(ring)?;
            }
        }
    }

    /// Signals netd if it must be (requests submitted while it may sleep).
    fn signal(echo: &mut Echo) -> Result<(), &'static str> {
        if echo.must_signal() {
            sys::channel_signal(CHANNEL_SLOT).map_err(|e| match e {
                SysError::PeerEnded => "netd ended",
                _ => "channel_signal failed",
            })?;
        }
        Ok(())
    }
}

/// On the host only the service's library (`udp_echo::Echo`) is built and
/// tested.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("udp-echo runs on NEURON: use `cargo xtask run`");
    std::process::exit(2);
}
