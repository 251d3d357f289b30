//! Counting pending connections per channel and per source address, exactly, with RAII guards.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

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

/// The pending connections of one channel (or one axum listener): a total and, per address
/// group, its connections in arrival order, changed together under one lock so that both are
/// exact under concurrency.
///
/// A full channel is not a wall an attacker can build: when `max_pending` is reached, a
/// newcomer from a group holding fewer connections than the largest group evicts that group's
/// oldest pending connection (its admission ends at once, counted as `pending_limit`). Filling
/// the channel from a few addresses then shuts out nobody else; every good client that arrives
/// costs the attacker a socket. Only a newcomer from a group already among the largest is
/// refused.
///
/// A group's entry is removed when it holds no connection, so the map holds at most
/// `max_pending` entries whatever the number of addresses seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct PendingCounter {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    next_id: u64,
    by_group: HashMap<AddressGroup, VecDeque<Entry>>,
}

/// One counted connection: its id, and how to tell its admission it was evicted.
#[derive(Debug)]
struct Entry {
    id: u64,
    evicted: Arc<Notify>,
}

/// One pending connection, counted until dropped (whatever ends it: handshake done, refused,
/// timed out, evicted, task aborted).
#[derive(Debug)]
#[must_use = "the connection counts as pending only while the guard lives"]
pub(crate) struct Pending {
    // `None`: not counted (a plaintext-only channel has no handshake to wait for).
    counted: Option<Counted>,
}

#[derive(Debug)]
struct Counted {
    counter: PendingCounter,
    id: u64,
    // `None` while the client's address is not known yet (behind a PROXY header); such a
    // connection, from a trusted proxy, is never evicted.
    group: Option<AddressGroup>,
    evicted: Arc<Notify>,
}

impl State {
    fn count(&self, group: &AddressGroup) -> usize {
        self.by_group.get(group).map_or(0, VecDeque::len)
    }

    /// Room for one more connection of `newcomer` (`None`: not known yet) in a channel of
    /// `max`: at once below it; at it, by evicting the oldest connection of the largest group
    /// when that group holds more than the newcomer's would.
    fn make_room(&mut self, newcomer: Option<&AddressGroup>, max: usize) -> Result<(), Full> {
        if self.total < max {
            return Ok(());
        }
        let theirs = newcomer.map_or(0, |group| self.count(group));
        let largest = self
            .by_group
            .iter()
            .max_by_key(|(_, entries)| entries.len())
            .map(|(group, entries)| (*group, entries.len()));
        let Some((group, _)) = largest.filter(|(_, held)| *held > theirs + 1) else {
            return Err(Full::Channel(max));
        };
        // `held` > 1: the group keeps at least one entry.
        if let Some(oldest) = self.by_group.get_mut(&group).and_then(VecDeque::pop_front) {
            oldest.evicted.notify_one();
            self.total -= 1;
        }
        Ok(())
    }

    fn push(&mut self, group: Option<AddressGroup>) -> (u64, Arc<Notify>) {
        let id = self.next_id;
        self.next_id += 1;
        let evicted = Arc::new(Notify::new());
        if let Some(group) = group {
            self.by_group.entry(group).or_default().push_back(Entry {
                id,
                evicted: Arc::clone(&evicted),
            });
        }
        (id, evicted)
    }
}

impl PendingCounter {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counts half-changed (each change is
        // one statement), so a poisoned lock is still right.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a connection from `peer` as pending, unless its address group already has
    /// `max_per_address`, or the channel has `max` and no larger group can give up its oldest
    /// connection (see [`PendingCounter`]).
    pub(crate) fn enter(
        &self,
        peer: IpAddr,
        max: usize,
        max_per_address: usize,
    ) -> Result<Pending, Full> {
        let group = AddressGroup::of(peer);
        let mut state = self.lock();
        if state.count(&group) >= max_per_address {
            return Err(Full::Address(group, max_per_address));
        }
        state.make_room(Some(&group), max)?;
        state.total += 1;
        let (id, evicted) = state.push(Some(group));
        Ok(self.pending(id, Some(group), evicted))
    }

    /// Counts a connection whose client address is not known yet (a trusted proxy's, before
    /// its PROXY header) against `max` only; [`Pending::attribute`] later counts it for its
    /// client.
    pub(crate) fn enter_unattributed(&self, max: usize) -> Result<Pending, Full> {
        let mut state = self.lock();
        state.make_room(None, max)?;
        state.total += 1;
        let (id, evicted) = state.push(None);
        Ok(self.pending(id, None, evicted))
    }

    fn pending(&self, id: u64, group: Option<AddressGroup>, evicted: Arc<Notify>) -> Pending {
        Pending {
            counted: Some(Counted {
                counter: self.clone(),
                id,
                group,
                evicted,
            }),
        }
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

    /// Forgets connection `id` (of `group`, if known), unless it was evicted already.
    fn leave(&self, id: u64, group: Option<AddressGroup>) {
        let mut state = self.lock();
        let Some(group) = group else {
            state.total = state.total.saturating_sub(1);
            return;
        };
        let Some(entries) = state.by_group.get_mut(&group) else {
            return; // evicted, with its group emptied
        };
        let Some(at) = entries.iter().position(|entry| entry.id == id) else {
            return; // evicted
        };
        entries.remove(at);
        if entries.is_empty() {
            state.by_group.remove(&group);
        }
        state.total = state.total.saturating_sub(1);
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
        let Some(counted) = &mut self.counted else {
            return Ok(());
        };
        if counted.group.is_some() {
            return Ok(());
        }
        let group = AddressGroup::of(peer);
        let mut state = counted.counter.lock();
        if state.count(&group) >= max_per_address {
            return Err(Full::Address(group, max_per_address));
        }
        state.by_group.entry(group).or_default().push_back(Entry {
            id: counted.id,
            evicted: Arc::clone(&counted.evicted),
        });
        drop(state);
        counted.group = Some(group);
        Ok(())
    }

    /// What signals this connection's eviction to make room for another (an uncounted one is
    /// never signalled).
    pub(crate) fn eviction(&self) -> Arc<Notify> {
        match &self.counted {
            Some(counted) => Arc::clone(&counted.evicted),
            None => Arc::new(Notify::new()),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(counted) = self.counted.take() {
            counted.counter.leave(counted.id, counted.group);
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

    /// Whether `pending` was signalled as evicted (waits a moment for it).
    async fn was_evicted(pending: &Pending) -> bool {
        let eviction = pending.eviction();
        tokio::time::timeout(std::time::Duration::from_millis(20), eviction.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_full_channel_evicts_the_largest_groups_oldest_for_a_smaller_group() {
        let counter = PendingCounter::default();
        let (attacker, other, good) = (ip("127.0.0.2"), ip("127.0.0.3"), ip("127.0.0.4"));
        let oldest = counter.enter(attacker, 4, 4).expect("attacker 1");
        let held = [
            counter.enter(attacker, 4, 4).expect("attacker 2"),
            counter.enter(attacker, 4, 4).expect("attacker 3"),
        ];
        let other_one = counter.enter(other, 4, 4).expect("other 1");
        assert_eq!(counter.total(), 4);
        // A newcomer from a group with nothing pending takes the attacker's oldest place.
        let newcomer = counter.enter(good, 4, 4).expect("room made");
        assert_eq!((counter.total(), counter.groups()), (4, 3));
        assert!(
            was_evicted(&oldest).await,
            "the largest group's oldest goes"
        );
        for pending in held.iter().chain([&other_one, &newcomer]) {
            assert!(!was_evicted(pending).await);
        }
        // Its guard, dropped later, does not count twice.
        drop(oldest);
        assert_eq!(counter.total(), 4);
        // A newcomer from a group already among the largest is refused instead.
        assert_eq!(counter.enter(attacker, 4, 4).unwrap_err(), Full::Channel(4));
        assert_eq!(counter.enter(other, 4, 4).unwrap_err(), Full::Channel(4));
        drop((held, other_one, newcomer));
        assert_eq!((counter.total(), counter.groups()), (0, 0));
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
