//! Counting pending connections per channel and per source address, exactly, with RAII guards.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

/// Whom a per-address bound counts together: an IPv4 address, or an IPv6 /64 (an IPv4-mapped
/// IPv6 address counts as its IPv4 address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AddressGroup(IpAddr);

impl AddressGroup {
    /// The group `peer` belongs to.
    pub(crate) fn of(peer: IpAddr) -> AddressGroup {
        match peer {
            IpAddr::V4(v4) => AddressGroup(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressGroup(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    AddressGroup(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

impl std::fmt::Display for AddressGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Which bound a new connection ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// The channel's `max_pending`.
    Channel(usize),
    /// The address group's `max_pending_per_address`.
    Address(AddressGroup, usize),
}

/// The pending connections of one channel (or one axum listener): a total and a count per
/// address group, changed together under one lock so that both are exact under concurrency.
///
/// A group's entry is removed when its count returns to zero, so the map holds at most
/// `max_pending` entries whatever the number of addresses seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct PendingCounter {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    by_group: HashMap<AddressGroup, usize>,
}

/// One pending connection, counted until dropped (whatever ends it: handshake done, refused,
/// timed out, task aborted).
#[derive(Debug)]
#[must_use = "the connection counts as pending only while the guard lives"]
pub(crate) struct Pending {
    // `None`: not counted (a plaintext-only channel has no handshake to wait for). The group
    // is `None` while the client's address is not known yet (behind a PROXY header).
    counted: Option<(PendingCounter, Option<AddressGroup>)>,
}

impl PendingCounter {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counts half-changed (each change is
        // one statement), so a poisoned lock is still right.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a connection from `peer` as pending, unless that would pass `max` for the channel
    /// or `max_per_address` for its address group.
    pub(crate) fn enter(
        &self,
        peer: IpAddr,
        max: usize,
        max_per_address: usize,
    ) -> Result<Pending, Full> {
        let group = AddressGroup::of(peer);
        let mut state = self.lock();
        if state.total >= max {
            return Err(Full::Channel(max));
        }
        let count = state.by_group.entry(group).or_insert(0);
        if *count >= max_per_address {
            return Err(Full::Address(group, max_per_address));
        }
        *count += 1;
        state.total += 1;
        Ok(Pending {
            counted: Some((self.clone(), Some(group))),
        })
    }

    /// Counts a connection whose client address is not known yet (a trusted proxy's, before
    /// its PROXY header) against `max` only; [`Pending::attribute`] later counts it for its
    /// client.
    pub(crate) fn enter_unattributed(&self, max: usize) -> Result<Pending, Full> {
        let mut state = self.lock();
        if state.total >= max {
            return Err(Full::Channel(max));
        }
        state.total += 1;
        Ok(Pending {
            counted: Some((self.clone(), None)),
        })
    }

    /// Connections pending now.
    #[cfg(test)]
    pub(crate) fn total(&self) -> usize {
        self.lock().total
    }

    /// Address groups with at least one pending connection now.
    #[cfg(test)]
    pub(crate) fn groups(&self) -> usize {
        self.lock().by_group.len()
    }

    fn leave(&self, group: Option<AddressGroup>) {
        let mut state = self.lock();
        state.total = state.total.saturating_sub(1);
        if let Some(count) = group.and_then(|group| state.by_group.get_mut(&group)) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                if let Some(group) = group {
                    state.by_group.remove(&group);
                }
            }
        }
    }
}

impl Pending {
    /// A connection that is not counted anywhere.
    pub(crate) fn uncounted() -> Pending {
        Pending { counted: None }
    }

    /// Counts a connection entered unattributed for its client `peer`, unless that group
    /// already has `max_per_address`; does nothing to one already attributed or uncounted.
    pub(crate) fn attribute(&mut self, peer: IpAddr, max_per_address: usize) -> Result<(), Full> {
        let Some((counter, slot @ None)) = &mut self.counted else {
            return Ok(());
        };
        let group = AddressGroup::of(peer);
        let mut state = counter.lock();
        let count = state.by_group.entry(group).or_insert(0);
        if *count >= max_per_address {
            return Err(Full::Address(group, max_per_address));
        }
        *count += 1;
        drop(state);
        *slot = Some(group);
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some((counter, group)) = self.counted.take() {
            counter.leave(group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn ipv6_groups_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            AddressGroup::of(ip("2001:db8:1:2:aaaa::1")),
            AddressGroup::of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            AddressGroup::of(ip("2001:db8:1:2::1")),
            AddressGroup::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddressGroup::of(ip("::ffff:127.0.0.7")),
            AddressGroup::of(ip("127.0.0.7"))
        );
        assert_ne!(
            AddressGroup::of(ip("127.0.0.7")),
            AddressGroup::of(ip("127.0.0.8"))
        );
        assert_eq!(
            AddressGroup::of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn bounds_hold_and_entries_go_when_they_reach_zero() {
        let counter = PendingCounter::default();
        let a = ip("127.0.0.2");
        let b = ip("127.0.0.3");
        let first = counter.enter(a, 3, 2).expect("a 1");
        let second = counter.enter(a, 3, 2).expect("a 2");
        assert_eq!(
            counter.enter(a, 3, 2).unwrap_err(),
            Full::Address(AddressGroup::of(a), 2)
        );
        let third = counter.enter(b, 3, 2).expect("b 1");
        assert_eq!(counter.enter(b, 3, 2).unwrap_err(), Full::Channel(3));
        assert_eq!((counter.total(), counter.groups()), (3, 2));
        drop(third);
        assert_eq!((counter.total(), counter.groups()), (2, 1));
        drop((first, second));
        assert_eq!((counter.total(), counter.groups()), (0, 0));
        drop(Pending::uncounted());
        assert_eq!(counter.total(), 0);
    }

    #[test]
    fn unattributed_connections_count_for_their_client_once_known() {
        let counter = PendingCounter::default();
        let client = ip("127.0.0.77");
        let mut first = counter.enter_unattributed(3).expect("first");
        assert_eq!((counter.total(), counter.groups()), (1, 0));
        first.attribute(client, 1).expect("attributed");
        assert_eq!((counter.total(), counter.groups()), (1, 1));
        first.attribute(client, 1).expect("once only");
        let mut second = counter.enter_unattributed(3).expect("second");
        assert_eq!(
            second.attribute(client, 1).unwrap_err(),
            Full::Address(AddressGroup::of(client), 1)
        );
        drop((first, second));
        assert_eq!((counter.total(), counter.groups()), (0, 0));
    }

    #[test]
    fn exact_under_concurrency() {
        let counter = PendingCounter::default();
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let mut admitted = 0usize;
                    for i in 0..2_000u32 {
                        let peer = IpAddr::from([127, 0, t % 4, (i % 7) as u8]);
                        if let Ok(pending) = counter.enter(peer, 50, 5) {
                            admitted += 1;
                            assert!(counter.total() <= 50);
                            drop(pending);
                        }
                    }
                    admitted
                })
            })
            .collect();
        let admitted: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
        assert!(admitted > 0);
        assert_eq!((counter.total(), counter.groups()), (0, 0));
    }
}
