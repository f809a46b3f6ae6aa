//! Boot: device tree, frames, kernel page table, devices, tasks, first run.

use nexus_abi::layout::STACK_TOP;
use nexus_abi::{CapRights, MapProt};

use crate::cap::{Cap, CapTable, Object};
use crate::device::{self, Device, DeviceClass, DeviceTable, Found, MAX_DEVICES, PciBar, Region};
use crate::devtree::{DeviceTree, Irq, MAX_IRQS, Window};
use crate::elf;
use crate::mem::Memory;
use crate::mem::RamPlan;
use crate::pagetable::KERNEL_MAP_END;
use crate::pagetable::PageTable;
use crate::pci::{self, HostBridge};
use crate::pte::{Owner, Pte};
use crate::space::AddressSpace;
use crate::system::{ChannelSpec, DeviceSel, IrqGrant, TaskSpec};
use crate::task::{Expect, MAX_TASKS, State, Task, TrapFrame};

use super::console::{UART_BASE, kprintln};
use super::cpu::{self, FINISHER};
use super::dt;
use super::ecam::Ecam;
use super::entry::{neuron_return_to_user, neuron_trap_entry, sym_addr};
use super::kernel::{Kernel, kernel};
use super::phys::MAX_RAM;
use super::plic::Plic;

/// Time slices per second.
const SLICES_PER_SECOND: u64 = 100;

/// The kernel's entry from the boot code. Never returns.
pub fn kmain(
    hartid: usize,
    dtb: usize,
    specs: &'static [TaskSpec],
    channels: &'static [ChannelSpec],
) -> ! {
    kprintln!("neuron: booting on hart {hartid}");
    // SAFETY: OpenSBI passes a valid device tree in a1 and the kernel
    // reserves its frames below, so it stays intact.
    let plat = match unsafe { dt::parse(dtb) } {
        Ok(p) => p,
        Err(why) => panic!("device tree: {why}"),
    };
    // SAFETY: the first and only kernel entry so far.
    let k = unsafe { kernel() };
    k.quantum = plat.timebase / SLICES_PER_SECOND;
    let kernel_start = sym_addr!(__kernel_start);
    let Some(ram) = RamPlan::from_tree(&plat.tree, kernel_start, KERNEL_MAP_END, MAX_RAM) else {
        panic!("no RAM region holds the kernel at {kernel_start:#x} below 4 GiB")
    };
    k.mem.init(ram.base, ram.len);
    k.mem.reserve(ram.base, sym_addr!(__kernel_end));
    k.mem.reserve(dtb, dtb + plat.tree.total_size());

    k.devices = discover_devices(&plat.tree);
    discover_pci(k, &plat.tree);
    k.plic = dt::plic(&plat, hartid).and_then(Plic::new);
    if k.plic.is_none() {
        kprintln!(
            "neuron: no PLIC for this hart in the device tree: interrupts are not delivered, drivers poll"
        );
    }
    build_kernel_page_table(k);
    if let Some(plic) = k.plic {
        plic.reset();
    }
    if !cpu::set_trap_vector(neuron_trap_entry as *const () as usize) {
        panic!("stvec did not accept the trap vector");
    }
    cpu::init_user_mode();
    let free = k.mem.free_frames_count();
    if ram.is_all() {
        kprintln!("neuron: {} MiB RAM, {free} frames free", ram.total >> 20);
    } else {
        kprintln!(
            "neuron: {} MiB RAM; using the {} MiB at {:#x} (the kernel maps only the low 4 GiB), \
             {free} frames free",
            ram.total >> 20,
            ram.len >> 20,
            ram.base
        );
    }

    for (i, spec) in specs.iter().enumerate() {
        if i == MAX_TASKS {
            kprintln!("neuron: more than {MAX_TASKS} programs; the rest do not run");
            k.boot_failures += 1;
            break;
        }
        k.tasks[i] = load_task(k, spec);
    }
    k.specs = specs;
    k.channel_specs = channels;
    grant_devices(k, specs);
    grant_controls(k, specs);
    create_channels(k, channels);
    if let Some(plic) = k.plic {
        for line in k.irqs.iter() {
            plic.arm(line.line);
        }
        cpu::enable_external_interrupts();
    }
    // A system whose only tasks that end were refused is judged now.
    k.judge();
    let now = cpu::now();
    k.set_timer(now.wrapping_add(k.quantum), now);
    let first = k.schedule(MAX_TASKS - 1);
    // SAFETY: `first` is the frame of the task just made current, in
    // kernel memory that lives as long as the kernel; the trap entry saves
    // the task's registers back into it through `sscratch`.
    unsafe { neuron_return_to_user(first) }
}

/// The pages the kernel maps for itself whatever the device tree says.
const KEPT: [Region; 2] = [
    Region {
        name: "console UART",
        base: UART_BASE,
        len: 0x1000,
    },
    Region {
        name: "test finisher",
        base: FINISHER,
        len: 0x1000,
    },
];

/// Builds the device table from the tree, reading virtio transports'
/// identity registers (paging is still off, so physical addresses work),
/// and reports each window.
fn discover_devices(tree: &DeviceTree<'static>) -> DeviceTable {
    let virtio_id = |base: usize| {
        // SAFETY: `base` is a `virtio,mmio` window from the device tree
        // that passed `check_window`: device memory apart from RAM and
        // every other node's registers. MagicValue (0x0) and DeviceID (0x8)
        // are side-effect-free 32-bit registers; paging is off.
        unsafe {
            let regs = base as *const u32;
            (regs.read_volatile(), regs.add(2).read_volatile())
        }
    };
    let table = device::discover(tree, &KEPT, virtio_id, |found| match found {
        Found::Device(_) => {}
        Found::Refused { node, window, why } => kprintln!(
            "neuron: refusing {node} window {:#x}+{:#x}: {why}",
            window.base,
            window.len
        ),
        Found::Unnamed(node) => kprintln!("neuron: refusing {node}: no compatible string"),
        Found::MoreWindows(node, n) => {
            kprintln!("neuron: {node}: {n} more window(s) not handed out")
        }
        Found::NotInserted(w) => kprintln!(
            "neuron: refusing window {:#x}+{:#x}: device table full",
            w.base,
            w.len
        ),
    });
    for dev in table.iter().filter(|d| d.class != DeviceClass::Empty) {
        match dev.interrupts().first() {
            Some(irq) => kprintln!(
                "neuron: device {} at {:#x} (irq {})",
                dev.class,
                dev.base,
                irq.number
            ),
            None => kprintln!("neuron: device {} at {:#x}", dev.class, dev.base),
        }
    }
    table
}

/// Reads the PCIe host bridge from the tree, enumerates its first bus,
/// assigns the memory BARs (paging is still off) and adds each assigned
/// BAR to the device table; prints one line per function.
fn discover_pci(k: &mut Kernel, tree: &DeviceTree<'static>) {
    let mut found: Option<HostBridge> = None;
    tree.pci_hosts(|name, bridge| match bridge {
        Ok(b) if found.is_none() => found = Some(b),
        Ok(_) => kprintln!("neuron: {name}: only the first PCIe host bridge is enumerated"),
        Err(why) => kprintln!("neuron: refusing PCIe host bridge {name}: {why}"),
    });
    let Some(bridge) = found else {
        return;
    };
    let mut ecam = Ecam::new(&bridge);
    let mut functions = pci::enumerate(&mut ecam, bridge.first_bus);
    // A bridge window may not cover RAM, another device's registers or a
    // page the kernel keeps.
    let forbidden = |w: Window| {
        let mut clash = KEPT.iter().any(|r| {
            w.overlaps(&Window {
                base: r.base,
                len: r.len,
            })
        });
        tree.windows(|_, _, other| clash |= w.overlaps(&other));
        clash
    };
    if let Err(why) = pci::assign(&mut ecam, &bridge, &mut functions, forbidden) {
        kprintln!("neuron: PCIe: {why}; no BAR is assigned");
    }
    for (fi, f) in functions.indexed() {
        let irq = bridge.intx(f.bdf.dev, f.pin);
        match irq {
            Some(irq) => kprintln!("neuron: pci {f} (irq {})", irq.number),
            None => kprintln!("neuron: pci {f}"),
        }
        for (bar, b, cpu) in f.assigned() {
            let mut irqs = [Irq::default(); MAX_IRQS];
            if let Some(irq) = irq {
                irqs[0] = irq;
            }
            let dev = Device {
                base: cpu,
                len: b.span() as usize,
                irqs,
                nirqs: usize::from(irq.is_some()),
                class: DeviceClass::PciBar(PciBar {
                    function: fi as u8,
                    bar: bar as u8,
                }),
            };
            if !k.devices.insert(dev) {
                kprintln!(
                    "neuron: refusing pci {} bar {bar}: device table full or overlapping",
                    f.bdf
                );
            }
        }
    }
    if functions.dropped > 0 {
        kprintln!(
            "neuron: {} more PCI function(s) not recorded",
            functions.dropped
        );
    }
    k.pci = functions;
    k.ecam = Some(ecam);
}

/// QEMU's exit code when the machine lacks Sv39.
const NO_SV39_EXIT: u32 = 5;

/// Identity-maps the kernel: text R+X, rodata R, data/stack and free RAM
/// R+W, the UART, the test finisher and the virtio windows (to reset a
/// device whose driver ended) R+W; all supervisor-only. The firmware region
/// below the kernel and the guard page below the kernel stack stay
/// unmapped. Then turns paging on.
fn build_kernel_page_table(k: &mut Kernel) {
    let Some(mut pt) = PageTable::new(&mut k.mem) else {
        panic!("no frame for the kernel page table")
    };
    let rx = MapProt::READ | MapProt::EXEC;
    let ranges = [
        (sym_addr!(__text_start), sym_addr!(__text_end), rx),
        (
            sym_addr!(__rodata_start),
            sym_addr!(__rodata_end),
            MapProt::READ,
        ),
        (
            sym_addr!(__data_start),
            sym_addr!(__stack_guard),
            MapProt::RW,
        ),
        (
            sym_addr!(__stack_bottom),
            sym_addr!(__kernel_end),
            MapProt::RW,
        ),
        (sym_addr!(__kernel_end), k.mem.ram_end(), MapProt::RW),
        (UART_BASE, UART_BASE + 0x1000, MapProt::RW),
        (FINISHER, FINISHER + 0x1000, MapProt::RW),
    ];
    let windows = k
        .devices
        .iter()
        .filter(|d| d.class.is_virtio())
        .map(|d| (d.base, d.base + d.len, MapProt::RW));
    // The configuration space page of each PCI function (to stop a
    // function whose driver ended); the rest of ECAM stays unmapped.
    let ecam = k.ecam;
    let config_pages = k
        .pci
        .iter()
        .filter_map(move |f| ecam?.function_page(f.bdf))
        .map(|pa| (pa, pa + 0x1000, MapProt::RW));
    let plic_pages = k
        .plic
        .map(|p| p.pages())
        .into_iter()
        .flatten()
        .map(|pa| (pa, pa + 0x1000, MapProt::RW));
    for (start, end, prot) in ranges
        .into_iter()
        .chain(windows)
        .chain(config_pages)
        .chain(plic_pages)
    {
        let mut pa = start;
        while pa < end {
            let mapped = Pte::leaf(pa, prot, Owner::Kernel)
                .ok()
                .is_some_and(|leaf| pt.map(&mut k.mem, pa, leaf).is_ok());
            if !mapped {
                panic!("cannot map kernel page {pa:#x}");
            }
            pa += 0x1000;
        }
    }
    // SAFETY: the table identity-maps everything the kernel touches: its
    // image, stack, all RAM, the console and the finisher.
    if !unsafe { cpu::enable_paging(pt.root()) } {
        kprintln!(
            "neuron: this hart has no Sv39 MMU (satp did not take the Sv39 mode); \
             NEURON needs Sv39 paging"
        );
        cpu::finish(false, NO_SV39_EXIT);
    }
    k.kernel_pt = Some(pt);
}

/// Checks and loads one program; reports and returns `None` if refused.
fn load_task(k: &mut Kernel, spec: &'static TaskSpec) -> Option<Task> {
    let program = match elf::parse(spec.elf) {
        Ok(p) => p,
        Err(e) => {
            kprintln!("neuron: refusing task {}: {e}", spec.name);
            if spec.expect != Expect::Refused {
                k.boot_failures += 1;
            }
            return None;
        }
    };
    if spec.expect == Expect::Refused {
        kprintln!(
            "neuron: task {} was expected to be refused, but its ELF passed every check; \
             it does not run",
            spec.name
        );
        k.boot_failures += 1;
        return None;
    }
    match instantiate(k, spec, &program) {
        Ok(task) => Some(task),
        Err(e) => {
            kprintln!("neuron: cannot create task {}: {e}", spec.name);
            k.boot_failures += 1;
            None
        }
    }
}

/// A new task running `program` (parsed from `spec.elf`): its address
/// space loaded, no capabilities yet.
fn instantiate(
    k: &mut Kernel,
    spec: &'static TaskSpec,
    program: &elf::Program,
) -> Result<Task, nexus_abi::SysError> {
    let kpt = k.kernel_pt.ok_or(nexus_abi::SysError::OutOfMemory)?;
    let mut space = AddressSpace::new(&mut k.mem, &kpt)?;
    if let Err(e) = space.load(&mut k.mem, program, spec.elf) {
        space.destroy(&mut k.mem);
        return Err(e);
    }
    Ok(Task {
        name: spec.name,
        caps: CapTable::new(),
        space: Some(space),
        frame: TrapFrame::new(program.entry, STACK_TOP),
        state: State::Runnable,
        expect: spec.expect,
        dma_quota: spec.dma_pages,
        notify: Default::default(),
    })
}

/// A new life for task `ti` (`task_restart`), its old one already ended:
/// its program loaded afresh, its task-control capabilities minted again,
/// and its channel ends back, waiting for their peers' `channel_reset`
/// (each live peer's bit is raised). Copies its old life transferred are
/// revoked. Tasks with device grants or DMA memory are not restarted
/// (`InvalidArgument`): their devices were stopped with them.
pub(super) fn restart_task(k: &mut Kernel, ti: usize) -> Result<(), nexus_abi::SysError> {
    use nexus_abi::SysError;
    let spec = restartable(k, ti)?;
    let program = elf::parse(spec.elf).map_err(|_| SysError::InvalidArgument)?;
    crate::transfer::revoke_copies(&mut k.tasks, &mut k.mem, ti, u64::MAX);
    let mut task = instantiate(k, spec, &program)?;
    if let Err(e) = install_restart_caps(k, ti, spec, &mut task) {
        // The new life never runs: its memory goes back.
        if let Some(space) = task.space.take() {
            space.destroy(&mut k.mem);
        }
        return Err(e);
    }
    // Only once every capability is in place do the ends wait for the
    // new life (and the survivors learn of it).
    let tasks = &mut k.tasks;
    k.channels.restart_task(ti, |peer, bits| {
        if let Some(t) = tasks.get_mut(peer).and_then(Option::as_mut)
            && !t.state.has_ended()
            && let Some(ready) = t.notify.signal(bits)
        {
            t.wake(ready, 0);
        }
    });
    k.tasks[ti] = Some(task);
    Ok(())
}

/// Mints a restarted task's capabilities into its new table: its
/// task-control capabilities and the ends of its channels that still exist.
fn install_restart_caps(
    k: &Kernel,
    ti: usize,
    spec: &TaskSpec,
    task: &mut Task,
) -> Result<(), nexus_abi::SysError> {
    for c in spec.controls {
        let cap = Cap::minted(Object::TaskControl { task: c.task }, CapRights::WRITE);
        task.caps.install(c.slot, cap)?;
    }
    for (ci, cs) in k.channel_specs.iter().enumerate() {
        let Some(index) = k.channel_of.get(ci).copied().flatten() else {
            continue;
        };
        for (side, end) in cs.ends.iter().enumerate() {
            if end.task == ti
                && let Some(c) = k.channels.get(index)
            {
                task.caps.install(
                    end.slot,
                    Cap::minted(channel_object(index, side, c), CHANNEL_RIGHTS),
                )?;
            }
        }
    }
    Ok(())
}

/// The description of task `ti` if it may be restarted: `InvalidArgument`
/// for a task with device grants or DMA memory, `TaskEnded` for one the
/// description does not hold.
pub(super) fn restartable(k: &Kernel, ti: usize) -> Result<&'static TaskSpec, nexus_abi::SysError> {
    let spec = k.specs.get(ti).ok_or(nexus_abi::SysError::TaskEnded)?;
    if !spec.grants.is_empty() || spec.dma_pages > 0 {
        return Err(nexus_abi::SysError::InvalidArgument);
    }
    Ok(spec)
}

/// What a channel capability for side `side` of channel `index` names.
fn channel_object(index: usize, side: usize, c: &crate::channel::Channel) -> Object {
    Object::Channel {
        index: index as u16,
        side: side as u8,
        base: c.base,
        pages: c.pages as u32,
        dma: c.dma,
    }
}

/// The rights of a channel capability.
const CHANNEL_RIGHTS: CapRights = CapRights::READ
    .union(CapRights::WRITE)
    .union(CapRights::MAP);

/// Binds the device's interrupt to bit `irq.bit` of task `ti` and mints the
/// irq capability into `irq.slot`. Without an interrupt controller nothing
/// is minted (boot said so once): the driver finds the slot empty and polls.
/// The same when the device's interrupt goes to another controller than the
/// boot hart's PLIC (with NUMA, QEMU wires devices to the last socket's
/// PLIC): the kernel cannot take it, so the driver polls.
fn grant_irq(k: &mut Kernel, ti: usize, name: &str, irq: IrqGrant, dev_irq: Option<Irq>) {
    let Some(plic) = k.plic else {
        return;
    };
    let Some(dev_irq) = dev_irq else {
        kprintln!("neuron: cannot grant an irq to {name}: the device has no interrupt");
        k.boot_failures += 1;
        return;
    };
    if dev_irq.controller != plic.phandle() {
        kprintln!(
            "neuron: no irq for {name}: its device interrupts another controller than this \
             hart's PLIC; it polls"
        );
        return;
    }
    let line = dev_irq.number;
    if !plic.has(line) {
        kprintln!("neuron: cannot grant irq {line} to {name}: not a source of the PLIC");
        k.boot_failures += 1;
        return;
    }
    let index = match k.irqs.bind(line, ti, irq.bit) {
        Ok(index) => index,
        Err(e) => {
            kprintln!("neuron: cannot grant irq {line} to {name}: {e:?}");
            k.boot_failures += 1;
            return;
        }
    };
    let Some(task) = k.tasks[ti].as_mut() else {
        return;
    };
    let cap = Cap::minted(Object::Irq { index }, CapRights::READ | CapRights::WRITE);
    match task.caps.install(irq.slot, cap) {
        Ok(()) => kprintln!(
            "neuron: granted irq {line} to {name} in slot {} (bit {})",
            irq.slot,
            irq.bit
        ),
        Err(e) => {
            kprintln!("neuron: cannot grant irq to {name} slot {}: {e}", irq.slot);
            k.boot_failures += 1;
        }
    }
}

/// Allocates and zeroes each declared channel's frames and mints a channel
/// capability into each end's slot. A channel whose ends are not both
/// loaded, or that cannot be made, is a boot failure and is not made.
fn create_channels(k: &mut Kernel, channels: &'static [ChannelSpec]) {
    for (ci, spec) in channels.iter().enumerate() {
        let loaded =
            |e: &crate::system::ChannelEnd| k.tasks.get(e.task).is_some_and(Option::is_some);
        if !spec.ends.iter().all(loaded) {
            kprintln!(
                "neuron: cannot make channel {}: an end did not load",
                spec.name
            );
            k.boot_failures += 1;
            continue;
        }
        let Some(base) = k.mem.alloc_frames(spec.pages) else {
            kprintln!(
                "neuron: cannot make channel {}: no {} contiguous free frames",
                spec.name,
                spec.pages
            );
            k.boot_failures += 1;
            continue;
        };
        let ends = spec.ends.map(|e| (e.task, e.bit));
        let index = match k.channels.create(base, spec.pages, spec.dma, ends) {
            Ok(index) => index,
            Err(e) => {
                kprintln!("neuron: cannot make channel {}: {e:?}", spec.name);
                k.mem.free_frames(base, spec.pages);
                k.boot_failures += 1;
                continue;
            }
        };
        if let Some(of) = k.channel_of.get_mut(ci) {
            *of = Some(index);
        }
        let Some(&c) = k.channels.get(index) else {
            continue;
        };
        for (side, end) in spec.ends.iter().enumerate() {
            let object = channel_object(index, side, &c);
            let Some(task) = k.tasks[end.task].as_mut() else {
                continue;
            };
            match task
                .caps
                .install(end.slot, Cap::minted(object, CHANNEL_RIGHTS))
            {
                Ok(()) => kprintln!(
                    "neuron: channel {} ({} pages{}) to {} in slot {} (bit {})",
                    spec.name,
                    spec.pages,
                    if spec.dma { ", dma" } else { "" },
                    task.name,
                    end.slot,
                    end.bit
                ),
                Err(e) => {
                    kprintln!(
                        "neuron: cannot give channel {} to {} slot {}: {e}",
                        spec.name,
                        task.name,
                        end.slot
                    );
                    k.boot_failures += 1;
                }
            }
        }
    }
}

/// Mints the task-control capabilities of the system description.
fn grant_controls(k: &mut Kernel, specs: &'static [TaskSpec]) {
    for (ti, spec) in specs.iter().enumerate().take(MAX_TASKS) {
        for c in spec.controls {
            let Some(task) = k.tasks[ti].as_mut() else {
                continue;
            };
            let cap = Cap::minted(Object::TaskControl { task: c.task }, CapRights::WRITE);
            if let Err(e) = task.caps.install(c.slot, cap) {
                kprintln!(
                    "neuron: cannot grant control to {} slot {}: {e}",
                    spec.name,
                    c.slot
                );
                k.boot_failures += 1;
            }
        }
    }
}

/// Mints each granted device capability into its task's slot. A window goes
/// to one task at most, whatever the table says.
fn grant_devices(k: &mut Kernel, specs: &'static [TaskSpec]) {
    let devices = k.devices.clone();
    let mut owner: [Option<&'static str>; MAX_DEVICES] = [None; MAX_DEVICES];
    for (ti, spec) in specs.iter().enumerate().take(MAX_TASKS) {
        for g in spec.grants {
            let found = match g.device {
                DeviceSel::Window(class) => devices
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.class == class)
                    .nth(g.instance)
                    .ok_or("no such device"),
                DeviceSel::Pci { sel, bar } => k
                    .pci
                    .indexed()
                    .filter(|(_, f)| sel.matches(f))
                    .nth(g.instance)
                    .ok_or("no such PCI function")
                    .and_then(|(fi, _)| {
                        let want = DeviceClass::PciBar(PciBar {
                            function: fi as u8,
                            bar,
                        });
                        devices
                            .iter()
                            .enumerate()
                            .find(|(_, d)| d.class == want)
                            .ok_or("the function has no such assigned memory BAR")
                    }),
            };
            let bar = match g.device {
                DeviceSel::Pci { bar, .. } => Some(bar),
                DeviceSel::Window(_) => None,
            };
            let what = GrantName {
                device: g.device,
                instance: g.instance,
                bar,
            };
            let (di, dev) = match found {
                Ok(found) => found,
                Err(why) => {
                    kprintln!("neuron: cannot grant {what} to {}: {why}", spec.name);
                    k.boot_failures += 1;
                    continue;
                }
            };
            if let Some(other) = owner[di] {
                kprintln!(
                    "neuron: cannot grant {what} to {}: already granted to {other}",
                    spec.name
                );
                k.boot_failures += 1;
                continue;
            }
            let Some(task) = k.tasks[ti].as_mut() else {
                continue;
            };
            let object = Object::DeviceMmio {
                base: dev.base,
                len: dev.len,
            };
            let cap = Cap::minted(object, CapRights::from_bits_truncate(g.rights));
            match task.caps.install(g.slot, cap) {
                Ok(()) => {
                    owner[di] = Some(spec.name);
                    kprintln!("neuron: granted {what} to {} in slot {}", spec.name, g.slot);
                }
                Err(e) => {
                    kprintln!("neuron: cannot grant to {} slot {}: {e}", spec.name, g.slot);
                    k.boot_failures += 1;
                }
            }
            if let Some(irq) = g.irq {
                grant_irq(k, ti, spec.name, irq, dev.interrupts().first().copied());
            }
        }
    }
}

/// A grant as the boot log names it: `virtio-blk#0`, `pci:1af4:1042#0 bar 4`.
struct GrantName {
    device: DeviceSel,
    instance: usize,
    bar: Option<u8>,
}

impl core::fmt::Display for GrantName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}#{}", self.device, self.instance)?;
        match self.bar {
            Some(bar) => write!(f, " bar {bar}"),
            None => Ok(()),
        }
    }
}
