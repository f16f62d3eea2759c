//! IPv4 and IPv6 (with extension headers): from network-layer bytes to the transport payload,
//! or to a fragment for the defragmenter. Header fields are read through `etherparse`'s
//! checked header slices; the walk itself (lengths, extension chain, fragments) is done here so
//! that snap-length cuts and non-first IPv6 fragments are accounted for exactly.

use etherparse::{
    IpAuthHeaderSlice, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice, Ipv6HeaderSlice,
    Ipv6RawExtHeaderSlice,
};
use std::net::IpAddr;

/// IP protocol numbers of TCP, of the tunnels decoded inside IP, and of UDP (for VXLAN).
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_IPV4: u8 = 4;
pub(crate) const PROTO_IPV6: u8 = 41;
pub(crate) const PROTO_GRE: u8 = 47;
pub(crate) const PROTO_UDP: u8 = 17;
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AUTH: u8 = 51;
const IPV6_DEST_OPTIONS: u8 = 60;
const IPV6_MOBILITY: u8 = 135;
const IPV6_HIP: u8 = 139;
const IPV6_SHIM6: u8 = 140;
const IPV6_HEADER_LEN: usize = 40;
/// Longest chain of IPv6 extension headers followed.
const MAX_EXTENSION_HEADERS: usize = 16;

/// A fragment of a larger datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fragment<'a> {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub(crate) id: u32,
    /// Byte offset of `data` in the reassembled payload.
    pub(crate) offset: u32,
    pub(crate) more: bool,
    /// IPv4: the transport protocol. IPv6: the first header of the fragmentable part.
    pub(crate) next_header: u8,
    pub(crate) data: &'a [u8],
}

/// What an IP packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payload<'a> {
    /// A whole transport-layer payload.
    Transport {
        protocol: u8,
        data: &'a [u8],
    },
    Fragment(Fragment<'a>),
}

/// A parsed IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IpPacket<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) is_v6: bool,
    /// IPv4's identification (`None` for IPv6, which has none outside fragments).
    pub(crate) ident: Option<u16>,
    /// Whether IPv6 extension headers were walked to reach the payload.
    pub(crate) extension_headers: bool,
    /// Bytes the packet's own length field declares but the capture lacks; `None` when the
    /// length field gives no answer (0, as written by segmentation offload, or a jumbogram).
    pub(crate) missing: Option<u32>,
    pub(crate) payload: Payload<'a>,
}

/// Why no IP packet could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpError {
    /// Not IPv4 or IPv6 at all (raw-IP link with this other version nibble).
    Version(u8),
    /// Cut short or malformed.
    Truncated,
}

/// Parses IPv4 or IPv6 depending on the version nibble.
pub(crate) fn parse_any(bytes: &[u8]) -> Result<IpPacket<'_>, IpError> {
    match bytes.first().map(|b| b >> 4) {
        Some(4) => parse_v4(bytes),
        Some(6) => parse_v6(bytes),
        Some(version) => Err(IpError::Version(version)),
        None => Err(IpError::Truncated),
    }
}

/// Parses an IPv4 packet.
pub(crate) fn parse_v4(bytes: &[u8]) -> Result<IpPacket<'_>, IpError> {
    let header = Ipv4HeaderSlice::from_slice(bytes).map_err(|_| IpError::Truncated)?;
    let header_len = header.slice().len();
    let total_len = usize::from(header.total_len());
    let (end, missing) = if total_len >= header_len {
        (
            total_len.min(bytes.len()),
            Some(total_len.saturating_sub(bytes.len()) as u32),
        )
    } else {
        (bytes.len(), None)
    };
    let data = bytes.get(header_len..end).ok_or(IpError::Truncated)?;
    let protocol = header.protocol().0;
    let offset = u32::from(header.fragments_offset().value()) * 8;
    let payload = if header.more_fragments() || offset != 0 {
        Payload::Fragment(Fragment {
            id: u32::from(header.identification()),
            offset,
            more: header.more_fragments(),
            next_header: protocol,
            data,
        })
    } else {
        Payload::Transport { protocol, data }
    };
    Ok(IpPacket {
        src: IpAddr::V4(header.source_addr()),
        dst: IpAddr::V4(header.destination_addr()),
        is_v6: false,
        ident: Some(header.identification()),
        extension_headers: false,
        missing,
        payload,
    })
}

/// Parses an IPv6 packet and its extension headers.
pub(crate) fn parse_v6(bytes: &[u8]) -> Result<IpPacket<'_>, IpError> {
    let header = Ipv6HeaderSlice::from_slice(bytes).map_err(|_| IpError::Truncated)?;
    let payload_len = usize::from(header.payload_length());
    let (end, missing) = if payload_len == 0 {
        (bytes.len(), None)
    } else {
        let declared = IPV6_HEADER_LEN + payload_len;
        (
            declared.min(bytes.len()),
            Some(declared.saturating_sub(bytes.len()) as u32),
        )
    };
    let rest = bytes.get(IPV6_HEADER_LEN..end).ok_or(IpError::Truncated)?;
    let (payload, walked) = walk_v6_extensions(header.next_header().0, rest)?;
    Ok(IpPacket {
        src: IpAddr::V6(header.source_addr()),
        dst: IpAddr::V6(header.destination_addr()),
        is_v6: true,
        ident: None,
        extension_headers: walked > 0,
        missing,
        payload,
    })
}

/// Follows IPv6 extension headers from `next_header` over `data` to the transport payload or
/// to a fragment header (which ends the walk: what follows it is fragment data); also says how
/// many extension headers it walked.
pub(crate) fn walk_v6_extensions(
    mut next_header: u8,
    mut data: &[u8],
) -> Result<(Payload<'_>, usize), IpError> {
    for walked in 0..MAX_EXTENSION_HEADERS {
        let header_len = match next_header {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTIONS | IPV6_MOBILITY | IPV6_HIP
            | IPV6_SHIM6 => {
                let ext =
                    Ipv6RawExtHeaderSlice::from_slice(data).map_err(|_| IpError::Truncated)?;
                next_header = ext.next_header().0;
                ext.slice().len()
            }
            IPV6_AUTH => {
                let auth = IpAuthHeaderSlice::from_slice(data).map_err(|_| IpError::Truncated)?;
                next_header = auth.next_header().0;
                auth.slice().len()
            }
            IPV6_FRAGMENT => {
                let frag =
                    Ipv6FragmentHeaderSlice::from_slice(data).map_err(|_| IpError::Truncated)?;
                let len = frag.slice().len();
                let after = data.get(len..).ok_or(IpError::Truncated)?;
                if frag.is_fragmenting_payload() {
                    let fragment = Fragment {
                        id: frag.identification(),
                        offset: u32::from(frag.fragment_offset().value()) * 8,
                        more: frag.more_fragments(),
                        next_header: frag.next_header().0,
                        data: after,
                    };
                    return Ok((Payload::Fragment(fragment), walked + 1));
                }
                // An "atomic" fragment (offset 0, no more fragments) is a whole packet.
                next_header = frag.next_header().0;
                len
            }
            protocol => return Ok((Payload::Transport { protocol, data }, walked)),
        };
        data = data.get(header_len..).ok_or(IpError::Truncated)?;
    }
    Err(IpError::Truncated)
}
