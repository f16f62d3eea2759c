//! Splitting one analysis over processes by CPE (`--shard K/N`): which shard a CPE's address
//! falls in, and the position of each output in the whole run's order, which lets
//! `cwmpscope merge` join the shards' NDJSON into the report of a single run.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Shard `index` of `count` (1-based, as `--shard 2/4` reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

/// Shards at most in one split.
pub const MAX_SHARDS: u32 = 4096;

impl ShardSpec {
    /// Whether the CPE at `ip` is analyzed by this shard.
    pub fn owns(&self, ip: IpAddr) -> bool {
        shard_of(ip, self.count) == self.index
    }
}

/// The shard (1..=`count`) of the CPE at `ip`. The hash depends on the address's bytes only,
/// so every process and every version that splits the same way agrees.
pub fn shard_of(ip: IpAddr, count: u32) -> u32 {
    let h = match ip {
        IpAddr::V4(v4) => mix(u64::from(u32::from(v4))),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            mix(mix(bits as u64) ^ (bits >> 64) as u64)
        }
    };
    (h % u64::from(count.max(1))) as u32 + 1
}

/// The SplitMix64 finalizer: every input bit moves every output bit.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not K/N (shard K of N, 1 <= K <= N <= {MAX_SHARDS})");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where an output stands in the whole run, the same in every shard.
///
/// `order` sorts the outputs of all shards into the order a single run emits them: the
/// number of the item of the session stage (or of the transaction stage's timer run) that
/// released it, then, for transactions released by a timer, the item that created them and
/// their number in the shard, otherwise the output's rank among those of its item.
/// `created` (transactions only) sorts the transactions into the order a single run numbers
/// them: the item that created the transaction, then its number in the shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub order: [u64; 3],
    pub created: Option<[u64; 2]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_as_k_of_n() {
        assert_eq!(
            "2/4".parse::<ShardSpec>(),
            Ok(ShardSpec { index: 2, count: 4 })
        );
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "1/5000", ""] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
        assert_eq!(ShardSpec { index: 3, count: 8 }.to_string(), "3/8");
    }

    #[test]
    fn every_address_has_exactly_one_shard_and_shards_are_balanced() {
        let count = 4;
        let mut per_shard = [0u32; 4];
        for i in 0..4000u32 {
            let ip = IpAddr::from([10, 0, (i >> 8) as u8, i as u8]);
            let owners: Vec<u32> = (1..=count)
                .filter(|&k| ShardSpec { index: k, count }.owns(ip))
                .collect();
            assert_eq!(owners.len(), 1);
            per_shard[owners[0] as usize - 1] += 1;
        }
        // Consecutive addresses spread evenly: each shard within 10 % of a quarter.
        assert!(
            per_shard.iter().all(|&n| (900..=1100).contains(&n)),
            "{per_shard:?}"
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!((1..=count).contains(&shard_of(v6, count)));
        assert_eq!(shard_of(v6, 1), 1);
    }
}
