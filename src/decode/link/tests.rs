//! Link-layer decoding on frames built from each format's documentation.

#![allow(clippy::arithmetic_side_effects)]

use super::*;

const IP4: [u8; 2] = [0x45, 0x00];
const IP6: [u8; 2] = [0x60, 0x00];

#[test]
fn ethernet_peels_vlan_tags() {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x88, 0xa8, 0, 200, 0x81, 0x00, 0, 201, 0x81, 0x00, 0, 7]);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&IP4);
    assert_eq!(network(LinkType::ETHERNET, &f), Network::Ipv4(&IP4));
}

#[test]
fn ethernet_with_too_many_tags_or_cut_tag_is_malformed() {
    let mut f = vec![0u8; 12];
    for _ in 0..=MAX_VLAN_TAGS {
        f.extend_from_slice(&[0x81, 0x00, 0, 1]);
    }
    f.extend_from_slice(&[0x08, 0x00, 0x45]);
    assert_eq!(network(LinkType::ETHERNET, &f), Network::Malformed);
    let cut = [0u8; 12]
        .iter()
        .chain(&[0x81, 0x00, 0])
        .copied()
        .collect::<Vec<_>>();
    assert_eq!(network(LinkType::ETHERNET, &cut), Network::Malformed);
}

#[test]
fn ethernet_non_ip_and_llc() {
    let mut arp = vec![0u8; 12];
    arp.extend_from_slice(&[0x08, 0x06, 0, 1]);
    assert_eq!(network(LinkType::ETHERNET, &arp), Network::NotIp(0x0806));
    let mut stp = vec![0u8; 12];
    stp.extend_from_slice(&[0x00, 0x26, 0x42, 0x42, 0x03, 0, 0]);
    assert_eq!(
        network(LinkType::ETHERNET, &stp),
        Network::NotIp(NO_ETHERTYPE)
    );
    let mut snap_ip = vec![0u8; 12];
    snap_ip.extend_from_slice(&[0x00, 0x40, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    snap_ip.extend_from_slice(&IP4);
    assert_eq!(network(LinkType::ETHERNET, &snap_ip), Network::Ipv4(&IP4));
}

#[test]
fn pppoe_session_with_full_and_compressed_protocol() {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x88, 0x64, 0x11, 0x00, 0x12, 0x34, 0x00, 0x04, 0x00, 0x57]);
    f.extend_from_slice(&IP6);
    f.extend_from_slice(&[0xee; 6]); // padding past the PPPoE length
    assert_eq!(network(LinkType::ETHERNET, &f), Network::Ipv6(&IP6));
    let pfc = [0x11, 0x00, 0x12, 0x34, 0x00, 0x03, 0x21, 0x45, 0x00];
    assert_eq!(pppoe_session(&pfc), Network::Ipv4(&IP4));
    let lcp = [0x11, 0x00, 0x12, 0x34, 0x00, 0x04, 0xc0, 0x21, 1, 2];
    assert_eq!(pppoe_session(&lcp), Network::NotIp(NO_ETHERTYPE));
    assert_eq!(pppoe_session(&[0x11, 0, 0]), Network::Malformed);
}

#[test]
fn bsd_loopback_in_both_byte_orders_and_all_inet6_numbers() {
    for family in [2u32, 24, 28, 30] {
        let want = |rest| {
            if family == 2 {
                Network::Ipv4(rest)
            } else {
                Network::Ipv6(rest)
            }
        };
        for bytes in [family.to_le_bytes(), family.to_be_bytes()] {
            let mut f = bytes.to_vec();
            f.extend_from_slice(&IP4);
            assert_eq!(network(LinkType::NULL, &f), want(&IP4[..]));
            assert_eq!(network(LinkType::LOOP, &f), want(&IP4[..]));
        }
    }
    assert_eq!(
        network(LinkType::NULL, &[7, 0, 0, 0, 1]),
        Network::NotIp(NO_ETHERTYPE)
    );
    assert_eq!(network(LinkType::NULL, &[2, 0, 0]), Network::Malformed);
}

#[test]
fn raw_ip_by_version_nibble() {
    assert_eq!(network(LinkType::RAW, &IP6), Network::Ipv6(&IP6));
    assert_eq!(network(LinkType::RAW_BSD12, &IP4), Network::Ipv4(&IP4));
    assert_eq!(network(LinkType::RAW_BSD14, &[0x50]), Network::Malformed);
    assert_eq!(network(LinkType::RAW, &[]), Network::Malformed);
}

#[test]
fn nflog_finds_payload_attribute_in_either_byte_order() {
    // family AF_INET, version 0, resource id 1
    let mut le = vec![2, 0, 0, 1];
    le.extend_from_slice(&[8, 0, 1, 0, 0x08, 0x00, 3, 0]); // NFULA_PACKET_HDR
    le.extend_from_slice(&[6, 0, 10, 0, b'e', b't', 0, 0]); // prefix, padded
    le.extend_from_slice(&[6, 0, 9, 0]);
    le.extend_from_slice(&IP4);
    le.extend_from_slice(&[0, 0]);
    assert_eq!(network(LinkType(239), &le), Network::Ipv4(&IP4));

    let mut be = vec![10, 0, 0, 1];
    be.extend_from_slice(&[0, 5, 0, 10, b'x', 0, 0, 0]);
    be.extend_from_slice(&[0, 6, 0, 9]);
    be.extend_from_slice(&IP6);
    assert_eq!(network(LinkType(239), &be), Network::Ipv6(&IP6));

    let bad = [2, 0, 0, 1, 2, 0, 9, 0, 0x45];
    assert_eq!(network(LinkType(239), &bad), Network::Malformed);
    let long = [2, 0, 0, 1, 200, 0, 9, 0, 0x45];
    assert_eq!(network(LinkType(239), &long), Network::Malformed);
}

#[test]
fn sll_sll2_hdlc_ppp() {
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x86, 0xdd]);
    sll.extend_from_slice(&IP6);
    assert_eq!(network(LinkType::LINUX_SLL, &sll), Network::Ipv6(&IP6));
    let mut sll_vlan = vec![0u8; 14];
    sll_vlan.extend_from_slice(&[0x81, 0x00, 0, 5, 0x08, 0x00]);
    sll_vlan.extend_from_slice(&IP4);
    assert_eq!(network(LinkType::LINUX_SLL, &sll_vlan), Network::Ipv4(&IP4));
    let mut sll2 = vec![0x08, 0x00];
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend_from_slice(&IP4);
    assert_eq!(network(LinkType::LINUX_SLL2, &sll2), Network::Ipv4(&IP4));
    assert_eq!(network(LinkType::LINUX_SLL2, &[8, 0]), Network::Malformed);
    let hdlc = [0x0f, 0x00, 0x08, 0x00, 0x45, 0x00];
    assert_eq!(network(LinkType(104), &hdlc), Network::Ipv4(&IP4));
    let ppp = [0xff, 0x03, 0x00, 0x21, 0x45, 0x00];
    assert_eq!(network(LinkType(9), &ppp), Network::Ipv4(&IP4));
    assert_eq!(network(LinkType(50), &ppp[2..]), Network::Ipv4(&IP4));
}

#[test]
fn ieee802_11_data_frames_only() {
    let mut qos_data = vec![0x88, 0x01];
    qos_data.extend_from_slice(&[0u8; 24]); // rest of header + QoS control
    qos_data.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    qos_data.extend_from_slice(&IP4);
    assert_eq!(network(LinkType(105), &qos_data), Network::Ipv4(&IP4));
    let mut radiotap = vec![0, 0, 8, 0, 0, 0, 0, 0];
    radiotap.extend_from_slice(&qos_data);
    assert_eq!(network(LinkType(127), &radiotap), Network::Ipv4(&IP4));
    let mut protected = qos_data.clone();
    protected[1] |= 0x40;
    assert_eq!(
        network(LinkType(105), &protected),
        Network::NotIp(NO_ETHERTYPE)
    );
    let beacon = [0x80, 0x00, 0, 0];
    assert_eq!(
        network(LinkType(105), &beacon),
        Network::NotIp(NO_ETHERTYPE)
    );
    assert_eq!(network(LinkType(127), &[0, 0, 200, 0]), Network::Malformed);
}

#[test]
fn arcnet_rfc1201_1051_and_exception_packets() {
    let linux = [0xbe, 0x50, 0xc0, 0x00, 0xd4, 0x00, 0x01, 0x6b, 0x45, 0x00];
    assert_eq!(network(LinkType(129), &linux), Network::Ipv4(&IP4));
    let bsd = [0xbe, 0x50, 0xf0, 0x45, 0x00];
    assert_eq!(network(LinkType(7), &bsd), Network::Ipv4(&IP4));
    let exception = [1, 2, 0xc4, 0xff, 0xff, 0xff, 0xc4, 0x00, 0, 1, 0x60, 0x00];
    assert_eq!(network(LinkType(7), &exception), Network::Ipv6(&IP6));
    let arp = [0xbe, 0x00, 0xea, 0x08, 0xd5, 0x00, 0x01, 0x65];
    assert_eq!(network(LinkType(129), &arp), Network::NotIp(NO_ETHERTYPE));
    assert_eq!(network(LinkType(129), &linux[..6]), Network::Malformed);
}

fn eth_ip4() -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&IP4);
    f
}

#[test]
fn ppi_reads_the_wrapped_link_type_and_refuses_to_nest() {
    let mut p = vec![0, 0, 8, 0, 1, 0, 0, 0];
    p.extend(eth_ip4());
    assert_eq!(network(LinkType(192), &p), Network::Ipv4(&IP4));
    // Fields between the 8-byte header and the frame.
    let mut fields = vec![0, 0, 20, 0, 1, 0, 0, 0];
    fields.extend_from_slice(&[2, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    fields.extend(eth_ip4());
    assert_eq!(network(LinkType(192), &fields), Network::Ipv4(&IP4));
    // An unknown wrapped link type is reported as that link type.
    let mut odd = vec![0, 0, 8, 0, 147, 0, 0, 0];
    odd.extend_from_slice(&[0; 20]);
    assert_eq!(network(LinkType(192), &odd), Network::Unsupported(147));
    // PPI in PPI, a bad version, a length past the frame or under 8.
    let nested = [0, 0, 8, 0, 192, 0, 0, 0, 0, 0, 8, 0, 1, 0, 0, 0];
    assert_eq!(network(LinkType(192), &nested), Network::Malformed);
    assert_eq!(
        network(LinkType(192), &[1, 0, 8, 0, 1, 0, 0, 0]),
        Network::Malformed
    );
    assert_eq!(
        network(LinkType(192), &[0, 0, 99, 0, 1, 0, 0, 0]),
        Network::Malformed
    );
    assert_eq!(
        network(LinkType(192), &[0, 0, 4, 0, 1, 0, 0, 0]),
        Network::Malformed
    );
    // PKTAP likewise.
    let mut pk = 8u32.to_le_bytes().to_vec();
    pk.extend_from_slice(&1u32.to_le_bytes());
    pk.extend(eth_ip4());
    assert_eq!(network(LinkType(258), &pk), Network::Ipv4(&IP4));
    let mut pk_nested = 8u32.to_le_bytes().to_vec();
    pk_nested.extend_from_slice(&258u32.to_le_bytes());
    pk_nested.extend_from_slice(&pk);
    assert_eq!(network(LinkType(258), &pk_nested), Network::Malformed);
}

#[test]
fn ipoib_in_the_pcap_and_rfc_4391_forms() {
    let mut long = vec![0x11; 40];
    long.extend_from_slice(&[0x86, 0xdd, 0, 0]);
    long.extend_from_slice(&IP6);
    assert_eq!(network(LinkType(242), &long), Network::Ipv6(&IP6));
    let mut short = vec![0x08, 0x00, 0, 0];
    short.extend_from_slice(&IP4);
    assert_eq!(network(LinkType(242), &short), Network::Ipv4(&IP4));
    let mut arp = vec![0x22; 40];
    arp.extend_from_slice(&[0x08, 0x06, 0, 0, 0, 1]);
    assert_eq!(network(LinkType(242), &arp), Network::NotIp(0x0806));
    assert_eq!(network(LinkType(242), &[0x08, 0x00]), Network::Malformed);
}

#[test]
fn juniper_ethernet_header_forms() {
    let mut plain = b"MGC\x01".to_vec();
    plain.extend(eth_ip4());
    assert_eq!(network(LinkType(178), &plain), Network::Ipv4(&IP4));
    let mut ext = b"MGC\x80".to_vec();
    ext.extend_from_slice(&[0, 3, 1, 1, 9]);
    ext.extend(eth_ip4());
    assert_eq!(network(LinkType(178), &ext), Network::Ipv4(&IP4));
    let mut no_l2 = b"MGC\x82".to_vec();
    no_l2.extend_from_slice(&[0, 0, 6, 0, 0, 0]);
    no_l2.extend_from_slice(&IP6);
    assert_eq!(network(LinkType(178), &no_l2), Network::Ipv6(&IP6));
    let mut mpls = b"MGC\x02".to_vec();
    mpls.extend_from_slice(&[5, 0, 0, 0, 0, 1, 0x01, 0x40]);
    assert_eq!(
        network(LinkType(178), &mpls),
        Network::Mpls(&[0, 1, 0x01, 0x40])
    );
    assert_eq!(network(LinkType(178), b"XGC\x00"), Network::Malformed);
    assert_eq!(network(LinkType(178), b"MGC\x80\x00"), Network::Malformed);
    assert_eq!(
        network(LinkType(178), b"MGC\x80\x00\x09"),
        Network::Malformed
    );
    let mut odd = b"MGC\x02".to_vec();
    odd.extend_from_slice(&[10, 0, 0, 0, 0xfe]);
    assert_eq!(network(LinkType(178), &odd), Network::NotIp(NO_ETHERTYPE));
}

#[test]
fn pflog_prism_avs_ipnet_netanalyzer_ppp_ether_mpls() {
    let mut pflog = vec![61, 24];
    pflog.extend_from_slice(&[0; 62]);
    pflog.extend_from_slice(&IP6);
    assert_eq!(network(LinkType(117), &pflog), Network::Ipv6(&IP6));
    assert_eq!(network(LinkType(117), &[0, 2]), Network::Malformed);
    let data = {
        let mut d = vec![0x08, 0x01];
        d.extend_from_slice(&[0u8; 22]);
        d.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        d.extend_from_slice(&IP4);
        d
    };
    let mut prism = vec![0x41, 0, 0, 0, 16, 0, 0, 0];
    prism.extend_from_slice(&[0; 8]);
    prism.extend_from_slice(&data);
    assert_eq!(network(LinkType(119), &prism), Network::Ipv4(&IP4));
    let mut avs = vec![0x80, 0x21, 0x10, 0x01, 0, 0, 0, 12, 0, 0, 0, 0];
    avs.extend_from_slice(&data);
    assert_eq!(network(LinkType(163), &avs), Network::Ipv4(&IP4));
    let mut ipnet = vec![1, 2];
    ipnet.extend_from_slice(&[0; 22]);
    ipnet.extend_from_slice(&IP4);
    assert_eq!(network(LinkType(226), &ipnet), Network::Ipv4(&IP4));
    let mut na = vec![0; 4];
    na.extend(eth_ip4());
    assert_eq!(network(LinkType(240), &na), Network::Ipv4(&IP4));
    let mut nat = vec![0; 12];
    nat.extend(eth_ip4());
    assert_eq!(network(LinkType(241), &nat), Network::Ipv4(&IP4));
    let pppoe = [0x11, 0x00, 0x12, 0x34, 0x00, 0x04, 0x00, 0x21, 0x45, 0x00];
    assert_eq!(network(LinkType(51), &pppoe), Network::Ipv4(&IP4));
    assert_eq!(
        network(LinkType(219), &[0, 1, 0x01, 0x40]),
        Network::Mpls(&[0, 1, 0x01, 0x40])
    );
}

#[test]
fn unknown_link_type_is_unsupported() {
    assert_eq!(network(LinkType(147), &[0; 40]), Network::Unsupported(147));
}
