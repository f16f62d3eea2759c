//! Tests of the chunked decoder and body storage.

use super::*;
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use proptest::prelude::*;
use std::io::Write;

/// Feeds `pieces` the way the HTTP parser does: unconsumed bytes are presented again with
/// the next piece.
fn decode_pieces(pieces: &[&[u8]]) -> (Vec<u8>, ChunkedDecoder, Option<ChunkStatus>) {
    let mut dec = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut last = None;
    for piece in pieces {
        pending.extend_from_slice(piece);
        let p = dec.feed(&pending, &mut |d| out.extend_from_slice(d));
        pending.drain(..p.consumed);
        last = Some(p.status);
        if matches!(p.status, ChunkStatus::Done | ChunkStatus::Error(_)) {
            break;
        }
    }
    (out, dec, last)
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let wire = b"4;name=value\r\nWiki\r\n5 ; x=\"y\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0;last\r\nExpires: never\r\nX-Sum:abc\r\n\r\nNEXT";
    let mut dec = ChunkedDecoder::new();
    let mut out = Vec::new();
    let p = dec.feed(wire, &mut |d| out.extend_from_slice(d));
    assert_eq!(p.status, ChunkStatus::Done);
    assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
    assert_eq!(&wire[p.consumed..], b"NEXT");
    assert_eq!(
        dec.take_trailers(),
        vec![
            ("Expires".to_string(), "never".to_string()),
            ("X-Sum".to_string(), "abc".to_string())
        ]
    );
}

#[test]
fn chunked_bare_lf_and_uppercase_hex() {
    let (out, dec, status) = decode_pieces(&[b"A\nabcdefghij\n0\n\n"]);
    assert_eq!(status, Some(ChunkStatus::Done));
    assert!(dec.is_done());
    assert_eq!(out, b"abcdefghij");
}

#[test]
fn chunked_rejects_bad_sizes() {
    for wire in [
        &b"zz\r\n"[..],
        b"\r\n",
        b" 4\r\nabcd\r\n",
        b"4\r\nabcdX\r\n",
        b"10000000000000000\r\n",
    ] {
        let (_, _, status) = decode_pieces(&[wire]);
        assert!(matches!(status, Some(ChunkStatus::Error(_))), "{wire:?}");
    }
}

#[test]
fn chunked_line_limit() {
    let mut wire = b"4;".to_vec();
    wire.extend(std::iter::repeat_n(b'x', MAX_CHUNK_LINE));
    let (_, _, status) = decode_pieces(&[&wire]);
    assert_eq!(status, Some(ChunkStatus::Error(ChunkError::LineTooLong)));
}

#[test]
fn chunked_skip_lost_inside_data_only() {
    let mut dec = ChunkedDecoder::new();
    let p = dec.feed(b"10\r\nabc", &mut |_| {});
    assert_eq!(p.consumed, 7);
    assert!(dec.skip_lost(13));
    assert!(!dec.skip_lost(1), "chunk data is exhausted");
    let mut out = Vec::new();
    let p = dec.feed(b"\r\n0\r\n\r\n", &mut |d| out.extend_from_slice(d));
    assert_eq!(p.status, ChunkStatus::Done);
}

fn encode_chunked(body: &[u8], sizes: &[usize], ext: bool, trailer: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes.get(i).copied().unwrap_or(7).clamp(1, rest.len());
        i += 1;
        wire.extend_from_slice(format!("{n:x}").as_bytes());
        if ext {
            wire.extend_from_slice(b";e=1");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&rest[..n]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    wire.extend_from_slice(b"0\r\n");
    if trailer {
        wire.extend_from_slice(b"T: v\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    wire
}

proptest! {
    #[test]
    fn chunked_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        sizes in proptest::collection::vec(1usize..80, 0..20),
        cuts in proptest::collection::vec(0usize..700, 0..12),
        ext in any::<bool>(),
        trailer in any::<bool>(),
    ) {
        let wire = encode_chunked(&body, &sizes, ext, trailer);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
        cuts.push(0);
        cuts.push(wire.len());
        cuts.sort_unstable();
        let pieces: Vec<&[u8]> = cuts.windows(2).map(|w| &wire[w[0]..w[1]]).collect();
        let (out, mut dec, status) = decode_pieces(&pieces);
        prop_assert_eq!(status, Some(ChunkStatus::Done));
        prop_assert_eq!(out, body);
        prop_assert_eq!(dec.take_trailers().len(), usize::from(trailer));
    }

    #[test]
    fn chunked_never_panics(wire in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_pieces(&[&wire]);
    }
}

fn compress(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zlib" => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }
}

fn store_in_pieces(
    coding: ContentCoding,
    limit: usize,
    wire: &[u8],
    piece: usize,
) -> (Vec<u8>, bool) {
    let mut store = BodyStore::new(limit, coding, false);
    for p in wire.chunks(piece.max(1)) {
        store.feed(p);
    }
    store.finish()
}

#[test]
fn gzip_zlib_and_raw_deflate_are_decoded() {
    let text = b"<soap:Envelope>hello hello hello hello</soap:Envelope>".repeat(20);
    for (kind, coding) in [
        ("gzip", ContentCoding::Gzip),
        ("zlib", ContentCoding::Deflate),
        ("raw", ContentCoding::Deflate),
    ] {
        let wire = compress(kind, &text);
        for piece in [1, 3, 1000] {
            let (body, truncated) = store_in_pieces(coding, 1 << 20, &wire, piece);
            assert_eq!(body, text, "{kind} in pieces of {piece}");
            assert!(!truncated);
        }
    }
}

#[test]
fn decompression_bomb_stops_at_limit() {
    let zeros = vec![0u8; 8 << 20];
    let wire = compress("gzip", &zeros);
    assert!(wire.len() < 64 << 10);
    let (body, truncated) = store_in_pieces(ContentCoding::Gzip, 1000, &wire, 1 << 20);
    assert_eq!(body.len(), 1000);
    assert!(truncated);
}

#[test]
fn undecodable_body_is_kept_as_sent() {
    let (body, truncated) = store_in_pieces(ContentCoding::Gzip, 100, b"plain text, not gzip", 4);
    assert_eq!(body, b"plain text, not gzip");
    assert!(!truncated);
}

#[test]
fn identity_body_is_capped() {
    let (body, truncated) = store_in_pieces(ContentCoding::Identity, 5, b"0123456789", 3);
    assert_eq!(body, b"01234");
    assert!(truncated);
    let (body, truncated) = store_in_pieces(ContentCoding::Identity, 10, b"0123456789", 3);
    assert_eq!(body, b"0123456789");
    assert!(!truncated);
}

#[test]
fn gap_stops_decoding_but_keeps_output() {
    let mut seed = 7u32;
    let text: Vec<u8> = (0..4000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'a' + (seed >> 16) as u8 % 26
        })
        .collect();
    let wire = compress("gzip", &text);
    let mut store = BodyStore::new(1 << 20, ContentCoding::Gzip, false);
    store.feed(&wire[..wire.len() / 2]);
    store.on_gap();
    store.feed(&wire[wire.len() / 2 + 5..]);
    let (body, _) = store.finish();
    assert!(text.starts_with(&body));
}

#[test]
fn content_coding_names() {
    assert_eq!(ContentCoding::from_header(" GZIP "), ContentCoding::Gzip);
    assert_eq!(ContentCoding::from_header("x-gzip"), ContentCoding::Gzip);
    assert_eq!(
        ContentCoding::from_header("Deflate"),
        ContentCoding::Deflate
    );
    assert_eq!(ContentCoding::from_header("br"), ContentCoding::Identity);
    assert_eq!(
        ContentCoding::from_header("gzip, br"),
        ContentCoding::Identity
    );
}

#[test]
fn body_digest_is_the_sha256_of_the_wire_bytes_however_they_were_cut() {
    // Taken in place (no hashing thread): the digest is known when the body finishes.
    let digest = |store: &mut BodyStore| match store.finish_digest() {
        Some(Digested::Known(d)) => Some(d),
        Some(Digested::Pending(ticket)) => panic!("taken away: {ticket:?}"),
        None => None,
    };
    // FIPS 180-2's "abc" example, then a longer body fed in pieces of every size.
    let mut abc = BodyStore::new(0, ContentCoding::Identity, true);
    abc.feed(b"a");
    abc.feed(b"bc");
    assert_eq!(
        digest(&mut abc).map(|d| d.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_owned())
    );
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + 3) as u8).collect();
    let digest_of = |pieces: usize| {
        let mut store = BodyStore::new(0, ContentCoding::Gzip, true);
        for piece in data.chunks(pieces) {
            store.feed(piece);
        }
        digest(&mut store)
    };
    let whole = digest_of(data.len());
    assert!(whole.is_some());
    for cut in [1usize, 3, 63, 64, 65, 1460, 99_999] {
        assert_eq!(digest_of(cut), whole, "pieces of {cut}");
    }
    // Not asked for, or a byte lost: no digest.
    let mut plain = BodyStore::new(0, ContentCoding::Identity, false);
    plain.feed(b"abc");
    assert_eq!(digest(&mut plain), None);
    let mut holed = BodyStore::new(0, ContentCoding::Identity, true);
    holed.feed(b"ab");
    holed.on_gap();
    holed.feed(b"c");
    assert_eq!(digest(&mut holed), None);
}
