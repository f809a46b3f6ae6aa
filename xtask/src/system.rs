//! `system.toml`: which programs run and which device windows each gets.
//! Validated here at build time and turned into the kernel's const table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

/// Capability slots per task (kept in step with the kernel's `CAP_SLOTS`).
const CAP_SLOTS: u32 = 32;
/// Tasks the kernel runs at most (its `MAX_TASKS`).
const MAX_TASKS: usize = 24;
/// The largest DMA quota: half the ABI's 16 MiB DMA region (each buffer is
/// followed by a guard page).
const MAX_DMA_PAGES: u32 = 2048;
/// The largest channel (2 MiB; the ABI's `CHANNEL_MAX_PAGES`).
const MAX_CHANNEL_PAGES: u32 = 512;
/// Channels the kernel keeps at most (its `MAX_CHANNELS`).
const MAX_CHANNELS: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    task: Vec<RawTask>,
    #[serde(default)]
    channel: Vec<RawChannel>,
}

/// Shared memory between two tasks, with a notification bit each way.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    name: String,
    pages: u32,
    #[serde(default)]
    dma: bool,
    ends: Vec<RawEnd>,
}

/// One end of a channel: the task, the slot of its channel capability and
/// the bit the peer's signal raises in its notification.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnd {
    task: String,
    slot: u32,
    bit: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: String,
    package: Option<String>,
    #[serde(default = "default_expect")]
    expect: String,
    #[serde(default)]
    grant: Vec<RawGrant>,
    #[serde(default)]
    dma_pages: u32,
    #[serde(default)]
    control: Vec<RawControl>,
}

/// Control over another task (`task_kill`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    task: String,
    slot: u32,
}

/// The interrupt of a granted window: the irq capability's slot and the
/// notification bit the line raises.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIrq {
    slot: u32,
    bit: u32,
}

fn default_expect() -> String {
    "exit0".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    device: String,
    /// The BAR of a PCI grant.
    bar: Option<u32>,
    /// Only on this virtio transport's system (`mmio` or `pci`).
    transport: Option<String>,
    slot: u32,
    rights: Vec<String>,
    irq: Option<RawIrq>,
}

/// The transport the system's virtio-blk and virtio-net sit on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// virtio-mmio transport slots.
    #[default]
    Mmio,
    /// virtio-pci (modern) functions behind the PCIe host bridge.
    Pci,
}

impl Transport {
    /// Its name in `system.toml` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Mmio => "mmio",
            Transport::Pci => "pci",
        }
    }
}

/// Which PCI functions a grant names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PciSel {
    /// `pci:<vendor>:<device>` (hexadecimal).
    Id(u16, u16),
    /// `pci-class:<class>:<subclass>` (hexadecimal).
    Class(u8, u8),
}

/// A device class a grant can name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Blk,
    Net,
    Rng,
    Empty,
    /// `virtio-<n>`: a virtio-mmio device with another DeviceID.
    Virtio(u32),
    /// A device-tree node by its `compatible` without the vendor prefix.
    Named(String),
    /// BAR `.1` of a PCI function.
    Pci(PciSel, u8),
}

/// Device-tree classes of devices the kernel drives itself: never granted.
const KERNEL_OWNED: [&str; 10] = [
    "plic0",
    "plic-1.0.0",
    "clint0",
    "aplic",
    "imsics",
    "aclint-mswi",
    "aclint-mtimer",
    "aclint-sswi",
    "test0",
    "pci-host-ecam-generic",
];

/// `hex` as a number of at most `digits` hexadecimal digits.
fn hex(s: &str, digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > digits || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

impl Class {
    /// The PCI functions `s` names (`pci:1af4:1042`, `pci-class:01:00`),
    /// BAR `bar`; `None` if `s` is no PCI name.
    fn parse_pci(s: &str, bar: Option<u32>) -> Option<Result<Class, String>> {
        let sel = if let Some(id) = s.strip_prefix("pci:") {
            let (v, d) = id.split_once(':')?;
            match (hex(v, 4), hex(d, 4)) {
                (Some(v), Some(d)) => PciSel::Id(v as u16, d as u16),
                _ => {
                    return Some(Err(format!(
                        "`{s}`: expected pci:<vendor>:<device>, each up to 4 hex digits"
                    )));
                }
            }
        } else if let Some(class) = s.strip_prefix("pci-class:") {
            let (c, sc) = class.split_once(':')?;
            match (hex(c, 2), hex(sc, 2)) {
                (Some(c), Some(sc)) => PciSel::Class(c as u8, sc as u8),
                _ => {
                    return Some(Err(format!(
                        "`{s}`: expected pci-class:<class>:<subclass>, each up to 2 hex digits"
                    )));
                }
            }
        } else {
            return None;
        };
        Some(match bar {
            Some(bar) if bar < 6 => Ok(Class::Pci(sel, bar as u8)),
            Some(bar) => Err(format!("bar = {bar}: a function has BARs 0 to 5")),
            None => Err("a PCI grant needs `bar` (0 to 5)".into()),
        })
    }

    /// The class `s` names; `Err` says why it names none.
    fn parse(s: &str) -> Result<Class, String> {
        Ok(match s {
            "virtio-blk" => Class::Blk,
            "virtio-net" => Class::Net,
            "virtio-rng" => Class::Rng,
            "virtio-empty" => Class::Empty,
            "test1" => return Err("the test finisher is the kernel's".into()),
            _ if KERNEL_OWNED.contains(&s) => {
                return Err(format!("`{s}` is a device the kernel drives itself"));
            }
            _ => match s.strip_prefix("virtio-") {
                Some(id) => match id.parse::<u32>() {
                    Ok(id) if ![0, 1, 2, 4].contains(&id) => Class::Virtio(id),
                    _ => return Err(format!("unknown virtio class `{s}`")),
                },
                None if is_name(s) => Class::Named(s.to_string()),
                None => return Err(format!("`{s}` is no device class")),
            },
        })
    }

    fn rust(&self) -> String {
        match self {
            Class::Blk => "Blk".into(),
            Class::Net => "Net".into(),
            Class::Rng => "Rng".into(),
            Class::Empty => "Empty".into(),
            Class::Virtio(id) => format!("Other({id})"),
            Class::Named(name) => format!("Named({name:?})"),
            Class::Pci(..) => unreachable!("a PCI grant is no window class"),
        }
    }

    /// The kernel's `DeviceSel` for this class.
    fn rust_sel(&self) -> String {
        match self {
            Class::Pci(PciSel::Id(v, d), bar) => format!(
                "neuron::system::DeviceSel::Pci {{ sel: neuron::system::PciSel::Id {{ \
                 vendor: {v:#06x}, device: {d:#06x} }}, bar: {bar} }}"
            ),
            Class::Pci(PciSel::Class(c, sc), bar) => format!(
                "neuron::system::DeviceSel::Pci {{ sel: neuron::system::PciSel::Class {{ \
                 class: {c:#04x}, subclass: {sc:#04x} }}, bar: {bar} }}"
            ),
            other => format!(
                "neuron::system::DeviceSel::Window(neuron::device::DeviceClass::{})",
                other.rust()
            ),
        }
    }
}

/// Whether `s` can be the model part of a `compatible` string: lowercase
/// letters, digits, `-`, `_`, `.` and `+`, starting with a letter or digit.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.+".contains(c))
        && s.len() <= 64
}

/// Rights names, with the `nexus_abi::CapRights` bits.
const RIGHTS: [(&str, u32); 5] = [
    ("read", 1),
    ("write", 2),
    ("map", 4),
    ("derive", 8),
    ("transfer", 16),
];

/// One validated grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub class: Class,
    pub instance: u32,
    pub slot: u32,
    pub rights: u32,
    /// The window's interrupt: (irq capability slot, notification bit).
    pub irq: Option<(u32, u32)>,
}

/// Notification bits per task (the ABI's `NOTIFY_BITS`).
const NOTIFY_BITS: u32 = 64;

/// How a task must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Exit0,
    Killed,
    Refused,
    /// Never ends: serves until the machine is stopped from outside.
    Serve,
}

/// One validated task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub name: String,
    pub package: String,
    pub expect: Expect,
    pub grants: Vec<Grant>,
    pub dma_pages: u32,
    /// Task-control capabilities: (slot, index of the controlled task).
    pub controls: Vec<(u32, usize)>,
}

/// A validated channel end: (task index, slot, bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    pub task: usize,
    pub slot: u32,
    pub bit: u32,
}

/// A validated channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub pages: u32,
    pub dma: bool,
    pub ends: [End; 2],
}

/// A validated system description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct System {
    pub tasks: Vec<Task>,
    pub channels: Vec<Channel>,
}

/// Parses and validates a system description for the virtio-mmio
/// transport.
#[cfg(test)]
pub fn parse(text: &str) -> Result<System, String> {
    parse_for(text, Transport::Mmio)
}

/// Parses and validates a system description; grants marked with another
/// `transport` than `transport` are left out (and not checked further than
/// their shape). Every problem is an error naming the task and grant at
/// fault.
pub fn parse_for(text: &str, transport: Transport) -> Result<System, String> {
    let raw: RawSystem = toml::from_str(text).map_err(|e| format!("system.toml: {e}"))?;
    if raw.task.is_empty() {
        return Err("system.toml: no [[task]]".into());
    }
    if raw.task.len() > MAX_TASKS {
        return Err(format!(
            "system.toml: {} tasks, the kernel runs at most {MAX_TASKS}",
            raw.task.len()
        ));
    }
    let mut names = BTreeSet::new();
    let mut owners: BTreeMap<(Class, u32), String> = BTreeMap::new();
    let mut tasks = Vec::new();
    let index_of: BTreeMap<String, usize> = raw
        .task
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    // Per task: the slots and notification bits its grants took.
    let mut taken: Vec<(BTreeSet<u32>, BTreeSet<u32>)> = Vec::new();
    for t in raw.task {
        if !names.insert(t.name.clone()) {
            return Err(format!("system.toml: task `{}` is declared twice", t.name));
        }
        let expect = match t.expect.as_str() {
            "exit0" => Expect::Exit0,
            "killed" => Expect::Killed,
            "refused" => Expect::Refused,
            "serve" => Expect::Serve,
            other => {
                return Err(format!(
                    "system.toml: task `{}`: expect = `{other}`; use `exit0`, `killed`, `refused` or `serve`",
                    t.name
                ));
            }
        };
        if t.dma_pages > MAX_DMA_PAGES {
            return Err(format!(
                "system.toml: task `{}`: dma_pages = {} is over the limit of {MAX_DMA_PAGES}",
                t.name, t.dma_pages
            ));
        }
        let mut slots = BTreeSet::new();
        let mut bits = BTreeSet::new();
        let mut grants = Vec::new();
        for g in t.grant {
            let what = format!("task `{}`, grant `{}`", t.name, g.device);
            match g.transport.as_deref() {
                None => {}
                Some(name) if name == transport.name() => {}
                Some("mmio" | "pci") => continue,
                Some(other) => {
                    return Err(format!(
                        "system.toml: {what}: transport = `{other}`; use `mmio` or `pci`"
                    ));
                }
            }
            let shape = || {
                format!(
                    "system.toml: {what}: expected `<class>#<instance>` with class \
                     virtio-blk, virtio-net, virtio-rng, virtio-empty, virtio-<device id>, \
                     a device-tree class (`goldfish-rtc`), pci:<vendor>:<device> or \
                     pci-class:<class>:<subclass> (with `bar`)"
                )
            };
            let (class, instance) = g.device.split_once('#').ok_or_else(shape)?;
            let instance = instance.parse::<u32>().map_err(|_| shape())?;
            let class = match Class::parse_pci(class, g.bar) {
                Some(pci) => pci,
                None if g.bar.is_some() => {
                    Err("`bar` belongs to PCI grants (pci:..., pci-class:...)".into())
                }
                None => Class::parse(class),
            }
            .map_err(|why| format!("system.toml: {what}: {why}"))?;
            claim_slot(&mut slots, g.slot, &what)?;
            let irq = match g.irq {
                Some(irq) => {
                    claim_slot(&mut slots, irq.slot, &format!("{what}, irq"))?;
                    if irq.bit >= NOTIFY_BITS {
                        return Err(format!(
                            "system.toml: {what}: irq bit {} is not below {NOTIFY_BITS}",
                            irq.bit
                        ));
                    }
                    if !bits.insert(irq.bit) {
                        return Err(format!(
                            "system.toml: {what}: irq bit {} is used twice",
                            irq.bit
                        ));
                    }
                    Some((irq.slot, irq.bit))
                }
                None => None,
            };
            let mut rights = 0;
            for r in &g.rights {
                let bit = RIGHTS
                    .iter()
                    .find(|(n, _)| n == r)
                    .map(|(_, b)| *b)
                    .ok_or_else(|| {
                        format!("system.toml: {what}: unknown right `{r}` (read, write, map, derive, transfer)")
                    })?;
                rights |= bit;
            }
            if let Some(other) = owners.insert((class.clone(), instance), t.name.clone()) {
                return Err(format!(
                    "system.toml: `{}`{} is granted twice: to `{other}` and to `{}`; \
                     a device window goes to one task at most",
                    g.device,
                    g.bar.map_or(String::new(), |b| format!(" bar {b}")),
                    t.name
                ));
            }
            grants.push(Grant {
                class,
                instance,
                slot: g.slot,
                rights,
                irq,
            });
        }
        let mut controls = Vec::new();
        for c in t.control {
            let what = format!("task `{}`, control of `{}`", t.name, c.task);
            claim_slot(&mut slots, c.slot, &what)?;
            let target = *index_of
                .get(&c.task)
                .ok_or_else(|| format!("system.toml: {what}: no such task"))?;
            if c.task == t.name {
                return Err(format!(
                    "system.toml: {what}: a task cannot control itself (it can exit)"
                ));
            }
            controls.push((c.slot, target));
        }
        taken.push((slots, bits));
        tasks.push(Task {
            package: t.package.unwrap_or_else(|| t.name.clone()),
            name: t.name,
            expect,
            grants,
            dma_pages: t.dma_pages,
            controls,
        });
    }
    let channels = parse_channels(raw.channel, &index_of, &mut taken)?;
    Ok(System { tasks, channels })
}

/// Validates the channels: names, sizes, two distinct tasks, and slots and
/// bits not taken by anything else of the same task.
fn parse_channels(
    raw: Vec<RawChannel>,
    index_of: &BTreeMap<String, usize>,
    taken: &mut [(BTreeSet<u32>, BTreeSet<u32>)],
) -> Result<Vec<Channel>, String> {
    if raw.len() > MAX_CHANNELS {
        return Err(format!(
            "system.toml: {} channels, the kernel keeps at most {MAX_CHANNELS}",
            raw.len()
        ));
    }
    let mut names = BTreeSet::new();
    let mut channels = Vec::new();
    for c in raw {
        let what = format!("channel `{}`", c.name);
        if !is_name(&c.name) || !names.insert(c.name.clone()) {
            return Err(format!(
                "system.toml: {what}: a channel needs a unique name of letters, digits and `-`"
            ));
        }
        if c.pages == 0 || c.pages > MAX_CHANNEL_PAGES {
            return Err(format!(
                "system.toml: {what}: pages = {} is not in 1..={MAX_CHANNEL_PAGES}",
                c.pages
            ));
        }
        let [a, b] = <[RawEnd; 2]>::try_from(c.ends)
            .map_err(|_| format!("system.toml: {what}: `ends` must name exactly two tasks"))?;
        if a.task == b.task {
            return Err(format!(
                "system.toml: {what}: both ends are `{}`; a channel joins two tasks",
                a.task
            ));
        }
        let mut ends = Vec::new();
        for e in [a, b] {
            let end_what = format!("{what}, end `{}`", e.task);
            let task = *index_of
                .get(&e.task)
                .ok_or_else(|| format!("system.toml: {end_what}: no such task"))?;
            let (slots, bits) = &mut taken[task];
            claim_slot(slots, e.slot, &end_what)?;
            if e.bit >= NOTIFY_BITS {
                return Err(format!(
                    "system.toml: {end_what}: bit {} is not below {NOTIFY_BITS}",
                    e.bit
                ));
            }
            if !bits.insert(e.bit) {
                return Err(format!(
                    "system.toml: {end_what}: bit {} is used twice",
                    e.bit
                ));
            }
            ends.push(End {
                task,
                slot: e.slot,
                bit: e.bit,
            });
        }
        channels.push(Channel {
            name: c.name,
            pages: c.pages,
            dma: c.dma,
            ends: [ends[0], ends[1]],
        });
    }
    Ok(channels)
}

/// Takes capability slot `slot` of a task for `what`: it must be in
/// `1..CAP_SLOTS` and not taken yet.
fn claim_slot(slots: &mut BTreeSet<u32>, slot: u32, what: &str) -> Result<(), String> {
    if slot == 0 || slot >= CAP_SLOTS {
        return Err(format!(
            "system.toml: {what}: slot {slot} is not in 1..{CAP_SLOTS} (slot 0 is the task itself)"
        ));
    }
    if !slots.insert(slot) {
        return Err(format!("system.toml: {what}: slot {slot} is used twice"));
    }
    Ok(())
}

impl System {
    /// The tasks that serve until the machine is stopped.
    pub fn serving(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.expect == Expect::Serve)
    }
}

/// Reads and validates the file for `transport`.
pub fn load(path: &Path, transport: Transport) -> Result<System, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_for(&text, transport)
}

/// The Rust source of the kernel's system table; `elf_of(package)` gives
/// each program's built ELF.
pub fn generate(system: &System, elf_of: impl Fn(&str) -> std::path::PathBuf) -> String {
    let mut s = String::from(
        "// Generated by `cargo xtask` from system.toml. Do not edit.\n\
         #[repr(C, align(4096))]\n\
         struct Aligned<T: ?Sized>(T);\n\n",
    );
    for (i, t) in system.tasks.iter().enumerate() {
        let _ = writeln!(
            s,
            "static ELF_{i}: &Aligned<[u8]> = &Aligned(*include_bytes!({:?}));",
            elf_of(&t.package)
        );
    }
    s.push_str(
        "\n/// The programs, in start order.\npub static TASKS: &[neuron::system::TaskSpec] = &[\n",
    );
    for (i, t) in system.tasks.iter().enumerate() {
        let expect = match t.expect {
            Expect::Exit0 => "Exit0",
            Expect::Killed => "Killed",
            Expect::Refused => "Refused",
            Expect::Serve => "Serve",
        };
        let _ = writeln!(
            s,
            "    neuron::system::TaskSpec {{\n        name: {:?},\n        elf: &ELF_{i}.0,\n        \
             expect: neuron::task::Expect::{expect},\n        grants: &[",
            t.name
        );
        for g in &t.grants {
            let irq = match g.irq {
                Some((slot, bit)) => {
                    format!("Some(neuron::system::IrqGrant {{ slot: {slot}, bit: {bit} }})")
                }
                None => "None".into(),
            };
            let _ = writeln!(
                s,
                "            neuron::system::Grant {{ slot: {}, device: {}, \
                 instance: {}, rights: {:#x}, irq: {irq} }},",
                g.slot,
                g.class.rust_sel(),
                g.instance,
                g.rights
            );
        }
        let _ = write!(
            s,
            "        ],\n        dma_pages: {},\n        controls: &[",
            t.dma_pages
        );
        for (slot, task) in &t.controls {
            let _ = write!(
                s,
                "neuron::system::Control {{ slot: {slot}, task: {task} }}, "
            );
        }
        let _ = writeln!(s, "],\n    }},");
    }
    s.push_str("];\n\n/// The channels between tasks.\npub static CHANNELS: &[neuron::system::ChannelSpec] = &[\n");
    for c in &system.channels {
        let end = |e: &End| {
            format!(
                "neuron::system::ChannelEnd {{ task: {}, slot: {}, bit: {} }}",
                e.task, e.slot, e.bit
            )
        };
        let _ = writeln!(
            s,
            "    neuron::system::ChannelSpec {{ name: {:?}, pages: {}, dma: {}, ends: [{}, {}] }},",
            c.name,
            c.pages,
            c.dma,
            end(&c.ends[0]),
            end(&c.ends[1])
        );
    }
    s.push_str("];\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [[task]]
        name = "selftest-client"
        [[task.grant]]
        device = "virtio-rng#0"
        slot = 1
        rights = ["read", "write", "map", "derive"]

        [[task]]
        name = "server"
        expect = "serve"

        [[task]]
        name = "probe"
        package = "fault-probe"
        expect = "killed"
        dma_pages = 16
    "#;

    #[test]
    fn parses_a_good_description() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.tasks.len(), 3);
        assert_eq!(s.tasks[1].expect, Expect::Serve);
        let serving: Vec<_> = s.serving().map(|t| t.name.as_str()).collect();
        assert_eq!(serving, ["server"]);
        assert_eq!(
            s.tasks[0].grants,
            [Grant {
                class: Class::Rng,
                instance: 0,
                slot: 1,
                rights: 15,
                irq: None,
            }]
        );
        assert_eq!(s.tasks[2].package, "fault-probe");
        assert_eq!(s.tasks[2].expect, Expect::Killed);
        assert_eq!(s.tasks[0].expect, Expect::Exit0);
        assert_eq!((s.tasks[0].dma_pages, s.tasks[2].dma_pages), (0, 16));
        let big = "[[task]]\nname = \"a\"\ndma_pages = 4096\n";
        assert!(parse(big).unwrap_err().contains("over the limit"));
    }

    #[test]
    fn refuses_a_window_granted_twice() {
        let twice = format!(
            "{GOOD}\n[[task.grant]]\ndevice = \"virtio-rng#0\"\nslot = 2\nrights = [\"read\"]\n"
        );
        let e = parse(&twice).unwrap_err();
        assert!(e.contains("`virtio-rng#0` is granted twice"), "{e}");
        assert!(
            e.contains("`selftest-client`") && e.contains("`probe`"),
            "{e}"
        );
    }

    #[test]
    fn refuses_bad_grants() {
        let grant = |device: &str, slot: u32, rights: &str| {
            format!(
                "[[task]]\nname = \"t\"\n[[task.grant]]\ndevice = \"{device}\"\nslot = {slot}\nrights = [{rights}]\n"
            )
        };
        let cases = [
            (
                grant("virtio-gpu#0", 1, "\"read\""),
                "unknown virtio class `virtio-gpu`",
            ),
            (
                grant("virtio-2#0", 1, "\"read\""),
                "unknown virtio class `virtio-2`",
            ),
            (
                grant("plic0#0", 1, "\"read\""),
                "`plic0` is a device the kernel drives itself",
            ),
            (
                grant("test1#0", 1, "\"read\""),
                "the test finisher is the kernel's",
            ),
            (grant("Gold Fish#0", 1, "\"read\""), "is no device class"),
            (
                grant("virtio-rng", 1, "\"read\""),
                "expected `<class>#<instance>`",
            ),
            (
                grant("virtio-rng#x", 1, "\"read\""),
                "expected `<class>#<instance>`",
            ),
            (grant("virtio-rng#0", 0, "\"read\""), "slot 0 is not in"),
            (grant("virtio-rng#0", 32, "\"read\""), "slot 32 is not in"),
            (
                grant("virtio-rng#0", 1, "\"execute\""),
                "unknown right `execute`",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(want), "{e} should contain {want}");
        }
    }

    #[test]
    fn refuses_duplicate_tasks_slots_and_bad_expectations() {
        let dup = "[[task]]\nname = \"a\"\n[[task]]\nname = \"a\"\n";
        assert!(parse(dup).unwrap_err().contains("declared twice"));
        let slots = "[[task]]\nname = \"a\"\n\
            [[task.grant]]\ndevice = \"virtio-rng#0\"\nslot = 1\nrights = []\n\
            [[task.grant]]\ndevice = \"virtio-net#0\"\nslot = 1\nrights = []\n";
        assert!(parse(slots).unwrap_err().contains("slot 1 is used twice"));
        let expect = "[[task]]\nname = \"a\"\nexpect = \"maybe\"\n";
        assert!(
            parse(expect)
                .unwrap_err()
                .contains("use `exit0`, `killed`, `refused` or `serve`")
        );
        assert!(parse("").is_err());
        assert!(parse("[[task]]\nname = \"a\"\ncolour = 1\n").is_err());
        let many: String = (0..25)
            .map(|i| format!("[[task]]\nname = \"t{i}\"\n"))
            .collect();
        assert!(parse(&many).unwrap_err().contains("at most 24"));
    }

    #[test]
    fn accepts_device_tree_and_other_virtio_classes() {
        let text = "[[task]]\nname = \"rtcd\"\n\
            [[task.grant]]\ndevice = \"goldfish-rtc#0\"\nslot = 1\nrights = [\"read\", \"map\"]\n\
            [[task.grant]]\ndevice = \"virtio-16#1\"\nslot = 2\nrights = [\"read\"]\n";
        let s = parse(text).unwrap();
        let classes: Vec<_> = s.tasks[0].grants.iter().map(|g| g.class.clone()).collect();
        assert_eq!(
            classes,
            [Class::Named("goldfish-rtc".into()), Class::Virtio(16)]
        );
        let src = generate(&s, |p| std::path::PathBuf::from(format!("/b/{p}")));
        assert!(
            src.contains(
                r#"device: neuron::system::DeviceSel::Window(neuron::device::DeviceClass::Named("goldfish-rtc")), instance: 0"#
            )
        );
        assert!(src.contains(
            "device: neuron::system::DeviceSel::Window(neuron::device::DeviceClass::Other(16)), \
             instance: 1"
        ));
        let twice = format!(
            "{text}[[task]]\nname = \"b\"\n[[task.grant]]\ndevice = \"goldfish-rtc#0\"\nslot = 1\nrights = []\n"
        );
        assert!(
            parse(&twice)
                .unwrap_err()
                .contains("`goldfish-rtc#0` is granted twice")
        );
    }

    #[test]
    fn channels_are_checked_and_generated() {
        let tasks = "[[task]]\nname = \"a\"\n[[task.grant]]\ndevice = \"virtio-blk#0\"\nslot = 1\nrights = []\nirq = { slot = 2, bit = 0 }\n[[task]]\nname = \"b\"\n";
        let chan = |pages: &str, ends: &str| {
            format!(
                "{tasks}[[channel]]\nname = \"c0\"\npages = {pages}\ndma = true\nends = [{ends}]\n"
            )
        };
        let good = "{ task = \"a\", slot = 3, bit = 1 }, { task = \"b\", slot = 1, bit = 0 }";
        let s = parse(&chan("17", good)).unwrap();
        assert_eq!(
            s.channels,
            [Channel {
                name: "c0".into(),
                pages: 17,
                dma: true,
                ends: [
                    End {
                        task: 0,
                        slot: 3,
                        bit: 1
                    },
                    End {
                        task: 1,
                        slot: 1,
                        bit: 0
                    }
                ],
            }]
        );
        let src = generate(&s, |p| std::path::PathBuf::from(p));
        assert!(src.contains(
            "neuron::system::ChannelSpec { name: \"c0\", pages: 17, dma: true, ends: \
             [neuron::system::ChannelEnd { task: 0, slot: 3, bit: 1 }, \
             neuron::system::ChannelEnd { task: 1, slot: 1, bit: 0 }] },"
        ));
        let cases = [
            (chan("0", good), "pages = 0 is not in"),
            (chan("513", good), "pages = 513 is not in"),
            (
                chan("1", "{ task = \"a\", slot = 3, bit = 1 }"),
                "exactly two tasks",
            ),
            (
                chan(
                    "1",
                    "{ task = \"a\", slot = 3, bit = 1 }, { task = \"a\", slot = 4, bit = 2 }",
                ),
                "both ends are `a`",
            ),
            (
                chan(
                    "1",
                    "{ task = \"a\", slot = 3, bit = 1 }, { task = \"zz\", slot = 4, bit = 2 }",
                ),
                "no such task",
            ),
            (
                chan(
                    "1",
                    "{ task = \"a\", slot = 2, bit = 1 }, { task = \"b\", slot = 4, bit = 2 }",
                ),
                "slot 2 is used twice",
            ),
            (
                chan(
                    "1",
                    "{ task = \"a\", slot = 3, bit = 0 }, { task = \"b\", slot = 4, bit = 2 }",
                ),
                "bit 0 is used twice",
            ),
            (
                chan(
                    "1",
                    "{ task = \"a\", slot = 3, bit = 1 }, { task = \"b\", slot = 4, bit = 64 }",
                ),
                "bit 64 is not below 64",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(want), "{e} should contain {want}");
        }
    }

    #[test]
    fn pci_grants_by_id_or_class_with_a_bar() {
        let text = "[[task]]\nname = \"blkd\"\n\
            [[task.grant]]\ndevice = \"virtio-blk#0\"\ntransport = \"mmio\"\nslot = 1\nrights = [\"read\"]\n\
            [[task.grant]]\ndevice = \"pci:1af4:1042#0\"\nbar = 4\ntransport = \"pci\"\nslot = 1\nrights = [\"read\"]\n\
            [[task.grant]]\ndevice = \"pci-class:01:00#1\"\nbar = 0\nslot = 2\nrights = [\"read\"]\n";
        let mmio = parse_for(text, Transport::Mmio).unwrap();
        let classes: Vec<_> = mmio.tasks[0]
            .grants
            .iter()
            .map(|g| g.class.clone())
            .collect();
        assert_eq!(classes, [Class::Blk, Class::Pci(PciSel::Class(1, 0), 0)]);
        let pci = parse_for(text, Transport::Pci).unwrap();
        let classes: Vec<_> = pci.tasks[0]
            .grants
            .iter()
            .map(|g| g.class.clone())
            .collect();
        assert_eq!(
            classes,
            [
                Class::Pci(PciSel::Id(0x1af4, 0x1042), 4),
                Class::Pci(PciSel::Class(1, 0), 0)
            ]
        );
        let src = generate(&pci, |p| std::path::PathBuf::from(format!("/b/{p}")));
        assert!(src.contains(
            "device: neuron::system::DeviceSel::Pci { sel: neuron::system::PciSel::Id { \
             vendor: 0x1af4, device: 0x1042 }, bar: 4 }, instance: 0"
        ));
        assert!(src.contains(
            "device: neuron::system::DeviceSel::Pci { sel: neuron::system::PciSel::Class { \
             class: 0x01, subclass: 0x00 }, bar: 0 }, instance: 1"
        ));
        let grant = |device: &str, extra: &str| {
            parse(&format!(
                "[[task]]\nname = \"a\"\n[[task.grant]]\ndevice = \"{device}\"\n{extra}slot = 1\nrights = []\n"
            ))
        };
        for (device, extra, why) in [
            ("pci:1af4:1042#0", "", "needs `bar`"),
            ("pci:1af4:1042#0", "bar = 6\n", "BARs 0 to 5"),
            ("pci:1af4:10420#0", "bar = 4\n", "4 hex digits"),
            ("pci:xyz:1042#0", "bar = 4\n", "4 hex digits"),
            ("pci-class:1:000#0", "bar = 4\n", "2 hex digits"),
            ("virtio-blk#0", "bar = 4\n", "`bar` belongs to PCI grants"),
            (
                "virtio-blk#0",
                "transport = \"usb\"\n",
                "use `mmio` or `pci`",
            ),
        ] {
            let e = grant(device, extra).unwrap_err();
            assert!(e.contains(why), "{device} {extra}: {e}");
        }
        // The same BAR twice is refused; two BARs of one function are not.
        let twice = format!(
            "{text}[[task]]\nname = \"b\"\n[[task.grant]]\ndevice = \"pci:1af4:1042#0\"\nbar = 4\nslot = 1\nrights = []\n"
        );
        let e = parse_for(&twice, Transport::Pci).unwrap_err();
        assert!(
            e.contains("`pci:1af4:1042#0` bar 4 is granted twice"),
            "{e}"
        );
        assert!(
            parse_for(&twice, Transport::Mmio).is_ok(),
            "on mmio the first is not granted"
        );
        let other_bar = twice.replace(
            "bar = 4\nslot = 1\nrights = []",
            "bar = 1\nslot = 1\nrights = []",
        );
        assert!(parse_for(&other_bar, Transport::Pci).is_ok());
    }

    #[test]
    fn irq_grants_and_controls_are_checked() {
        let base = "[[task]]\nname = \"a\"\n[[task.grant]]\ndevice = \"virtio-blk#0\"\nslot = 1\nrights = []\n";
        let ok = format!(
            "{base}irq = {{ slot = 2, bit = 3 }}\n[[task.control]]\ntask = \"b\"\nslot = 4\n[[task]]\nname = \"b\"\n"
        );
        let s = parse(&ok).unwrap();
        assert_eq!(s.tasks[0].grants[0].irq, Some((2, 3)));
        assert_eq!(s.tasks[0].controls, [(4, 1)]);
        let src = generate(&s, |p| std::path::PathBuf::from(p));
        assert!(src.contains("irq: Some(neuron::system::IrqGrant { slot: 2, bit: 3 })"));
        assert!(src.contains("controls: &[neuron::system::Control { slot: 4, task: 1 }, ]"));
        let cases = [
            (
                format!("{base}irq = {{ slot = 1, bit = 0 }}\n"),
                "slot 1 is used twice",
            ),
            (
                format!("{base}irq = {{ slot = 2, bit = 64 }}\n"),
                "irq bit 64 is not below 64",
            ),
            (
                format!("{base}irq = {{ slot = 32, bit = 0 }}\n"),
                "slot 32 is not in",
            ),
            (
                format!("{base}[[task.control]]\ntask = \"zz\"\nslot = 3\n"),
                "no such task",
            ),
            (
                format!("{base}[[task.control]]\ntask = \"a\"\nslot = 3\n"),
                "cannot control itself",
            ),
            (
                format!("{base}[[task.control]]\ntask = \"a\"\nslot = 1\n"),
                "slot 1 is used twice",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(want), "{e} should contain {want}");
        }
        let two_bits = format!(
            "{base}irq = {{ slot = 2, bit = 0 }}\n[[task.grant]]\ndevice = \"virtio-net#0\"\nslot = 3\nrights = []\nirq = {{ slot = 4, bit = 0 }}\n"
        );
        assert!(
            parse(&two_bits)
                .unwrap_err()
                .contains("irq bit 0 is used twice")
        );
    }

    #[test]
    fn generates_the_kernel_table() {
        let s = parse(GOOD).unwrap();
        let src = generate(&s, |p| std::path::PathBuf::from(format!("/b/{p}")));
        assert!(src.contains(r#"include_bytes!("/b/selftest-client")"#));
        assert!(src.contains(r#"include_bytes!("/b/fault-probe")"#));
        assert!(src.contains(
            "device: neuron::system::DeviceSel::Window(neuron::device::DeviceClass::Rng), \
             instance: 0, rights: 0xf"
        ));
        assert!(src.contains("expect: neuron::task::Expect::Killed"));
        assert!(src.contains("expect: neuron::task::Expect::Serve"));
        assert!(src.contains("dma_pages: 16,"));
    }
}
