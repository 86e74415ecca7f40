//! What the dispatch tests share: a request of each provider, short bounds, and the stand-ins'
//! records.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use image_factory_rebuild::dispatch::{Dispatcher, Limits, Request, Secret, Sent, Target};
use testkit::http::{Reply, Seen};

pub const TOKEN: &str = "ghp_s3cretTOKENvalue0123456789";
pub const PINS: &str = "node=docker-image://docker.io/library/node@sha256:\
1111111111111111111111111111111111111111111111111111111111111111\n\
alpine=docker-image://docker.io/library/alpine@sha256:\
2222222222222222222222222222222222222222222222222222222222222222";

pub fn quick() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        max_total: Duration::from_secs(10),
        initial_backoff: Duration::from_millis(50),
    }
}

pub fn inputs() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("pins".to_owned(), PINS.to_owned()),
        ("reason".to_owned(), "scheduled".to_owned()),
    ])
}

pub fn github(api: String) -> Request {
    Request {
        target: Target::GitHub {
            api,
            repo: "acme/web".to_owned(),
            workflow: "build.yml".to_owned(),
        },
        git_ref: "main".to_owned(),
        inputs: inputs(),
    }
}

pub fn gitlab(api: String) -> Request {
    Request {
        target: Target::GitLab {
            api,
            project: "group/sub/name".to_owned(),
        },
        git_ref: "main".to_owned(),
        inputs: BTreeMap::from([
            ("PINS".to_owned(), PINS.to_owned()),
            ("REASON".to_owned(), "scheduled".to_owned()),
        ]),
    }
}

pub fn send(request: &Request, limits: Limits) -> Sent {
    Dispatcher::new(limits)
        .unwrap()
        .send(request, &Secret::new(TOKEN))
        .unwrap()
}

pub fn seen(log: &Arc<Mutex<Vec<Seen>>>) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

pub fn json_reply(status: u16, body: serde_json::Value) -> Reply {
    (
        status,
        vec![("Content-Type".into(), "application/json".into())],
        body.to_string(),
    )
}
