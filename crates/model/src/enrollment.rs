//! `images.yaml`: the enrolment list (SPEC §6.1). A YAML list of entries; an entry with `source` is
//! a **managed** image (built by us), one without is an **external** image (tracked, never built).
//!
//! The typed entries ([`ImageEntry`]) keep what the file says (`None` for keys not written); the
//! effective configuration with the defaults of `factory.yaml` applied is [`EffectiveImage`], from
//! [`Enrollment::resolve`].
//!
//! ```
//! let text = "- name: web\n  repository: acme/web\n  source:\n    repo: acme/web\n    dockerfile: app/Dockerfile\n";
//! let (enrollment, diagnostics) = image_factory_model::enrollment::parse(text, "images.yaml");
//! assert!(diagnostics.is_empty());
//! let images = enrollment.map(|e| e.resolve(&Default::default())).unwrap_or_default();
//! let source = images[0].source.as_ref().map(|s| (s.context.as_str(), s.workflow.as_str()));
//! assert_eq!(source, Some(("app", "web.yml")));
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::config::{Decoder, Fields, dns_label_suggestion};
use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::names::is_dns1123_label;
use crate::reference::ImageRef;
use crate::settings::Settings;
use crate::yaml::{self, Node, Pos, Value};

/// Maximum length of an image name (leaves room in the 63-character Kubernetes names built from it).
pub const NAME_MAX: usize = 40;

/// The whole `images.yaml`: a list of entries, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
#[schemars(title = "image-factory images.yaml")]
pub struct Enrollment {
    /// The enrolled images.
    pub images: Vec<ImageEntry>,
}

/// One entry of `images.yaml`, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageEntry {
    /// Unique name: a DNS-1123 label of at most 40 characters.
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Registry host of the image (managed: default `defaults.registry` of factory.yaml, `ghcr.io`;
    /// external: required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Repository path of the image in the registry (`acme/web`).
    pub repository: String,
    /// External images only: the tag to track (default `latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Where and how the image is built; absent for external images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// How long a new base digest must be known before a rebuild (default `defaults.rebuildDelay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuild_delay: Option<Duration>,
    /// Trigger rebuilds without a human (default `defaults.autoRebuild`, `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rebuild: Option<bool>,
    /// Orders rebuilds (default `defaults.priority`, `normal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Files in other repositories to update when this image is rebuilt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<UpdateTarget>,
    /// How the built image is watched (default SemVer `>=0.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_policy: Option<TagPolicy>,
}

/// `source`: where a managed image is built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Source {
    /// Git hosting (default `github`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// `owner/name` on GitHub, `group/.../name` on GitLab.
    pub repo: String,
    /// Branch to build and watch (default `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Path of the Dockerfile in the repository (default `Dockerfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Build context directory (default: the Dockerfile's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// GitHub Actions workflow file to dispatch (default `<name>.yml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Extra `workflow_dispatch` inputs / GitLab pipeline variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    /// Build args used when resolving `ARG`s in `FROM` lines.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// Platform used when resolving `FROM` lines (default `linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// Git hosting of a source repository.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// github.com: rebuilds dispatch a GitHub Actions workflow.
    #[default]
    Github,
    /// GitLab: rebuilds trigger a pipeline.
    Gitlab,
}

impl Provider {
    /// Accepted spellings.
    pub const CHOICES: &'static [(&'static str, Provider)] =
        &[("github", Provider::Github), ("gitlab", Provider::Gitlab)];
}

/// Rebuild priority; `Critical` sorts first.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Before everything else.
    Critical,
    /// Before normal.
    High,
    /// The default.
    #[default]
    Normal,
    /// Last.
    Low,
}

impl Priority {
    /// Accepted spellings.
    pub const CHOICES: &'static [(&'static str, Priority)] = &[
        ("critical", Priority::Critical),
        ("high", Priority::High),
        ("normal", Priority::Normal),
        ("low", Priority::Low),
    ];
}

/// `updates[]`: a file in another repository that refers to this image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTarget {
    /// Repository holding the file (`owner/name`).
    pub repo: String,
    /// Path of the file in that repository.
    pub path: String,
    /// How the file is updated.
    #[serde(rename = "type")]
    pub kind: UpdateKind,
    /// `yaml-update`: the YAML path of the field to set (required there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Branch to push to (default: the repository's `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// How an `updates` file is edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateKind {
    /// `kustomize edit set image` on a kustomization.yaml.
    KustomizeSetImage,
    /// Set one field of a YAML file (`key`).
    YamlUpdate,
}

impl UpdateKind {
    /// Accepted spellings.
    pub const CHOICES: &'static [(&'static str, UpdateKind)] = &[
        ("kustomize-set-image", UpdateKind::KustomizeSetImage),
        ("yaml-update", UpdateKind::YamlUpdate),
    ];
}

/// `tagPolicy`: how Kargo selects new versions of the built image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagPolicy {
    /// Selection strategy (default `SemVer`).
    #[serde(default)]
    pub strategy: TagStrategy,
    /// SemVer: a version range (default `>=0.0.0`); Digest: the tag to watch (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
}

impl Default for TagPolicy {
    fn default() -> Self {
        Self {
            strategy: TagStrategy::SemVer,
            constraint: None,
        }
    }
}

impl TagPolicy {
    /// The constraint, with the SemVer default `>=0.0.0` filled in (Digest without one: `latest`).
    pub fn effective_constraint(&self) -> &str {
        match (&self.constraint, self.strategy) {
            (Some(c), _) => c,
            (None, TagStrategy::SemVer) => ">=0.0.0",
            (None, TagStrategy::Digest) => "latest",
        }
    }
}

/// Kargo image selection strategy for the built image.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum TagStrategy {
    /// Newest semantic version within `constraint`.
    #[default]
    SemVer,
    /// Newest digest of the tag `constraint`.
    Digest,
}

impl TagStrategy {
    /// Accepted spellings.
    pub const CHOICES: &'static [(&'static str, TagStrategy)] = &[
        ("SemVer", TagStrategy::SemVer),
        ("Digest", TagStrategy::Digest),
    ];
}

/// Whether an entry is built by us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// Built from `source`.
    Managed,
    /// Tracked but not built.
    External,
}

/// An entry with every default applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveImage {
    /// Name.
    pub name: String,
    /// Managed or external.
    pub kind: ImageKind,
    /// Registry host.
    pub registry: String,
    /// Repository path.
    pub repository: String,
    /// External images: the tracked tag, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Managed images: the effective source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EffectiveSource>,
    /// Rebuild delay.
    pub rebuild_delay: Duration,
    /// Trigger rebuilds without a human.
    pub auto_rebuild: bool,
    /// Rebuild priority.
    pub priority: Priority,
    /// Files to update after a rebuild.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<UpdateTarget>,
    /// How the built image is watched.
    pub tag_policy: TagPolicy,
}

impl EffectiveImage {
    /// Whether the image is built by us.
    pub fn is_managed(&self) -> bool {
        self.kind == ImageKind::Managed
    }

    /// The image reference `registry/repository[:tag]`, when it is valid (always after validation).
    pub fn image_ref(&self) -> Option<ImageRef> {
        let mut text = format!("{}/{}", self.registry, self.repository);
        if let Some(tag) = &self.tag {
            text.push(':');
            text.push_str(tag);
        }
        ImageRef::parse_normalized(&text).ok()
    }
}

/// A source with every default applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveSource {
    /// Git hosting.
    pub provider: Provider,
    /// Repository (`owner/name`, GitLab `group/.../name`).
    pub repo: String,
    /// Branch.
    pub branch: String,
    /// Dockerfile path.
    pub dockerfile: String,
    /// Build context directory (`.` for the repository root).
    pub context: String,
    /// Workflow file to dispatch.
    pub workflow: String,
    /// Extra dispatch inputs.
    pub inputs: BTreeMap<String, String>,
    /// Build args for `FROM` resolution.
    pub build_args: BTreeMap<String, String>,
    /// Platform for `FROM` resolution.
    pub platform: String,
}

impl EffectiveSource {
    /// HTTPS clone URL of the source repository (`https://github.com/<repo>.git`,
    /// `https://gitlab.com/<repo>.git`).
    pub fn repo_url(&self) -> String {
        let host = match self.provider {
            Provider::Github => "github.com",
            Provider::Gitlab => "gitlab.com",
        };
        format!("https://{host}/{}.git", self.repo)
    }

    /// Paths whose changes mean the image must be rebuilt (git watch paths): the Dockerfile's
    /// directory and the build context, sorted, without duplicates (`.` is the whole repository).
    pub fn watch_paths(&self) -> Vec<String> {
        let norm = |p: &str| {
            let p = p.trim_start_matches("./").trim_end_matches('/');
            if p.is_empty() {
                ".".to_owned()
            } else {
                p.to_owned()
            }
        };
        let mut paths = vec![norm(&dir_of(&self.dockerfile)), norm(&self.context)];
        paths.sort();
        paths.dedup();
        paths
    }
}

/// The directory of a path in a repository (`a/b/Dockerfile` → `a/b`, `Dockerfile` → `.`).
pub fn dir_of(path: &str) -> String {
    let trimmed = path.trim_start_matches("./");
    match trimmed.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir.to_owned(),
        _ => ".".to_owned(),
    }
}

impl Source {
    /// The source with defaults applied; `name` is the image name (for the default workflow).
    pub fn resolve(&self, name: &str) -> EffectiveSource {
        let dockerfile = self
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".to_owned());
        EffectiveSource {
            provider: self.provider.unwrap_or_default(),
            repo: self.repo.clone(),
            branch: self.branch.clone().unwrap_or_else(|| "main".to_owned()),
            context: self.context.clone().unwrap_or_else(|| dir_of(&dockerfile)),
            dockerfile,
            workflow: self
                .workflow
                .clone()
                .unwrap_or_else(|| format!("{name}.yml")),
            inputs: self.inputs.clone(),
            build_args: self.build_args.clone(),
            platform: self
                .platform
                .clone()
                .unwrap_or_else(|| "linux/amd64".to_owned()),
        }
    }
}

impl ImageEntry {
    /// Managed (has `source`) or external.
    pub fn kind(&self) -> ImageKind {
        if self.source.is_some() {
            ImageKind::Managed
        } else {
            ImageKind::External
        }
    }

    /// The entry with the defaults of `settings` applied.
    pub fn resolve(&self, settings: &Settings) -> EffectiveImage {
        let defaults = &settings.defaults;
        EffectiveImage {
            name: self.name.clone(),
            kind: self.kind(),
            registry: self
                .registry
                .clone()
                .unwrap_or_else(|| defaults.registry.clone()),
            repository: self.repository.clone(),
            tag: self.tag.clone(),
            source: self.source.as_ref().map(|s| s.resolve(&self.name)),
            rebuild_delay: self.rebuild_delay.unwrap_or(defaults.rebuild_delay),
            auto_rebuild: self.auto_rebuild.unwrap_or(defaults.auto_rebuild),
            priority: self.priority.unwrap_or(defaults.priority),
            updates: self.updates.clone(),
            tag_policy: self.tag_policy.clone().unwrap_or_default(),
        }
    }
}

impl Enrollment {
    /// Every entry with the defaults of `settings` applied, in file order.
    pub fn resolve(&self, settings: &Settings) -> Vec<EffectiveImage> {
        self.images.iter().map(|e| e.resolve(settings)).collect()
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&ImageEntry> {
        self.images.iter().find(|e| e.name == name)
    }
}

/// Where each entry of an `images.yaml` text starts, by name (entries without a string `name` are
/// left out; the first of duplicate names wins). For tools that report later problems of an image
/// (a missing Dockerfile, a failed analysis) against the enrolment. Empty when the text is not YAML.
pub fn entry_positions(text: &str) -> BTreeMap<String, Pos> {
    let mut out = BTreeMap::new();
    let Ok(root) = yaml::parse(text) else {
        return out;
    };
    for item in root.as_seq().unwrap_or_default() {
        let name = item
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("name")))
            .and_then(|(_, v)| v.as_str());
        if let Some(name) = name {
            out.entry(name.to_owned()).or_insert(item.pos);
        }
    }
    out
}

/// Parses and checks `images.yaml` with default settings. See [`parse_with`].
pub fn parse(text: &str, file: &str) -> (Option<Enrollment>, Vec<Diagnostic>) {
    parse_with(text, file, &Settings::default())
}

/// Parses and checks `images.yaml`, using `settings` for defaults (e.g. the registry of entries
/// that name none). Returns the enrolment when there is no error (warnings allowed) and every
/// diagnostic found, in file order. `file` is the name used in diagnostics.
pub fn parse_with(
    text: &str,
    file: &str,
    settings: &Settings,
) -> (Option<Enrollment>, Vec<Diagnostic>) {
    let mut d = Decoder::new(file, text);
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(err) => {
            d.error(err.pos, format!("invalid YAML: {}", err.message));
            return (None, d.diagnostics);
        }
    };
    let enrollment = decode(&mut d, &root, settings);
    crate::diagnostic::sort(&mut d.diagnostics);
    let ok = !d.has_errors();
    (enrollment.filter(|_| ok), d.diagnostics)
}

const ENTRY_KEYS: &[&str] = &[
    "name",
    "registry",
    "repository",
    "tag",
    "source",
    "rebuildDelay",
    "autoRebuild",
    "priority",
    "updates",
    "tagPolicy",
    "allowTags",
    "imageSelectionStrategy",
    "repoURL",
    "local",
];

const SOURCE_KEYS: &[&str] = &[
    "provider",
    "repo",
    "branch",
    "dockerfile",
    "context",
    "workflow",
    "inputs",
    "buildArgs",
    "platform",
];

fn decode(d: &mut Decoder<'_>, root: &Node, settings: &Settings) -> Option<Enrollment> {
    let items = match &root.value {
        Value::Null => {
            d.warning_hint(
                Pos::new(0, 0),
                "no images enrolled: the file is empty",
                "add entries such as `- name: web` with `repository` and `source`",
            );
            return Some(Enrollment::default());
        }
        Value::Seq(items) => items,
        Value::Map(entries) => {
            let images_key = entries.iter().any(|(k, _)| k.as_str() == Some("images"));
            let hint = if images_key {
                "images.yaml is a YAML list: remove the `images:` key and start each entry with `- name:`"
            } else {
                "images.yaml is a YAML list: start each entry with `- name:`"
            };
            d.error_hint(
                root.pos,
                "images.yaml must be a list of images, found a mapping",
                hint,
            );
            return None;
        }
        _ => {
            d.wrong_type(root, "images.yaml", "a list of images");
            return None;
        }
    };
    let mut images = Vec::new();
    let mut all_ok = true;
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut targets: HashMap<String, (String, usize)> = HashMap::new();
    for item in items {
        let name = item
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("name")))
            .and_then(|(_, v)| v.as_str());
        let Some(name) = name else { continue };
        if let Some(first) = names.get(name) {
            d.error_hint(
                item.pos,
                format!("duplicate image name `{name}`"),
                format!("`{name}` is already enrolled on line {first}; names must be unique"),
            );
            all_ok = false;
        } else {
            names.insert(name.to_owned(), item.pos.line);
        }
    }
    for (index, item) in items.iter().enumerate() {
        let Some(entry) = decode_entry(d, item, index, settings) else {
            all_ok = false;
            continue;
        };
        let registry = entry
            .registry
            .clone()
            .unwrap_or_else(|| settings.defaults.registry.clone());
        let target = format!("{registry}/{}", entry.repository);
        match targets.get(&target) {
            Some((other, line)) if *other != entry.name => {
                d.error_hint(
                    item.pos,
                    format!(
                        "image `{}` has the same registry and repository (`{target}`) as `{other}`",
                        entry.name
                    ),
                    format!("`{other}` (line {line}) already tracks this repository; enrol each image once"),
                );
                all_ok = false;
            }
            Some(_) => {}
            None => {
                targets.insert(target, (entry.name.clone(), item.pos.line));
            }
        }
        images.push(entry);
    }
    all_ok.then_some(Enrollment { images })
}

fn decode_entry(
    d: &mut Decoder<'_>,
    node: &Node,
    index: usize,
    settings: &Settings,
) -> Option<ImageEntry> {
    let errors_before = d.diagnostics.iter().filter(|x| x.is_error()).count();
    let label = match node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("name")))
        .and_then(|(_, v)| v.as_str())
    {
        Some(name) => format!("image `{name}`"),
        None => format!("image #{}", index + 1),
    };
    let f = d.fields(node, &label, ENTRY_KEYS)?;
    let what = label.as_str();

    // name
    let name = match d.require(&f, "name", what) {
        Some(n) => d.string_node(n, &format!("{what}: `name`")).and_then(|name| {
            if is_dns1123_label(&name, NAME_MAX) {
                Some(name)
            } else {
                let suggestion = dns_label_suggestion(&name, NAME_MAX);
                let hint = if suggestion.is_empty() {
                    "use lower-case letters, digits and `-`, starting and ending with a letter or digit".to_owned()
                } else {
                    format!("use lower-case letters, digits and `-`, e.g. `{suggestion}`")
                };
                d.error_hint(
                    n.pos,
                    format!("image name `{name}` is not a DNS-1123 label of at most {NAME_MAX} characters"),
                    hint,
                );
                None
            }
        }),
        None => None,
    };

    let source_node = f.get("source");
    let managed = source_node.is_some();

    // legacy keys
    let mut registry = d.string(&f, "registry", what);
    let mut repository = d.string(&f, "repository", what);
    let mut legacy_strategy = None;
    if let Some(k) = f.key("allowTags") {
        d.warning_hint(
            k.pos,
            format!("{what}: legacy key `allowTags` is ignored"),
            "the built image is watched by `tagPolicy`, base image tags come from the Dockerfile; remove this key",
        );
    }
    if let Some(k) = f.key("imageSelectionStrategy") {
        let value = f.get("imageSelectionStrategy").and_then(Node::as_str);
        let strategy = value.and_then(|v| {
            TagStrategy::CHOICES
                .iter()
                .find(|(n, _)| *n == v)
                .map(|(_, s)| *s)
        });
        match strategy {
            Some(s) if !f.has("tagPolicy") => {
                legacy_strategy = Some(s);
                d.warning_hint(
                    k.pos,
                    format!("{what}: legacy key `imageSelectionStrategy` is mapped to `tagPolicy.strategy`"),
                    format!("write `tagPolicy: {{strategy: {}}}` instead", value.unwrap_or_default()),
                );
            }
            _ => d.warning_hint(
                k.pos,
                format!("{what}: legacy key `imageSelectionStrategy` is ignored"),
                "the built image is watched by `tagPolicy` (`SemVer` or `Digest`); remove this key",
            ),
        }
    }
    if let Some(k) = f.key("repoURL") {
        let value = f.get("repoURL").and_then(Node::as_str);
        match value.and_then(|v| v.split_once('/')) {
            Some((reg, repo)) if registry.is_none() && repository.is_none() => {
                registry = Some(reg.to_owned());
                repository = Some(repo.to_owned());
                d.warning_hint(
                    k.pos,
                    format!(
                        "{what}: legacy key `repoURL` is mapped to `registry` and `repository`"
                    ),
                    format!("write `registry: {reg}` and `repository: {repo}` instead"),
                );
            }
            _ => d.warning_hint(
                k.pos,
                format!("{what}: legacy key `repoURL` is ignored"),
                "`registry` and `repository` name the image; remove this key",
            ),
        }
    }
    if let Some(k) = f.key("local") {
        d.warning_hint(
            k.pos,
            format!("{what}: legacy key `local` is ignored"),
            "every image is described by `registry`, `repository` and `source`; remove this key",
        );
    }

    // registry / repository / tag
    let registry_ok = match (&registry, f.get("registry").or(f.get("repoURL"))) {
        (Some(r), Some(n)) => check_registry(d, n, r, &format!("{what}: `registry`")),
        _ => true,
    };
    if !managed && registry.is_none() {
        d.error_hint(
            f.key("registry").map_or(f.pos, |k| k.pos),
            format!("{what}: external image (no `source`) needs `registry`"),
            "name the registry host, e.g. `registry: docker.io`; or add `source` to build the image",
        );
    }
    let repo_node = f.get("repository");
    if repository.is_none() && f.get("repository").is_none() {
        let message = if managed {
            format!("{what}: managed image needs `repository` (where the built image is pushed)")
        } else {
            format!("{what}: external image (no `source`) needs `repository`")
        };
        d.error_hint(
            f.key("repository").map_or(f.pos, |k| k.pos),
            message,
            "e.g. `repository: acme/web`",
        );
    }
    let tag = d.string(&f, "tag", what);
    if let (true, Some(t)) = (managed, f.get("tag")) {
        d.error_hint(
            t.pos,
            format!("{what}: `tag` is only for external images"),
            "the versions of a managed image are selected by `tagPolicy`",
        );
    }
    if let (Some(repo), true) = (&repository, registry_ok) {
        let reg = registry
            .clone()
            .unwrap_or_else(|| settings.defaults.registry.clone());
        let pos = repo_node.map_or(f.pos, |n| n.pos);
        check_reference(d, pos, &reg, repo, tag.as_deref(), f.get("tag"), what);
    }

    // source
    let source = source_node.and_then(|n| decode_source(d, n, what));

    let rebuild_delay = d.duration(&f, "rebuildDelay", what);
    let auto_rebuild = d.bool(&f, "autoRebuild", what);
    let priority = d.choice(&f, "priority", what, Priority::CHOICES);
    let updates = match f.get("updates") {
        Some(n) => decode_updates(d, n, what),
        None => Vec::new(),
    };
    let tag_policy = match f.get("tagPolicy") {
        Some(n) => decode_tag_policy(d, n, what),
        None => legacy_strategy.map(|strategy| TagPolicy {
            strategy,
            constraint: None,
        }),
    };
    if !managed {
        for key in [
            "rebuildDelay",
            "autoRebuild",
            "priority",
            "updates",
            "tagPolicy",
        ] {
            if let Some(k) = f.key(key) {
                d.warning_hint(
                    k.pos,
                    format!(
                        "{what}: `{key}` is ignored for external images (they are never built)"
                    ),
                    "remove the key, or add `source` to build the image",
                );
            }
        }
    }
    let errors_after = d.diagnostics.iter().filter(|x| x.is_error()).count();
    if errors_after > errors_before {
        return None;
    }
    Some(ImageEntry {
        name: name?,
        registry,
        repository: repository?,
        tag,
        source,
        rebuild_delay,
        auto_rebuild,
        priority,
        updates,
        tag_policy,
    })
}

/// Checks a registry host; reports and returns false when it is not one.
pub(crate) fn check_registry(d: &mut Decoder<'_>, node: &Node, registry: &str, what: &str) -> bool {
    if registry.contains('/') {
        let (host, path) = registry.split_once('/').unwrap_or((registry, ""));
        d.error_hint(
            node.pos,
            format!("{what}: `{registry}` is not a registry host"),
            format!("write `registry: {host}` and put `{path}/...` in `repository`"),
        );
        return false;
    }
    let is_host = registry.contains('.') || registry.contains(':') || registry == "localhost";
    // distribution/reference keeps a host-like first component that is not a domain (`my_reg.io`)
    // as part of the path, with no domain at all: the registry must come back as the domain.
    let parses = ImageRef::parse_normalized(&format!("{registry}/x"))
        .is_ok_and(|r| r.domain() == registry || registry == "index.docker.io");
    if parses && is_host && registry.to_lowercase() == registry {
        return true;
    }
    d.error_hint(
        node.pos,
        format!("{what}: `{registry}` is not a registry host"),
        "a registry host is lower-case and contains a `.` or a `:` (`ghcr.io`, `registry.example.com:5000`) or is `localhost`; Docker Hub is `docker.io`",
    );
    false
}

fn check_reference(
    d: &mut Decoder<'_>,
    pos: Pos,
    registry: &str,
    repository: &str,
    tag: Option<&str>,
    tag_node: Option<&Node>,
    what: &str,
) {
    if let Some(i) = repository.find(['@', ':']) {
        let hint = if repository[i..].starts_with('@') {
            "a digest cannot be enrolled; remove it"
        } else {
            "give the tag of an external image in `tag`; managed images use `tagPolicy`"
        };
        d.error_hint(
            pos,
            format!("{what}: `repository` must not contain a tag or digest (`{repository}`)"),
            hint,
        );
        return;
    }
    let name = format!("{registry}/{repository}");
    let parsed = ImageRef::parse_normalized(&name);
    if let Ok(r) = &parsed
        && !crate::kargo::is_image_repo(&r.name())
    {
        d.error_hint(
            pos,
            format!("{what}: `{name}` is not an image name Kargo can subscribe to"),
            "Kargo's repoURL pattern allows components of letters, digits and `_` joined by single `.` or `-` (no `--`), and no IPv6 registry address",
        );
        return;
    }
    if let Err(err) = parsed {
        let hint = if repository.to_lowercase() != repository {
            format!(
                "repository paths are lower case: `{}`",
                repository.to_lowercase()
            )
        } else if repository.starts_with('/')
            || repository.ends_with('/')
            || repository.contains("//")
        {
            "remove the leading, trailing or doubled `/`".to_owned()
        } else {
            "a repository path is lower-case components (`a-z`, `0-9`, `.`, `_`, `-`) separated by `/`".to_owned()
        };
        d.error_hint(
            pos,
            format!("{what}: `{name}` is not a valid image name: {err}"),
            hint,
        );
        return;
    }
    if let (Some(tag), Some(node)) = (tag, tag_node)
        && let Err(err) = ImageRef::parse_normalized(&format!("{name}:{tag}"))
    {
        d.error_hint(
            node.pos,
            format!("{what}: `{tag}` is not a valid tag: {err}"),
            "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
        );
    }
}

fn decode_source(d: &mut Decoder<'_>, node: &Node, what: &str) -> Option<Source> {
    let swhat = format!("{what}: source");
    let f = d.fields(node, &swhat, SOURCE_KEYS)?;
    let provider = d.choice(&f, "provider", &swhat, Provider::CHOICES);
    let provider_ok = f.get("provider").is_none() || provider.is_some();
    let repo = match f.get("repo") {
        Some(n) => d
            .string_node(n, &format!("{swhat}: `repo`"))
            .filter(|repo| {
                check_repo_path(
                    d,
                    n,
                    repo,
                    provider.unwrap_or_default(),
                    provider_ok,
                    &swhat,
                )
            }),
        None => {
            d.error_hint(
                f.key("repo").map_or(f.pos, |k| k.pos),
                format!("{swhat}: missing `repo`"),
                "name the source repository, e.g. `repo: acme/web` (GitLab: `group/sub/name`)",
            );
            None
        }
    };
    let branch = safe_string(d, &f, "branch", &swhat).filter(|b| check_branch(d, &f, b, &swhat));
    let dockerfile = repo_relative(d, &f, "dockerfile", &swhat);
    let context = repo_relative(d, &f, "context", &swhat);
    let workflow = safe_string(d, &f, "workflow", &swhat).filter(|w| {
        let file_ok =
            (w.ends_with(".yml") || w.ends_with(".yaml")) && !w.contains('/') && w.len() > 4;
        let id_ok = !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
        if !(file_ok || id_ok)
            && let Some(n) = f.get("workflow")
        {
            d.error_hint(
                n.pos,
                format!("{swhat}: `workflow`: `{w}` is not a workflow file name"),
                "give the file name in `.github/workflows/`, e.g. `web.yml`",
            );
        }
        file_ok || id_ok
    });
    let inputs = checked_map(d, &f, "inputs", &swhat);
    let build_args = checked_map(d, &f, "buildArgs", &swhat);
    let platform = safe_string(d, &f, "platform", &swhat).filter(|p| {
        let parts: Vec<&str> = p.split('/').collect();
        let ok = (2..=3).contains(&parts.len())
            && parts.iter().all(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
        if !ok && let Some(n) = f.get("platform") {
            d.error_hint(
                n.pos,
                format!("{swhat}: `platform`: `{p}` is not a platform"),
                "write `os/arch[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`",
            );
        }
        ok
    });
    Some(Source {
        provider,
        repo: repo?,
        branch,
        dockerfile,
        context,
        workflow,
        inputs: inputs.unwrap_or_default(),
        build_args: build_args.unwrap_or_default(),
        platform,
    })
}

fn check_repo_path(
    d: &mut Decoder<'_>,
    node: &Node,
    repo: &str,
    provider: Provider,
    provider_ok: bool,
    what: &str,
) -> bool {
    if !d.check_safe_text(node, repo, &format!("{what}: `repo`")) {
        return false;
    }
    if repo.contains("://") || repo.starts_with("git@") {
        let path = repo
            .split_once("://")
            .map_or(repo, |(_, rest)| rest)
            .trim_start_matches("git@");
        let path = path.split_once(['/', ':']).map_or(path, |(_, p)| p);
        let path = path.trim_end_matches(".git");
        d.error_hint(
            node.pos,
            format!("{what}: `repo` must be a repository path, not a URL (`{repo}`)"),
            format!("write `repo: {path}`"),
        );
        return false;
    }
    let parts: Vec<&str> = repo.split('/').collect();
    let valid_parts = parts.iter().all(|p| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if !valid_parts {
        d.error_hint(
            node.pos,
            format!("{what}: `repo`: `{repo}` is not a repository path"),
            "components are letters, digits, `-`, `_` and `.`, separated by `/`",
        );
        return false;
    }
    match (provider_ok, provider) {
        (false, _) => true,
        (true, Provider::Github) if parts.len() != 2 => {
            d.error_hint(
                node.pos,
                format!("{what}: `repo`: `{repo}` is not a GitHub repository (`owner/name`)"),
                if parts.len() > 2 {
                    "GitHub repositories have exactly two components; for a GitLab project set `provider: gitlab`"
                } else {
                    "write `owner/name`, e.g. `acme/web`"
                },
            );
            false
        }
        (true, Provider::Gitlab) if parts.len() < 2 => {
            d.error_hint(
                node.pos,
                format!("{what}: `repo`: `{repo}` is not a GitLab project path"),
                "GitLab projects are `group/.../name` (at least two components), e.g. `platform/images/web`",
            );
            false
        }
        _ => true,
    }
}

fn safe_string(d: &mut Decoder<'_>, f: &Fields<'_>, key: &str, what: &str) -> Option<String> {
    let value = d.string(f, key, what)?;
    let node = f.get(key)?;
    d.check_safe_text(node, &value, &format!("{what}: `{key}`"))
        .then_some(value)
}

/// A path inside the source repository: relative, no `..` components.
fn repo_relative(d: &mut Decoder<'_>, f: &Fields<'_>, key: &str, what: &str) -> Option<String> {
    let value = safe_string(d, f, key, what)?;
    let node = f.get(key)?;
    let escapes = value.split('/').any(|c| c == "..");
    if value.is_empty() || value.starts_with('/') || escapes || value.contains('\\') {
        d.error_hint(
            node.pos,
            format!("{what}: `{key}`: `{value}` is not a path inside the repository"),
            "give a relative path with `/` separators and no `..`, e.g. `apps/web/Dockerfile`",
        );
        return None;
    }
    Some(value)
}

fn checked_map(
    d: &mut Decoder<'_>,
    f: &Fields<'_>,
    key: &str,
    what: &str,
) -> Option<BTreeMap<String, String>> {
    let map = d.string_map(f, key, what)?;
    let node = f.get(key)?;
    let mut ok = true;
    // Point at the offending key or value, not at the start of the mapping.
    let entry = |name: &str| {
        node.as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(name)))
            .map_or((node, node), |(k, v)| (k, v))
    };
    for (k, v) in &map {
        let (key_node, value_node) = entry(k);
        let key_ok = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !k.starts_with(|c: char| c.is_ascii_digit());
        if !key_ok {
            d.error_hint(
                key_node.pos,
                format!("{what}: `{key}`: `{k}` is not a valid name"),
                "names are letters, digits, `_` and `-`, not starting with a digit",
            );
            ok = false;
        }
        ok &= d.check_safe_text(value_node, v, &format!("{what}: `{key}.{k}`"));
    }
    ok.then_some(map)
}

/// A branch both git and Kargo accept ([`crate::kargo::is_branch`]: synth puts it in a git
/// subscription and in `git-clone` / `git-push` steps); reports and returns false otherwise.
fn check_branch(d: &mut Decoder<'_>, f: &Fields<'_>, branch: &str, what: &str) -> bool {
    let ok = is_branch_name(branch) && crate::kargo::is_branch(branch);
    if !ok && let Some(n) = f.get("branch") {
        d.error_hint(
            n.pos,
            format!("{what}: `branch`: `{branch}` is not a branch name Kargo accepts"),
            "use letters, digits, `.`, `_`, `/` and `-`, starting with a letter or digit and ending with a letter, digit, `_` or `-` (no `..` or `//`)",
        );
    }
    ok
}

/// git's own rules for a ref name (`git check-ref-format`), which Kargo's pattern alone lets
/// through (`a..b`, `a//b`, `x.lock`).
fn is_branch_name(b: &str) -> bool {
    !b.is_empty()
        && !b.starts_with(['-', '/'])
        && !b.ends_with(['/', '.'])
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("//")
        && !b.contains("@{")
        && !b
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
}

fn decode_updates(d: &mut Decoder<'_>, node: &Node, what: &str) -> Vec<UpdateTarget> {
    let Some(items) = node.as_seq() else {
        d.wrong_type(node, &format!("{what}: `updates`"), "a list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let uwhat = format!("{what}: updates[{i}]");
        let Some(f) = d.fields(item, &uwhat, &["repo", "path", "type", "key", "branch"]) else {
            continue;
        };
        let repo = match d.require(&f, "repo", &uwhat) {
            Some(n) => d
                .string_node(n, &format!("{uwhat}: `repo`"))
                .filter(|r| check_repo_path(d, n, r, Provider::Gitlab, true, &uwhat)),
            None => None,
        };
        let path = if d.require(&f, "path", &uwhat).is_some() {
            repo_relative(d, &f, "path", &uwhat)
        } else {
            None
        };
        let kind = match d.require(&f, "type", &uwhat) {
            Some(n) => d.choice_node(n, &format!("{uwhat}: `type`"), UpdateKind::CHOICES),
            None => None,
        };
        let key = safe_string(d, &f, "key", &uwhat);
        if kind == Some(UpdateKind::YamlUpdate) && f.get("key").is_none() {
            d.error_hint(
                f.key("type").map_or(f.pos, |k| k.pos),
                format!("{uwhat}: `yaml-update` needs `key`"),
                "give the YAML path of the field holding the image, e.g. `key: images.web.tag`",
            );
        }
        let branch =
            safe_string(d, &f, "branch", &uwhat).filter(|b| check_branch(d, &f, b, &uwhat));
        if let (Some(repo), Some(path), Some(kind)) = (repo, path, kind) {
            out.push(UpdateTarget {
                repo,
                path,
                kind,
                key,
                branch,
            });
        }
    }
    out
}

fn decode_tag_policy(d: &mut Decoder<'_>, node: &Node, what: &str) -> Option<TagPolicy> {
    let twhat = format!("{what}: tagPolicy");
    let f = d.fields(node, &twhat, &["strategy", "constraint"])?;
    let strategy = d.choice(&f, "strategy", &twhat, TagStrategy::CHOICES);
    if f.get("strategy").is_some() && strategy.is_none() {
        return None;
    }
    let strategy = strategy.unwrap_or_default();
    let constraint = safe_string(d, &f, "constraint", &twhat);
    match (strategy, &constraint, f.get("constraint")) {
        (TagStrategy::Digest, None, None) => {
            d.error_hint(
                f.key("strategy").map_or(f.pos, |k| k.pos),
                format!("{twhat}: strategy `Digest` needs `constraint` (the tag to watch)"),
                "e.g. `constraint: latest`",
            );
            None
        }
        (TagStrategy::Digest, Some(c), Some(n)) => {
            if ImageRef::parse_normalized(&format!("x:{c}")).is_err() {
                d.error(
                    n.pos,
                    format!("{twhat}: `constraint`: `{c}` is not a valid tag"),
                );
                None
            } else {
                Some(TagPolicy {
                    strategy,
                    constraint,
                })
            }
        }
        (TagStrategy::SemVer, Some(c), Some(n)) if !crate::semver::is_constraint(c) => {
            d.error_hint(
                n.pos,
                format!("{twhat}: `constraint`: `{c}` is not a SemVer constraint"),
                "write a version range such as `>=1.0.0`, `^2.3`, `~1.4.0` or `>=1.0.0 <2.0.0`",
            );
            None
        }
        _ => Some(TagPolicy {
            strategy,
            constraint,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply() {
        let text = "- name: web\n  repository: acme/web\n  source:\n    repo: acme/web\n";
        let (e, diags) = parse(text, "images.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let img = &e.unwrap().resolve(&Settings::default())[0];
        assert_eq!(img.registry, "ghcr.io");
        assert_eq!(img.rebuild_delay.to_kargo(), "168h");
        assert!(img.auto_rebuild);
        assert_eq!(img.priority, Priority::Normal);
        let s = img.source.as_ref().unwrap();
        assert_eq!(s.provider, Provider::Github);
        assert_eq!(s.branch, "main");
        assert_eq!(s.dockerfile, "Dockerfile");
        assert_eq!(s.context, ".");
        assert_eq!(s.workflow, "web.yml");
        assert_eq!(s.platform, "linux/amd64");
        assert_eq!(s.repo_url(), "https://github.com/acme/web.git");
        assert_eq!(s.watch_paths(), ["."]);
        assert!(img.is_managed());
        assert_eq!(img.tag_policy.effective_constraint(), ">=0.0.0");
        assert_eq!(img.image_ref().unwrap().canonical(), "ghcr.io/acme/web");
    }

    #[test]
    fn external_image() {
        let text =
            "- name: postgres\n  registry: docker.io\n  repository: postgres\n  tag: \"16\"\n";
        let (e, diags) = parse(text, "images.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let img = &e.unwrap().resolve(&Settings::default())[0];
        assert_eq!(img.kind, ImageKind::External);
        assert_eq!(
            img.image_ref().unwrap().canonical(),
            "docker.io/library/postgres:16"
        );
    }

    #[test]
    fn positions_of_entries() {
        let text = "# head\n- name: a\n  repository: x/a\n\n- name: b\n";
        let pos = entry_positions(text);
        assert_eq!(pos["a"], Pos::new(2, 3));
        assert_eq!(pos["b"], Pos::new(5, 3));
        assert!(entry_positions("[").is_empty());
    }

    #[test]
    fn build_settings_on_external_images_warn() {
        let text =
            "- name: pg\n  registry: docker.io\n  repository: postgres\n  rebuildDelay: 1d\n";
        let (e, diags) = parse(text, "images.yaml");
        assert!(e.is_some());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(!diags[0].is_error());
        assert_eq!((diags[0].line, diags[0].column), (4, 3));
    }

    #[test]
    fn dir_of_paths() {
        assert_eq!(dir_of("Dockerfile"), ".");
        assert_eq!(dir_of("./Dockerfile"), ".");
        assert_eq!(dir_of("a/b/Dockerfile"), "a/b");
        let mut source = Source {
            provider: None,
            repo: "a/b".into(),
            branch: None,
            dockerfile: Some("app/Dockerfile".into()),
            context: Some("./app/".into()),
            workflow: None,
            inputs: BTreeMap::new(),
            build_args: BTreeMap::new(),
            platform: None,
        };
        assert_eq!(source.resolve("x").watch_paths(), ["app"]);
        source.context = Some(".".into());
        assert_eq!(source.resolve("x").watch_paths(), [".", "app"]);
    }
}
