//! Tests of pcapng timestamp resolution and offsets.

use super::*;
use crate::types::EARLIEST_TIME;

#[test]
fn timestamps_follow_resolution_and_offset() {
    assert_eq!(units_per_sec(6), Some(1_000_000));
    assert_eq!(units_per_sec(9), Some(1_000_000_000));
    assert_eq!(units_per_sec(0x80 | 10), Some(1024));
    assert_eq!(units_per_sec(20), None);
    assert_eq!(units_per_sec(0x80 | 64), None);
    assert_eq!(to_nanos(1_500_000, 1_000_000, 0), 1_500_000_000);
    assert_eq!(to_nanos(1_500_000_123, 1_000_000_000, 0), 1_500_000_123);
    assert_eq!(to_nanos(1536, 1024, 0), 1_500_000_000);
    assert_eq!(to_nanos(15, 10, 100), 101_500_000_000);
    assert_eq!(to_nanos(5, 1, -10), -5_000_000_000);
    assert_eq!(to_nanos(u64::MAX, 1, i64::MAX), LATEST_TIME);
    assert_eq!(to_nanos(u64::MAX, 1_000_000_000, 0), LATEST_TIME);
    assert_eq!(to_nanos(0, 1, i64::MIN), EARLIEST_TIME);
}
