//! Link-layer header types (the `LINKTYPE_*` values of pcap and pcapng).

use std::fmt;

/// A `LINKTYPE_*` value as written in a pcap header or a pcapng interface block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP on some BSDs (DLT_RAW = 12 there).
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP on some BSDs (DLT_RAW = 14 there).
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const RAW: LinkType = LinkType(101);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The conventional name, for reports of unsupported link types.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            7 => "ARCNET_BSD",
            9 => "PPP",
            12 | 14 | 101 => "RAW",
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            104 => "C_HDLC",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            117 => "PFLOG",
            119 => "IEEE802_11_PRISM",
            127 => "IEEE802_11_RADIOTAP",
            129 => "ARCNET_LINUX",
            163 => "IEEE802_11_AVS",
            178 => "JUNIPER_ETHER",
            192 => "PPI",
            219 => "MPLS",
            226 => "IPNET",
            228 => "IPV4",
            229 => "IPV6",
            239 => "NFLOG",
            240 => "NETANALYZER",
            241 => "NETANALYZER_TRANSPARENT",
            242 => "IPOIB",
            258 => "PKTAP",
            276 => "LINUX_SLL2",
            // Common in the field and not read (yet): named when reported.
            10 => "FDDI",
            6 => "IEEE802_5",
            100 => "ATM_RFC1483",
            107 => "FRELAY",
            123 => "SUNATM",
            138 => "APPLE_IP_OVER_IEEE1394",
            143 => "DOCSIS",
            147..=162 => "USER",
            187 => "BLUETOOTH_HCI_H4",
            189 => "USB_LINUX",
            195 => "IEEE802_15_4_WITHFCS",
            197 => "ERF",
            201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
            220 => "USB_LINUX_MMAPPED",
            227 => "CAN_SOCKETCAN",
            230 => "IEEE802_15_4_NOFCS",
            249 => "USBPCAP",
            252 => "WIRESHARK_UPPER_PDU",
            253 => "NETLINK",
            263 => "NORDIC_BLE",
            274 => "ETHERNET_MPACKET",
            279 => "VSOCK",
            _ => "unknown",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::LinkType;

    #[test]
    fn names_read_and_unread_link_types() {
        assert_eq!(LinkType(192).to_string(), "PPI (192)");
        assert_eq!(LinkType(242).name(), "IPOIB");
        assert_eq!(LinkType(178).name(), "JUNIPER_ETHER");
        assert_eq!(LinkType(197).name(), "ERF");
        assert_eq!(LinkType(150).name(), "USER");
        assert_eq!(LinkType(65000).name(), "unknown");
    }
}
