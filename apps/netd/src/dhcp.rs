//! Just enough Ethernet, IPv4, UDP and DHCP to ask for an address: building
//! a DHCPDISCOVER frame and recognising the DHCPOFFER that answers it.
//! Pure functions over byte slices; nothing here touches the device.

/// Ethernet header bytes.
const ETH_LEN: usize = 14;
/// IPv4 header bytes without options.
const IP_LEN: usize = 20;
/// UDP header bytes.
const UDP_LEN: usize = 8;
/// The fixed part of a BOOTP message, up to the options.
const BOOTP_FIXED: usize = 236;
/// The options area of a classic DHCP message (cookie included), so the
/// IPv4 datagram is the 576 bytes every host must accept.
const BOOTP_OPTIONS: usize = 312;
/// The whole BOOTP message.
const BOOTP_LEN: usize = BOOTP_FIXED + BOOTP_OPTIONS;
/// Bytes of the DHCPDISCOVER frame.
pub const DISCOVER_LEN: usize = ETH_LEN + IP_LEN + UDP_LEN + BOOTP_LEN;

const ETHERTYPE_IPV4: u16 = 0x0800;
const PROTO_UDP: u8 = 17;
const PORT_SERVER: u16 = 67;
const PORT_CLIENT: u16 = 68;
const OP_REQUEST: u8 = 1;
const OP_REPLY: u8 = 2;
const HTYPE_ETHERNET: u8 = 1;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
const OPT_PAD: u8 = 0;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_END: u8 = 255;
const DHCPDISCOVER: u8 = 1;
const DHCPOFFER: u8 = 2;

/// What a received frame turned out to be, when it is not our offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotOffer {
    /// Not a well-formed IPv4/UDP datagram from port 67 to port 68.
    NotDhcp,
    /// A BOOTP reply, but for another transaction or another client.
    OtherTransaction,
    /// A reply to us, but malformed (options, cookie) or of another type.
    Malformed,
    /// A reply to us of the given DHCP message type, not an offer.
    OtherType(u8),
}

/// The Internet checksum (RFC 1071) of `bytes`.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn get_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// A DHCPDISCOVER from `mac` with transaction id `xid`: Ethernet broadcast,
/// IPv4 0.0.0.0:68 to 255.255.255.255:67 with its header checksum, UDP
/// without checksum (allowed for IPv4), BOOTP request with the broadcast
/// flag, the magic cookie, option 53 = DHCPDISCOVER and the end option.
pub fn discover(mac: [u8; 6], xid: u32) -> [u8; DISCOVER_LEN] {
    let mut f = [0u8; DISCOVER_LEN];
    // Ethernet.
    f[0..6].fill(0xff);
    f[6..12].copy_from_slice(&mac);
    put_u16(&mut f, 12, ETHERTYPE_IPV4);
    // IPv4.
    let ip = ETH_LEN;
    f[ip] = 0x45;
    put_u16(&mut f, ip + 2, (IP_LEN + UDP_LEN + BOOTP_LEN) as u16);
    f[ip + 8] = 64;
    f[ip + 9] = PROTO_UDP;
    // Source 0.0.0.0, destination 255.255.255.255.
    f[ip + 16..ip + 20].fill(0xff);
    let sum = checksum(&f[ip..ip + IP_LEN]);
    put_u16(&mut f, ip + 10, sum);
    // UDP.
    let udp = ip + IP_LEN;
    put_u16(&mut f, udp, PORT_CLIENT);
    put_u16(&mut f, udp + 2, PORT_SERVER);
    put_u16(&mut f, udp + 4, (UDP_LEN + BOOTP_LEN) as u16);
    // BOOTP.
    let b = udp + UDP_LEN;
    f[b] = OP_REQUEST;
    f[b + 1] = HTYPE_ETHERNET;
    f[b + 2] = 6;
    f[b + 4..b + 8].copy_from_slice(&xid.to_be_bytes());
    put_u16(&mut f, b + 10, 0x8000);
    f[b + 28..b + 34].copy_from_slice(&mac);
    let o = b + BOOTP_FIXED;
    f[o..o + 4].copy_from_slice(&MAGIC_COOKIE);
    f[o + 4..o + 7].copy_from_slice(&[OPT_MESSAGE_TYPE, 1, DHCPDISCOVER]);
    f[o + 7] = OPT_END;
    f
}

/// The address offered (`yiaddr`) if `frame` is a DHCPOFFER to `mac` for
/// transaction `xid`: IPv4, UDP from port 67 to port 68, BOOTP reply with
/// our xid and hardware address, the magic cookie, and option 53 = 2.
pub fn parse_offer(frame: &[u8], mac: [u8; 6], xid: u32) -> Result<[u8; 4], NotOffer> {
    let bootp = udp_payload(frame).ok_or(NotOffer::NotDhcp)?;
    if bootp.len() < BOOTP_FIXED + 4 || bootp[0] != OP_REPLY {
        return Err(NotOffer::NotDhcp);
    }
    if bootp[4..8] != xid.to_be_bytes() || bootp[28..34] != mac {
        return Err(NotOffer::OtherTransaction);
    }
    if bootp[BOOTP_FIXED..BOOTP_FIXED + 4] != MAGIC_COOKIE {
        return Err(NotOffer::Malformed);
    }
    match message_type(&bootp[BOOTP_FIXED + 4..]) {
        Some(DHCPOFFER) => Ok([bootp[16], bootp[17], bootp[18], bootp[19]]),
        Some(other) => Err(NotOffer::OtherType(other)),
        None => Err(NotOffer::Malformed),
    }
}

/// The payload of `frame` if it is an IPv4 UDP datagram from port 67 to
/// port 68, every length checked against the frame.
fn udp_payload(frame: &[u8]) -> Option<&[u8]> {
    if get_u16(frame, 12)? != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(ETH_LEN..)?;
    let version_ihl = *ip.first()?;
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    if version_ihl >> 4 != 4 || ihl < IP_LEN || *ip.get(9)? != PROTO_UDP {
        return None;
    }
    // Not a fragment: no MF flag, offset 0.
    if get_u16(ip, 6)? & 0x3fff != 0 {
        return None;
    }
    let total = usize::from(get_u16(ip, 2)?);
    let ip = ip.get(..total)?;
    let udp = ip.get(ihl..)?;
    if get_u16(udp, 0)? != PORT_SERVER || get_u16(udp, 2)? != PORT_CLIENT {
        return None;
    }
    let len = usize::from(get_u16(udp, 4)?);
    if len < UDP_LEN {
        return None;
    }
    udp.get(UDP_LEN..len)
}

/// Option 53 (DHCP message type) in `options` (after the cookie), if the
/// options are well formed up to it.
fn message_type(options: &[u8]) -> Option<u8> {
    let mut at = 0;
    loop {
        match *options.get(at)? {
            OPT_PAD => at += 1,
            OPT_END => return None,
            code => {
                let len = usize::from(*options.get(at + 1)?);
                let value = options.get(at + 2..at + 2 + len)?;
                if code == OPT_MESSAGE_TYPE {
                    return if len == 1 { Some(value[0]) } else { None };
                }
                at += 2 + len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    const XID: u32 = 0x4e45_5552;

    /// The offer a DHCP server would answer `discover(MAC, XID)` with.
    fn offer(yiaddr: [u8; 4], message_type: u8) -> [u8; DISCOVER_LEN] {
        let mut f = discover(MAC, XID);
        let udp = ETH_LEN + IP_LEN;
        put_u16(&mut f, udp, PORT_SERVER);
        put_u16(&mut f, udp + 2, PORT_CLIENT);
        let b = udp + UDP_LEN;
        f[b] = OP_REPLY;
        f[b + 16..b + 20].copy_from_slice(&yiaddr);
        f[b + BOOTP_FIXED + 6] = message_type;
        f
    }

    #[test]
    fn checksum_matches_rfc_1071() {
        // RFC 1071's example: the one's-complement sum is 0xddf2.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // An odd length pads with a zero byte.
        assert_eq!(checksum(&[0x01]), !0x0100);
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn discover_is_a_broadcast_dhcp_request() {
        let f = discover(MAC, XID);
        assert_eq!(f.len(), 14 + 20 + 8 + 548);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(get_u16(&f, 12), Some(ETHERTYPE_IPV4));
        let ip = &f[ETH_LEN..ETH_LEN + IP_LEN];
        assert_eq!(ip[0], 0x45);
        assert_eq!(checksum(ip), 0, "the header checksum verifies");
        assert_eq!(get_u16(ip, 2), Some((DISCOVER_LEN - ETH_LEN) as u16));
        assert_eq!(&ip[16..20], &[0xff; 4]);
        let udp = ETH_LEN + IP_LEN;
        assert_eq!(get_u16(&f, udp), Some(68));
        assert_eq!(get_u16(&f, udp + 2), Some(67));
        let b = udp + UDP_LEN;
        assert_eq!(f[b], OP_REQUEST);
        assert_eq!(&f[b + 4..b + 8], &XID.to_be_bytes());
        assert_eq!(&f[b + 28..b + 34], &MAC);
        assert_eq!(&f[b + BOOTP_FIXED..b + BOOTP_FIXED + 4], &MAGIC_COOKIE);
        assert_eq!(message_type(&f[b + BOOTP_FIXED + 4..]), Some(DHCPDISCOVER));
    }

    #[test]
    fn an_offer_for_us_gives_the_address() {
        assert_eq!(
            parse_offer(&offer([10, 0, 2, 15], DHCPOFFER), MAC, XID),
            Ok([10, 0, 2, 15])
        );
    }

    #[test]
    fn other_replies_are_told_apart() {
        let ack = offer([10, 0, 2, 15], 5);
        assert_eq!(parse_offer(&ack, MAC, XID), Err(NotOffer::OtherType(5)));
        let f = offer([10, 0, 2, 15], DHCPOFFER);
        assert_eq!(
            parse_offer(&f, MAC, XID + 1),
            Err(NotOffer::OtherTransaction)
        );
        assert_eq!(
            parse_offer(&f, [0; 6], XID),
            Err(NotOffer::OtherTransaction)
        );
        let mut bad_cookie = f;
        bad_cookie[ETH_LEN + IP_LEN + UDP_LEN + BOOTP_FIXED] ^= 1;
        assert_eq!(parse_offer(&bad_cookie, MAC, XID), Err(NotOffer::Malformed));
        // Our own discover is a request, not a reply.
        assert_eq!(
            parse_offer(&discover(MAC, XID), MAC, XID),
            Err(NotOffer::NotDhcp)
        );
    }

    #[test]
    fn frames_that_are_not_dhcp_replies_are_refused() {
        let good = offer([10, 0, 2, 15], DHCPOFFER);
        let mut arp = good;
        put_u16(&mut arp, 12, 0x0806);
        assert_eq!(parse_offer(&arp, MAC, XID), Err(NotOffer::NotDhcp));
        let mut fragment = good;
        put_u16(&mut fragment, ETH_LEN + 6, 0x2000);
        assert_eq!(parse_offer(&fragment, MAC, XID), Err(NotOffer::NotDhcp));
        let mut tcp = good;
        tcp[ETH_LEN + 9] = 6;
        assert_eq!(parse_offer(&tcp, MAC, XID), Err(NotOffer::NotDhcp));
        let mut long_ip = good;
        put_u16(&mut long_ip, ETH_LEN + 2, 0xffff);
        assert_eq!(parse_offer(&long_ip, MAC, XID), Err(NotOffer::NotDhcp));
    }

    #[test]
    fn truncated_frames_never_panic() {
        let good = offer([10, 0, 2, 15], DHCPOFFER);
        for len in 0..good.len() {
            assert!(parse_offer(&good[..len], MAC, XID).is_err(), "length {len}");
        }
    }

    #[test]
    fn malformed_options_are_refused() {
        // An option whose length runs past the end, and a bad type length.
        assert_eq!(message_type(&[12, 200, 1]), None);
        assert_eq!(message_type(&[OPT_MESSAGE_TYPE, 2, 1, 1]), None);
        assert_eq!(
            message_type(&[OPT_PAD, OPT_PAD, OPT_MESSAGE_TYPE, 1, 2]),
            Some(2)
        );
        assert_eq!(message_type(&[OPT_END, OPT_MESSAGE_TYPE, 1, 2]), None);
        assert_eq!(message_type(&[]), None);
    }
}
