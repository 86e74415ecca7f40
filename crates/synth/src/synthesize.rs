//! The object set of SPEC §8.1, built from enrolment, settings and state.

use std::collections::{BTreeMap, BTreeSet};

use model::duration::Duration;
use model::enrollment::{EffectiveImage, EffectiveSource, Provider, UpdateKind, UpdateTarget};
use model::names;
use model::settings::Settings;
use model::state::State;

use crate::error::SynthError;
use crate::kargo::*;
use crate::stagger;

/// Name of the AnalysisTemplate run by every `analyze-<name>` Stage.
pub const ANALYZE_TEMPLATE: &str = "image-factory-analyze";
/// Name of the ServiceAccount of the analysis Job.
pub const SERVICE_ACCOUNT: &str = "image-factory-analyzer";
/// Metric name of the analysis template (≤ 24 characters).
pub const ANALYZE_METRIC: &str = "analyze";
/// Metric name of the soak templates (≤ 24 characters).
pub const SOAK_METRIC: &str = "soak";
/// Label put on every object we generate.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "image-factory");

/// Name of the soak AnalysisTemplate for a delay of `hours`.
pub fn soak_template(hours: u64) -> String {
    names::label(&["image-factory-soak", &format!("{hours}h")])
}

/// A delay rounded up to whole hours (Kargo durations are written in hours, SPEC §8.2).
pub fn delay_hours(delay: Duration) -> u64 {
    delay.as_secs().div_ceil(3_600)
}

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
    /// Delay in whole hours.
    pub delay_hours: u64,
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
    /// Distinct delays (hours) of its dependents, zero excluded.
    pub delays: BTreeSet<u64>,
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
            delay_hours: delay_hours(image.rebuild_delay),
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
                if mp.delay_hours > 0 {
                    entry.delays.insert(mp.delay_hours);
                }
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
        retry: None,
        config,
    }
}

fn image_expr(repo_url: &str, field: &str) -> String {
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
    let mut env: Vec<EnvVar> = analyzer_env(settings).into_iter().take(2).collect();
    env.extend([
        plain("GIT_CONFIG_COUNT", "1"),
        plain("GIT_CONFIG_KEY_0", "credential.helper"),
        plain("GIT_CONFIG_VALUE_0", GIT_CREDENTIAL_HELPER),
    ]);
    env
}

fn analyzer_env(settings: &Settings) -> Vec<EnvVar> {
    let secret = |env: &str, name: &str, key: &str| EnvVar {
        name: env.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: SecretKeySelector {
                name: name.to_owned(),
                key: key.to_owned(),
                optional: true,
            },
        }),
    };
    vec![
        secret(
            "GIT_USERNAME",
            &settings.secrets.git_credentials,
            "username",
        ),
        secret(
            "GIT_PASSWORD",
            &settings.secrets.git_credentials,
            "password",
        ),
        secret("GITHUB_TOKEN", &settings.secrets.github_token, "token"),
        secret("GITLAB_TOKEN", &settings.secrets.gitlab_token, "token"),
    ]
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

fn analysis_template(settings: &Settings, ns: &str, url: &str) -> AnalysisTemplate {
    let mount = vec![VolumeMount {
        name: "work".to_owned(),
        mount_path: "/work".to_owned(),
    }];
    let state = &settings.state_repo;
    let factory_dir = if state.path.is_empty() || state.path == "." {
        "/work/state".to_owned()
    } else {
        format!("/work/state/{}", state.path.trim_matches('/'))
    };
    let clone = Container {
        name: "clone-state".to_owned(),
        image: settings.analyzer.image.clone(),
        command: vec!["git".to_owned()],
        args: vec![
            "clone".to_owned(),
            "--depth=1".to_owned(),
            format!("--branch={}", state.branch),
            "--".to_owned(),
            url.to_owned(),
            "/work/state".to_owned(),
        ],
        env: clone_env(settings),
        volume_mounts: mount.clone(),
    };
    let analyze = Container {
        name: "analyze".to_owned(),
        image: settings.analyzer.image.clone(),
        command: vec!["analyzer".to_owned()],
        args: [
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
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        env: analyzer_env(settings),
        volume_mounts: mount,
    };
    AnalysisTemplate {
        api_version: ROLLOUTS_API.to_owned(),
        kind: "AnalysisTemplate".to_owned(),
        metadata: meta(ANALYZE_TEMPLATE.to_owned(), ns),
        spec: AnalysisTemplateSpec {
            args: ["image", "tag", "digest"]
                .iter()
                .map(|n| AnalysisArg {
                    name: (*n).to_owned(),
                })
                .collect(),
            metrics: vec![Metric {
                name: ANALYZE_METRIC.to_owned(),
                initial_delay: None,
                count: 1,
                failure_limit: 0,
                provider: MetricProvider {
                    job: JobMetric {
                        metadata: Some(JobMetadata { labels: labels() }),
                        spec: JobSpec {
                            backoff_limit: 2,
                            active_deadline_seconds: 1800,
                            template: PodTemplate {
                                spec: job_pod(settings, vec![clone], analyze, true),
                            },
                        },
                    },
                },
            }],
        },
    }
}

fn soak_analysis_template(settings: &Settings, ns: &str, hours: u64) -> AnalysisTemplate {
    let main = Container {
        name: "soaked".to_owned(),
        image: settings.analyzer.image.clone(),
        command: vec!["analyzer".to_owned()],
        args: vec!["--version".to_owned()],
        env: Vec::new(),
        volume_mounts: Vec::new(),
    };
    AnalysisTemplate {
        api_version: ROLLOUTS_API.to_owned(),
        kind: "AnalysisTemplate".to_owned(),
        metadata: meta(soak_template(hours), ns),
        spec: AnalysisTemplateSpec {
            args: Vec::new(),
            metrics: vec![Metric {
                name: SOAK_METRIC.to_owned(),
                initial_delay: Some(Duration::from_hours(hours).to_kargo()),
                count: 1,
                failure_limit: 0,
                provider: MetricProvider {
                    job: JobMetric {
                        metadata: Some(JobMetadata { labels: labels() }),
                        spec: JobSpec {
                            backoff_limit: 2,
                            active_deadline_seconds: 600,
                            template: PodTemplate {
                                spec: job_pod(settings, Vec::new(), main, false),
                            },
                        },
                    },
                },
            }],
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
                spec: PromotionTemplateSpec {
                    vars: Vec::new(),
                    steps,
                },
            },
            verification: None,
        },
    }
}

/// The `http` step (and its vars) that asks the image's CI to rebuild it. Text from images.yaml goes
/// only into literal `vars` values and percent-encoded URL segments, never into an expression.
fn trigger(settings: &Settings, source: &EffectiveSource) -> (Vec<Var>, Step) {
    let mut vars = vec![Var {
        name: "ref".to_owned(),
        value: source.branch.clone(),
    }];
    let mut fields = Vec::new();
    for (i, (key, value)) in source.inputs.iter().enumerate() {
        let var = format!("input{}", i + 1);
        vars.push(Var {
            name: var.clone(),
            value: value.clone(),
        });
        // Keys are validated as `[A-Za-z0-9_-]+` by model, so they are safe in a string literal;
        // escape anyway.
        fields.push(format!("{}: vars.{var}", json_string(key)));
    }
    let json_headers = |auth: Option<String>| {
        let mut h = Vec::new();
        if let Some(auth) = auth {
            h.push(HttpHeader {
                name: "Authorization".to_owned(),
                value: auth,
            });
        }
        h
    };
    let (url, headers, body, status) = match source.provider {
        Provider::Github => {
            let url = format!(
                "https://api.github.com/repos/{}/actions/workflows/{}/dispatches",
                source
                    .repo
                    .split('/')
                    .map(encode_segment)
                    .collect::<Vec<_>>()
                    .join("/"),
                encode_segment(&source.workflow)
            );
            let mut headers = json_headers(Some(format!(
                "Bearer ${{{{ secret('{}').token }}}}",
                settings.secrets.github_token
            )));
            headers.push(HttpHeader {
                name: "Accept".to_owned(),
                value: "application/vnd.github+json".to_owned(),
            });
            headers.push(HttpHeader {
                name: "X-GitHub-Api-Version".to_owned(),
                value: "2022-11-28".to_owned(),
            });
            let inputs = if fields.is_empty() {
                String::new()
            } else {
                format!(", \"inputs\": {{{}}}", fields.join(", "))
            };
            let body = format!("${{{{ quote({{\"ref\": vars.ref{inputs}}}) }}}}");
            (url, headers, body, 204)
        }
        Provider::Gitlab => {
            let url = format!(
                "https://gitlab.com/api/v4/projects/{}/trigger/pipeline",
                encode_segment(&source.repo)
            );
            let variables = if fields.is_empty() {
                String::new()
            } else {
                format!(", \"variables\": {{{}}}", fields.join(", "))
            };
            let body = format!(
                "${{{{ quote({{\"token\": secret('{}').token, \"ref\": vars.ref{variables}}}) }}}}",
                settings.secrets.gitlab_token
            );
            (url, json_headers(None), body, 201)
        }
    };
    let mut headers = headers;
    headers.push(HttpHeader {
        name: "Content-Type".to_owned(),
        value: "application/json".to_owned(),
    });
    let step = Step {
        uses: "http".to_owned(),
        alias: Some("trigger".to_owned()),
        retry: Some(StepRetry { error_threshold: 3 }),
        config: StepConfig::Http(HttpConfig {
            method: "POST".to_owned(),
            url,
            headers,
            body,
            timeout: "30s".to_owned(),
            success_expression: format!("response.status == {status}"),
            failure_expression: "response.status >= 400 && response.status < 500".to_owned(),
        }),
    };
    (vars, step)
}

/// A JSON/expr string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
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
                    "image-factory: update {repo_url} to {tag} in {file} (image {})",
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
/// ServiceAccount, AnalysisTemplates, Warehouses (`image-*`, external, `base-*`), Stages
/// (`analyze-*`, `soak-*`, `rebuild-*`, `update-*`).
pub fn objects(images: &[EffectiveImage], settings: &Settings, plan: &Plan) -> Vec<Object> {
    let ns = settings.project.as_str();
    let by_name: BTreeMap<&str, &EffectiveImage> =
        images.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut out = Vec::new();
    out.extend(emit_namespace(settings).map(Object::Namespace));
    out.push(Object::Project(emit_project(ns)));
    // Stages first (so the ProjectConfig can be derived from them), emitted after the Warehouses.
    let managed = emit_managed_stages(ns, settings, plan, &by_name);
    let (soak_stages, soak_hours) = emit_soak_stages(ns, plan);
    out.push(Object::ProjectConfig(emit_project_config(
        ns,
        &managed,
        !soak_stages.is_empty(),
    )));
    out.push(Object::ServiceAccount(emit_service_account(ns)));
    out.extend(emit_analysis_templates(settings, ns, &soak_hours).map(Object::AnalysisTemplate));
    out.extend(emit_image_warehouses(ns, settings, plan, &by_name));
    out.extend(emit_watch_warehouses(ns, settings, plan));
    out.extend(managed.analyze.into_iter().map(Object::Stage));
    out.extend(soak_stages.into_iter().map(Object::Stage));
    out.extend(managed.rebuild.into_iter().map(Object::Stage));
    out.extend(managed.update.into_iter().map(Object::Stage));
    out
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

/// The Stages of the managed images, by kind, and what the ProjectConfig needs to know of them.
#[derive(Default)]
struct ManagedStages {
    analyze: Vec<Stage>,
    rebuild: Vec<Stage>,
    update: Vec<Stage>,
    /// Names of the rebuild Stages of images with `autoRebuild`.
    auto_rebuild: Vec<String>,
    /// How many rebuild Stages need a human.
    manual_rebuild: usize,
}

/// Per managed image: its `analyze-*` Stage, its `rebuild-*` Stage (when it has something to
/// rebuild for) and one `update-*` Stage per update target.
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
        let freight = rebuild_freight(mp);
        if let (false, Some(source)) = (freight.is_empty(), &image.source) {
            let (vars, step) = trigger(settings, source);
            let mut s = stage(ns, names::rebuild_stage(name), freight, vec![step]);
            s.spec.promotion_template.spec.vars = vars;
            if image.auto_rebuild {
                stages.auto_rebuild.push(s.metadata.name.clone());
            } else {
                stages.manual_rebuild += 1;
            }
            stages.rebuild.push(s);
        }
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

/// The Freight one rebuild Stage requests: every watched base (through its soak Stage when the
/// image has a delay) and every managed parent (directly).
fn rebuild_freight(mp: &ManagedPlan) -> Vec<FreightRequest> {
    let mut freight = Vec::new();
    for id in &mp.bases {
        let sources = if mp.delay_hours == 0 {
            FreightSources {
                direct: true,
                stages: Vec::new(),
            }
        } else {
            FreightSources {
                direct: false,
                stages: vec![names::soak_stage(id, mp.delay_hours)],
            }
        };
        freight.push(FreightRequest {
            origin: warehouse_origin(names::base_warehouse(id)),
            sources,
        });
    }
    for parent in &mp.parents {
        freight.push(FreightRequest {
            origin: warehouse_origin(names::image_warehouse(parent)),
            sources: FreightSources {
                direct: true,
                stages: Vec::new(),
            },
        });
    }
    freight
}

/// One `soak-<base>-<N>h` Stage per (base, distinct delay of its dependents), and the set of
/// delays (one soak AnalysisTemplate each).
fn emit_soak_stages(ns: &str, plan: &Plan) -> (Vec<Stage>, BTreeSet<u64>) {
    let mut soak_stages = Vec::new();
    let mut soak_hours = BTreeSet::new();
    for (id, base) in &plan.bases {
        for hours in &base.delays {
            soak_hours.insert(*hours);
            let mut s = stage(
                ns,
                names::soak_stage(id, *hours),
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
                        image_expr(&base.repo_url, "Digest"),
                    )])),
                )],
            );
            s.spec.verification = Some(Verification {
                analysis_templates: vec![AnalysisTemplateRef {
                    name: soak_template(*hours),
                }],
                args: Vec::new(),
            });
            soak_stages.push(s);
        }
    }
    (soak_stages, soak_hours)
}

/// The ProjectConfig: auto-promotion for every kind of Stage that exists; rebuild Stages by glob
/// when all of them are automatic, else one by one.
fn emit_project_config(ns: &str, managed: &ManagedStages, has_soak: bool) -> ProjectConfig {
    let mut policies = Vec::new();
    let mut glob = |pattern: &str, present: bool| {
        if present {
            policies.push(PromotionPolicy {
                stage_selector: StageSelector {
                    name: format!("glob:{pattern}"),
                },
                auto_promotion_enabled: true,
            });
        }
    };
    glob("analyze-*", !managed.analyze.is_empty());
    glob("soak-*", has_soak);
    glob("update-*", !managed.update.is_empty());
    if managed.manual_rebuild == 0 {
        glob("rebuild-*", !managed.auto_rebuild.is_empty());
    } else {
        for name in &managed.auto_rebuild {
            policies.push(PromotionPolicy {
                stage_selector: StageSelector { name: name.clone() },
                auto_promotion_enabled: true,
            });
        }
    }
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

/// The analysis template (when a state repository is configured) and one soak template per delay.
fn emit_analysis_templates<'a>(
    settings: &'a Settings,
    ns: &'a str,
    soak_hours: &'a BTreeSet<u64>,
) -> impl Iterator<Item = AnalysisTemplate> + 'a {
    let analysis = settings
        .state_repo
        .url
        .as_ref()
        .map(|url| analysis_template(settings, ns, url));
    analysis.into_iter().chain(
        soak_hours
            .iter()
            .map(move |hours| soak_analysis_template(settings, ns, *hours)),
    )
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
    let mut watches: Vec<(String, String)> = plan
        .bases
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
    for (id, base) in &plan.bases {
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
}
