//! A simulated month of the rebuild engine (SPEC §9.3, issue "rebuild engine"): a scripted
//! timeline run with `--now` through the real `analyzer` process on a real git state repository
//! (every run commits and pushes to a bare remote), with 127.0.0.1 stand-ins for GitHub's and
//! GitLab's dispatch APIs and a notification webhook that check method, path, headers and body.
//!
//! It runs twice, once per driver: cluster-less (`check` against the real local registry, whose
//! tags the timeline moves, then `trigger`) and Kargo (`observe` of each digest a Warehouse would
//! have discovered, then `trigger`). The two dispatch logs must be identical, and equal to the
//! expected log written out below.
//!
//! The fleet: `base` (a managed parent, high priority, 2d) and `app` built FROM it and FROM
//! node:22 (2d); `api` on node:22 (3d) whose first builds never arrive; `worker` on golang and
//! alpine (1d, critical); `gl` on alpine, on GitLab (1d); `manual` on golang and python with
//! `autoRebuild: false`; `flaky` on python whose CI answers 500 then 204; `refused` on python,
//! whose CI answers 422. `coordination.window: 4h`, `buildTimeout` 6h (default), ticks every 12h.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use testkit::git::git;
use testkit::http::{Seen, stand_in};
use testkit::registry::{Image, Registry};

const GITHUB_TOKEN: &str = "ghp-month-s3cret";
const GITLAB_TOKEN: &str = "glptt-month-s3cret";
const WEBHOOK_PATH: &str = "/hooks/T000/B000/s3cret";

/// The watched tags: (registry repository, tag).
const TAGS: [(&str, &str); 5] = [
    ("library/debian", "12"),
    ("library/node", "22"),
    ("library/golang", "1.23"),
    ("library/alpine", "3.20"),
    ("library/python", "3.12"),
];

#[derive(Clone, Debug)]
enum Event {
    /// The tag `TAGS[i]` now points at the image of this seed.
    Move(usize, &'static str),
    /// A driver tick: the registry is looked at (check / observe), then `trigger`.
    Tick,
    /// The build of an image arrives: `analyze --built-tag --built-digest`.
    Build(&'static str),
    /// `emergency --image|--base <target> --reason … --actor …`.
    Emergency(&'static str, &'static str, &'static str, &'static str),
}

/// The timeline: (time, event); at one time, moves come before builds, emergencies and the tick.
fn timeline() -> Vec<(String, Event)> {
    let mut events: Vec<(String, u8, Event)> = Vec::new();
    let mut at = |t: &str, e: Event| {
        let order = match e {
            Event::Move(..) => 0,
            Event::Build(_) | Event::Emergency(..) => 1,
            Event::Tick => 2,
        };
        events.push((format!("2026-03-{t}:00Z"), order, e));
    };
    // Install: every tag at its first digest (the baselines).
    for (i, seed) in ["debian-1", "node-1", "golang-1", "alpine-1", "python-1"]
        .into_iter()
        .enumerate()
    {
        at("01T00:00", Event::Move(i, seed));
    }
    // A parent and a child due together (debian for base, node for app, both on 03-04).
    at("02T00:00", Event::Move(0, "debian-2"));
    at("02T00:00", Event::Move(1, "node-2"));
    at("04T03:00", Event::Build("base"));
    at("04T15:00", Event::Build("app"));
    // node moves again within api's delay; api's builds never arrive until 03-07.
    at("03T12:00", Event::Move(1, "node-3"));
    at("05T14:00", Event::Build("app"));
    at("07T02:00", Event::Build("api"));
    // Two bases of `manual` (autoRebuild: false) move on different days: one approved rebuild.
    at("08T00:00", Event::Move(2, "golang-2"));
    at("09T02:00", Event::Build("worker"));
    at("09T00:00", Event::Move(4, "python-2"));
    at("10T03:00", Event::Build("flaky"));
    at(
        "12T09:00",
        Event::Emergency("--image", "manual", "approved: monthly rebuild", "alice"),
    );
    at("12T14:00", Event::Build("manual"));
    // python moves again: `refused` is asked again (a new update), once.
    at("14T00:00", Event::Move(4, "python-3"));
    at("15T02:00", Event::Build("flaky"));
    // alpine: the GitLab image and worker.
    at("16T00:00", Event::Move(3, "alpine-2"));
    at("17T02:00", Event::Build("gl"));
    at("17T03:00", Event::Build("worker"));
    // An emergency on a base: its dependent at once, the child after the parent's build.
    at("20T00:00", Event::Move(0, "debian-3"));
    at(
        "20T09:00",
        Event::Emergency("--base", "DEBIAN", "CVE-2026-0001 in openssl", "bob"),
    );
    at("20T14:00", Event::Build("base"));
    at("21T02:00", Event::Build("app"));
    for day in 1..=31 {
        for hour in ["00", "12"] {
            at(&format!("{day:02}T{hour}:00"), Event::Tick);
        }
    }
    events.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    events.into_iter().map(|(t, _, e)| (t, e)).collect()
}

/// The dispatch log: dispatches (`#attempt`, result) as `trigger` reported them, the requests as
/// the CI stand-ins received them, and builds and emergencies for orientation.
const EXPECTED: &str = r#"03-04T00:00 base scheduled #1 dispatched
03-04T00:00   POST github /repos/acme/base/actions/workflows/base.yml/dispatches base_images=REG/library/debian:12=docker-image://REG/library/debian@debian-2
03-04T03:00 built base
03-04T12:00 app scheduled #1 dispatched
03-04T12:00   POST github /repos/acme/app/actions/workflows/app.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-2 ghcr.io/acme/base:1=docker-image://ghcr.io/acme/base@base-build-1
03-04T15:00 built app
03-05T00:00 api scheduled #1 dispatched
03-05T00:00   POST github /repos/acme/api/actions/workflows/api.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-2
03-05T12:00 api scheduled #2 dispatched
03-05T12:00 app scheduled #1 dispatched
03-05T12:00   POST github /repos/acme/api/actions/workflows/api.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-2
03-05T12:00   POST github /repos/acme/app/actions/workflows/app.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-3 ghcr.io/acme/base:1=docker-image://ghcr.io/acme/base@base-build-1
03-05T14:00 built app
03-06T00:00 api scheduled #3 dispatched
03-06T00:00   POST github /repos/acme/api/actions/workflows/api.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-2
03-06T12:00 api held: backoff before attempt 4
03-07T00:00 api scheduled #4 dispatched
03-07T00:00   POST github /repos/acme/api/actions/workflows/api.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-3
03-07T02:00 built api
03-09T00:00 worker scheduled #1 dispatched
03-09T00:00   POST github /repos/acme/worker/actions/workflows/worker.yml/dispatches pins=REG/library/alpine:3.20=docker-image://REG/library/alpine@alpine-1 REG/library/golang:1.23=docker-image://REG/library/golang@golang-2
03-09T02:00 built worker
03-10T00:00 flaky scheduled #1 dispatched
03-10T00:00 refused scheduled #1 rejected: HTTP 422: Unexpected inputs provided: ["unknown"]
03-10T00:00   POST github /repos/acme/flaky/actions/workflows/flaky.yml/dispatches
03-10T00:00   POST github /repos/acme/flaky/actions/workflows/flaky.yml/dispatches
03-10T00:00   POST github /repos/acme/refused/actions/workflows/refused.yml/dispatches unknown=x
03-10T03:00 built flaky
03-12T09:00 emergency --image manual (manual) notification sent
03-12T12:00 manual emergency #1 dispatched
03-12T12:00   POST github /repos/acme/manual/actions/workflows/manual.yml/dispatches pins=REG/library/golang:1.23=docker-image://REG/library/golang@golang-2 REG/library/python:3.12=docker-image://REG/library/python@python-2
03-12T14:00 built manual
03-15T00:00 flaky scheduled #1 dispatched
03-15T00:00 refused scheduled #1 rejected: HTTP 422: Unexpected inputs provided: ["unknown"]
03-15T00:00   POST github /repos/acme/flaky/actions/workflows/flaky.yml/dispatches
03-15T00:00   POST github /repos/acme/refused/actions/workflows/refused.yml/dispatches unknown=x
03-15T02:00 built flaky
03-17T00:00 worker scheduled #1 dispatched
03-17T00:00 gl scheduled #1 dispatched
03-17T00:00   POST github /repos/acme/worker/actions/workflows/worker.yml/dispatches pins=REG/library/alpine:3.20=docker-image://REG/library/alpine@alpine-2 REG/library/golang:1.23=docker-image://REG/library/golang@golang-2
03-17T00:00   POST gitlab /api/v4/projects/acme%2Fteam%2Fgl/trigger/pipeline ref=main variables[BASE_IMAGES]=REG/library/alpine:3.20=docker-image://REG/library/alpine@alpine-2 variables[DEPLOY]=no
03-17T02:00 built gl
03-17T03:00 built worker
03-20T09:00 emergency --base REG/library/debian:12 (base, app) notification sent
03-20T12:00 base emergency #1 dispatched
03-20T12:00   POST github /repos/acme/base/actions/workflows/base.yml/dispatches base_images=REG/library/debian:12=docker-image://REG/library/debian@debian-3
03-20T14:00 built base
03-21T00:00 app emergency #1 dispatched
03-21T00:00   POST github /repos/acme/app/actions/workflows/app.yml/dispatches base_images=REG/library/node:22=docker-image://REG/library/node@node-3 ghcr.io/acme/base:1=docker-image://ghcr.io/acme/base@base-build-2
03-21T02:00 built app
"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Driver {
    /// `check` against the registry.
    Check,
    /// `observe` of what a Kargo Warehouse would discover.
    Observe,
}

struct World {
    tmp: tempfile::TempDir,
    host: String,
    webhook: u16,
}

impl World {
    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }
    fn factory(&self) -> PathBuf {
        self.work().join("factory")
    }
    fn src(&self) -> PathBuf {
        self.tmp.path().join("src")
    }

    fn analyzer(&self, args: &[&str], now: &str) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_analyzer"))
            .args(args)
            .arg("--factory-dir")
            .arg(self.factory())
            .args(["--now", now, "--format", "json"])
            .args(if args.contains(&"--push") {
                &["--push-backoff-ms", "20"][..]
            } else {
                &[]
            })
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            .env("GITLAB_TRIGGER_TOKEN", GITLAB_TOKEN)
            .env(
                "IMAGE_FACTORY_WEBHOOK_URL",
                format!("http://127.0.0.1:{}{WEBHOOK_PATH}", self.webhook),
            )
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL", "file")
            .env(
                "IMAGE_FACTORY_GIT_AUTHOR",
                "Factory Bot <bot@example.invalid>",
            )
            .env_remove("IMAGE_FACTORY_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        for secret in [GITHUB_TOKEN, GITLAB_TOKEN, WEBHOOK_PATH] {
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(secret) && !stderr.contains(secret),
                "a secret was shown by {args:?}: {out:?}"
            );
        }
        out
    }

    fn run(&self, args: &[&str], now: &str, codes: &[i32]) -> serde_json::Value {
        let out = self.analyzer(args, now);
        assert!(
            out.status.code().is_some_and(|c| codes.contains(&c)),
            "analyzer {args:?} at {now}: {out:?}"
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("analyzer {args:?} at {now}: {e}: {out:?}"))
    }

    /// The id of the base whose reference ends with `suffix`.
    fn base_id(&self, suffix: &str) -> String {
        testkit::snapshot(&self.factory().join("state"))
            .iter()
            .find(|(path, text)| {
                path.starts_with("base-images")
                    && text
                        .lines()
                        .any(|l| l.starts_with("reference:") && l.trim_end().ends_with(suffix))
            })
            .map(|(path, _)| path.file_stem().unwrap().to_string_lossy().into_owned())
            .unwrap_or_else(|| panic!("no base {suffix}"))
    }
}

/// The CI stand-ins: GitHub (`flaky`: 500 first, then 204; `refused`: 422; others 200 with run
/// details), GitLab (201 with `web_url`) and the webhook (200). Each refuses a request whose
/// method, path, authentication or content type is not what the provider documents.
type Log = Arc<Mutex<Vec<Seen>>>;

fn stand_ins() -> ((u16, Log), (u16, Log), (u16, Log)) {
    let flaky_calls = Arc::new(Mutex::new(0u32));
    let github = stand_in(500, move |req, n, _| {
        let json = |s: &str| ("Content-Type".to_owned(), s.to_owned());
        if req.method != "POST"
            || req.header("content-type") != Some("application/json")
            || req.header("accept") != Some("application/vnd.github+json")
            || req.header("x-github-api-version") != Some("2022-11-28")
        {
            return (400, vec![], r#"{"message":"bad request"}"#.into());
        }
        if req.authorization.as_deref() != Some(&format!("Bearer {GITHUB_TOKEN}")) {
            return (401, vec![], r#"{"message":"Bad credentials"}"#.into());
        }
        let Some(workflow) = req
            .path
            .strip_prefix("/repos/acme/")
            .and_then(|rest| rest.split_once("/actions/workflows/"))
            .and_then(|(_, rest)| rest.strip_suffix("/dispatches"))
        else {
            return (404, vec![], r#"{"message":"Not Found"}"#.into());
        };
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
        if body["return_run_details"] != true || body["ref"] != "main" {
            return (422, vec![], r#"{"message":"bad body"}"#.into());
        }
        match workflow {
            "flaky.yml" => {
                let mut calls = flaky_calls.lock().unwrap();
                *calls += 1;
                if *calls == 1 {
                    (500, vec![], "upstream error".into())
                } else {
                    (204, vec![], String::new())
                }
            }
            "refused.yml" => (
                422,
                vec![json("application/json")],
                r#"{"message":"Unexpected inputs provided: [\"unknown\"]"}"#.into(),
            ),
            _ => (
                200,
                vec![json("application/json")],
                format!(
                    r#"{{"workflow_run_id":{n},"run_url":"https://api.github.com/runs/{n}","html_url":"https://github.com/acme/runs/{n}"}}"#
                ),
            ),
        }
    });
    let gitlab = stand_in(100, |req, n, _| {
        let form: BTreeMap<String, String> = form_pairs(&req.body);
        if req.method != "POST"
            || req.path != "/api/v4/projects/acme%2Fteam%2Fgl/trigger/pipeline"
            || req.header("content-type") != Some("application/x-www-form-urlencoded")
        {
            return (404, vec![], r#"{"message":"404 Not Found"}"#.into());
        }
        if form.get("token").map(String::as_str) != Some(GITLAB_TOKEN) {
            return (401, vec![], r#"{"message":"401 Unauthorized"}"#.into());
        }
        (
            201,
            vec![("Content-Type".into(), "application/json".into())],
            format!(r#"{{"id":{n},"web_url":"https://gitlab.com/acme/team/gl/-/pipelines/{n}"}}"#),
        )
    });
    let webhook = stand_in(20, |req, _, _| {
        if req.method == "POST"
            && req.path == WEBHOOK_PATH
            && req.header("content-type") == Some("application/json")
        {
            (200, vec![], "ok".into())
        } else {
            (404, vec![], String::new())
        }
    });
    (github, gitlab, webhook)
}

/// `a=1&b=2` decoded (enough for the stand-in's checks and the log).
fn form_pairs(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The fleet's sources, the factory dir in a repository with a bare remote, analysed (the
/// install) and pushed.
fn world(host: &str, github: u16, gitlab: u16, webhook: u16) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let w = World {
        tmp,
        host: host.to_owned(),
        webhook,
    };
    let h = host;
    let dockerfiles = [
        ("acme/base", format!("FROM {h}/library/debian:12\n")),
        (
            "acme/app",
            format!(
                "FROM {h}/library/node:22 AS build\nRUN true\nFROM ghcr.io/acme/base:1\nCOPY --from=build /app /app\n"
            ),
        ),
        ("acme/api", format!("FROM {h}/library/node:22\n")),
        (
            "acme/worker",
            format!("FROM {h}/library/golang:1.23 AS build\nFROM {h}/library/alpine:3.20\n"),
        ),
        ("acme/team/gl", format!("FROM {h}/library/alpine:3.20\n")),
        (
            "acme/manual",
            format!("FROM {h}/library/golang:1.23 AS build\nFROM {h}/library/python:3.12\n"),
        ),
        ("acme/flaky", format!("FROM {h}/library/python:3.12\n")),
        ("acme/refused", format!("FROM {h}/library/python:3.12\n")),
    ];
    for (repo, text) in dockerfiles {
        let dir = w.src().join(repo);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("Dockerfile"), text).unwrap();
    }
    let work = w.work();
    fs::create_dir_all(w.factory()).unwrap();
    git(&work, &["init", "--quiet", "-b", "main"]);
    fs::write(
        w.factory().join("images.yaml"),
        "\
- name: base
  repository: acme/base
  source: {repo: acme/base, workflow: base.yml, pinInput: base_images}
  rebuildDelay: 2d
  priority: high
- name: app
  repository: acme/app
  source: {repo: acme/app, workflow: app.yml, pinInput: base_images}
  rebuildDelay: 2d
- name: api
  repository: acme/api
  source: {repo: acme/api, workflow: api.yml, pinInput: base_images}
  rebuildDelay: 3d
- name: worker
  repository: acme/worker
  source: {repo: acme/worker, workflow: worker.yml, pinInput: pins}
  rebuildDelay: 1d
  priority: critical
- name: gl
  registry: registry.gitlab.com
  repository: acme/team/gl
  source: {provider: gitlab, repo: acme/team/gl, pinInput: BASE_IMAGES, inputs: {DEPLOY: \"no\"}}
  rebuildDelay: 1d
- name: manual
  repository: acme/manual
  source: {repo: acme/manual, workflow: manual.yml, pinInput: pins}
  autoRebuild: false
  priority: low
- name: flaky
  repository: acme/flaky
  source: {repo: acme/flaky, workflow: flaky.yml}
  rebuildDelay: 1d
- name: refused
  repository: acme/refused
  source: {repo: acme/refused, workflow: refused.yml, inputs: {unknown: \"x\"}}
  rebuildDelay: 1d
",
    )
    .unwrap();
    fs::write(
        w.factory().join("factory.yaml"),
        format!(
            "defaults:\n  rebuildDelay: 7d\nregistries:\n  \"{host}\": {{insecure: true}}\n\
             coordination:\n  window: 4h\nci:\n  githubApi: http://127.0.0.1:{github}\n  \
             gitlabApi: http://127.0.0.1:{gitlab}/api/v4\n"
        ),
    )
    .unwrap();
    let src = w.src();
    w.run(
        &["analyze", "--source-root", src.to_str().unwrap()],
        "2026-03-01T00:00:00Z",
        &[0],
    );
    let bare = w.tmp.path().join("remote.git");
    fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "install"]);
    git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
    git(&work, &["push", "--quiet", "origin", "main"]);
    w
}

/// Runs the month with `driver`; returns the dispatch log (normalised: the registry host as
/// `REG`, digests by name) and the world (for the audit log and the remote).
fn month(driver: Driver, registry: Option<&Registry>, host: &str) -> (String, World, Vec<Seen>) {
    let ((github, github_seen), (gitlab, gitlab_seen), (webhook, webhook_seen)) = stand_ins();
    let w = world(host, github, gitlab, webhook);
    // digest → its name, for the log.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut current: BTreeMap<usize, String> = BTreeMap::new();
    let mut observed: BTreeMap<usize, String> = BTreeMap::new();
    let mut builds: BTreeMap<&str, u32> = BTreeMap::new();
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    let mut log = String::new();
    let (mut github_at, mut gitlab_at) = (0, 0);
    for (now, event) in timeline() {
        let short = &now[5..16];
        match event {
            Event::Move(i, seed) => {
                let image = Image::single(seed, "amd64");
                names.insert(image.digest().to_owned(), seed.to_owned());
                current.insert(i, image.digest().to_owned());
                if let Some(registry) = registry {
                    registry.push(&image, TAGS[i].0, TAGS[i].1);
                }
            }
            Event::Build(name) => {
                let n = builds.entry(name).or_insert(0);
                *n += 1;
                let digest =
                    testkit::registry::Blob::new(format!("{name}-{n}").into_bytes()).digest;
                names.insert(digest.clone(), format!("{name}-build-{n}"));
                let tag = format!("1.0.{n}");
                let src = w.src();
                let out = w.run(
                    &[
                        "analyze",
                        "--source-root",
                        src.to_str().unwrap(),
                        "--image",
                        name,
                        "--built-tag",
                        &tag,
                        "--built-digest",
                        &digest,
                        "--commit",
                        "--push",
                    ],
                    &now,
                    &[0],
                );
                assert_eq!(out["pushed"], true, "{out}");
                log.push_str(&format!("{short} built {name}\n"));
            }
            Event::Emergency(flag, target, reason, actor) => {
                let target = if target == "DEBIAN" {
                    "HOST/library/debian:12".replace("HOST", &w.host)
                } else {
                    target.to_owned()
                };
                let out = w.run(
                    &[
                        "emergency",
                        flag,
                        &target,
                        "--reason",
                        reason,
                        "--actor",
                        actor,
                        "--commit",
                        "--push",
                    ],
                    &now,
                    &[0],
                );
                let affected: Vec<String> = out["affected"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["image"].as_str().unwrap().to_owned())
                    .collect();
                log.push_str(&format!(
                    "{short} emergency {flag} {} ({}) notification {}\n",
                    target.replace(&w.host, "REG"),
                    affected.join(", "),
                    out["notification"].as_str().unwrap()
                ));
            }
            Event::Tick => {
                match driver {
                    Driver::Check => {
                        let out = w.run(&["check", "--commit", "--push"], &now, &[0]);
                        assert!(out["errors"].as_array().is_some_and(Vec::is_empty), "{out}");
                    }
                    Driver::Observe => {
                        for (i, digest) in &current {
                            if observed.get(i) == Some(digest) {
                                continue;
                            }
                            let id = ids
                                .entry(*i)
                                .or_insert_with(|| {
                                    w.base_id(&format!("{}:{}", TAGS[*i].0, TAGS[*i].1))
                                })
                                .clone();
                            w.run(
                                &[
                                    "observe", "--base", &id, "--digest", digest, "--commit",
                                    "--push",
                                ],
                                &now,
                                &[0],
                            );
                            observed.insert(*i, digest.clone());
                        }
                    }
                }
                if now == "2026-03-06T12:00:00Z" {
                    // api's fourth attempt waits out its backoff (16h after the third).
                    let plan = w.run(&["plan"], &now, &[0]);
                    let api = plan["blocked"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|b| b["image"] == "api")
                        .unwrap_or_else(|| panic!("{plan}"));
                    assert_eq!(
                        api["reason"],
                        serde_json::json!({"kind": "backoff", "attempt": 4})
                    );
                    assert_eq!(api["until"], "2026-03-06T16:00:00Z");
                    log.push_str(&format!("{short} api held: backoff before attempt 4\n"));
                }
                let out = w.run(&["trigger", "--commit", "--push"], &now, &[0, 1]);
                for d in out["dispatches"].as_array().unwrap() {
                    log.push_str(&format!(
                        "{short} {} {} #{} {}{}\n",
                        d["image"].as_str().unwrap(),
                        d["reason"].as_str().unwrap(),
                        d["attempt"],
                        d["result"].as_str().unwrap(),
                        d["message"]
                            .as_str()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ));
                }
                // What the CIs received, in order.
                let github_all = github_seen.lock().unwrap().clone();
                for req in &github_all[github_at..] {
                    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                    let mut inputs: Vec<String> = body["inputs"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap().replace('\n', " ")))
                        .collect();
                    inputs.sort();
                    let line = format!("{short}   POST github {} {}", req.path, inputs.join(" "));
                    log.push_str(line.trim_end());
                    log.push('\n');
                }
                github_at = github_all.len();
                let gitlab_all = gitlab_seen.lock().unwrap().clone();
                for req in &gitlab_all[gitlab_at..] {
                    let form = form_pairs(&req.body);
                    let fields: Vec<String> = form
                        .iter()
                        .filter(|(k, _)| *k != "token")
                        .map(|(k, v)| format!("{k}={}", v.replace('\n', " ")))
                        .collect();
                    log.push_str(&format!(
                        "{short}   POST gitlab {} {}\n",
                        req.path,
                        fields.join(" ")
                    ));
                }
                gitlab_at = gitlab_all.len();
            }
        }
    }
    // Names instead of the registry's port and the digests' hex.
    let mut log = log.replace(&w.host, "REG");
    for (digest, name) in &names {
        log = log.replace(digest.as_str(), name);
    }
    let webhook = webhook_seen.lock().unwrap().clone();
    (log, w, webhook)
}

#[test]
fn a_month_of_rebuilds_through_both_drivers() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let host = registry.host();
    let (by_check, world, webhook) = month(Driver::Check, Some(&registry), &host);
    assert_eq!(by_check, EXPECTED, "the cluster-less driver's dispatch log");

    // The audit log: every dispatch and each emergency with its reason, in the pushed state.
    let audit = fs::read_to_string(world.factory().join("state/audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let emergencies: Vec<_> = lines.iter().filter(|l| l["event"] == "emergency").collect();
    assert!(
        emergencies.iter().any(|l| l["image"] == "base"
            && l["reason"] == "CVE-2026-0001 in openssl"
            && l["actor"] == "bob"),
        "{audit}"
    );
    assert!(
        emergencies.iter().any(|l| l["image"] == "app"),
        "the cascade child is covered: {audit}"
    );
    let dispatches = lines.iter().filter(|l| l["event"] == "dispatch").count();
    assert_eq!(
        dispatches,
        by_check.lines().filter(|l| l.contains(" #")).count(),
        "one audit line per dispatch"
    );
    // The webhook: two emergencies, as JSON with the reason and the images.
    assert_eq!(webhook.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&webhook[1].body).unwrap();
    assert_eq!(body["event"], "emergency");
    assert_eq!(body["reason"], "CVE-2026-0001 in openssl");
    assert_eq!(body["actor"], "bob");
    assert_eq!(body["images"][0]["image"], "base");
    assert_eq!(body["images"][1]["image"], "app");
    assert_eq!(body["images"][1]["via"], "base");
    // Everything was pushed: the remote's state is the working copy's.
    let work = world.work();
    assert_eq!(
        git(&work, &["rev-parse", "HEAD"]),
        git(&work, &["rev-parse", "origin/main"])
    );
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    for text in testkit::snapshot(&world.factory().join("state")).values() {
        assert!(!text.contains(GITHUB_TOKEN) && !text.contains(GITLAB_TOKEN));
    }

    // The Kargo driver: the same digests observed, the same dispatches.
    let (by_observe, _, _) = month(Driver::Observe, None, &host);
    assert_eq!(
        by_observe, by_check,
        "both drivers give the same dispatch log"
    );
}
