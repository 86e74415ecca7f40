//! One set of rules (issue 8, part 2): any `images.yaml` that `analyzer validate` accepts
//! synthesises without error, and what synth writes passes the admission checks `synth --validate`
//! runs ([`check::check_documents`]).
//!
//! Configurations are generated as YAML text with hostile values (template markers, characters
//! git allows and Kargo does not, almost-SemVer constraints, `--` in names, ...) in every field synth
//! copies into manifests. Those that validate go through the real pipeline: the Dockerfiles are
//! analysed by the state crate (build args may rewrite the `FROM` line), the state is built by
//! `state::update::update`, then synth runs on it. A second property does the same for
//! `factory.yaml` (whose values reach the AnalysisTemplate, Namespace and Backstage ConfigMaps).
//! Each property also demands that a real share of the generated cases validates, so it cannot
//! pass vacuously.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use image_factory_synth::{check, parse_documents, synthesize};
use model::config::validate_factory;
use model::enrollment::EffectiveImage;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use state::discover::{Outcome, analyze_bytes};
use state::update::{Input, update};

/// Plausible text for a field.
fn text(plausible: &'static str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(plausible).unwrap()
}

/// Text a hostile or careless user could write: one of the known traps or arbitrary printable
/// text.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop_oneof![
            Just("${X}"),
            Just("app/${X}/Dockerfile"),
            Just("{{args.image}}"),
            Just("x }}"),
            Just("{% raw %}"),
            Just("${{ secret('t').token }}"),
            Just("feat+x"),
            Just("feat@x"),
            Just("a..b"),
            Just("a//b"),
            Just("release/"),
            Just("-x"),
            Just("x.lock"),
            Just("a--b"),
            Just("a__b"),
            Just("acme/a--b"),
            Just("acme/a__b"),
            Just("v1x2"),
            Just(">=1.0.0 <2"),
            Just("1.2 - 1.4"),
            Just("=>1"),
            Just(">=1.2.3-01"),
            Just("*"),
            Just(""),
            Just(" "),
            Just("ü"),
            Just("a\"b"),
            Just("line\nbreak"),
            Just("node:22@sha256:0123"),
            Just("[::1]:5000/x"),
            Just("localhost:5000/a"),
        ]
        .prop_map(str::to_owned),
        1 => "[ -~]{0,16}",
    ]
}

/// The fields a mutation can overwrite (see [`Entry::mutate`]).
const FIELDS: usize = 15;

#[derive(Clone, Debug)]
struct Entry {
    repository: String,
    gitlab: bool,
    repo: String,
    branch: Option<String>,
    dockerfile: Option<String>,
    context: Option<String>,
    workflow: Option<String>,
    inputs: Vec<(String, String)>,
    build_args: Vec<(String, String)>,
    digest_strategy: bool,
    constraint: Option<String>,
    update: Option<(String, String, Option<String>, Option<String>)>,
    external: bool,
    from_parent: bool,
}

impl Entry {
    /// Overwrites field `field` (0..[`FIELDS`]) with `value`.
    fn mutate(&mut self, field: usize, value: String) {
        let update = self.update.get_or_insert_with(|| {
            (
                "acme/deploy".to_owned(),
                "apps/x/values.yaml".to_owned(),
                None,
                None,
            )
        });
        match field {
            0 => self.repository = value,
            1 => self.repo = value,
            2 => self.branch = Some(value),
            3 => self.dockerfile = Some(value),
            4 => self.context = Some(value),
            5 => self.workflow = Some(value),
            6 => self.inputs.push((value, "x".to_owned())),
            7 => self.inputs.push(("k".to_owned(), value)),
            8 => self.build_args.push((value, "node:20".to_owned())),
            9 => self.build_args.push(("BASE".to_owned(), value)),
            10 => self.constraint = Some(value),
            11 => update.0 = value,
            12 => update.1 = value,
            13 => update.2 = Some(value),
            _ => update.3 = Some(value),
        }
    }
}

/// A configuration: plausible entries, then up to two fields overwritten with hostile text.
fn configuration() -> impl Strategy<Value = Vec<Entry>> {
    (
        proptest::collection::vec(entry(), 1..5),
        proptest::collection::vec((any::<usize>(), 0..FIELDS, hostile()), 0..3),
    )
        .prop_map(|(mut entries, mutations)| {
            let n = entries.len();
            for (at, field, value) in mutations {
                entries[at % n].mutate(field, value);
            }
            entries
        })
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        (
            text("acme/[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?"),
            any::<bool>(),
            text("acme/[a-z0-9]{1,6}"),
            proptest::option::of(text("(main|release/[0-9]\\.[0-9x]|feat_[a-z]{1,4})")),
            proptest::option::of(text("([a-z]{1,5}/){0,2}Dockerfile")),
            proptest::option::of(text("([a-z]{1,5}/){0,2}[a-z.]{1,4}")),
            proptest::option::of(text("[a-z]{1,6}\\.ya?ml")),
        ),
        (
            proptest::collection::vec(
                (text("[A-Za-z_][A-Za-z0-9_-]{0,6}"), text("[ -~]{0,10}")),
                0..3,
            ),
            proptest::collection::vec(
                (
                    prop_oneof![Just("BASE".to_owned()), text("[A-Z_]{1,6}")],
                    text("(node:2[0-2]|python:3\\.1[0-3]-slim|ghcr\\.io/x/y:1)"),
                ),
                0..2,
            ),
            prop_oneof![4 => Just(false), 1 => Just(true)],
            proptest::option::of(text("(>=|\\^|~)?[0-9]\\.[0-9x](\\.[0-9])?")),
            proptest::option::of((
                text("acme/deploy[a-z]{0,3}"),
                text("apps/[a-z]{1,5}/values\\.yaml"),
                proptest::option::of(text("image\\.tag")),
                proptest::option::of(text("(main|deploy/[a-z]{1,4})")),
            )),
            prop_oneof![6 => Just(false), 1 => Just(true)],
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (repository, gitlab, repo, branch, dockerfile, context, workflow),
                (inputs, build_args, digest_strategy, constraint, update, external, from_parent),
            )| Entry {
                repository,
                gitlab,
                repo,
                branch,
                dockerfile,
                context,
                workflow,
                inputs,
                build_args,
                digest_strategy,
                // Digest watches a tag, which it needs.
                constraint: if digest_strategy {
                    Some("stable".to_owned())
                } else {
                    constraint
                },
                update,
                external,
                from_parent,
            },
        )
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn images_yaml(entries: &[Entry]) -> String {
    let mut out = String::new();
    for (i, e) in entries.iter().enumerate() {
        // Distinct repositories, so plausible entries never collide.
        out.push_str(&format!(
            "- name: img{i}\n  repository: {}\n",
            q(&format!("{}{i}", e.repository))
        ));
        if e.external {
            out.push_str("  registry: docker.io\n  tag: \"1\"\n");
            continue;
        }
        out.push_str("  source:\n");
        if e.gitlab {
            out.push_str("    provider: gitlab\n");
        }
        out.push_str(&format!("    repo: {}\n", q(&e.repo)));
        for (key, value) in [
            ("branch", &e.branch),
            ("dockerfile", &e.dockerfile),
            ("context", &e.context),
            ("workflow", &e.workflow),
        ] {
            if let Some(v) = value {
                out.push_str(&format!("    {key}: {}\n", q(v)));
            }
        }
        for (key, map) in [("inputs", &e.inputs), ("buildArgs", &e.build_args)] {
            if !map.is_empty() {
                out.push_str(&format!("    {key}:\n"));
                for (k, v) in map {
                    out.push_str(&format!("      {}: {}\n", q(k), q(v)));
                }
            }
        }
        if e.digest_strategy || e.constraint.is_some() {
            out.push_str("  tagPolicy:\n");
            if e.digest_strategy {
                out.push_str("    strategy: Digest\n");
            }
            if let Some(c) = &e.constraint {
                out.push_str(&format!("    constraint: {}\n", q(c)));
            }
        }
        if let Some((repo, path, key, branch)) = &e.update {
            out.push_str(&format!(
                "  updates:\n    - repo: {}\n      path: {}\n      type: {}\n",
                q(repo),
                q(path),
                if key.is_some() {
                    "yaml-update"
                } else {
                    "kustomize-set-image"
                }
            ));
            if let Some(k) = key {
                out.push_str(&format!("      key: {}\n", q(k)));
            }
            if let Some(b) = branch {
                out.push_str(&format!("      branch: {}\n", q(b)));
            }
        }
    }
    out
}

/// The Dockerfile of managed image `i`: a base chosen by a build arg (so `buildArgs` can rewrite
/// it) and, when asked, a managed parent of lower index (a cascade, never a cycle).
fn dockerfile(i: usize, entries: &[Entry], images: &[EffectiveImage]) -> String {
    let mut text = "ARG BASE=node:22\nFROM ${BASE} AS base\n".to_owned();
    if entries[i].from_parent
        && let Some(parent) = images[..i].iter().find(|p| p.is_managed())
        && let Some(r) = parent.image_ref()
    {
        text.push_str(&format!("FROM {}:1.0.0\n", r.name()));
    }
    text
}

/// Runs validation, then (when it passes) state and synth; `Ok(true)` when the configuration
/// validated.
fn validate_then_synth(entries: &[Entry]) -> Result<bool, TestCaseError> {
    validate_then_synth_with(entries, None)
}

/// [`validate_then_synth`] with a `factory.yaml`.
fn validate_then_synth_with(
    entries: &[Entry],
    factory: Option<&str>,
) -> Result<bool, TestCaseError> {
    let text = images_yaml(entries);
    let config = validate_factory(&text, "images.yaml", factory.map(|f| (f, "factory.yaml")));
    let (Some(images), Some(settings)) = (config.resolved(), config.settings.clone()) else {
        return Ok(false);
    };
    let text = format!("{text}---- factory.yaml\n{}", factory.unwrap_or_default());
    let outcomes: BTreeMap<String, Outcome> = images
        .iter()
        .enumerate()
        .filter_map(|(i, image)| {
            let source = image.source.as_ref()?;
            let bytes = dockerfile(i, entries, &images);
            Some((image.name.clone(), analyze_bytes(bytes.as_bytes(), source)))
        })
        .collect();
    let state = update(
        &Default::default(),
        &Input::new(
            &images,
            &outcomes,
            model::time::Timestamp::from_unix_seconds(1_767_225_600).unwrap(),
        ),
    )
    .state;
    let manifest = synthesize(&images, &settings, &state);
    let manifest = match manifest {
        Ok(m) => m,
        Err(err) => {
            return Err(TestCaseError::fail(format!(
                "validated but synth failed: {err}\n{text}"
            )));
        }
    };
    let documents =
        parse_documents(&manifest.yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let violations = check::check_documents(&documents);
    prop_assert!(
        violations.is_empty(),
        "synth --validate: {violations:?}\n{text}"
    );
    Ok(true)
}

#[test]
fn a_configuration_that_validates_synthesises() {
    let validated = AtomicUsize::new(0);
    let cases = 400;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&configuration(), |entries| {
        if validate_then_synth(&entries)? {
            validated.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    // The property is vacuous if (almost) nothing validates: demand a real share of valid cases.
    let validated = validated.into_inner();
    assert!(
        validated >= cases as usize / 4,
        "only {validated} of {cases} generated configurations validated"
    );
}

/// The three configurations of issue 8 that used to validate and then fail in synth.
#[test]
fn the_issue_cases_fail_validation() {
    for (field, value) in [
        ("branch", "feat+x"),
        ("dockerfile", "app/${X}/Dockerfile"),
        ("constraint", "v1x2"),
    ] {
        let mut e = Entry {
            repository: "acme/web".into(),
            gitlab: false,
            repo: "acme/web".into(),
            branch: None,
            dockerfile: None,
            context: None,
            workflow: None,
            inputs: Vec::new(),
            build_args: Vec::new(),
            digest_strategy: false,
            constraint: None,
            update: None,
            external: false,
            from_parent: false,
        };
        assert!(validate_then_synth(std::slice::from_ref(&e)).unwrap());
        match field {
            "branch" => e.branch = Some(value.into()),
            "dockerfile" => e.dockerfile = Some(value.into()),
            _ => e.constraint = Some(value.into()),
        }
        assert!(!validate_then_synth(&[e]).unwrap(), "{field}: {value}");
    }
}

/// Hostile text for settings: mostly the template markers (settings reach the AnalysisTemplate,
/// where Argo's `{{args}}` and Kargo's `${{ }}` both mean something), else any [`hostile`] text.
fn settings_hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop_oneof![
            Just("${{ secret('t').token }}"),
            Just("{{args.image}}"),
            Just("{{args.nope}}"),
            Just("main${X}"),
        ]
        .prop_map(str::to_owned),
        1 => hostile(),
    ]
}

/// `factory.yaml` text: plausible settings with up to two values replaced by hostile text.
fn factory() -> impl Strategy<Value = String> {
    let plausible = vec![
        ("project", "image-factory".to_owned()),
        (
            "stateRepo.url",
            "https://github.com/acme/platform.git".to_owned(),
        ),
        ("stateRepo.branch", "main".to_owned()),
        ("stateRepo.path", "image-factory".to_owned()),
        ("analyzer.image", "ghcr.io/acme/analyzer:0.1.0".to_owned()),
        ("analyzer.pullSecret", "regcred".to_owned()),
        ("secrets.githubToken", "github-token".to_owned()),
        ("secrets.gitCredentials", "git-credentials".to_owned()),
        ("backstage.enabled", "true".to_owned()),
        ("backstage.label", "backstage.io/catalog".to_owned()),
        ("monitoring.baseInterval", "24h".to_owned()),
        ("monitoring.managedInterval", "5m".to_owned()),
        ("namespace.labels.team", "platform".to_owned()),
    ];
    let n = plausible.len();
    (
        proptest::collection::vec(prop_oneof![3 => Just(true), 1 => Just(false)], n),
        proptest::collection::vec((0..n, settings_hostile()), 0..3),
    )
        .prop_map(move |(present, mutations)| {
            let mut values = plausible.clone();
            for (at, value) in mutations {
                values[at].1 = value;
            }
            let mut sections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            let mut top = String::new();
            for ((key, value), keep) in values.iter().zip(&present) {
                if !keep {
                    continue;
                }
                // `backstage.enabled` is a boolean unless mutated.
                let rendered = if value == "true" {
                    "true".to_owned()
                } else {
                    q(value)
                };
                match key.split_once('.') {
                    None => top.push_str(&format!("{key}: {rendered}\n")),
                    Some((section, rest)) => {
                        let line = match rest.split_once('.') {
                            Some((map, k)) => format!("  {map}:\n    {k}: {rendered}"),
                            None => format!("  {rest}: {rendered}"),
                        };
                        sections.entry(section).or_default().push(line);
                    }
                }
            }
            for (section, lines) in sections {
                top.push_str(&format!("{section}:\n{}\n", lines.join("\n")));
            }
            top
        })
}

/// A fixed fleet (two managed images, one a cascade of the other, and an external one), so the
/// settings reach every object kind.
fn fleet_entries() -> Vec<Entry> {
    let e = |external: bool, from_parent: bool| Entry {
        repository: "acme/app".into(),
        gitlab: false,
        repo: "acme/app".into(),
        branch: None,
        dockerfile: None,
        context: None,
        workflow: None,
        inputs: vec![("env".into(), "prod".into())],
        build_args: Vec::new(),
        digest_strategy: false,
        constraint: None,
        update: Some((
            "acme/deploy".into(),
            "apps/app/values.yaml".into(),
            Some("image.tag".into()),
            None,
        )),
        external,
        from_parent,
    };
    vec![e(false, false), e(false, true), e(true, false)]
}

#[test]
fn a_factory_that_validates_synthesises() {
    let validated = AtomicUsize::new(0);
    let cases = 200;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let entries = fleet_entries();
    let result = runner.run(&factory(), |factory| {
        if validate_then_synth_with(&entries, Some(&factory))? {
            validated.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    let validated = validated.into_inner();
    assert!(
        validated >= cases as usize / 4,
        "only {validated} of {cases} generated factory.yaml validated"
    );
}
