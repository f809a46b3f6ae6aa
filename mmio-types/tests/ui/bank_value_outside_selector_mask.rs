use mmio_types::{ReadWrite, Selector, banks, register_block};

register_block! {
    pub struct Uart {
        0x0 => pub slot: Dlab,
        0x1 => pub lcr: Selector<ReadWrite<u8>, 0x80>,
        0x2 => @end,
    }
}
register_block! { pub struct A { 0x0 => pub a: ReadWrite<u8>, 0x1 => @end } }
register_block! { pub struct B { 0x0 => pub b: ReadWrite<u8>, 0x1 => @end } }
// 0x40 is not a DLAB value: selecting it would not change the bank.
banks! { pub Dlab: Uart.slot by lcr { pub First = 0 => A, pub Second = 0x40 => B } }

fn main() {}
