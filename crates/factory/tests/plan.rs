//! The plan job on the example factory dir: digests observed, then `plan` at later times shows
//! which images are due (with their pins), which wait and until when; it writes nothing, and the
//! enrolment of images.yaml wins over the copy in the state files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::time::Duration;

use factory::{FactoryDir, ObserveOptions, WatchOptions};
use model::time::Timestamp;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn observe(dir: &std::path::Path, base: &str, fill: char, now: &str) {
    let options = ObserveOptions {
        base: base.to_owned(),
        digest: format!("sha256:{}", fill.to_string().repeat(64)),
        watch: WatchOptions {
            now: at(now),
            commit: false,
            push: None,
            lock_timeout: Duration::from_secs(30),
            environment: factory::Environment::default(),
        },
    };
    factory::observe(&FactoryDir::load(dir), &options).unwrap();
}

#[test]
fn plan_reads_the_state_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    testkit::copy_tree(&testkit::workspace_root().join("image-factory"), tmp.path());
    let dir = tmp.path();
    observe(dir, "node-22-bookworm-slim", 'a', "2026-02-01T00:00:00Z");
    observe(dir, "node-22-bookworm-slim", 'b', "2026-02-02T00:00:00Z");
    let before = testkit::snapshot(dir);

    // node-base waits 3 days, backstage 7.
    let report = factory::plan(&FactoryDir::load(dir), at("2026-02-04T00:00:00Z")).unwrap();
    assert!(report.plan.due.is_empty(), "{report}");
    let waiting: Vec<(&str, String)> = report
        .plan
        .pending
        .iter()
        .map(|w| (w.image.as_str(), w.due_at.to_string()))
        .collect();
    assert_eq!(
        waiting,
        [
            ("backstage", "2026-02-09T00:00:00Z".to_owned()),
            ("node-base", "2026-02-05T00:00:00Z".to_owned())
        ]
    );
    let report = factory::plan(&FactoryDir::load(dir), at("2026-02-05T00:00:00Z")).unwrap();
    let due: Vec<&str> = report.plan.due.iter().map(|d| d.image.as_str()).collect();
    assert_eq!(due, ["node-base"]);
    let pin = &report.plan.due[0].pins[0];
    assert_eq!(
        (pin.base.as_str(), pin.digest.as_str()),
        (
            "node-22-bookworm-slim",
            format!("sha256:{}", "b".repeat(64)).as_str()
        )
    );
    let json = serde_json::to_value(&report).unwrap();
    for key in ["now", "due", "pending", "blocked"] {
        assert!(json.get(key).is_some(), "{key}: {json}");
    }
    let text = report.to_string();
    assert!(text.contains("node-base  high"), "{text}");

    // images.yaml wins: backstage made `autoRebuild: false` needs approval once eligible.
    let images = fs::read_to_string(dir.join("images.yaml")).unwrap();
    fs::write(
        dir.join("images.yaml"),
        images.replacen(
            "  rebuildDelay: 7d\n  autoRebuild: true\n",
            "  rebuildDelay: 7d\n  autoRebuild: false\n",
            1,
        ),
    )
    .unwrap();
    let report = factory::plan(&FactoryDir::load(dir), at("2026-02-10T00:00:00Z")).unwrap();
    let backstage = report
        .plan
        .pending
        .iter()
        .find(|w| w.image == "backstage")
        .unwrap();
    assert!(backstage.needs_approval, "{report}");
    fs::write(dir.join("images.yaml"), images).unwrap();
    assert_eq!(testkit::snapshot(dir), before, "plan writes nothing");
}
