//! Tests of one direction's offset arithmetic and overlap comparison.

use super::*;

#[test]
fn offsets_follow_serial_arithmetic() {
    let mut half = HalfStream::default();
    half.start_at(u32::MAX - 1);
    assert_eq!(half.offset_of(u32::MAX - 1), Some(0));
    assert_eq!(half.offset_of(3), Some(5), "across 2^32");
    assert_eq!(half.offset_of(u32::MAX - 3), Some(-2), "behind");
    half.next_off = 10;
    assert_eq!(half.offset_of(8), Some(10));
    let far = (u32::MAX - 1).wrapping_add(10 + (1 << 30) + 1);
    assert_eq!(half.offset_of(far), None, "beyond the window");
}

#[test]
fn differing_bytes_compares_only_the_shared_range() {
    let chunk = Chunk {
        frame: FrameRef::default(),
        ts: 0,
        data: ChunkData::Bytes(b"abcdef".to_vec()),
    };
    // Chunk at 10..16, new segment at 12..18 with "cXeYgh".
    assert_eq!(differing_bytes(&chunk, 10, b"cXeYgh", 12, 12, 16), 2);
    assert_eq!(differing_bytes(&chunk, 10, b"cXeYgh", 12, 14, 16), 1);
    // Only 2 of the new bytes were captured: the rest is not compared.
    assert_eq!(differing_bytes(&chunk, 10, b"cX", 12, 12, 16), 1);
    let missing = Chunk {
        frame: FrameRef::default(),
        ts: 0,
        data: ChunkData::Missing(6),
    };
    assert_eq!(differing_bytes(&missing, 10, b"zzzz", 12, 12, 16), 0);
}
