//! `images.yaml`: the enrolment list (SPEC §6.1). A YAML list of entries; an entry with `source` is
//! a **managed** image (built by us), one without is an **external** image (tracked, never built).
//!
//! The typed entries ([`ImageEntry`]) keep what the file says (`None` for keys not written); the
//! effective configuration with the defaults of `factory.yaml` applied is [`EffectiveImage`], from
//! [`Enrollment::resolve`]. [`append`] adds an entry to the text of an `images.yaml`, keeping its
//! comments and layout (`analyzer enroll`).
//!
//! ```
//! let text = "- name: web\n  repository: acme/web\n  source:\n    repo: acme/web\n    dockerfile: app/Dockerfile\n";
//! let (enrollment, diagnostics) = image_factory_model::enrollment::parse(text, "images.yaml");
//! assert!(diagnostics.is_empty());
//! let images = enrollment.map(|e| e.resolve(&Default::default())).unwrap_or_default();
//! let source = images[0].source.as_ref().map(|s| (s.context.as_str(), s.workflow.as_str()));
//! assert_eq!(source, Some(("app", "build-web.yml")));
//! ```

mod append;
mod decode;
mod legacy;
mod local;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::reference::ImageRef;
use crate::settings::Settings;
use crate::yaml::{self, Pos};

pub use append::{AppendError, Appended, Draft, DraftSource, append};
pub(crate) use decode::check_registry;
pub use local::{LocalFile, local_files};

/// The `workflow_dispatch` input (GitLab: pipeline variable) of a generated build workflow that
/// receives the pinned base digests when `source.pinInput` is not set (SPEC §8.3, §9.3).
pub const GENERATED_PIN_INPUT: &str = "base_images";

/// The generated build workflow's own inputs besides the pin input: the pre-release `suffix` and
/// the version part to `bump`. `source.inputs` of an image without `source.workflow` must not use
/// them.
pub const GENERATED_INPUTS: &[&str] = &["suffix", "bump"];

/// The GitLab pipeline variable that names the image a trigger of the state repository builds
/// (the generated `.gitlab/image-factory-builds.yml` runs that image's child pipeline); sent by
/// `analyzer trigger` for GitLab images without `source.workflow`.
pub const GENERATED_IMAGE_VARIABLE: &str = "IMAGE_FACTORY_IMAGE";

/// The file name of the build workflow `synth --workflows` generates for an image without
/// `source.workflow` (`.github/workflows/build-<name>.yml`; GitLab: `.gitlab/build-<name>.yml`).
pub fn generated_workflow_file(name: &str) -> String {
    format!("build-{name}.yml")
}

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
    /// Files of this image kept in the state repository (managed images only, SPEC §8.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
}

/// `local`: files of a managed image kept in the state repository, for images built from sources we
/// do not own (SPEC §8.3): a Dockerfile of ours, patches for the upstream checkout, a version file.
/// The generated build workflow (`synth --workflows`) uses them; `analyzer analyze` reads
/// `dockerfile` from here instead of the source repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Local {
    /// Directory holding the files, relative to the factory dir (`.` for the factory dir itself).
    #[schemars(regex(
        pattern = r"^(\.|[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*/?)$"
    ))]
    pub dir: String,
    /// Our Dockerfile, relative to `dir`. When set, the image is built from `dir` in the state
    /// repository (the build context) instead of the upstream checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$"
    ))]
    pub dockerfile: Option<String>,
    /// Patches, relative to `dir`, applied in order with `git apply` to the upstream checkout
    /// (not with `dockerfile`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(
        pattern = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$"
    )))]
    pub patch_files: Vec<String>,
    /// File, relative to `dir`, holding the image's version (`1.4.2`): the generated workflow
    /// builds the bumped version and commits it after a successful build (not with a `suffix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$"
    ))]
    pub version_file: Option<String>,
}

impl Local {
    /// `dir` (relative to the factory dir), without a trailing `/`; `.` for the factory dir.
    pub fn dir_path(&self) -> &str {
        match self.dir.trim_end_matches('/') {
            "" => ".",
            dir => dir,
        }
    }

    /// A file of the block (`dockerfile`, a patch, `versionFile`) relative to the factory dir.
    pub fn path(&self, file: &str) -> String {
        local::join(self.dir_path(), file)
    }
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
    /// Branch to build and watch (default `main`); Kargo's branch pattern applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = crate::kargo::BRANCH_PATTERN))]
    pub branch: Option<String>,
    /// Path of the Dockerfile in the repository (default `Dockerfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Build context directory (default: the Dockerfile's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// GitHub Actions workflow file of the source repository to dispatch. Without it the image
    /// is built by the workflow `synth --workflows` generates into the state repository,
    /// `build-<name>.yml` (SPEC §8.3), and that is what `analyzer trigger` dispatches.
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
    /// The workflow input (GitHub) or pipeline variable (GitLab) that receives the soaked base
    /// digests as `--build-context` lines, so CI builds what soaked (SPEC §9.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"), length(max = 100))]
    pub pin_input: Option<String>,
    /// Host of a self-hosted GitLab (`gitlab.example.com`); clones and pipeline triggers go there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
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
    /// Branch to push to (default: the repository's `main`); Kargo's branch pattern applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = crate::kargo::BRANCH_PATTERN))]
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
    /// Files kept in the state repository (SPEC §8.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
}

impl EffectiveImage {
    /// Whether the image is built by us.
    pub fn is_managed(&self) -> bool {
        self.kind == ImageKind::Managed
    }

    /// Our own Dockerfile in the state repository (`local.dir`/`local.dockerfile`), relative to
    /// the factory dir, when `local.dockerfile` is set: `analyzer analyze` reads it there instead
    /// of from the source repository.
    pub fn local_dockerfile(&self) -> Option<String> {
        let local = self.local.as_ref()?;
        local.dockerfile.as_ref().map(|file| local.path(file))
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
    /// Workflow file to dispatch: `source.workflow` in the source repository, or (when it is
    /// not set) the generated `build-<name>.yml` in the state repository.
    pub workflow: String,
    /// Whether the workflow is the one `synth --workflows` generates into the state repository
    /// (no `source.workflow`): `analyzer trigger` then dispatches it there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated_workflow: bool,
    /// Extra dispatch inputs.
    pub inputs: BTreeMap<String, String>,
    /// Build args for `FROM` resolution.
    pub build_args: BTreeMap<String, String>,
    /// Platform for `FROM` resolution.
    pub platform: String,
    /// The dispatch input / pipeline variable carrying the pinned digests, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_input: Option<String>,
    /// A self-hosted GitLab's host (`None`: gitlab.com or github.com).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl EffectiveSource {
    /// The git host: `source.host`, else `github.com` / `gitlab.com`.
    pub fn git_host(&self) -> &str {
        match (&self.host, self.provider) {
            (Some(host), _) => host,
            (None, Provider::Github) => "github.com",
            (None, Provider::Gitlab) => "gitlab.com",
        }
    }

    /// HTTPS clone URL of the source repository (`https://github.com/<repo>.git`,
    /// `https://gitlab.com/<repo>.git`, or on `source.host`).
    pub fn repo_url(&self) -> String {
        format!("https://{}/{}.git", self.git_host(), self.repo)
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
    /// The source with defaults applied; `name` is the image name (for the default workflow,
    /// [`generated_workflow_file`]), for an entry without a `local` block.
    pub fn resolve(&self, name: &str) -> EffectiveSource {
        self.resolve_for(name, false)
    }

    /// Whether the image's build workflow is generated into the state repository (SPEC §8.3):
    /// GitHub images without `source.workflow`; GitLab images (whose own project pipeline is
    /// triggered otherwise) when they also have a `local` block.
    pub fn has_generated_workflow(&self, has_local: bool) -> bool {
        self.workflow.is_none()
            && (self.provider.unwrap_or_default() == Provider::Github || has_local)
    }

    /// [`Source::resolve`] for an entry with (`has_local`) or without a `local` block.
    pub fn resolve_for(&self, name: &str, has_local: bool) -> EffectiveSource {
        let generated = self.has_generated_workflow(has_local);
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
            workflow: match &self.workflow {
                Some(workflow) => workflow.clone(),
                None if generated => generated_workflow_file(name),
                // A GitLab project's own pipeline: no file is named, this is only a label.
                None => format!("{name}.yml"),
            },
            generated_workflow: generated,
            inputs: self.inputs.clone(),
            build_args: self.build_args.clone(),
            platform: self
                .platform
                .clone()
                .unwrap_or_else(|| "linux/amd64".to_owned()),
            // The generated workflow always takes the pins, under this name unless told another.
            pin_input: self
                .pin_input
                .clone()
                .or_else(|| generated.then(|| GENERATED_PIN_INPUT.to_owned())),
            host: self.host.clone(),
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
            source: self
                .source
                .as_ref()
                .map(|s| s.resolve_for(&self.name, self.local.is_some())),
            rebuild_delay: self.rebuild_delay.unwrap_or(defaults.rebuild_delay),
            auto_rebuild: self.auto_rebuild.unwrap_or(defaults.auto_rebuild),
            priority: self.priority.unwrap_or(defaults.priority),
            updates: self.updates.clone(),
            tag_policy: self.tag_policy.clone().unwrap_or_default(),
            local: self.local.clone(),
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
    decode::parse_with(text, file, settings)
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
        assert_eq!(s.workflow, "build-web.yml");
        assert!(s.generated_workflow);
        assert_eq!(s.pin_input.as_deref(), Some(GENERATED_PIN_INPUT));
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
            pin_input: None,
            host: None,
        };
        assert_eq!(source.resolve("x").watch_paths(), ["app"]);
        source.context = Some(".".into());
        assert_eq!(source.resolve("x").watch_paths(), [".", "app"]);
        assert_eq!(source.resolve("x").repo_url(), "https://github.com/a/b.git");
        source.provider = Some(Provider::Gitlab);
        source.host = Some("gitlab.example.com:8443".into());
        assert_eq!(
            source.resolve("x").repo_url(),
            "https://gitlab.example.com:8443/a/b.git"
        );
    }

    #[test]
    fn pin_input_and_gitlab_host() {
        let text = "- name: a\n  repository: acme/a\n  source: {provider: gitlab, repo: g/a, \
                    host: gitlab.example.com, pinInput: base_images}\n";
        let config = crate::config::validate_factory(text, "images.yaml", None);
        let images = config.resolved().unwrap();
        let source = images[0].source.as_ref().unwrap();
        assert_eq!(source.pin_input.as_deref(), Some("base_images"));
        assert_eq!(source.git_host(), "gitlab.example.com");
        for bad in [
            "source: {repo: o/a, host: github.example.com}",
            "source: {provider: gitlab, repo: g/a, host: 'https://x'}",
            "source: {repo: o/a, pinInput: '1x'}",
            "source: {repo: o/a, pinInput: 'a-b'}",
        ] {
            let text = format!("- name: a\n  repository: acme/a\n  {bad}\n");
            let config = crate::config::validate_factory(&text, "images.yaml", None);
            let errors: Vec<_> = config.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
            assert!(errors[0].hint.is_some(), "{bad}");
        }
    }
}
