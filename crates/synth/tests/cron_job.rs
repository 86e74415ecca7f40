//! The trigger CronJob against the strict Kubernetes v1.33 schema (`cronjob-batch-v1.json`): the
//! generated one passes, and the schema really is applied (a wrong field is reported).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use image_factory_synth::synthesize;

fn cron_job_document(factory: &str) -> serde_json::Value {
    let images = "- name: web\n  repository: acme/web\n  source: {repo: acme/web}\n";
    let (images, settings) = common::config(images, Some(factory));
    let deps = common::deps("web: [\"node:22\"]\n");
    let state = common::merged(&images, &deps);
    let m = synthesize(&images, &settings, &state).unwrap_or_else(|e| panic!("{e}"));
    common::assert_valid(&m.yaml);
    let docs = image_factory_synth::parse_documents(&m.yaml).unwrap();
    docs.into_iter()
        .find(|d| d["kind"] == "CronJob")
        .expect("a CronJob")
}

#[test]
fn cron_job_passes_the_strict_kubernetes_schema() {
    let Some(set) = common::schemas() else {
        return;
    };
    for factory in [
        "stateRepo: {url: 'https://github.com/acme/factory.git'}\n",
        "stateRepo: {url: 'https://github.com/acme/factory.git'}\nanalyzer: {pullSecret: pull}\n\
         monitoring: {bases: analyzer}\ntrigger: {schedule: '0 3 * * MON'}\n",
    ] {
        let doc = cron_job_document(factory);
        assert_eq!(set.validate(&doc), Vec::new(), "{factory}");
        // The schema is really applied: an unknown field and a wrong type are reported.
        let mut bad = doc.clone();
        bad["spec"]["startingDeadlineSeconds"] = "soon".into();
        bad["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["secret"] =
            "x".into();
        assert!(set.validate(&bad).len() >= 2, "{:?}", set.validate(&bad));
    }
}
