//! What the registry tests share: a client for plain-HTTP servers on 127.0.0.1 with short bounds,
//! and the 127.0.0.1 stand-ins of `testkit::http`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use image_factory_registry::{Client, Counts, DockerConfig, Limits, RegistrySettings};
use model::reference::ImageRef;

pub fn reference(text: &str) -> ImageRef {
    ImageRef::parse_normalized(text).unwrap()
}

/// A client for which `host` is plain HTTP (as every server here is), with short bounds so a
/// failing test fails fast.
pub fn client(host: &str, limits: Limits) -> Client {
    let settings = BTreeMap::from([(
        host.to_owned(),
        RegistrySettings {
            insecure: true,
            ..RegistrySettings::default()
        },
    )]);
    Client::new(
        settings,
        RegistrySettings::default(),
        limits,
        DockerConfig::empty(),
    )
    .unwrap()
}

pub fn quick() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        max_total: Duration::from_secs(10),
        initial_backoff: Duration::from_millis(100),
    }
}

/// Counts of a digest check (no list requests).
pub fn counts(head: u32, get: u32, token: u32) -> Counts {
    Counts {
        head,
        get,
        token,
        list: 0,
    }
}

pub use testkit::http::{Reply, stand_in};
