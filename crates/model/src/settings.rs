//! `factory.yaml`: optional settings of a factory dir (SPEC §6.2). Every key has a default, so an
//! absent file and an empty file both mean [`Settings::default()`].
//!
//! The typed values here are the *effective* settings: defaults are filled in while decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Decoder, Fields};
use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::enrollment::Priority;
use crate::names::is_dns1123_label;
use crate::yaml::{self, Node, Value};

/// The analyzer image used by the analysis Job when `analyzer.image` is not set.
pub const DEFAULT_ANALYZER_IMAGE: &str =
    concat!("ghcr.io/image-factory/analyzer:", env!("CARGO_PKG_VERSION"));

/// `factory.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[schemars(title = "image-factory factory.yaml")]
pub struct Settings {
    /// Kargo project, also the namespace of every generated object (DNS-1123 label ≤ 63).
    pub project: String,
    /// Where the analysis Job commits state.
    pub state_repo: StateRepo,
    /// The analyzer container run by the analysis Job.
    pub analyzer: AnalyzerSettings,
    /// Names of Kubernetes Secrets (never their values).
    pub secrets: Secrets,
    /// Defaults for `images.yaml` entries.
    pub defaults: Defaults,
    /// How often registries and sources are polled.
    pub monitoring: Monitoring,
    /// How `analyzer check` talks to each registry, by host (`ghcr.io`, `localhost:5000`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub registries: BTreeMap<String, RegistryAccess>,
    /// Rebuild coordination.
    pub coordination: Coordination,
    /// Dispatching (`analyzer trigger`).
    pub trigger: Trigger,
    /// CI APIs that `analyzer trigger` calls.
    pub ci: Ci,
    /// Backstage catalog output.
    pub backstage: Backstage,
    /// Notifications.
    pub notifications: Notifications,
    /// The project Namespace.
    pub namespace: NamespaceSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            project: "image-factory".to_owned(),
            state_repo: StateRepo::default(),
            analyzer: AnalyzerSettings::default(),
            secrets: Secrets::default(),
            defaults: Defaults::default(),
            monitoring: Monitoring::default(),
            registries: BTreeMap::new(),
            coordination: Coordination::default(),
            trigger: Trigger::default(),
            ci: Ci::default(),
            backstage: Backstage::default(),
            notifications: Notifications::default(),
            namespace: NamespaceSettings::default(),
        }
    }
}

/// `stateRepo`: the git repository holding the factory dir.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StateRepo {
    /// Clone URL (`https://github.com/acme/platform.git`); none: the analysis Job cannot commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Branch the Job commits to.
    pub branch: String,
    /// Path of the factory dir inside the repository.
    pub path: String,
    /// Author of the analyzer's commits, `Name <email>` (`IMAGE_FACTORY_GIT_AUTHOR` overrides it;
    /// without either, `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, then a built-in default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

impl Default for StateRepo {
    fn default() -> Self {
        Self {
            url: None,
            branch: "main".to_owned(),
            path: "image-factory".to_owned(),
            author: None,
        }
    }
}

impl StateRepo {
    /// The repository's path on its host (`owner/name`; GitLab `group/.../name`), from an
    /// `https://`, `http://` or `ssh://` URL or an scp-like `git@host:path`, without `.git`:
    /// where `analyzer trigger` dispatches the generated build workflows (SPEC §8.3). `None`
    /// without a URL, for other transports, or with fewer than two path components.
    pub fn repository_path(&self) -> Option<String> {
        let url = self.url.as_deref()?;
        let path = match url.split_once("://") {
            Some(("https" | "http" | "ssh", rest)) => rest.split_once('/')?.1,
            Some(_) => return None,
            None => url.split_once(':')?.1,
        };
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        let parts: Vec<&str> = path.split('/').collect();
        let ok = parts.len() >= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && *p != "." && *p != "..");
        ok.then(|| path.to_owned())
    }
}

/// `analyzer`: the container the analysis Job runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AnalyzerSettings {
    /// Image reference of the analyzer.
    pub image: String,
    /// Name of an image pull Secret, when the image is private.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
}

impl Default for AnalyzerSettings {
    fn default() -> Self {
        Self {
            image: DEFAULT_ANALYZER_IMAGE.to_owned(),
            pull_secret: None,
        }
    }
}

/// `secrets`: names of Secrets in the project namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Secrets {
    /// Secret with a GitHub token (key `token`) for workflow dispatches.
    pub github_token: String,
    /// Secret with a GitLab trigger token (key `token`).
    pub gitlab_token: String,
    /// Secret with git credentials used to push state and updates.
    pub git_credentials: String,
}

impl Default for Secrets {
    fn default() -> Self {
        Self {
            github_token: "github-token".to_owned(),
            gitlab_token: "gitlab-token".to_owned(),
            git_credentials: "git-credentials".to_owned(),
        }
    }
}

/// `defaults`: values for `images.yaml` entries that do not set them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Defaults {
    /// Registry host of built images.
    pub registry: String,
    /// Rebuild delay.
    pub rebuild_delay: Duration,
    /// Whether rebuilds are triggered without a human.
    pub auto_rebuild: bool,
    /// Rebuild priority.
    pub priority: Priority,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            registry: "ghcr.io".to_owned(),
            rebuild_delay: Duration::from_days(7),
            auto_rebuild: true,
            priority: Priority::Normal,
        }
    }
}

/// `monitoring`: polling intervals and who watches the base images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Monitoring {
    /// How often base images are checked (public registries are never polled more often).
    pub base_interval: Duration,
    /// How often managed images and their sources are checked.
    pub managed_interval: Duration,
    /// Spread the checks of one registry over time.
    pub stagger: bool,
    /// Who watches the base images: `kargo` (a `base-<id>` Warehouse and an `observe-<id>` Stage
    /// per base) or `analyzer` (no base Warehouses; the trigger CronJob runs `analyzer check`
    /// first, one HEAD request per tag instead of Kargo's manifest GETs).
    pub bases: BaseWatcher,
}

impl Default for Monitoring {
    fn default() -> Self {
        Self {
            base_interval: Duration::from_hours(24),
            managed_interval: Duration::from_minutes(5),
            stagger: true,
            bases: BaseWatcher::default(),
        }
    }
}

/// `monitoring.bases`: what notices that a base image's tag moved (SPEC §8.1, §9.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BaseWatcher {
    /// Kargo Warehouses poll the registries; an `observe-<id>` Stage records each new digest.
    #[default]
    Kargo,
    /// `analyzer check` (run by the trigger CronJob before `analyzer trigger`) asks the registries.
    Analyzer,
}

impl BaseWatcher {
    /// Accepted spellings.
    pub const CHOICES: &'static [(&'static str, BaseWatcher)] = &[
        ("kargo", BaseWatcher::Kargo),
        ("analyzer", BaseWatcher::Analyzer),
    ];
}

/// `registries.<host>`: how `analyzer check` talks to one registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RegistryAccess {
    /// Plain HTTP instead of HTTPS: only for a registry served without TLS (a local mirror).
    pub insecure: bool,
    /// At most this many requests to the registry at once (1 to 64).
    pub max_concurrency: u32,
    /// At least this long between two requests to the registry (`0`: no pacing).
    pub min_interval: Duration,
}

impl RegistryAccess {
    /// Requests at once when `maxConcurrency` is not given.
    pub const DEFAULT_CONCURRENCY: u32 = 4;
    /// The largest `maxConcurrency` accepted.
    pub const MAX_CONCURRENCY: u32 = 64;
}

impl Default for RegistryAccess {
    fn default() -> Self {
        Self {
            insecure: false,
            max_concurrency: Self::DEFAULT_CONCURRENCY,
            min_interval: Duration::ZERO,
        }
    }
}

/// `coordination`: how rebuilds are grouped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Coordination {
    /// At most one rebuild per image within this window; base updates inside it are coalesced.
    pub window: Duration,
    /// How long a child waits after a managed parent's new build before it is rebuilt on it (the
    /// parent's own base already waited its delay).
    pub cascade_delay: Duration,
    /// How long a dispatched rebuild counts as in flight without its build being recorded; then
    /// the next tick may dispatch again (with backoff).
    pub build_timeout: Duration,
}

impl Default for Coordination {
    fn default() -> Self {
        Self {
            window: Duration::from_minutes(30),
            cascade_delay: Duration::ZERO,
            build_timeout: Duration::from_hours(6),
        }
    }
}

/// `ci`: the CI APIs `analyzer trigger` calls (GitHub Enterprise Server, a GitLab of one's own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Ci {
    /// GitHub's REST API (`https://api.github.com`; GHES: `https://<host>/api/v3`).
    pub github_api: String,
    /// GitLab's REST API for images without `source.host` (`https://gitlab.com/api/v4`).
    pub gitlab_api: String,
}

impl Default for Ci {
    fn default() -> Self {
        Self {
            github_api: "https://api.github.com".to_owned(),
            gitlab_api: "https://gitlab.com/api/v4".to_owned(),
        }
    }
}

/// An API base URL: `https://host[:port][/path]`, or `http://` to a loopback host (a local
/// stand-in); no credentials, query or fragment.
pub fn is_api_url(url: &str) -> bool {
    let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return false,
    };
    let host = rest.split('/').next().unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = matches!(name, "127.0.0.1" | "localhost" | "[::1]");
    !host.is_empty()
        && !rest.contains(['@', '?', '#', ' '])
        && rest.chars().all(|c| c.is_ascii_graphic())
        && (https || loopback)
}

/// `trigger`: when and how much `analyzer trigger` dispatches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Trigger {
    /// The CronJob's schedule (five cron fields).
    pub schedule: String,
    /// At most this many dispatches per tick; the rest stay due for the next one.
    pub max_per_run: u32,
}

impl Trigger {
    /// Dispatches per tick when `maxPerRun` is not given.
    pub const DEFAULT_MAX_PER_RUN: u32 = 20;
}

impl Default for Trigger {
    fn default() -> Self {
        Self {
            schedule: "*/15 * * * *".to_owned(),
            max_per_run: Self::DEFAULT_MAX_PER_RUN,
        }
    }
}

/// `backstage`: Backstage catalog entities.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Backstage {
    /// Emit catalog entities.
    pub enabled: bool,
    /// Namespace of the ConfigMaps holding the entities (default: the project namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label put on those ConfigMaps so Backstage can discover them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `notifications`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Notifications {
    /// Name of a Secret holding the webhook URL notified of emergency rebuilds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url_secret: Option<String>,
}

/// `namespace`: the project Namespace. Kargo creates it when no labels are set; with labels, synth
/// emits it (carrying `kargo.akuity.io/project: "true"` as Kargo requires).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NamespaceSettings {
    /// Labels of the Namespace (Kubernetes label syntax).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Whether `key` is a Kubernetes label key: optional DNS subdomain prefix and `/`, then a name of at
/// most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|c| is_dns1123_label(c, 63)))
        && !name.is_empty()
        && is_label_value(name)
}

/// Whether `value` is a Kubernetes label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`,
/// starting and ending alphanumeric.
pub fn is_label_value(value: &str) -> bool {
    let b = value.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
}

const TOP_KEYS: &[&str] = &[
    "project",
    "stateRepo",
    "analyzer",
    "secrets",
    "defaults",
    "monitoring",
    "registries",
    "coordination",
    "trigger",
    "ci",
    "backstage",
    "notifications",
    "namespace",
];

/// Parses and checks `factory.yaml`. Returns the settings when there is no error (warnings
/// allowed), and every diagnostic found. `file` is the name used in diagnostics.
pub fn parse(text: &str, file: &str) -> (Option<Settings>, Vec<Diagnostic>) {
    let mut d = Decoder::new(file, text);
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(err) => {
            d.error(err.pos, format!("invalid YAML: {}", err.message));
            return (None, d.diagnostics);
        }
    };
    let settings = decode(&mut d, &root);
    let ok = !d.has_errors();
    (settings.filter(|_| ok), d.diagnostics)
}

fn decode(d: &mut Decoder<'_>, root: &Node) -> Option<Settings> {
    if root.value == Value::Null {
        return Some(Settings::default());
    }
    let f = d.fields(root, "factory.yaml", TOP_KEYS)?;
    let mut s = Settings::default();
    if let Some(project) = d.string(&f, "project", "factory.yaml")
        && let Some(node) = f.get("project")
    {
        if is_dns1123_label(&project, 63) {
            s.project = project;
        } else {
            d.error_hint(
                    node.pos,
                    format!("`project`: `{project}` is not a DNS-1123 label of at most 63 characters"),
                    "use lower-case letters, digits and `-`, starting and ending with a letter or digit",
                );
        }
    }
    if let Some(node) = f.get("stateRepo")
        && let Some(g) = d.fields(node, "stateRepo", &["url", "branch", "path", "author"])
    {
        if let (Some(author), Some(n)) = (d.safe_string(&g, "author", "stateRepo"), g.get("author"))
        {
            if is_author(&author) {
                s.state_repo.author = Some(author);
            } else {
                d.error_hint(
                    n.pos,
                    format!("stateRepo: `author`: `{author}` is not of the form `Name <email>`"),
                    "e.g. `image-factory <image-factory@example.com>`",
                );
            }
        }
        s.state_repo.url = d
            .safe_string(&g, "url", "stateRepo")
            .filter(|url| check_state_url(d, &g, url));
        if let Some(v) = d.safe_string(&g, "branch", "stateRepo")
            && check_state_branch(d, &g, &v)
        {
            s.state_repo.branch = v;
        }
        if let Some(v) = d.safe_string(&g, "path", "stateRepo")
            && check_state_path(d, &g, &v)
        {
            s.state_repo.path = v;
        }
    }
    if let Some(node) = f.get("analyzer")
        && let Some(g) = d.fields(node, "analyzer", &["image", "pullSecret"])
    {
        if let (Some(image), Some(n)) = (d.safe_string(&g, "image", "analyzer"), g.get("image")) {
            match crate::reference::ImageRef::parse_normalized(&image) {
                Ok(_) => s.analyzer.image = image,
                Err(err) => d.error(
                    n.pos,
                    format!("analyzer: `image`: invalid image reference `{image}`: {err}"),
                ),
            }
        }
        s.analyzer.pull_secret = secret_name(d, &g, "pullSecret", "analyzer");
    }
    if let Some(node) = f.get("secrets")
        && let Some(g) = d.fields(
            node,
            "secrets",
            &["githubToken", "gitlabToken", "gitCredentials"],
        )
    {
        if let Some(v) = secret_name(d, &g, "githubToken", "secrets") {
            s.secrets.github_token = v;
        }
        if let Some(v) = secret_name(d, &g, "gitlabToken", "secrets") {
            s.secrets.gitlab_token = v;
        }
        if let Some(v) = secret_name(d, &g, "gitCredentials", "secrets") {
            s.secrets.git_credentials = v;
        }
    }
    if let Some(node) = f.get("defaults") {
        let keys = ["registry", "rebuildDelay", "autoRebuild", "priority"];
        if let Some(g) = d.fields(node, "defaults", &keys) {
            if let (Some(registry), Some(n)) =
                (d.string(&g, "registry", "defaults"), g.get("registry"))
                && crate::enrollment::check_registry(d, n, &registry, "defaults: `registry`")
            {
                s.defaults.registry = registry;
            }
            if let Some(v) = d.duration(&g, "rebuildDelay", "defaults") {
                s.defaults.rebuild_delay = v;
            }
            if let Some(v) = d.bool(&g, "autoRebuild", "defaults") {
                s.defaults.auto_rebuild = v;
            }
            if let Some(v) = d.choice(&g, "priority", "defaults", Priority::CHOICES) {
                s.defaults.priority = v;
            }
        }
    }
    if let Some(node) = f.get("monitoring") {
        let keys = ["baseInterval", "managedInterval", "stagger", "bases"];
        if let Some(g) = d.fields(node, "monitoring", &keys) {
            for (key, slot) in [
                ("baseInterval", &mut s.monitoring.base_interval),
                ("managedInterval", &mut s.monitoring.managed_interval),
            ] {
                if let Some(v) = d.duration(&g, key, "monitoring") {
                    if v.is_zero() {
                        if let Some(n) = g.get(key) {
                            d.error(
                                n.pos,
                                format!("monitoring: `{key}` must be greater than zero"),
                            );
                        }
                    } else {
                        *slot = v;
                    }
                }
            }
            if let Some(v) = d.bool(&g, "stagger", "monitoring") {
                s.monitoring.stagger = v;
            }
            if let Some(v) = d.choice(&g, "bases", "monitoring", BaseWatcher::CHOICES) {
                s.monitoring.bases = v;
            }
        }
    }
    if let Some(node) = f.get("coordination")
        && let Some(g) = d.fields(
            node,
            "coordination",
            &["window", "cascadeDelay", "buildTimeout"],
        )
    {
        if let Some(v) = d.duration(&g, "window", "coordination") {
            s.coordination.window = v;
        }
        if let Some(v) = d.duration(&g, "cascadeDelay", "coordination") {
            s.coordination.cascade_delay = v;
        }
        if let Some(v) = d.duration(&g, "buildTimeout", "coordination") {
            match g.get("buildTimeout") {
                Some(n) if v.is_zero() => d.error_hint(
                    n.pos,
                    "coordination: `buildTimeout` must be greater than zero".to_owned(),
                    "how long a dispatched rebuild may take before it is dispatched again (6h when not given)",
                ),
                _ => s.coordination.build_timeout = v,
            }
        }
    }
    if let Some(node) = f.get("ci")
        && let Some(g) = d.fields(node, "ci", &["githubApi", "gitlabApi"])
    {
        for (key, slot) in [
            ("githubApi", &mut s.ci.github_api),
            ("gitlabApi", &mut s.ci.gitlab_api),
        ] {
            if let (Some(url), Some(n)) = (d.safe_string(&g, key, "ci"), g.get(key)) {
                if is_api_url(&url) {
                    *slot = url.trim_end_matches('/').to_owned();
                } else {
                    d.error_hint(
                        n.pos,
                        format!("ci: `{key}`: `{url}` is not an API URL"),
                        "an https:// URL without credentials, e.g. https://ghe.example.com/api/v3 \
                         (plain http:// only to 127.0.0.1 or localhost)",
                    );
                }
            }
        }
    }
    if let Some(node) = f.get("trigger")
        && let Some(g) = d.fields(node, "trigger", &["schedule", "maxPerRun"])
    {
        if let (Some(schedule), Some(n)) =
            (d.safe_string(&g, "schedule", "trigger"), g.get("schedule"))
        {
            if is_cron(&schedule) {
                s.trigger.schedule = schedule;
            } else {
                d.error_hint(
                    n.pos,
                    format!("trigger: `schedule`: `{schedule}` is not a cron schedule"),
                    "five fields: minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\"",
                );
            }
        }
        if let Some(n) = g.get("maxPerRun") {
            match n.value {
                Value::Int(v) if (1..=10_000).contains(&v) => {
                    s.trigger.max_per_run = u32::try_from(v).unwrap_or(1);
                }
                _ => d.error_hint(
                    n.pos,
                    "trigger: `maxPerRun` must be a whole number from 1 to 10000".to_owned(),
                    "at most this many CI dispatches per tick; 20 when not given",
                ),
            }
        }
    }
    if let Some(node) = f.get("backstage")
        && let Some(g) = d.fields(node, "backstage", &["enabled", "namespace", "label"])
    {
        if let Some(v) = d.bool(&g, "enabled", "backstage") {
            s.backstage.enabled = v;
        }
        if let (Some(ns), Some(n)) = (d.string(&g, "namespace", "backstage"), g.get("namespace")) {
            if is_dns1123_label(&ns, 63) {
                s.backstage.namespace = Some(ns);
            } else {
                d.error(
                        n.pos,
                        format!("backstage: `namespace`: `{ns}` is not a DNS-1123 label of at most 63 characters"),
                    );
            }
        }
        s.backstage.label = d.safe_string(&g, "label", "backstage");
        if let (Some(label), Some(n)) = (&s.backstage.label, g.get("label"))
            && !is_label_key(label)
        {
            d.error_hint(
                n.pos,
                format!("backstage: `label`: `{label}` is not a Kubernetes label key"),
                "a label key is an optional DNS subdomain and `/`, then at most 63 of \
                 [A-Za-z0-9-_.], starting and ending alphanumeric (e.g. backstage.io/catalog)",
            );
            s.backstage.label = None;
        }
    }
    if let Some(node) = f.get("notifications")
        && let Some(g) = d.fields(node, "notifications", &["webhookUrlSecret"])
    {
        s.notifications.webhook_url_secret =
            secret_name(d, &g, "webhookUrlSecret", "notifications");
    }
    if let Some(node) = f.get("registries") {
        decode_registries(d, node, &mut s.registries);
    }
    if let Some(node) = f.get("namespace")
        && let Some(g) = d.fields(node, "namespace", &["labels"])
        && let Some(labels) = d.string_map(&g, "labels", "namespace")
    {
        let mut ok = true;
        let entries = g.get("labels").and_then(Node::as_map).unwrap_or_default();
        for (key, value) in &labels {
            // Point at the offending key itself.
            let at = entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map_or(node.pos, |(k, _)| k.pos);
            if !is_label_key(key) || !is_label_value(value) {
                ok = false;
                d.error_hint(
                    at,
                    format!(
                        "namespace: `labels`: `{key}: {value}` is not a valid Kubernetes label"
                    ),
                    "keys are `[prefix/]name`, names and values at most 63 of `A-Za-z0-9-_.`",
                );
            }
        }
        if ok {
            s.namespace.labels = labels;
        }
    }
    Some(s)
}

/// `registries: {<host>: {insecure, maxConcurrency, minInterval}}`.
fn decode_registries(d: &mut Decoder<'_>, node: &Node, out: &mut BTreeMap<String, RegistryAccess>) {
    let Some(entries) = node.as_map() else {
        d.wrong_type(node, "`registries`", "a mapping of registry hosts");
        return;
    };
    for (key, value) in entries {
        let Some(host) = d.string_node(key, "registries: a key") else {
            continue;
        };
        if !crate::enrollment::check_registry(d, key, &host, "registries") {
            continue;
        }
        if out.contains_key(&host) {
            d.error(key.pos, format!("registries: `{host}` is given twice"));
            continue;
        }
        let what = format!("registries: `{host}`");
        let mut access = RegistryAccess::default();
        if value.value != Value::Null {
            let Some(g) = d.fields(value, &what, &["insecure", "maxConcurrency", "minInterval"])
            else {
                continue;
            };
            if let Some(v) = d.bool(&g, "insecure", &what) {
                access.insecure = v;
            }
            if let Some(n) = g.get("maxConcurrency") {
                match n.value {
                    Value::Int(v)
                        if (1..=i128::from(RegistryAccess::MAX_CONCURRENCY)).contains(&v) =>
                    {
                        access.max_concurrency = u32::try_from(v).unwrap_or(1);
                    }
                    _ => d.error_hint(
                        n.pos,
                        format!("{what}: `maxConcurrency` must be a whole number from 1 to 64"),
                        "how many requests may go to this registry at once; 4 when not given",
                    ),
                }
            }
            if let Some(v) = d.duration(&g, "minInterval", &what) {
                access.min_interval = v;
            }
        }
        out.insert(host, access);
    }
}

/// Five cron fields as Kubernetes CronJobs take them (robfig/cron's standard parser): each a list
/// of `*`, `N`, `N-M`, with an optional `/step`, or a month or weekday name; or a `@` macro.
fn is_cron(text: &str) -> bool {
    const MACROS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if MACROS.contains(&text) {
        return true;
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    let item = |item: &str| {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let word = |w: &str| {
            !w.is_empty()
                && (w.bytes().all(|b| b.is_ascii_digit())
                    || w.bytes().all(|b| b.is_ascii_alphabetic()) && w.len() == 3)
        };
        let range_ok = range == "*"
            || range == "?"
            || match range.split_once('-') {
                Some((a, b)) => word(a) && word(b),
                None => word(range),
            };
        range_ok && step.is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    };
    fields.len() == 5 && fields.iter().all(|f| f.split(',').all(item))
}

/// `Name <email>`, as git writes authors.
fn is_author(text: &str) -> bool {
    text.strip_suffix('>')
        .and_then(|rest| rest.split_once(" <"))
        .is_some_and(|(name, email)| {
            !name.trim().is_empty() && email.contains('@') && !email.contains(['<', '>', ' '])
        })
}

/// `stateRepo.url`: a transport of [`crate::git::check_remote_url`] (git runs it, the analysis
/// Job sends credentials to it), without a password.
fn check_state_url(d: &mut Decoder<'_>, f: &Fields<'_>, url: &str) -> bool {
    let Err(err) = crate::git::check_remote_url(url) else {
        return true;
    };
    if let Some(n) = f.get("url") {
        let hint = match err {
            crate::git::UrlError::Credentials => {
                "put credentials in the `secrets.gitCredentials` Secret, never in factory.yaml"
            }
            _ => {
                "use `https://host/path.git`, `ssh://[user@]host/path.git` or `user@host:path.git`"
            }
        };
        let url = crate::git::redact_userinfo(url);
        d.error_hint(
            n.pos,
            format!("stateRepo: `url`: `{url}` is refused: {err}"),
            hint,
        );
    }
    false
}

/// `stateRepo.branch`: a branch git accepts ([`crate::git::check_branch`]: it is an argument of
/// `git clone`, `fetch` and `push`) and Kargo accepts ([`crate::kargo::is_branch`]).
fn check_state_branch(d: &mut Decoder<'_>, f: &Fields<'_>, branch: &str) -> bool {
    let why = match crate::git::check_branch(branch) {
        Err(err) => err.to_string(),
        Ok(()) if !crate::kargo::is_branch(branch) => {
            "Kargo's branch pattern refuses it".to_owned()
        }
        Ok(()) => return true,
    };
    if let Some(n) = f.get("branch") {
        d.error_hint(
            n.pos,
            format!("stateRepo: `branch`: `{branch}` is not a valid branch name ({why})"),
            "use letters, digits, `.`, `_`, `/` and `-`, starting with a letter or digit and ending with a letter, digit, `_` or `-` (no `..` or `//`)",
        );
    }
    false
}

/// `stateRepo.path`: a relative path inside the repository (`.` or empty: its root).
fn check_state_path(d: &mut Decoder<'_>, f: &Fields<'_>, path: &str) -> bool {
    // A backslash is a separator on Windows checkouts: refuse it rather than guess.
    let escapes =
        path.starts_with('/') || path.contains('\\') || path.split('/').any(|c| c == "..");
    if escapes && let Some(n) = f.get("path") {
        d.error_hint(
            n.pos,
            format!("stateRepo: `path`: `{path}` is not a relative path inside the repository"),
            "give the factory dir's path from the repository root, e.g. `image-factory` (no leading `/`, no `..`)",
        );
    }
    !escapes
}

/// A Secret name: a DNS-1123 subdomain (we accept labels joined by `.`), at most 253 characters.
fn secret_name(d: &mut Decoder<'_>, f: &Fields<'_>, key: &str, what: &str) -> Option<String> {
    let value = d.string(f, key, what)?;
    let node = f.get(key)?;
    if value.len() <= 253 && value.split('.').all(|p| is_dns1123_label(p, 63)) {
        Some(value)
    } else {
        d.error_hint(
            node.pos,
            format!("{what}: `{key}`: `{value}` is not a valid Secret name"),
            "give the NAME of a Kubernetes Secret (lower-case letters, digits, `-`, `.`), never the secret value",
        );
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registries_take_hosts_with_their_access_settings() {
        let text = "registries:\n  localhost:5000: {insecure: true}\n  ghcr.io:\n    \
                    maxConcurrency: 2\n    minInterval: 3s\n  quay.io:\n";
        let (s, diags) = parse(text, "factory.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let s = s.unwrap();
        let local = &s.registries["localhost:5000"];
        assert!(local.insecure);
        assert_eq!(local.max_concurrency, RegistryAccess::DEFAULT_CONCURRENCY);
        let ghcr = &s.registries["ghcr.io"];
        assert_eq!(
            (ghcr.max_concurrency, ghcr.min_interval.to_kargo()),
            (2, "3s".to_owned())
        );
        assert_eq!(s.registries["quay.io"], RegistryAccess::default());
        let (s, diags) = parse(
            "registries: {ghcr.io: {maxConcurrency: 65}}\n",
            "factory.yaml",
        );
        assert!(s.is_none());
        assert!(diags[0].message.contains("from 1 to 64"), "{diags:?}");
    }

    #[test]
    fn namespace_labels_and_author() {
        let text = "namespace:\n  labels:\n    team: platform\n    example.com/tier: \"1\"\n\
                    stateRepo:\n  author: Image Factory <factory@example.com>\n";
        let (s, diags) = parse(text, "factory.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let s = s.unwrap();
        assert_eq!(s.namespace.labels["team"], "platform");
        assert_eq!(s.namespace.labels["example.com/tier"], "1");
        assert_eq!(
            s.state_repo.author.as_deref(),
            Some("Image Factory <factory@example.com>")
        );
    }

    #[test]
    fn label_syntax() {
        assert!(is_label_key("app.kubernetes.io/name"));
        assert!(!is_label_key("cost center"));
        assert!(!is_label_key("/x"));
        assert!(is_label_value(""));
        assert!(!is_label_value(&"a".repeat(64)));
        assert!(!is_author("image-factory"));
        assert!(is_author("a <a@b>"));
    }

    #[test]
    fn state_repo_refuses_injection_escapes_and_unsafe_transports() {
        let text = "stateRepo:\n  url: ext::sh -c touch% /tmp/x\n  branch: \"--upload-pack=touch /tmp/x;git-upload-pack\"\n  path: ../../etc\n";
        let (s, diags) = parse(text, "factory.yaml");
        assert!(s.is_none());
        let at: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(at, [(2, 8), (3, 11), (4, 9)], "{diags:?}");
        assert!(diags[0].message.contains("`ext::` transport"), "{diags:?}");
        assert!(diags[1].message.contains("starts with `-`"), "{diags:?}");
        assert!(
            diags[2].message.contains("inside the repository"),
            "{diags:?}"
        );
        for (url, ok) in [
            ("https://github.com/acme/p.git", true),
            ("git@github.com:acme/p.git", true),
            ("file:///srv/p.git", false),
            ("http://example.com/p.git", false),
            ("/srv/p.git", false),
        ] {
            let (s, diags) = parse(&format!("stateRepo: {{url: '{url}'}}\n"), "factory.yaml");
            assert_eq!(s.is_some(), ok, "{url}: {diags:?}");
        }
        // The password never shows, even in the diagnostic refusing it.
        let (_, diags) = parse(
            "stateRepo: {url: 'https://u:hunter2@h/p.git'}\n",
            "factory.yaml",
        );
        assert_eq!(diags.len(), 1);
        assert!(!format!("{diags:?}").contains("hunter2"), "{diags:?}");
        for (path, ok) in [
            ("img", true),
            (".", true),
            ("a/b", true),
            ("/abs", false),
            ("a/../..", false),
        ] {
            let (s, _) = parse(&format!("stateRepo: {{path: '{path}'}}\n"), "factory.yaml");
            assert_eq!(s.is_some(), ok, "{path}");
        }
    }

    #[test]
    fn empty_is_default() {
        let (s, diags) = parse("", "factory.yaml");
        assert_eq!(s.unwrap(), Settings::default());
        assert!(diags.is_empty());
    }

    #[test]
    fn reads_everything() {
        let text = "project: factory\nstateRepo: {url: 'https://example.com/p.git', branch: prod, path: img}\n\
                    monitoring: {baseInterval: 12h, managedInterval: 10m, stagger: false}\n\
                    defaults: {registry: registry.example.com:5000, rebuildDelay: 0, priority: high}\n\
                    coordination: {window: 1h}\n";
        let (s, diags) = parse(text, "factory.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let s = s.unwrap();
        assert_eq!(s.project, "factory");
        assert_eq!(s.monitoring.base_interval.to_kargo(), "12h");
        assert!(!s.monitoring.stagger);
        assert_eq!(s.defaults.rebuild_delay, Duration::ZERO);
        assert_eq!(s.defaults.priority, Priority::High);
        assert_eq!(s.state_repo.branch, "prod");
        assert_eq!(s.monitoring.bases, BaseWatcher::Kargo);
    }

    #[test]
    fn base_watcher() {
        let (s, diags) = parse("monitoring: {bases: analyzer}", "factory.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(s.unwrap().monitoring.bases, BaseWatcher::Analyzer);
        let (s, diags) = parse("monitoring: {bases: registry}", "factory.yaml");
        assert!(s.is_none());
        assert_eq!(diags.len(), 1, "{diags:?}");
    }

    #[test]
    fn coordination_and_trigger() {
        let text = "coordination: {window: 1h, cascadeDelay: 2h, buildTimeout: 3h}\n\
                    trigger: {schedule: \"0 */2 * * MON-FRI\", maxPerRun: 5}\n";
        let (s, diags) = parse(text, "factory.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let s = s.unwrap();
        assert_eq!(
            (
                s.coordination.window.to_kargo(),
                s.coordination.cascade_delay.to_kargo(),
                s.coordination.build_timeout.to_kargo()
            ),
            ("1h".to_owned(), "2h".to_owned(), "3h".to_owned())
        );
        assert_eq!(s.trigger.schedule, "0 */2 * * MON-FRI");
        assert_eq!(s.trigger.max_per_run, 5);
        let defaults = Settings::default();
        assert_eq!(defaults.coordination.build_timeout.to_kargo(), "6h");
        assert!(defaults.coordination.cascade_delay.is_zero());
        for bad in [
            "coordination: {buildTimeout: 0}",
            "trigger: {schedule: '*/15 * * *'}",
            "trigger: {schedule: 'every 15 minutes'}",
            "trigger: {maxPerRun: 0}",
        ] {
            let (s, diags) = parse(bad, "factory.yaml");
            assert!(s.is_none(), "{bad}");
            assert_eq!(diags.len(), 1, "{bad}: {diags:?}");
            assert!(diags[0].hint.is_some(), "{bad}: {diags:?}");
        }
        assert!(is_cron("@hourly") && is_cron("5,35 1-3/1 * JAN *") && !is_cron("* * * * * *"));
    }

    #[test]
    fn ci_api_urls() {
        let (s, diags) = parse(
            "ci: {githubApi: 'https://ghe.example.com/api/v3/', gitlabApi: 'http://127.0.0.1:8080/api/v4'}",
            "factory.yaml",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let s = s.unwrap();
        assert_eq!(s.ci.github_api, "https://ghe.example.com/api/v3");
        assert_eq!(s.ci.gitlab_api, "http://127.0.0.1:8080/api/v4");
        for bad in [
            "http://ghe.example.com/api/v3",
            "https://user:pw@ghe.example.com",
            "https://ghe.example.com/api?x=1",
            "ftp://x",
        ] {
            let (s, diags) = parse(&format!("ci: {{githubApi: '{bad}'}}"), "factory.yaml");
            assert!(s.is_none() && diags.len() == 1, "{bad}: {diags:?}");
        }
    }

    #[test]
    fn reports_all_problems() {
        let text = "projects: x\nmonitoring:\n  baseInterval: 7\n  stagger: yes\n";
        let (s, diags) = parse(text, "factory.yaml");
        assert!(s.is_none());
        assert_eq!(diags.len(), 3, "{diags:?}");
        assert_eq!(diags[0].hint.as_deref(), Some("did you mean `project`?"));
    }
}
