//! The CPE last seen at each address: the DeviceId of the latest Inform from an IP, for what
//! carries only an address (a session without its Inform, a connection or a Connection Request
//! of no session). Bounded: the least recently updated addresses are forgotten first.

use crate::cwmp::DeviceId;
use crate::limits::Limit;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// The latest DeviceId per IP address; see the module documentation.
#[derive(Debug)]
pub struct CpeDirectory {
    /// The DeviceId and the stamp of its last update.
    by_ip: FxHashMap<IpAddr, (DeviceId, u64)>,
    /// (address, stamp) in order of update; entries whose stamp is outdated are skipped.
    order: VecDeque<(IpAddr, u64)>,
    next_stamp: u64,
    max: usize,
    /// Addresses forgotten because `max` was reached.
    forgotten: u64,
}

impl Default for CpeDirectory {
    fn default() -> Self {
        CpeDirectory::new(Limit::CpeHistory.default_usize())
    }
}

impl CpeDirectory {
    /// A directory of at most `max` addresses (at least 1).
    pub fn new(max: usize) -> Self {
        CpeDirectory {
            by_ip: FxHashMap::with_capacity_and_hasher(
                crate::types::churn_capacity(max),
                Default::default(),
            ),
            order: VecDeque::new(),
            next_stamp: 0,
            max: max.max(1),
            forgotten: 0,
        }
    }

    /// Addresses forgotten so far because the bound was reached (`cpe-history`).
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// The CPE at `ip` is `device` from now on.
    pub fn record(&mut self, ip: IpAddr, device: &DeviceId) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        match self.by_ip.get_mut(&ip) {
            Some(entry) => {
                if entry.0 != *device {
                    entry.0 = device.clone();
                }
                entry.1 = stamp;
            }
            None => {
                self.by_ip.insert(ip, (device.clone(), stamp));
            }
        }
        self.order.push_back((ip, stamp));
        while self.by_ip.len() > self.max {
            let Some((old, old_stamp)) = self.order.pop_front() else {
                break;
            };
            if self.by_ip.get(&old).is_some_and(|e| e.1 == old_stamp) {
                self.by_ip.remove(&old);
                self.forgotten += 1;
            }
        }
        if self.order.len() > 2 * self.max + 1024 {
            // Updates of known addresses leave outdated entries behind: drop them now and then
            // (amortized O(1)).
            let by_ip = &self.by_ip;
            self.order
                .retain(|(ip, stamp)| by_ip.get(ip).is_some_and(|e| e.1 == *stamp));
        }
    }

    /// The CPE last seen at `ip`, if any.
    pub fn get(&self, ip: IpAddr) -> Option<&DeviceId> {
        self.by_ip.get(&ip).map(|(device, _)| device)
    }

    /// Addresses remembered.
    pub fn len(&self) -> usize {
        self.by_ip.len()
    }

    /// Whether no address is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(serial: &str) -> DeviceId {
        DeviceId {
            manufacturer: "ACME".to_owned(),
            oui: "00147F".to_owned(),
            product_class: "Box".to_owned(),
            serial_number: serial.to_owned(),
        }
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn the_latest_identity_of_an_address_wins() {
        let mut d = CpeDirectory::default();
        assert_eq!(d.get(ip(1)), None);
        d.record(ip(1), &device("A"));
        d.record(ip(2), &device("B"));
        d.record(ip(1), &device("C"));
        assert_eq!(d.get(ip(1)).map(|x| x.serial_number.as_str()), Some("C"));
        assert_eq!(d.get(ip(2)).map(|x| x.serial_number.as_str()), Some("B"));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn memory_is_bounded_and_the_least_recently_updated_go_first() {
        let mut d = CpeDirectory::new(3);
        for n in 0..3 {
            d.record(ip(n), &device("X"));
        }
        // Address 0 updated again: address 1 is now the oldest.
        d.record(ip(0), &device("Y"));
        d.record(ip(9), &device("Z"));
        assert_eq!(d.len(), 3);
        assert!(d.get(ip(1)).is_none());
        assert!(d.get(ip(0)).is_some() && d.get(ip(9)).is_some());
        assert_eq!(d.forgotten(), 1);
        // Many updates of one address keep the bookkeeping bounded too.
        for _ in 0..10_000 {
            d.record(ip(0), &device("Y"));
        }
        assert!(d.order.len() <= 2 * 3 + 1024 + 1);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn a_full_directory_never_grows_while_addresses_come_and_go() {
        let mut d = CpeDirectory::default();
        let max = crate::limits::Limit::CpeHistory.default_usize() as u32;
        for n in 0..max {
            d.record(ip(n), &device("X"));
        }
        let capacity = d.by_ip.capacity();
        // Full: ten times the bound of new addresses, each seen twice, each forgetting the
        // least recent. A table that was only as large as the bound needs would double once
        // removed slots pile up.
        for n in max..10 * max {
            d.record(ip(n), &device("X"));
            d.record(ip(n), &device("Y"));
        }
        assert_eq!(d.len(), crate::limits::Limit::CpeHistory.default_usize());
        assert!(
            d.by_ip.capacity() <= capacity,
            "the table grew: {} > {capacity}",
            d.by_ip.capacity()
        );
        assert!(d.order.len() <= 2 * crate::limits::Limit::CpeHistory.default_usize() + 1024 + 1);
    }
}
