//! The object set of SPEC §8.1, built from enrolment, settings and state.

use std::collections::{BTreeMap, BTreeSet};

use model::duration::Duration;
use model::enrollment::{EffectiveImage, EffectiveSource, UpdateKind, UpdateTarget};
use model::names;
use model::settings::{BaseWatcher, Settings};
use model::state::State;

use crate::error::SynthError;
use crate::kargo::*;
use crate::stagger;

/// Name of the AnalysisTemplate run by every `analyze-<name>` Stage.
pub const ANALYZE_TEMPLATE: &str = "image-factory-analyze";
/// Name of the AnalysisTemplate run by every `observe-<id>` Stage.
pub const OBSERVE_TEMPLATE: &str = "image-factory-observe";
/// Name of the CronJob that runs `analyzer trigger` (SPEC §8.1).
pub const TRIGGER_CRONJOB: &str = "image-factory-trigger";
/// Name of the ServiceAccount of the analysis, observe and trigger Jobs.
pub const SERVICE_ACCOUNT: &str = "image-factory-analyzer";
/// Metric name of the analysis template (≤ 24 characters).
pub const ANALYZE_METRIC: &str = "analyze";
/// Metric name of the observe template (≤ 24 characters).
pub const OBSERVE_METRIC: &str = "observe";
/// Label put on every object we generate.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "image-factory");

/// What synth derived about the dependencies of the fleet (also used by the graph and Backstage
/// outputs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Managed images by name, with their watched bases and managed parents.
    pub managed: BTreeMap<String, ManagedPlan>,
    /// Watched base images by id.
    pub bases: BTreeMap<String, BasePlan>,
    /// External images by name: (repoURL, tag).
    pub external: BTreeMap<String, (String, String)>,
}

/// One managed image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagedPlan {
    /// Repository of the built image, without tag (`ghcr.io/acme/web`).
    pub repo_url: String,
    /// Ids of the watched bases it builds from.
    pub bases: BTreeSet<String>,
    /// Ids of bases it builds from that are not watched (digest-pinned).
    pub pinned: BTreeSet<String>,
    /// Managed parents (cascade).
    pub parents: BTreeSet<String>,
}

/// One watched base image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BasePlan {
    /// Registry host.
    pub registry: String,
    /// Repository URL without tag (`docker.io/library/node`).
    pub repo_url: String,
    /// Familiar reference (`node:22`).
    pub familiar: String,
    /// Tag followed.
    pub tag: String,
    /// Managed dependents.
    pub dependents: BTreeSet<String>,
}

/// Defensive re-check of text configuration validation already refused
/// ([`model::kargo::template_marker`]): it would inject an expression into the manifests.
fn check_safe(image: &str, field: &str, value: &str) -> Result<(), SynthError> {
    if model::kargo::template_marker(value).is_some() {
        return Err(SynthError::UnsafeText {
            image: image.to_owned(),
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Defensive re-check, with the functions validation uses, of the user text synth copies into
/// manifests (a caller may build [`EffectiveImage`]s without validating them).
fn check_image_text(image: &EffectiveImage) -> Result<(), SynthError> {
    let n = &image.name;
    let branches = image
        .source
        .iter()
        .map(|s| &s.branch)
        .chain(image.updates.iter().filter_map(|u| u.branch.as_ref()));
    for branch in branches {
        if !model::kargo::is_branch(branch) {
            return Err(SynthError::InvalidBranch {
                image: n.clone(),
                branch: branch.clone(),
            });
        }
    }
    check_safe(n, "repository", &image.repository)?;
    if let Some(s) = &image.source {
        for (field, value) in [
            ("source.repo", &s.repo),
            ("source.branch", &s.branch),
            ("source.dockerfile", &s.dockerfile),
            ("source.context", &s.context),
            ("source.workflow", &s.workflow),
        ] {
            check_safe(n, field, value)?;
        }
        for (k, v) in &s.inputs {
            check_safe(n, "source.inputs", k)?;
            check_safe(n, "source.inputs", v)?;
        }
    }
    for u in &image.updates {
        check_safe(n, "updates.repo", &u.repo)?;
        check_safe(n, "updates.path", &u.path)?;
        if let Some(k) = &u.key {
            check_safe(n, "updates.key", k)?;
        }
        if let Some(b) = &u.branch {
            check_safe(n, "updates.branch", b)?;
        }
    }
    let policy = &image.tag_policy;
    if policy.strategy == model::enrollment::TagStrategy::SemVer
        && !model::semver::is_constraint(policy.effective_constraint())
    {
        return Err(SynthError::InvalidConstraint {
            image: n.clone(),
            constraint: policy.effective_constraint().to_owned(),
        });
    }
    Ok(())
}

/// Derives the dependency plan: watched bases, managed parents, delays; checks dangling references
/// and cycles.
pub fn plan(images: &[EffectiveImage], state: &State) -> Result<Plan, SynthError> {
    let mut plan = Plan::default();
    let mut managed_by_repo: BTreeMap<String, String> = BTreeMap::new();
    let mut refs = Vec::with_capacity(images.len());
    for image in images {
        let Some(r) = image
            .image_ref()
            .filter(|r| model::kargo::is_image_repo(&r.name()))
        else {
            return Err(SynthError::InvalidImage(image.name.clone()));
        };
        if image.is_managed() {
            managed_by_repo.insert(r.name(), image.name.clone());
        }
        refs.push(r);
    }
    let managed_names: BTreeSet<&String> = managed_by_repo.values().collect();
    // Each base reference is parsed once, however many images use it.
    let mut base_refs: BTreeMap<&str, Option<(model::reference::ImageRef, bool)>> = BTreeMap::new();
    for (image, r) in images.iter().zip(refs) {
        check_image_text(image)?;
        if !image.is_managed() {
            let tag = state
                .images
                .get(&image.name)
                .and_then(|s| s.watch.as_ref())
                .map(|w| w.constraint.clone())
                .unwrap_or_else(|| r.tag_or_latest().to_owned());
            plan.external.insert(image.name.clone(), (r.name(), tag));
            continue;
        }
        let mut mp = ManagedPlan {
            repo_url: r.name(),
            ..ManagedPlan::default()
        };
        if let Some(s) = state.images.get(&image.name) {
            for parent in &s.managed_parents {
                if !managed_names.contains(parent) {
                    return Err(SynthError::UnknownParent {
                        image: image.name.clone(),
                        parent: parent.clone(),
                    });
                }
                if *parent != image.name {
                    mp.parents.insert(parent.clone());
                }
            }
            for id in &s.base_images {
                let Some(base) = state.bases.get(id) else {
                    return Err(SynthError::MissingBase {
                        image: image.name.clone(),
                        id: id.clone(),
                    });
                };
                let parsed = base_refs.entry(id.as_str()).or_insert_with(|| {
                    base.image_ref().map(|r| {
                        let ok = model::kargo::is_image_repo(&r.name());
                        (r, ok)
                    })
                });
                let Some((r, kargo_ok)) = parsed.as_ref() else {
                    return Err(SynthError::InvalidBaseReference {
                        id: id.clone(),
                        reference: base.reference.clone(),
                    });
                };
                // A base that is one of our managed images is a cascade, never an upstream watch.
                if let Some(parent) = managed_by_repo.get(&r.name()) {
                    if *parent != image.name {
                        mp.parents.insert(parent.clone());
                    }
                    continue;
                }
                // Digest-pinned references do not move; names Kargo cannot subscribe to are
                // tracked (graph, catalog) but not watched.
                let watch = base.watch.as_ref().filter(|_| *kargo_ok);
                let Some(watch) = watch else {
                    mp.pinned.insert(id.clone());
                    continue;
                };
                mp.bases.insert(id.clone());
                let entry = plan.bases.entry(id.clone()).or_insert_with(|| BasePlan {
                    registry: r.domain().to_owned(),
                    repo_url: r.name(),
                    familiar: r.familiar(),
                    tag: watch.constraint.clone(),
                    ..BasePlan::default()
                });
                entry.dependents.insert(image.name.clone());
            }
        }
        plan.managed.insert(image.name.clone(), mp);
    }
    if let Some(cycle) = find_cycle(&plan) {
        return Err(SynthError::Cycle(cycle));
    }
    Ok(plan)
}

/// The first cycle among managed parents, as `a → b → … → a`.
fn find_cycle(plan: &Plan) -> Option<Vec<String>> {
    crate::graph::find_cycle(plan.managed.keys().cloned(), |name| {
        plan.managed
            .get(name)
            .map(|m| m.parents.iter().cloned().collect())
            .unwrap_or_default()
    })
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned())])
}

fn meta(name: String, ns: &str) -> ObjectMeta {
    ObjectMeta {
        name,
        namespace: Some(ns.to_owned()),
        labels: labels(),
        annotations: BTreeMap::new(),
    }
}

/// Percent-encodes one URL path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn warehouse_origin(name: String) -> FreightOrigin {
    FreightOrigin {
        kind: "Warehouse".to_owned(),
        name,
    }
}

fn step(uses: &str, alias: Option<&str>, config: StepConfig) -> Step {
    Step {
        uses: uses.to_owned(),
        alias: alias.map(str::to_owned),
        config,
    }
}

/// `${{ quote(imageFrom('<repo>').<field>) }}`: a field of the Freight's image, always a string.
///
/// Kargo evaluates each value with `EvaluateTemplate` (`pkg/expressions/json_templates.go`), which
/// turns a result that parses as a number, a bool or JSON into that type: a tag `16` would become
/// the number 16, which verification args refuse ("evaluated argument … is not a string",
/// `buildArgs` in `pkg/rollouts/analysis_run_builder.go`) and string-typed step fields reject.
/// `quote()` wraps the result in quotes, which `EvaluateTemplate` strips without reparsing.
/// `repo_url` is a repository name checked by [`model::kargo::is_image_repo`] (no quote, no
/// brace), so it is safe inside the string literal.
fn image_expr(repo_url: &str, field: &str) -> String {
    format!("${{{{ quote(imageFrom('{repo_url}').{field}) }}}}")
}

/// `${{ imageFrom('<repo>').<field> }}` for use inside longer text (a commit message): a template
/// with text around the expression is a string whatever the expression yields, and `quote()`
/// there would leave visible quotation marks.
fn image_expr_in_text(repo_url: &str, field: &str) -> String {
    format!("${{{{ imageFrom('{repo_url}').{field} }}}}")
}

/// A git credential helper that answers with `GIT_USERNAME` (default `x-access-token`, what GitHub
/// and GitLab take with a token) and `GIT_PASSWORD` from the container's environment: git reads
/// neither variable itself. Given through git's configuration-by-environment (`GIT_CONFIG_COUNT`,
/// git ≥ 2.31), so no file and no secret on a command line; git runs a `!` helper with the shell
/// and the operation (`get`, `store`, `erase`) as `$1`.
const GIT_CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; \
    echo \"username=${GIT_USERNAME:-x-access-token}\"; echo \"password=${GIT_PASSWORD}\"; }; f";

/// The `clone-state` container's environment: the git credentials and the helper that hands them
/// to `git clone`.
fn clone_env(settings: &Settings) -> Vec<EnvVar> {
    let plain = |name: &str, value: &str| EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    };
    let mut env = git_env(settings);
    env.extend([
        plain("GIT_CONFIG_COUNT", "1"),
        plain("GIT_CONFIG_KEY_0", "credential.helper"),
        plain("GIT_CONFIG_VALUE_0", GIT_CREDENTIAL_HELPER),
    ]);
    env
}

fn secret_env(env: &str, name: &str, key: &str) -> EnvVar {
    // `optional`: a fleet that uses only GitHub has no GitLab Secret; the analyzer names the
    // missing variable when a dispatch needs it.
    EnvVar {
        name: env.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: SecretKeySelector {
                name: name.to_owned(),
                key: key.to_owned(),
                optional: true,
            },
        }),
    }
}

/// `GIT_USERNAME`/`GIT_PASSWORD` from the git-credentials Secret (what the analyzer's askpass
/// helper hands to git).
fn git_env(settings: &Settings) -> Vec<EnvVar> {
    let creds = &settings.secrets.git_credentials;
    vec![
        secret_env("GIT_USERNAME", creds, "username"),
        secret_env("GIT_PASSWORD", creds, "password"),
    ]
}

/// The analysis Job's environment: git credentials and the tokens for cloning sources.
fn analyzer_env(settings: &Settings) -> Vec<EnvVar> {
    let mut env = git_env(settings);
    env.push(secret_env(
        "GITHUB_TOKEN",
        &settings.secrets.github_token,
        "token",
    ));
    env.push(secret_env(
        "GITLAB_TOKEN",
        &settings.secrets.gitlab_token,
        "token",
    ));
    env
}

fn job_pod(settings: &Settings, init: Vec<Container>, main: Container, volumes: bool) -> PodSpec {
    PodSpec {
        service_account_name: Some(SERVICE_ACCOUNT.to_owned()),
        automount_service_account_token: false,
        restart_policy: "Never".to_owned(),
        image_pull_secrets: settings
            .analyzer
            .pull_secret
            .iter()
            .map(|n| LocalObjectReference { name: n.clone() })
            .collect(),
        init_containers: init,
        containers: vec![main],
        volumes: if volumes {
            vec![Volume {
                name: "work".to_owned(),
                empty_dir: EmptyDir {},
            }]
        } else {
            Vec::new()
        },
    }
}

/// Where the state repository's factory dir is once `clone-state` has cloned it.
fn state_factory_dir(settings: &Settings) -> String {
    let path = settings.state_repo.path.trim_matches('/');
    if path.is_empty() || path == "." {
        "/work/state".to_owned()
    } else {
        format!("/work/state/{path}")
    }
}

fn work_mount() -> Vec<VolumeMount> {
    vec![VolumeMount {
        name: "work".to_owned(),
        mount_path: "/work".to_owned(),
    }]
}

/// The `clone-state` init container: a shallow clone of the state repository into
/// `/work/state` (the analyzer commits and pushes from there).
fn clone_state(settings: &Settings, url: &str) -> Container {
    Container {
        name: "clone-state".to_owned(),
        image: settings.analyzer.image.clone(),
        command: vec!["git".to_owned()],
        args: vec![
            "clone".to_owned(),
            "--depth=1".to_owned(),
            format!("--branch={}", settings.state_repo.branch),
            "--".to_owned(),
            url.to_owned(),
            "/work/state".to_owned(),
        ],
        env: clone_env(settings),
        volume_mounts: work_mount(),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// A Job that clones the state repository, then runs `main` with the work volume mounted.
fn state_job(
    settings: &Settings,
    url: &str,
    main: Container,
    backoff_limit: u32,
    deadline: u32,
) -> JobSpec {
    JobSpec {
        backoff_limit,
        active_deadline_seconds: deadline,
        template: PodTemplate {
            spec: job_pod(settings, vec![clone_state(settings, url)], main, true),
        },
    }
}

/// An AnalysisTemplate with one Job metric.
fn job_template(
    ns: &str,
    name: &str,
    args: &[&str],
    metric: &str,
    job: JobSpec,
) -> AnalysisTemplate {
    AnalysisTemplate {
        api_version: ROLLOUTS_API.to_owned(),
        kind: "AnalysisTemplate".to_owned(),
        metadata: meta(name.to_owned(), ns),
        spec: AnalysisTemplateSpec {
            args: args
                .iter()
                .map(|n| AnalysisArg {
                    name: (*n).to_owned(),
                })
                .collect(),
            metrics: vec![Metric {
                name: metric.to_owned(),
                count: 1,
                failure_limit: 0,
                provider: MetricProvider {
                    job: JobMetric {
                        metadata: Some(JobMetadata { labels: labels() }),
                        spec: job,
                    },
                },
            }],
        },
    }
}

/// `image-factory-analyze`: records a new build of `{{args.image}}` in the state repository.
fn analysis_template(settings: &Settings, ns: &str, url: &str) -> AnalysisTemplate {
    let factory_dir = state_factory_dir(settings);
    let analyze = Container {
        name: "analyze".to_owned(),
        image: settings.analyzer.image.clone(),
        command: vec!["analyzer".to_owned()],
        args: strings(&[
            "analyze",
            "--factory-dir",
            &factory_dir,
            "--clone",
            "--image",
            "{{args.image}}",
            "--built-tag",
            "{{args.tag}}",
            "--built-digest",
            "{{args.digest}}",
            "--commit",
            "--push",
            "--log-format",
            "json",
        ]),
        env: analyzer_env(settings),
        volume_mounts: work_mount(),
    };
    let job = state_job(settings, url, analyze, 2, 1800);
    job_template(
        ns,
        ANALYZE_TEMPLATE,
        &["image", "tag", "digest"],
        ANALYZE_METRIC,
        job,
    )
}

/// `image-factory-observe`: records the digest `{{args.digest}}` of base `{{args.base}}` that a
/// Warehouse found (`analyzer observe`, the same code path as `analyzer check`), then ends. It
/// needs only git credentials: no registry or CI is contacted.
fn observe_template(settings: &Settings, ns: &str, url: &str) -> AnalysisTemplate {
    let factory_dir = state_factory_dir(settings);
    let observe = Container {
        name: "observe".to_owned(),
        image: settings.analyzer.image.clone(),
        command: vec!["analyzer".to_owned()],
        args: strings(&[
            "observe",
            "--factory-dir",
            &factory_dir,
            "--base",
            "{{args.base}}",
            "--digest",
            "{{args.digest}}",
            "--commit",
            "--push",
            "--log-format",
            "json",
        ]),
        env: git_env(settings),
        volume_mounts: work_mount(),
    };
    let job = state_job(settings, url, observe, 2, 600);
    job_template(
        ns,
        OBSERVE_TEMPLATE,
        &["base", "digest"],
        OBSERVE_METRIC,
        job,
    )
}

/// `check` then `trigger` in one container, for `monitoring.bases: analyzer`. A shell runs them
/// because Kubernetes has no way to let an init container fail: `check` exits 1 when one base
/// failed (the others are recorded) and that must not stop the dispatches, so the script goes on
/// after 0 and 1 and stops on anything else (2: configuration error, nothing written; a crash).
/// The factory dir is passed as `$1`, never spliced into the script; the script holds no `$(`
/// (Kubernetes would expand it) and no `{{`.
const CHECK_THEN_TRIGGER: &str = "analyzer --log-format json check --factory-dir \"$1\" --commit --push\n\
rc=$?\n\
case \"$rc\" in 0|1) ;; *) exit \"$rc\" ;; esac\n\
exec analyzer --log-format json trigger --factory-dir \"$1\" --commit --push\n";

/// `image-factory-trigger`: every `trigger.schedule`, clone the state repository and run
/// `analyzer trigger` (after `analyzer check` with `monitoring.bases: analyzer`). Tokens come
/// from the configured Secrets by `secretKeyRef`; the manifest holds no value.
fn trigger_cron_job(settings: &Settings, ns: &str, url: &str) -> CronJob {
    let factory_dir = state_factory_dir(settings);
    let (command, args) = match settings.monitoring.bases {
        BaseWatcher::Kargo => (
            vec!["analyzer".to_owned()],
            strings(&[
                "--log-format",
                "json",
                "trigger",
                "--factory-dir",
                &factory_dir,
                "--commit",
                "--push",
            ]),
        ),
        BaseWatcher::Analyzer => (
            strings(&["/bin/sh", "-c"]),
            strings(&[CHECK_THEN_TRIGGER, "check-then-trigger", &factory_dir]),
        ),
    };
    let mut env = git_env(settings);
    env.push(secret_env(
        "GITHUB_TOKEN",
        &settings.secrets.github_token,
        "token",
    ));
    env.push(secret_env(
        "GITLAB_TRIGGER_TOKEN",
        &settings.secrets.gitlab_token,
        "token",
    ));
    let main = Container {
        name: "trigger".to_owned(),
        image: settings.analyzer.image.clone(),
        command,
        args,
        env,
        volume_mounts: work_mount(),
    };
    CronJob {
        api_version: BATCH_API.to_owned(),
        kind: "CronJob".to_owned(),
        metadata: meta(TRIGGER_CRONJOB.to_owned(), ns),
        spec: CronJobSpec {
            schedule: settings.trigger.schedule.clone(),
            concurrency_policy: "Forbid".to_owned(),
            starting_deadline_seconds: 300,
            successful_jobs_history_limit: 3,
            failed_jobs_history_limit: 3,
            job_template: JobTemplate {
                metadata: Some(JobMetadata { labels: labels() }),
                // No retry within a tick: the next tick runs again, and the engine's own state
                // (in flight, window) keeps a retried run from dispatching twice anyway.
                spec: state_job(settings, url, main, 0, 1800),
            },
        },
    }
}

fn warehouse(ns: &str, name: String, interval: Duration, subs: Vec<Subscription>) -> Object {
    Object::Warehouse(Warehouse {
        api_version: KARGO_API.to_owned(),
        kind: "Warehouse".to_owned(),
        metadata: meta(name, ns),
        spec: WarehouseSpec {
            interval: interval.to_kargo(),
            freight_creation_policy: "Automatic".to_owned(),
            subscriptions: subs,
        },
    })
}

fn stage(ns: &str, name: String, freight: Vec<FreightRequest>, steps: Vec<Step>) -> Stage {
    Stage {
        api_version: KARGO_API.to_owned(),
        kind: "Stage".to_owned(),
        metadata: meta(name, ns),
        spec: StageSpec {
            requested_freight: freight,
            promotion_template: PromotionTemplate {
                spec: PromotionTemplateSpec { steps },
            },
            verification: None,
        },
    }
}

fn update_stage(
    ns: &str,
    image: &EffectiveImage,
    repo_url: &str,
    index: usize,
    target: &UpdateTarget,
) -> Stage {
    let repo_url = repo_url.to_owned();
    let branch = target.branch.clone().unwrap_or_else(|| "main".to_owned());
    let file = target.path.trim_start_matches("./").to_owned();
    let tag = image_expr(&repo_url, "Tag");
    let (uses, config) = match target.kind {
        UpdateKind::KustomizeSetImage => {
            let dir = model::enrollment::dir_of(&file);
            (
                "kustomize-set-image",
                StepConfig::KustomizeSetImage(KustomizeSetImageConfig {
                    path: if dir == "." {
                        "./repo".to_owned()
                    } else {
                        format!("./repo/{dir}")
                    },
                    images: vec![KustomizeImage {
                        image: repo_url.clone(),
                        tag: tag.clone(),
                    }],
                }),
            )
        }
        UpdateKind::YamlUpdate => (
            "yaml-update",
            StepConfig::YamlUpdate(YamlUpdateConfig {
                path: format!("./repo/{file}"),
                updates: vec![YamlUpdate {
                    key: target.key.clone().unwrap_or_else(|| "image.tag".to_owned()),
                    value: tag.clone(),
                }],
            }),
        ),
    };
    let steps = vec![
        step(
            "git-clone",
            Some("clone"),
            StepConfig::GitClone(GitCloneConfig {
                repo_url: format!("https://github.com/{}.git", target.repo),
                checkout: vec![GitCheckout {
                    branch: branch.clone(),
                    path: "./repo".to_owned(),
                }],
            }),
        ),
        step(uses, Some("update"), config),
        step(
            "git-commit",
            Some("commit"),
            StepConfig::GitCommit(GitCommitConfig {
                path: "./repo".to_owned(),
                message: format!(
                    "image-factory: update {repo_url} to {} in {file} (image {})",
                    image_expr_in_text(&repo_url, "Tag"),
                    image.name
                ),
            }),
        ),
        step(
            "git-push",
            Some("push"),
            StepConfig::GitPush(GitPushConfig {
                path: "./repo".to_owned(),
                target_branch: branch,
            }),
        ),
    ];
    stage(
        ns,
        names::update_stage(&image.name, index + 1),
        vec![FreightRequest {
            origin: warehouse_origin(names::image_warehouse(&image.name)),
            sources: FreightSources {
                direct: false,
                stages: vec![names::analyze_stage(&image.name)],
            },
        }],
        steps,
    )
}

/// Builds the ordered object list. Order: Namespace (optional), Project, ProjectConfig,
/// ServiceAccount, AnalysisTemplates, CronJob, Warehouses (`image-*`, external, `base-*`), Stages
/// (`analyze-*`, `observe-*`, `update-*`): what others refer to comes first.
pub fn objects(images: &[EffectiveImage], settings: &Settings, plan: &Plan) -> Vec<Object> {
    let ns = settings.project.as_str();
    let by_name: BTreeMap<&str, &EffectiveImage> =
        images.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut out = Vec::new();
    out.extend(emit_namespace(settings).map(Object::Namespace));
    out.push(Object::Project(emit_project(ns)));
    // Stages first (so the ProjectConfig can be derived from them), emitted after the Warehouses.
    let managed = emit_managed_stages(ns, settings, plan, &by_name);
    let observe = emit_observe_stages(ns, settings, plan);
    out.push(Object::ProjectConfig(emit_project_config(
        ns,
        &[
            ("analyze", !managed.analyze.is_empty()),
            ("observe", !observe.is_empty()),
            ("update", !managed.update.is_empty()),
        ],
    )));
    out.push(Object::ServiceAccount(emit_service_account(ns)));
    out.extend(emit_analysis_templates(settings, ns, plan).map(Object::AnalysisTemplate));
    out.extend(emit_cron_job(settings, ns).map(Object::CronJob));
    out.extend(emit_image_warehouses(ns, settings, plan, &by_name));
    out.extend(emit_watch_warehouses(ns, settings, plan));
    out.extend(managed.analyze.into_iter().map(Object::Stage));
    out.extend(observe.into_iter().map(Object::Stage));
    out.extend(managed.update.into_iter().map(Object::Stage));
    out
}

/// Whether Kargo watches the base images (`monitoring.bases: kargo`) and there is something to
/// watch: then `base-<id>` Warehouses, `observe-<id>` Stages and the observe template exist.
fn kargo_watches_bases(settings: &Settings, plan: &Plan) -> bool {
    settings.monitoring.bases == BaseWatcher::Kargo && !plan.bases.is_empty()
}

/// The Namespace, only when `namespace.labels` asks for one (Kargo then adopts it as the
/// Project's namespace through its label).
fn emit_namespace(settings: &Settings) -> Option<Namespace> {
    if settings.namespace.labels.is_empty() {
        return None;
    }
    let mut l = settings.namespace.labels.clone();
    l.insert("kargo.akuity.io/project".to_owned(), "true".to_owned());
    Some(Namespace {
        api_version: CORE_API.to_owned(),
        kind: "Namespace".to_owned(),
        metadata: ObjectMeta {
            name: settings.project.clone(),
            namespace: None,
            labels: l,
            annotations: BTreeMap::new(),
        },
    })
}

fn emit_project(ns: &str) -> Project {
    Project {
        api_version: KARGO_API.to_owned(),
        kind: "Project".to_owned(),
        metadata: ObjectMeta {
            labels: labels(),
            ..ObjectMeta::cluster(ns)
        },
    }
}

/// The Stages of the managed images, by kind.
#[derive(Default)]
struct ManagedStages {
    analyze: Vec<Stage>,
    update: Vec<Stage>,
}

/// Per managed image: its `analyze-*` Stage and one `update-*` Stage per update target. Nothing
/// here rebuilds: the rebuild decision is the engine's (SPEC §9), dispatched by the CronJob.
fn emit_managed_stages(
    ns: &str,
    settings: &Settings,
    plan: &Plan,
    by_name: &BTreeMap<&str, &EffectiveImage>,
) -> ManagedStages {
    let mut stages = ManagedStages::default();
    for (name, mp) in &plan.managed {
        let Some(image) = by_name.get(name.as_str()) else {
            continue;
        };
        stages
            .analyze
            .push(analyze_stage(ns, settings, name, &mp.repo_url));
        for (i, target) in image.updates.iter().enumerate() {
            stages
                .update
                .push(update_stage(ns, image, &mp.repo_url, i, target));
        }
    }
    stages
}

/// `analyze-<name>`: takes each new build of the image directly and, when a state repository is
/// configured, verifies it with the analysis Job.
fn analyze_stage(ns: &str, settings: &Settings, name: &str, repo_url: &str) -> Stage {
    let mut s = stage(
        ns,
        names::analyze_stage(name),
        vec![FreightRequest {
            origin: warehouse_origin(names::image_warehouse(name)),
            sources: FreightSources {
                direct: true,
                stages: Vec::new(),
            },
        }],
        vec![step(
            "compose-output",
            Some("built"),
            StepConfig::ComposeOutput(BTreeMap::from([
                ("digest".to_owned(), image_expr(repo_url, "Digest")),
                ("tag".to_owned(), image_expr(repo_url, "Tag")),
            ])),
        )],
    );
    if settings.state_repo.url.is_some() {
        s.spec.verification = Some(Verification {
            analysis_templates: vec![AnalysisTemplateRef {
                name: ANALYZE_TEMPLATE.to_owned(),
            }],
            args: vec![
                VerificationArg {
                    name: "image".to_owned(),
                    value: name.to_owned(),
                },
                VerificationArg {
                    name: "tag".to_owned(),
                    value: image_expr(repo_url, "Tag"),
                },
                VerificationArg {
                    name: "digest".to_owned(),
                    value: image_expr(repo_url, "Digest"),
                },
            ],
        });
    }
    s
}

/// One `observe-<id>` Stage per watched base (with `monitoring.bases: kargo`): takes each new
/// digest of `base-<id>` directly and, when a state repository is configured, verifies it with
/// `image-factory-observe`, whose Job records the digest and ends. The one `compose-output` step
/// is there because a Stage without steps is a control-flow Stage (`Stage.IsControlFlow` in
/// `api/v1alpha1/stage_types.go`), which Kargo never promotes into and never verifies;
/// `compose-output` only returns its config as output (`pkg/promotion/runner/builtin/
/// output_composer.go`), no clone, no request.
fn emit_observe_stages(ns: &str, settings: &Settings, plan: &Plan) -> Vec<Stage> {
    if !kargo_watches_bases(settings, plan) {
        return Vec::new();
    }
    plan.bases
        .iter()
        .map(|(id, base)| {
            let digest = image_expr(&base.repo_url, "Digest");
            let mut s = stage(
                ns,
                names::observe_stage(id),
                vec![FreightRequest {
                    origin: warehouse_origin(names::base_warehouse(id)),
                    sources: FreightSources {
                        direct: true,
                        stages: Vec::new(),
                    },
                }],
                vec![step(
                    "compose-output",
                    Some("seen"),
                    StepConfig::ComposeOutput(BTreeMap::from([(
                        "digest".to_owned(),
                        digest.clone(),
                    )])),
                )],
            );
            if settings.state_repo.url.is_some() {
                s.spec.verification = Some(Verification {
                    analysis_templates: vec![AnalysisTemplateRef {
                        name: OBSERVE_TEMPLATE.to_owned(),
                    }],
                    args: vec![
                        VerificationArg {
                            name: "base".to_owned(),
                            value: id.clone(),
                        },
                        VerificationArg {
                            name: "digest".to_owned(),
                            value: digest,
                        },
                    ],
                });
            }
            s
        })
        .collect()
}

/// The ProjectConfig: one `glob:<kind>-*` auto-promotion policy per kind of Stage that exists
/// (`analyze`, `observe`, `update`, in that order). Each of those Stages only records or
/// propagates what happened; whether to rebuild is decided by the engine, not by Kargo.
fn emit_project_config(ns: &str, kinds: &[(&str, bool)]) -> ProjectConfig {
    let policies = kinds
        .iter()
        .filter(|(_, present)| *present)
        .map(|(kind, _)| PromotionPolicy {
            stage_selector: StageSelector {
                name: format!("glob:{kind}-*"),
            },
            auto_promotion_enabled: true,
        })
        .collect();
    ProjectConfig {
        api_version: KARGO_API.to_owned(),
        kind: "ProjectConfig".to_owned(),
        metadata: meta(ns.to_owned(), ns),
        spec: ProjectConfigSpec {
            promotion_policies: policies,
        },
    }
}

fn emit_service_account(ns: &str) -> ServiceAccount {
    ServiceAccount {
        api_version: CORE_API.to_owned(),
        kind: "ServiceAccount".to_owned(),
        metadata: meta(SERVICE_ACCOUNT.to_owned(), ns),
        automount_service_account_token: false,
    }
}

/// The analysis template and, when Kargo watches bases, the observe template: both only when a
/// state repository is configured (without it the Jobs could not commit).
fn emit_analysis_templates<'a>(
    settings: &'a Settings,
    ns: &'a str,
    plan: &Plan,
) -> impl Iterator<Item = AnalysisTemplate> + 'a {
    let url = settings.state_repo.url.as_deref();
    let analyze = url.map(|url| analysis_template(settings, ns, url));
    let observe = url
        .filter(|_| kargo_watches_bases(settings, plan))
        .map(|url| observe_template(settings, ns, url));
    analyze.into_iter().chain(observe)
}

/// The trigger CronJob, when a state repository is configured (it reads and records state there).
fn emit_cron_job(settings: &Settings, ns: &str) -> Option<CronJob> {
    settings
        .state_repo
        .url
        .as_deref()
        .map(|url| trigger_cron_job(settings, ns, url))
}

/// `image-<name>` Warehouses of managed images: the built image (per `tagPolicy`) and the source
/// repository's branch, limited to the paths the build reads.
fn emit_image_warehouses(
    ns: &str,
    settings: &Settings,
    plan: &Plan,
    by_name: &BTreeMap<&str, &EffectiveImage>,
) -> Vec<Object> {
    let mut out = Vec::new();
    for (name, mp) in &plan.managed {
        let Some(image) = by_name.get(name.as_str()) else {
            continue;
        };
        let Some(source) = &image.source else {
            continue;
        };
        let policy = &image.tag_policy;
        let strategy = match policy.strategy {
            model::enrollment::TagStrategy::SemVer => "SemVer",
            model::enrollment::TagStrategy::Digest => "Digest",
        };
        let subs = vec![
            Subscription::Image(ImageSubscription {
                repo_url: mp.repo_url.clone(),
                image_selection_strategy: strategy.to_owned(),
                constraint: policy.effective_constraint().to_owned(),
                platform: None,
                discovery_limit: 5,
            }),
            Subscription::Git(GitSubscription {
                repo_url: source.repo_url(),
                commit_selection_strategy: "NewestFromBranch".to_owned(),
                branch: source.branch.clone(),
                include_paths: include_paths(source),
                discovery_limit: 5,
            }),
        ];
        out.push(warehouse(
            ns,
            names::image_warehouse(name),
            settings.monitoring.managed_interval,
            subs,
        ));
    }
    out
}

/// Warehouses that watch a tag's digest: external images (`image-<name>`) then bases
/// (`base-<id>`), with intervals staggered per registry.
fn emit_watch_warehouses(ns: &str, settings: &Settings, plan: &Plan) -> Vec<Object> {
    // With `monitoring.bases: analyzer`, `analyzer check` asks the registries instead.
    let bases = if settings.monitoring.bases == BaseWatcher::Kargo {
        &plan.bases
    } else {
        &BTreeMap::new()
    };
    let mut watches: Vec<(String, String)> = bases
        .iter()
        .map(|(id, b)| (b.registry.clone(), names::base_warehouse(id)))
        .collect();
    for (name, (repo_url, _)) in &plan.external {
        let registry = repo_url.split('/').next().unwrap_or_default().to_owned();
        watches.push((registry, names::image_warehouse(name)));
    }
    let intervals = stagger::intervals(
        &watches,
        settings.monitoring.base_interval,
        settings.monitoring.stagger,
    );
    let interval_of = |name: &str| {
        intervals
            .get(name)
            .copied()
            .unwrap_or(settings.monitoring.base_interval)
    };
    let mut out = Vec::new();
    for (name, (repo_url, tag)) in &plan.external {
        let wh = names::image_warehouse(name);
        out.push(warehouse(
            ns,
            wh.clone(),
            interval_of(&wh),
            vec![digest_subscription(repo_url, tag)],
        ));
    }
    for (id, base) in bases {
        let wh = names::base_warehouse(id);
        out.push(warehouse(
            ns,
            wh.clone(),
            interval_of(&wh),
            vec![digest_subscription(&base.repo_url, &base.tag)],
        ));
    }
    out
}

/// Kargo `includePaths` (path prefixes) for a source: the Dockerfile's directory and the build
/// context, each with a trailing `/` so `app` does not also match `app-old`; none (every commit)
/// when either is the repository root.
pub fn include_paths(source: &EffectiveSource) -> Vec<String> {
    let paths = source.watch_paths();
    if paths.iter().any(|p| p == ".") {
        return Vec::new();
    }
    paths.into_iter().map(|p| format!("{p}/")).collect()
}

fn digest_subscription(repo_url: &str, tag: &str) -> Subscription {
    Subscription::Image(ImageSubscription {
        repo_url: repo_url.to_owned(),
        image_selection_strategy: "Digest".to_owned(),
        constraint: tag.to_owned(),
        platform: None,
        discovery_limit: 1,
    })
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    /// The Namespace phase (no fixture sets `namespace.labels`): emitted first, named after the
    /// project, with the user's labels and Kargo's adoption label.
    #[test]
    fn namespace_only_when_labels_are_set() {
        let mut settings = Settings::default();
        let plan = Plan::default();
        let first = |s: &Settings| objects(&[], s, &plan).into_iter().next();
        assert!(matches!(first(&settings), Some(Object::Project(_))));
        settings
            .namespace
            .labels
            .insert("team".to_owned(), "platform".to_owned());
        let Some(Object::Namespace(ns)) = first(&settings) else {
            panic!("no Namespace first");
        };
        assert_eq!(ns.metadata.name, settings.project);
        assert_eq!(ns.metadata.namespace, None);
        assert_eq!(
            ns.metadata
                .labels
                .get("kargo.akuity.io/project")
                .map(String::as_str),
            Some("true")
        );
        assert_eq!(
            ns.metadata.labels.get("team").map(String::as_str),
            Some("platform")
        );
    }

    fn fleet_objects(settings: &Settings) -> Vec<Object> {
        let image = crate::fleet::managed("web", "acme/web", Duration::from_days(7));
        let plan = Plan {
            managed: BTreeMap::from([(
                "web".to_owned(),
                ManagedPlan {
                    repo_url: "ghcr.io/acme/web".to_owned(),
                    bases: BTreeSet::from(["node-22".to_owned()]),
                    ..ManagedPlan::default()
                },
            )]),
            bases: BTreeMap::from([(
                "node-22".to_owned(),
                BasePlan {
                    registry: "docker.io".to_owned(),
                    repo_url: "docker.io/library/node".to_owned(),
                    familiar: "node:22".to_owned(),
                    tag: "22".to_owned(),
                    dependents: BTreeSet::from(["web".to_owned()]),
                },
            )]),
            external: BTreeMap::new(),
        };
        objects(&[image], settings, &plan)
    }

    fn with_state_repo() -> Settings {
        let mut settings = Settings::default();
        settings.state_repo.url = Some("https://github.com/acme/factory.git".to_owned());
        settings
    }

    fn cron_job(objects: &[Object]) -> &CronJob {
        let Some(cron) = objects.iter().find_map(|o| match o {
            Object::CronJob(c) => Some(c),
            _ => None,
        }) else {
            panic!("no CronJob");
        };
        cron
    }

    /// The CronJob takes every token from a Secret by reference: no value is in the manifest.
    #[test]
    fn trigger_cron_job_reads_tokens_from_secrets() {
        let mut settings = with_state_repo();
        settings.secrets.gitlab_token = "gl-trigger".to_owned();
        settings.analyzer.pull_secret = Some("pull".to_owned());
        let objects = fleet_objects(&settings);
        let cron = cron_job(&objects);
        assert_eq!(cron.metadata.name, TRIGGER_CRONJOB);
        assert_eq!(cron.spec.concurrency_policy, "Forbid");
        assert_eq!(cron.spec.schedule, "*/15 * * * *");
        let pod = &cron.spec.job_template.spec.template.spec;
        assert_eq!(pod.service_account_name.as_deref(), Some(SERVICE_ACCOUNT));
        assert!(!pod.automount_service_account_token);
        assert_eq!(pod.restart_policy, "Never");
        assert_eq!(pod.image_pull_secrets[0].name, "pull");
        assert_eq!(pod.init_containers[0].name, "clone-state");
        let main = &pod.containers[0];
        assert_eq!(main.command, ["analyzer"]);
        assert!(
            main.args
                .windows(2)
                .any(|w| w == ["trigger", "--factory-dir"])
        );
        assert!(main.args.iter().all(|a| a != "check" && a != "--clone"));
        let secret = |env: &str| {
            let Some(var) = main.env.iter().find(|e| e.name == env) else {
                panic!("no {env}");
            };
            assert_eq!(var.value, None, "{env} has a literal value");
            let Some(from) = &var.value_from else {
                panic!("{env} not from a Secret");
            };
            (
                from.secret_key_ref.name.clone(),
                from.secret_key_ref.key.clone(),
            )
        };
        assert_eq!(
            secret("GITHUB_TOKEN"),
            ("github-token".to_owned(), "token".to_owned())
        );
        assert_eq!(
            secret("GITLAB_TRIGGER_TOKEN"),
            ("gl-trigger".to_owned(), "token".to_owned())
        );
        assert_eq!(secret("GIT_PASSWORD").1, "password");
        assert!(main.env.iter().all(|e| e.value.is_none()));
    }

    /// `observe-<id>`: Freight straight from `base-<id>`, one step, verified with the observe
    /// template given the base id and the Freight's digest as a quoted string.
    #[test]
    fn observe_stage_passes_base_and_digest() {
        let objects = fleet_objects(&with_state_repo());
        let Some(stage) = objects.iter().find_map(|o| match o {
            Object::Stage(s) if s.metadata.name == "observe-node-22" => Some(s),
            _ => None,
        }) else {
            panic!("no observe Stage");
        };
        let freight = &stage.spec.requested_freight;
        assert_eq!(freight.len(), 1);
        assert_eq!(freight[0].origin.name, "base-node-22");
        assert!(freight[0].sources.direct);
        assert_eq!(stage.spec.promotion_template.spec.steps.len(), 1);
        let Some(v) = &stage.spec.verification else {
            panic!("no verification");
        };
        assert_eq!(v.analysis_templates[0].name, OBSERVE_TEMPLATE);
        let args: Vec<(&str, &str)> = v
            .args
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            args,
            [
                ("base", "node-22"),
                (
                    "digest",
                    "${{ quote(imageFrom('docker.io/library/node').Digest) }}"
                )
            ]
        );
        let template = objects.iter().any(|o| {
            matches!(o, Object::AnalysisTemplate(t) if t.metadata.name == OBSERVE_TEMPLATE
                && t.spec.args.iter().map(|a| a.name.as_str()).eq(["base", "digest"]))
        });
        assert!(template, "observe template missing or declares other args");
    }

    /// `monitoring.bases: analyzer`: no base Warehouse, no observe Stage or template; the
    /// CronJob runs `check` before `trigger` and goes on when `check` exits 1.
    #[test]
    fn analyzer_watches_bases() {
        let mut settings = with_state_repo();
        settings.monitoring.bases = BaseWatcher::Analyzer;
        let objects = fleet_objects(&settings);
        assert!(
            !objects
                .iter()
                .any(|o| o.name().starts_with("base-") || o.name().starts_with("observe-")),
            "{:?}",
            objects.iter().map(Object::name).collect::<Vec<_>>()
        );
        assert!(!objects.iter().any(|o| o.name() == OBSERVE_TEMPLATE));
        let Some(Object::ProjectConfig(pc)) = objects.iter().find(|o| o.kind() == "ProjectConfig")
        else {
            panic!("no ProjectConfig");
        };
        let globs: Vec<&str> = pc
            .spec
            .promotion_policies
            .iter()
            .map(|p| p.stage_selector.name.as_str())
            .collect();
        assert_eq!(globs, ["glob:analyze-*"]);
        let main = &cron_job(&objects)
            .spec
            .job_template
            .spec
            .template
            .spec
            .containers[0];
        assert_eq!(main.command, ["/bin/sh", "-c"]);
        let script = &main.args[0];
        let check = script.find(" check ").unwrap_or(usize::MAX);
        let trigger = script.find(" trigger ").unwrap_or(0);
        assert!(check < trigger, "{script}");
        assert!(script.contains("0|1) ;;"), "{script}");
        assert!(!script.contains("$(") && !script.contains("{{"), "{script}");
        assert_eq!(main.args[2], "/work/state/image-factory");
    }

    /// Kargo mode: policies for exactly the kinds of Stage that exist; no CronJob without a
    /// state repository.
    #[test]
    fn policies_follow_the_stages() {
        let objects = fleet_objects(&with_state_repo());
        let Some(Object::ProjectConfig(pc)) = objects.iter().find(|o| o.kind() == "ProjectConfig")
        else {
            panic!("no ProjectConfig");
        };
        let globs: Vec<&str> = pc
            .spec
            .promotion_policies
            .iter()
            .map(|p| p.stage_selector.name.as_str())
            .collect();
        assert_eq!(globs, ["glob:analyze-*", "glob:observe-*"]);
        let without = fleet_objects(&Settings::default());
        assert!(!without.iter().any(|o| o.kind() == "CronJob"));
    }
}
