//! Scripted fake devices: a test states the register accesses it expects, in order.
//!
//! A [`ScriptedDevice`] hands out a [`MapToken`] like
//! [`FakeDevice`](crate::FakeDevice), but the registers behind it are not
//! memory: every access through a window built from the token is routed to
//! the device (see the `io` hook of the pointer layer, compiled only with
//! the `fake-device` feature), which
//!
//! - checks it against the script, if the test gave one: expected reads
//!   (with the value each returns) and writes (with the value each must
//!   write), in order; the first access that differs panics with a message
//!   naming the access, its number, and what was expected;
//! - otherwise serves it from a register model: plain registers (what was
//!   written or [`set`](ScriptedDevice::set)), FIFOs whose reads pop a queue
//!   ([`fifo`](ScriptedDevice::fifo)), registers whose reads clear bits
//!   ([`clear_on_read`](ScriptedDevice::clear_on_read)), and reads computed
//!   by the test ([`on_read`](ScriptedDevice::on_read));
//! - logs it ([`log`](ScriptedDevice::log), [`writes_to`](ScriptedDevice::writes_to)).
//!
//! The driver under test needs no `unsafe` and no change: it gets a window
//! as it would from the kernel. The device is not `Send`; the hook only
//! sees accesses made on the thread that created it, which is the only
//! thread its window can be used on.
//!
//! ```
//! use mmio_types::{Access, MmioWindow, ReadOnly, ScriptedDevice, WriteOnly, field, register_block};
//!
//! register_block! {
//!     pub struct Port in 0x1000 {
//!         0x0 => pub data: WriteOnly<u8>,
//!         0x1 => pub status: ReadOnly<u8>,
//!         0x2 => @end,
//!     }
//! }
//!
//! // The driver: wait until the device is ready, then send the byte.
//! fn send(window: &mut MmioWindow<Port, 0x1000>, byte: u8) {
//!     let mut regs = window.regs();
//!     while field!(regs, status).read() & 1 == 0 {}
//!     field!(regs, data).write(byte);
//! }
//!
//! let (dev, token) = ScriptedDevice::new(0x1000);
//! dev.name(0x0, "DATA").name(0x1, "STATUS");
//! dev.expect([
//!     Access::read(0x1, 0u8),    // busy
//!     Access::read(0x1, 1u8),    // ready
//!     Access::write(0x0, b'A'),
//! ]);
//! let mut window = MmioWindow::<Port, 0x1000>::from_token(token).unwrap();
//! send(&mut window, b'A');
//! dev.finish(); // every expected access happened
//! ```

use std::boxed::Box;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::format;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use crate::fake::take_page;
use crate::token::MapToken;
use crate::value::Raw;

/// A read or a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// The driver read the register.
    Read,
    /// The driver wrote the register.
    Write,
}

/// One register access: what, where, how wide, and the value read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Read or write.
    pub op: Op,
    /// Byte offset in the window.
    pub offset: usize,
    /// Width in bytes (1, 2, 4 or 8).
    pub width: usize,
    /// The value read (returned by the device) or written.
    pub value: u64,
}

impl Access {
    /// A read of the `R`-wide register at `offset` that returns `value`.
    pub fn read<R: Raw>(offset: usize, value: R) -> Access {
        Access {
            op: Op::Read,
            offset,
            width: size_of::<R>(),
            value: value.to_u64(),
        }
    }

    /// A write of `value` to the `R`-wide register at `offset`.
    pub fn write<R: Raw>(offset: usize, value: R) -> Access {
        Access {
            op: Op::Write,
            offset,
            width: size_of::<R>(),
            value: value.to_u64(),
        }
    }
}

impl Access {
    fn text(&self, name: &str) -> String {
        let bits = self.width * 8;
        match self.op {
            Op::Read => format!(
                "read of u{bits} at {:#x}{name} (returning {:#x})",
                self.offset, self.value
            ),
            Op::Write => format!(
                "write of {:#x} to u{bits} at {:#x}{name}",
                self.value, self.offset
            ),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(""))
    }
}

/// A read computed by the test: gets the register's current value, returns
/// what the read returns.
type ReadFn = Box<dyn FnMut(u64) -> u64>;

/// What a register does when read, in the model.
enum Behaviour {
    /// Each read pops the front of the queue; empty, it reads as memory.
    Fifo(VecDeque<u64>),
    /// A read returns the value, then clears these bits of it.
    ClearOnRead(u64),
    /// A read returns what the closure computes.
    Computed(ReadFn),
}

struct State {
    len: usize,
    names: Vec<(usize, &'static str)>,
    memory: Vec<u8>,
    behaviours: Vec<(usize, Behaviour)>,
    script: VecDeque<Access>,
    scripted: bool,
    log: Vec<Access>,
}

impl State {
    fn name(&self, offset: usize) -> String {
        match self.names.iter().find(|(o, _)| *o == offset) {
            Some((_, name)) => format!(" ({name})"),
            None => String::new(),
        }
    }

    fn describe(&self, access: &Access) -> String {
        access.text(&self.name(access.offset))
    }

    fn load(&self, offset: usize, width: usize) -> u64 {
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(&self.memory[offset..offset + width]);
        u64::from_le_bytes(bytes)
    }

    fn store(&mut self, offset: usize, width: usize, value: u64) {
        self.memory[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }

    fn check_bounds(&self, op: Op, offset: usize, width: usize) {
        assert!(
            offset.checked_add(width).is_some_and(|end| end <= self.len),
            "scripted device: {op:?} of u{} at {offset:#x} is outside its {:#x} bytes",
            width * 8,
            self.len
        );
    }

    /// The scripted access the driver's access must be; panics if it differs.
    fn expect(&mut self, actual: Access) -> Access {
        let number = self.log.len() + 1;
        let Some(expected) = self.script.pop_front() else {
            panic!(
                "scripted device: access #{number} was a {}, but the script had ended",
                self.describe(&actual)
            );
        };
        let same = expected.op == actual.op
            && expected.offset == actual.offset
            && expected.width == actual.width
            && (expected.op == Op::Read || expected.value == actual.value);
        if !same {
            let actual = match actual.op {
                Op::Read => format!(
                    "read of u{} at {:#x}{}",
                    actual.width * 8,
                    actual.offset,
                    self.name(actual.offset)
                ),
                Op::Write => self.describe(&actual),
            };
            panic!(
                "scripted device: access #{number} was a {actual}, but the script expected a {}",
                self.describe(&expected)
            );
        }
        expected
    }

    fn read(&mut self, offset: usize, width: usize) -> u64 {
        self.check_bounds(Op::Read, offset, width);
        let value = if self.scripted {
            self.expect(Access {
                op: Op::Read,
                offset,
                width,
                value: 0,
            })
            .value
        } else {
            let current = self.load(offset, width);
            match self.behaviours.iter_mut().find(|(o, _)| *o == offset) {
                Some((_, Behaviour::Fifo(queue))) => queue.pop_front().unwrap_or(current),
                Some((_, Behaviour::ClearOnRead(mask))) => {
                    let mask = *mask;
                    self.store(offset, width, current & !mask);
                    current
                }
                Some((_, Behaviour::Computed(f))) => f(current),
                None => current,
            }
        };
        self.log.push(Access {
            op: Op::Read,
            offset,
            width,
            value,
        });
        value
    }

    fn write(&mut self, offset: usize, width: usize, value: u64) {
        self.check_bounds(Op::Write, offset, width);
        let access = Access {
            op: Op::Write,
            offset,
            width,
            value,
        };
        if self.scripted {
            self.expect(access);
        }
        self.store(offset, width, value);
        self.log.push(access);
    }
}

/// A registered device: its window's address range and its state.
struct Entry {
    base: usize,
    len: usize,
    state: Rc<RefCell<State>>,
}

std::thread_local! {
    /// The scripted devices of this thread. Entries are never removed: pool
    /// pages are never reused, and a window may outlive its device handle.
    static DEVICES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The device whose window holds `addr`, and the offset.
fn find(addr: usize) -> Option<(Rc<RefCell<State>>, usize)> {
    DEVICES
        .try_with(|devices| {
            devices
                .borrow()
                .iter()
                .find(|e| addr >= e.base && addr - e.base < e.len)
                .map(|e| (e.state.clone(), addr - e.base))
        })
        .ok()
        .flatten()
}

/// The value of a read of `width` bytes at `addr`, if a scripted device
/// owns the address.
pub(crate) fn intercept_read(addr: usize, width: usize) -> Option<u64> {
    let (state, offset) = find(addr)?;
    let value = state.borrow_mut().read(offset, width);
    Some(value)
}

/// Whether a scripted device owns `addr` (and took the write).
pub(crate) fn intercept_write(addr: usize, width: usize, value: u64) -> bool {
    let Some((state, offset)) = find(addr) else {
        return false;
    };
    state.borrow_mut().write(offset, width, value);
    true
}

/// The device side of a scripted register window; see the [module docs](self).
///
/// Without a script, the device is a register model:
///
/// ```
/// use mmio_types::{Access, MmioWindow, ReadOnly, ScriptedDevice, WriteOnly, field, register_block};
///
/// register_block! {
///     pub struct Port in 0x1000 {
///         0x0 => pub rx: ReadOnly<u8>,
///         0x1 => pub status: ReadOnly<u8>,
///         0x2 => pub tx: WriteOnly<u8>,
///         0x3 => @end,
///     }
/// }
///
/// let (dev, token) = ScriptedDevice::new(0x1000);
/// dev.fifo(0x0, *b"hi");                 // each read pops a byte
/// dev.set(0x1, 0x80u8).clear_on_read(0x1, 0x80u8); // an error bit, cleared by reading it
/// let mut window = MmioWindow::<Port, 0x1000>::from_token(token).unwrap();
/// let mut regs = window.regs();
/// assert_eq!(field!(regs, status).read(), 0x80);
/// assert_eq!(field!(regs, status).read(), 0x00);
/// let a = field!(regs, rx).read();
/// let b = field!(regs, rx).read();
/// field!(regs, tx).write(a);
/// field!(regs, tx).write(b);
/// assert_eq!(dev.writes_to(0x2), [u64::from(b'h'), u64::from(b'i')]);
/// assert_eq!(dev.log()[2], Access::read(0x0, b'h'));
/// ```
pub struct ScriptedDevice {
    state: Rc<RefCell<State>>,
}

impl ScriptedDevice {
    /// Creates a device of `len` bytes (at most 4096, registers all zero,
    /// no script) and the mapping token a driver builds its window from.
    ///
    /// # Panics
    ///
    /// If `len` is 0 or larger than a page, or the fake device pool is exhausted.
    pub fn new(len: usize) -> (ScriptedDevice, MapToken) {
        assert!(
            len > 0 && len <= 4096,
            "a scripted device is 1..=4096 bytes"
        );
        let (base, token) = take_page(len);
        let state = Rc::new(RefCell::new(State {
            len,
            names: Vec::new(),
            memory: std::vec![0; len],
            behaviours: Vec::new(),
            script: VecDeque::new(),
            scripted: false,
            log: Vec::new(),
        }));
        DEVICES.with(|devices| {
            devices.borrow_mut().push(Entry {
                base: base.as_ptr() as usize,
                len,
                state: state.clone(),
            })
        });
        (ScriptedDevice { state }, token)
    }

    /// Names the register at `offset` in failure messages.
    pub fn name(&self, offset: usize, name: &'static str) -> &Self {
        self.state.borrow_mut().names.push((offset, name));
        self
    }

    /// Appends accesses to the script. From the first call on, every access
    /// must be the next one of the script (reads return its value; writes
    /// must write its value), and an access after the script's end fails.
    pub fn expect(&self, accesses: impl IntoIterator<Item = Access>) -> &Self {
        let mut state = self.state.borrow_mut();
        state.scripted = true;
        state.script.extend(accesses);
        self
    }

    /// Panics if an expected access has not happened, naming the first.
    pub fn finish(&self) {
        let state = self.state.borrow();
        if let Some(next) = state.script.front() {
            let left = state.script.len();
            let next = state.describe(next);
            drop(state);
            panic!("scripted device: {left} expected access(es) never happened; the first: {next}");
        }
    }

    /// Sets the `R`-wide register at `offset`, as the device would.
    pub fn set<R: Raw>(&self, offset: usize, value: R) -> &Self {
        let mut state = self.state.borrow_mut();
        state.check_bounds(Op::Write, offset, size_of::<R>());
        state.store(offset, size_of::<R>(), value.to_u64());
        self
    }

    /// The `R`-wide register at `offset` (the last value written or set).
    pub fn get<R: Raw>(&self, offset: usize) -> R {
        let state = self.state.borrow();
        state.check_bounds(Op::Read, offset, size_of::<R>());
        R::from_u64(state.load(offset, size_of::<R>()))
    }

    /// Makes the register at `offset` a receive FIFO: each read pops the
    /// next of `values`; once they are gone, reads return the register's value.
    pub fn fifo<R: Raw>(&self, offset: usize, values: impl IntoIterator<Item = R>) -> &Self {
        self.behave(
            offset,
            Behaviour::Fifo(values.into_iter().map(R::to_u64).collect()),
        )
    }

    /// Makes a read of the register at `offset` clear the bits of `mask`
    /// after returning them (error and interrupt status registers).
    pub fn clear_on_read<R: Raw>(&self, offset: usize, mask: R) -> &Self {
        self.behave(offset, Behaviour::ClearOnRead(mask.to_u64()))
    }

    /// Makes a read of the register at `offset` return what `f` computes
    /// from the register's value (status bits derived from other state).
    /// `f` runs while the device is busy with the access: it must not call
    /// the device or access its window (that panics).
    pub fn on_read(&self, offset: usize, f: impl FnMut(u64) -> u64 + 'static) -> &Self {
        self.behave(offset, Behaviour::Computed(Box::new(f)))
    }

    fn behave(&self, offset: usize, behaviour: Behaviour) -> &Self {
        let mut state = self.state.borrow_mut();
        state.behaviours.retain(|(o, _)| *o != offset);
        state.behaviours.push((offset, behaviour));
        self
    }

    /// Every access so far, in order.
    pub fn log(&self) -> Vec<Access> {
        self.state.borrow().log.clone()
    }

    /// The values written to the register at `offset`, in order.
    pub fn writes_to(&self, offset: usize) -> Vec<u64> {
        self.state
            .borrow()
            .log
            .iter()
            .filter(|a| a.op == Op::Write && a.offset == offset)
            .map(|a| a.value)
            .collect()
    }
}

impl fmt::Debug for ScriptedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("ScriptedDevice")
            .field("len", &state.len)
            .field("accesses", &state.log.len())
            .field("expected", &state.script.len())
            .finish()
    }
}

/// A device dropped with expected accesses left fails the test (unless it
/// is already failing).
impl Drop for ScriptedDevice {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.finish();
        }
    }
}
