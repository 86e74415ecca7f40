//! Deterministic staggering of upstream polling (SPEC §8.1): Warehouses on one registry get
//! `baseInterval` plus a distinct per-Warehouse offset, so a registry never sees all checks at once
//! and is never polled more often than `baseInterval`.

use std::collections::{BTreeMap, BTreeSet};

use model::duration::Duration;
use sha2::{Digest, Sha256};

/// Smallest spread of offsets (seconds), when `baseInterval / 24` is shorter.
const MIN_WINDOW_SECS: u64 = 60;

/// The interval of each Warehouse, by name.
///
/// `watches` are `(registry, warehouse name)` pairs. With `stagger`, each Warehouse gets
/// `base + offset`, where the offset (whole seconds) starts at a hash of its name within a window of
/// `max(base / 24, 60 s, number of Warehouses on the registry)` seconds and moves to the next free
/// second on a collision, so the intervals of one registry are pairwise distinct and adding a
/// Warehouse moves at most the ones it collides with. Without `stagger` every interval is `base`.
pub fn intervals(
    watches: &[(String, String)],
    base: Duration,
    stagger: bool,
) -> BTreeMap<String, Duration> {
    let mut by_registry: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (registry, name) in watches {
        by_registry
            .entry(registry.as_str())
            .or_default()
            .insert(name.as_str());
    }
    let mut out = BTreeMap::new();
    for names in by_registry.values() {
        if !stagger {
            for name in names {
                out.insert((*name).to_owned(), base);
            }
            continue;
        }
        let count = u64::try_from(names.len()).unwrap_or(u64::MAX);
        let window = (base.as_secs() / 24).max(MIN_WINDOW_SECS).max(count);
        // Place in hash order so the result does not depend on name order.
        let mut ordered: Vec<(u64, &str)> = names.iter().map(|n| (hash(n) % window, *n)).collect();
        ordered.sort_unstable();
        let mut taken = BTreeSet::new();
        for (start, name) in ordered {
            let mut offset = start;
            while taken.contains(&offset) {
                offset = (offset + 1) % window;
            }
            taken.insert(offset);
            out.insert(
                name.to_owned(),
                Duration::from_secs(base.as_secs().saturating_add(offset)),
            );
        }
    }
    out
}

fn hash(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_and_not_faster() {
        let watches: Vec<(String, String)> = (0..5000)
            .map(|i| ("docker.io".to_owned(), format!("base-{i}")))
            .collect();
        let base = Duration::from_hours(24);
        let out = intervals(&watches, base, true);
        let distinct: BTreeSet<_> = out.values().collect();
        assert_eq!(distinct.len(), 5000);
        assert!(out.values().all(|d| *d >= base));
    }

    #[test]
    fn stable_when_a_warehouse_is_added() {
        let base = Duration::from_hours(24);
        let mut watches: Vec<(String, String)> = (0..50)
            .map(|i| ("ghcr.io".to_owned(), format!("base-{i}")))
            .collect();
        let before = intervals(&watches, base, true);
        watches.push(("ghcr.io".to_owned(), "base-new".to_owned()));
        let after = intervals(&watches, base, true);
        let moved = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .count();
        assert!(moved <= 1, "{moved} intervals moved");
        // Other registries are independent, and no stagger means exactly `base`.
        let plain = intervals(&watches, base, false);
        assert!(plain.values().all(|d| *d == base));
    }
}
