//! Tests of IP fragment reassembly and its bounds.

use super::*;
use std::net::Ipv4Addr;

fn key(id: u32) -> FragKey {
    FragKey {
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        id,
        protocol: 6,
    }
}

fn frag(id: u32, offset: u32, more: bool, data: &[u8]) -> FragmentIn<'_> {
    FragmentIn {
        key: key(id),
        offset,
        more,
        next_header: 6,
        data,
    }
}

#[test]
fn pieces_merge_and_stay_sorted() {
    let mut p = Vec::new();
    insert_piece(&mut p, 16, 24);
    insert_piece(&mut p, 0, 8);
    assert_eq!(p, [(0, 8), (16, 24)]);
    insert_piece(&mut p, 8, 16);
    assert_eq!(p, [(0, 24)]);
    insert_piece(&mut p, 40, 48);
    insert_piece(&mut p, 20, 44);
    assert_eq!(p, [(0, 48)]);
}

#[test]
fn any_order_reassembles_and_first_arrival_wins_on_overlap() {
    let payload: Vec<u8> = (0..40u8).collect();
    let mut d = Defragmenter::default();
    assert_eq!(d.push(0, frag(1, 24, false, &payload[24..])), Outcome::Held);
    // An overlapping retransmission with other bytes must not overwrite.
    assert_eq!(d.push(0, frag(1, 8, true, &[0xee; 8])), Outcome::Held);
    assert_eq!(d.push(0, frag(1, 0, true, &payload[..16])), Outcome::Held);
    assert_eq!(
        d.push(1, frag(1, 16, true, &payload[16..24])),
        Outcome::Completed { next_header: 6 }
    );
    let mut expected = payload.clone();
    expected[8..16].copy_from_slice(&[0xee; 8]);
    assert_eq!(d.completed(), expected.as_slice());
    assert_eq!(d.pending_count(), 0);
    assert_eq!(d.held_bytes, 0);
}

#[test]
fn conflicting_ends_and_bad_sizes_are_rejected() {
    let mut d = Defragmenter::default();
    assert_eq!(d.push(0, frag(2, 0, true, &[0; 16])), Outcome::Held);
    assert_eq!(
        d.push(0, frag(2, 16, false, &[0; 4])),
        Outcome::Completed { next_header: 6 }
    );
    assert_eq!(d.push(0, frag(3, 8, false, &[0; 8])), Outcome::Held);
    assert_eq!(d.push(0, frag(3, 24, false, &[0; 8])), Outcome::Rejected);
    assert_eq!(d.take_dropped(), 2);
    assert_eq!(d.pending_count(), 0);
    // Non-final fragment not a multiple of 8; beyond the largest datagram.
    assert_eq!(d.push(0, frag(4, 0, true, &[0; 7])), Outcome::Rejected);
    assert_eq!(
        d.push(0, frag(5, 65_528, true, &[0; 16])),
        Outcome::Rejected
    );
    assert_eq!(d.take_dropped(), 2);
}

#[test]
fn old_and_excess_datagrams_are_evicted() {
    let mut d = Defragmenter::default();
    d.push(0, frag(1, 0, true, &[0; 8]));
    d.push(TIMEOUT + 1, frag(2, 0, true, &[0; 8]));
    assert_eq!(d.pending_count(), 1);
    assert_eq!(d.take_dropped(), 1);
    let max_pending = Limit::IpFragments.default_usize();
    for id in 0..(max_pending as u32 + 10) {
        d.push(TIMEOUT + 2, frag(100 + id, 0, true, &[0; 8]));
    }
    assert_eq!(d.pending_count(), max_pending);
    assert!(d.held_bytes <= Limit::IpFragmentBytes.default_usize());
    assert_eq!(d.take_dropped(), 11);
    // The datagram that aged out is not a limit reached; the eleven evicted for room (the
    // one left from before and ten of these) are.
    assert_eq!(d.limits_hit().get(Limit::IpFragments), 11);
    assert_eq!(d.limits_hit().get(Limit::IpFragmentBytes), 0);
}

#[test]
fn the_datagram_limit_set_lower_evicts_the_oldest_and_counts_it() {
    let mut d = Defragmenter::new(2, 1 << 20);
    for id in 0..3 {
        assert_eq!(d.push(id.into(), frag(id, 0, true, &[0; 8])), Outcome::Held);
    }
    assert_eq!(d.pending_count(), 2);
    assert_eq!(d.limits_hit().get(Limit::IpFragments), 1);
    // Datagram 0 was the one dropped: its last fragment completes nothing.
    assert_eq!(d.push(5, frag(0, 8, false, &[0; 8])), Outcome::Held);
    assert_eq!(
        d.push(5, frag(2, 8, false, &[0; 8])),
        Outcome::Completed { next_header: 6 }
    );
}

#[test]
fn held_bytes_are_capped() {
    let mut d = Defragmenter::default();
    let big = vec![0u8; 65_000];
    let max_held = Limit::IpFragmentBytes.default_usize();
    let n = max_held / 65_000 + 5;
    for id in 0..n as u32 {
        d.push(0, frag(id, 0, true, &big[..64_992]));
        assert!(d.held_bytes <= max_held);
    }
    assert!(d.pending_count() < n);
    assert_eq!(
        d.limits_hit().get(Limit::IpFragmentBytes) as usize,
        n - d.pending_count()
    );
}
