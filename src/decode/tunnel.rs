//! What a TCP segment was carried in: the tunnel layers peeled off on the
//! way to it, and the identity a flow key takes from them.
//!
//! The decoder keeps one [`TunnelPath`] as scratch and only resets its
//! length per frame, so untunnelled traffic pays one store. A connection
//! keeps the path of its first segment (boxed, once per tunnelled
//! connection) to show it. For the flow key, the path is reduced to its
//! identity ([`TunnelTable::intern`]): per layer the kind, the id that names
//! a virtual network (VXLAN/GENEVE VNI, GRE key, NVGRE VSID, ERSPAN session)
//! and the outer addresses as an unordered pair, so both directions of a
//! tunnel give one key. Ids that differ by direction are left out of the
//! identity: MPLS labels, L2TP tunnel/session ids and PPTP call ids name the
//! receiver, and a Cisco SGT names the sender's group. The identity is
//! interned into a `u32` (0 = untunnelled), bounded by `max_tunnels`.

use rustc_hash::FxHashMap;
use std::fmt;
use std::net::IpAddr;

/// Tunnel layers peeled before a frame is counted as `tunnel_too_deep`.
/// Real captures nest two or three (a VXLAN mirror of GRE, an MPLS stack of
/// two labels under a pseudowire); the bound only stops a hostile frame of
/// nothing but headers.
pub const MAX_TUNNEL_LAYERS: usize = 8;

/// A kind of encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    /// VXLAN (RFC 7348), UDP 4789 or Linux's old 8472; id: the VNI.
    Vxlan,
    /// GENEVE (RFC 8926), UDP 6081; id: the VNI.
    Geneve,
    /// GRE (RFC 2784/2890) carrying IP, MPLS, Ethernet or anything with an
    /// ethertype; id: the key, when present.
    Gre,
    /// NVGRE (RFC 7637): GRE with a key and Transparent Ethernet Bridging,
    /// no checksum or sequence; id: the VSID (the key's top 24 bits).
    Nvgre,
    /// ERSPAN type I (GRE 0x88be without a sequence number, no header).
    Erspan1,
    /// ERSPAN type II (GRE 0x88be); id: the session.
    Erspan2,
    /// ERSPAN type III (GRE 0x22eb); id: the session.
    Erspan3,
    /// PPTP's enhanced GRE (version 1) carrying PPP; id: the call id.
    Pptp,
    /// IPv4 in IPv4 (protocol 4).
    Ipip,
    /// IPv6 in IPv4 (protocol 41, 6in4 / sit).
    Sit,
    /// IPv4 in IPv6.
    #[serde(rename = "ip4in6")]
    Ip4in6,
    /// IPv6 in IPv6.
    #[serde(rename = "ip6in6")]
    Ip6in6,
    /// One MPLS label stack entry (RFC 3032); id: the label.
    Mpls,
    /// L2TPv2 (RFC 2661) over UDP 1701 with PPP; id: tunnel << 16 | session.
    L2tp,
    /// Cisco MetaData (ethertype 0x8909); id: the TrustSec SGT.
    Cmd,
}

impl TunnelKind {
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Gre => "gre",
            TunnelKind::Nvgre => "nvgre",
            TunnelKind::Erspan1 => "erspan1",
            TunnelKind::Erspan2 => "erspan2",
            TunnelKind::Erspan3 => "erspan3",
            TunnelKind::Pptp => "pptp",
            TunnelKind::Ipip => "ipip",
            TunnelKind::Sit => "sit",
            TunnelKind::Ip4in6 => "ip4in6",
            TunnelKind::Ip6in6 => "ip6in6",
            TunnelKind::Mpls => "mpls",
            TunnelKind::L2tp => "l2tp",
            TunnelKind::Cmd => "cmd",
        }
    }

    /// Whether the layer's id names the same thing in both directions, so
    /// that it belongs in the flow key.
    fn id_in_key(self) -> bool {
        matches!(
            self,
            TunnelKind::Vxlan
                | TunnelKind::Geneve
                | TunnelKind::Gre
                | TunnelKind::Nvgre
                | TunnelKind::Erspan2
                | TunnelKind::Erspan3
        )
    }
}

/// One layer peeled off: what it was, its id, and the endpoints of the IP
/// header that carried it (none for MPLS and Cisco MetaData over a link).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelLayer {
    pub kind: TunnelKind,
    pub id: Option<u32>,
    pub outer: Option<(IpAddr, IpAddr)>,
}

impl TunnelLayer {
    const EMPTY: TunnelLayer = TunnelLayer {
        kind: TunnelKind::Ipip,
        id: None,
        outer: None,
    };
}

/// The layers a segment came through, outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelPath {
    layers: [TunnelLayer; MAX_TUNNEL_LAYERS],
    len: u8,
}

impl Default for TunnelPath {
    fn default() -> Self {
        TunnelPath {
            layers: [TunnelLayer::EMPTY; MAX_TUNNEL_LAYERS],
            len: 0,
        }
    }
}

/// The frame has more layers than [`MAX_TUNNEL_LAYERS`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooDeep;

impl TunnelPath {
    /// A path of the given layers (at most [`MAX_TUNNEL_LAYERS`]; more are dropped).
    pub fn of(layers: &[TunnelLayer]) -> TunnelPath {
        let mut p = TunnelPath::default();
        for l in layers {
            let _ = p.push(l.kind, l.id, l.outer);
        }
        p
    }

    pub fn layers(&self) -> &[TunnelLayer] {
        self.layers.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn push(
        &mut self,
        kind: TunnelKind,
        id: Option<u32>,
        outer: Option<(IpAddr, IpAddr)>,
    ) -> Result<(), TooDeep> {
        let slot = self.layers.get_mut(usize::from(self.len)).ok_or(TooDeep)?;
        *slot = TunnelLayer { kind, id, outer };
        self.len = self.len.saturating_add(1);
        Ok(())
    }
}

impl fmt::Display for TunnelPath {
    /// `vxlan vni 42 10.0.0.1->10.0.0.2`, layers outermost first separated
    /// by ` / `; consecutive MPLS labels as one `mpls label 16/17`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut in_mpls = false;
        for l in self.layers() {
            if l.kind == TunnelKind::Mpls && in_mpls {
                write!(f, "/{}", l.id.unwrap_or(0))?;
                continue;
            }
            if !first {
                f.write_str(" / ")?;
            }
            first = false;
            in_mpls = l.kind == TunnelKind::Mpls;
            f.write_str(l.kind.name())?;
            let id = match (l.kind, l.id) {
                (_, None) => None,
                (TunnelKind::Vxlan | TunnelKind::Geneve, Some(v)) => Some(format!("vni {v}")),
                (TunnelKind::Gre, Some(k)) => Some(format!("key {k}")),
                (TunnelKind::Nvgre, Some(v)) => Some(format!("vsid {v}")),
                (TunnelKind::Erspan2 | TunnelKind::Erspan3, Some(s)) => {
                    Some(format!("session {s}"))
                }
                (TunnelKind::Pptp, Some(c)) => Some(format!("call {c}")),
                (TunnelKind::Mpls, Some(label)) => Some(format!("label {label}")),
                (TunnelKind::L2tp, Some(v)) => {
                    Some(format!("tunnel {} session {}", v >> 16, v & 0xffff))
                }
                (TunnelKind::Cmd, Some(sgt)) => Some(format!("sgt {sgt}")),
                (_, Some(v)) => Some(format!("id {v}")),
            };
            if let Some(id) = id {
                write!(f, " {id}")?;
            }
            if let Some((src, dst)) = l.outer {
                write!(f, " {src}->{dst}")?;
            }
        }
        Ok(())
    }
}

/// How the decoder treats tunnels.
#[derive(Clone, Copy, Debug)]
pub struct TunnelOptions {
    /// Leave the tunnel out of the flow key: a flow seen inside a tunnel and
    /// outside it (or in two tunnels) is one connection (`--merge-tunnels`).
    pub merge: bool,
    /// Distinct tunnel identities told apart; past it, flows in new tunnels
    /// share one key (counted in `tunnels_over_limit`).
    pub max_tunnels: usize,
}

impl Default for TunnelOptions {
    fn default() -> Self {
        TunnelOptions {
            merge: false,
            max_tunnels: 65_536,
        }
    }
}

/// A segment's tunnel as the flow table takes it: the path to show and the
/// interned identity for the key (0: none, or merged).
#[derive(Clone, Copy, Debug)]
pub struct Tunnel<'a> {
    pub path: Option<&'a TunnelPath>,
    pub key: u32,
}

impl Tunnel<'_> {
    pub const NONE: Tunnel<'static> = Tunnel { path: None, key: 0 };

    /// The path, owned, for a connection record.
    pub fn owned(&self) -> Option<Box<TunnelPath>> {
        self.path.map(|p| Box::new(p.clone()))
    }
}

/// The key shared by every tunnel past `max_tunnels`.
pub const OVERFLOW_KEY: u32 = u32::MAX;

/// One layer of an identity: kind, id if it is the same both ways, outer
/// addresses as an ordered pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct IdentityLayer {
    kind: TunnelKind,
    id: Option<u32>,
    outer: Option<(IpAddr, IpAddr)>,
}

/// Tunnel identities seen so far, each with its key.
#[derive(Debug, Default)]
pub(crate) struct TunnelTable {
    map: FxHashMap<Box<[IdentityLayer]>, u32>,
    /// The last identity looked up (its layers, how many) and its key: most
    /// captures have one tunnel, and a hit costs no hashing.
    last: Option<([IdentityLayer; MAX_TUNNEL_LAYERS], usize, u32)>,
    /// Times a new identity found the table full.
    pub over_limit: u64,
}

impl TunnelTable {
    /// The key for `path` (not empty), allocating a new one for an identity
    /// not seen before while fewer than `max` are known.
    pub(crate) fn intern(&mut self, path: &TunnelPath, max: usize) -> u32 {
        let mut layers = [IdentityLayer {
            kind: TunnelKind::Ipip,
            id: None,
            outer: None,
        }; MAX_TUNNEL_LAYERS];
        let mut n = 0usize;
        for (slot, l) in layers.iter_mut().zip(path.layers()) {
            *slot = IdentityLayer {
                kind: l.kind,
                id: if l.kind.id_in_key() { l.id } else { None },
                outer: l.outer.map(|(a, b)| if a <= b { (a, b) } else { (b, a) }),
            };
            n = n.saturating_add(1);
        }
        let ident = layers.get(..n).unwrap_or_default();
        if let Some((last, len, key)) = &self.last {
            if *len == n && last.get(..n) == Some(ident) {
                return *key;
            }
        }
        let key = match self.map.get(ident) {
            Some(&key) => key,
            None if self.map.len() < max => {
                // Keys start at 1 (0 is "no tunnel") and stay below the
                // overflow key: `max` fits in u32 by construction of the limit.
                let key = u32::try_from(self.map.len())
                    .unwrap_or(OVERFLOW_KEY)
                    .saturating_add(1)
                    .min(OVERFLOW_KEY.saturating_sub(1));
                self.map.insert(ident.into(), key);
                key
            }
            None => {
                self.over_limit = self.over_limit.saturating_add(1);
                return OVERFLOW_KEY;
            }
        };
        self.last = Some((layers, n, key));
        key
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn display_names_each_layer_outermost_first() {
        let mut p = TunnelPath::default();
        p.push(TunnelKind::Gre, Some(5), Some((ip(1), ip(2))))
            .unwrap();
        p.push(TunnelKind::Mpls, Some(16), None).unwrap();
        p.push(TunnelKind::Mpls, Some(17), None).unwrap();
        p.push(TunnelKind::Vxlan, Some(42), Some((ip(3), ip(4))))
            .unwrap();
        assert_eq!(
            p.to_string(),
            "gre key 5 10.0.0.1->10.0.0.2 / mpls label 16/17 / vxlan vni 42 10.0.0.3->10.0.0.4"
        );
        let l2tp = TunnelPath::of(&[TunnelLayer {
            kind: TunnelKind::L2tp,
            id: Some(3 << 16 | 9),
            outer: Some((ip(1), ip(2))),
        }]);
        assert_eq!(
            l2tp.to_string(),
            "l2tp tunnel 3 session 9 10.0.0.1->10.0.0.2"
        );
    }

    #[test]
    fn push_stops_at_the_bound() {
        let mut p = TunnelPath::default();
        for i in 0..MAX_TUNNEL_LAYERS {
            p.push(TunnelKind::Mpls, Some(i as u32), None).unwrap();
        }
        assert_eq!(p.push(TunnelKind::Mpls, Some(99), None), Err(TooDeep));
        assert_eq!(p.layers().len(), MAX_TUNNEL_LAYERS);
        p.clear();
        assert!(p.is_empty());
    }

    #[test]
    fn identity_ignores_direction_and_per_direction_ids() {
        let mut t = TunnelTable::default();
        let vx = |a, b, vni| {
            TunnelPath::of(&[TunnelLayer {
                kind: TunnelKind::Vxlan,
                id: Some(vni),
                outer: Some((ip(a), ip(b))),
            }])
        };
        let k = t.intern(&vx(1, 2, 42), 10);
        assert_eq!(t.intern(&vx(2, 1, 42), 10), k);
        assert_ne!(t.intern(&vx(1, 2, 43), 10), k);
        assert_ne!(t.intern(&vx(1, 3, 42), 10), k);
        let mpls = |label| {
            TunnelPath::of(&[TunnelLayer {
                kind: TunnelKind::Mpls,
                id: Some(label),
                outer: None,
            }])
        };
        let m = t.intern(&mpls(16), 10);
        assert_eq!(t.intern(&mpls(17), 10), m, "labels differ by direction");
        assert!(k != 0 && m != 0);
    }

    #[test]
    fn identities_past_the_bound_share_the_overflow_key() {
        let mut t = TunnelTable::default();
        let gre = |key| {
            TunnelPath::of(&[TunnelLayer {
                kind: TunnelKind::Gre,
                id: Some(key),
                outer: Some((ip(1), ip(2))),
            }])
        };
        let a = t.intern(&gre(1), 2);
        let b = t.intern(&gre(2), 2);
        assert_ne!(a, b);
        assert_eq!(t.intern(&gre(3), 2), OVERFLOW_KEY);
        assert_eq!(t.intern(&gre(4), 2), OVERFLOW_KEY);
        assert_eq!(t.over_limit, 2);
        assert_eq!(t.intern(&gre(1), 2), a, "known ones keep their key");
    }
}
