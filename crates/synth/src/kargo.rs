//! Typed Kubernetes objects we emit: Kargo (`kargo.akuity.io/v1alpha1`: Project, ProjectConfig,
//! Warehouse, Stage), Argo Rollouts (`argoproj.io/v1alpha1`: AnalysisTemplate), core kinds
//! (Namespace, ServiceAccount, ConfigMap) and `batch/v1` CronJob.
//!
//! Only the fields image-factory uses are modelled. Field order is the order written; maps are
//! `BTreeMap`s, so serialisation is deterministic. Every type also deserialises (unknown fields are
//! rejected), so a written manifest can be read back and compared ([`Object`] dispatches on `kind`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `apiVersion` of Kargo kinds.
pub const KARGO_API: &str = "kargo.akuity.io/v1alpha1";
/// `apiVersion` of Argo Rollouts kinds.
pub const ROLLOUTS_API: &str = "argoproj.io/v1alpha1";
/// `apiVersion` of core kinds.
pub const CORE_API: &str = "v1";
/// `apiVersion` of `CronJob` (and `Job`).
pub const BATCH_API: &str = "batch/v1";

fn is_false(b: &bool) -> bool {
    !*b
}

/// `metadata` of an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// Object name.
    pub name: String,
    /// Namespace (absent for cluster-scoped kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Metadata of a cluster-scoped object.
    pub fn cluster(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Metadata of a namespaced object.
    pub fn namespaced(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: Some(namespace.into()),
            ..Self::default()
        }
    }
}

/// Kargo `Project`: cluster-scoped, no `spec` since Kargo v1.7.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Project {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Project`.
    pub kind: String,
    /// Metadata (name only).
    pub metadata: ObjectMeta,
}

/// Kargo `ProjectConfig`: named like its Project, in the Project's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfig {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `ProjectConfig`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: ProjectConfigSpec,
}

/// `ProjectConfig.spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfigSpec {
    /// Which Stages auto-promote.
    pub promotion_policies: Vec<PromotionPolicy>,
}

/// One promotion policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionPolicy {
    /// Which Stages the policy applies to.
    pub stage_selector: StageSelector,
    /// Whether new Freight is promoted without a human.
    pub auto_promotion_enabled: bool,
}

/// A Stage selector: an exact name or a `glob:`/`regex:` pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSelector {
    /// Name or pattern.
    pub name: String,
}

/// Kargo `Warehouse`: subscribes to image and git repositories and produces Freight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Warehouse {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Warehouse`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: WarehouseSpec,
}

/// `Warehouse.spec`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WarehouseSpec {
    /// Polling interval (Go duration, hours as the largest unit).
    pub interval: String,
    /// `Automatic`: every new discovery becomes Freight.
    pub freight_creation_policy: String,
    /// Subscriptions, at most one per repoURL.
    pub subscriptions: Vec<Subscription>,
}

/// One Warehouse subscription: exactly one of the keys (Kargo v1.11 has no `name` sibling).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Subscription {
    /// An image repository.
    Image(ImageSubscription),
    /// A git repository.
    Git(GitSubscription),
}

/// Image subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageSubscription {
    /// Repository, without tag or digest (`docker.io/library/node`).
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// `Digest` (newest digest of the tag `constraint`) or `SemVer`.
    pub image_selection_strategy: String,
    /// The tag (Digest) or a version range (SemVer).
    pub constraint: String,
    /// Platform to select, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// How many images are discovered (1..100).
    pub discovery_limit: u32,
}

/// Git subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitSubscription {
    /// Clone URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// `NewestFromBranch`.
    pub commit_selection_strategy: String,
    /// Branch followed.
    pub branch: String,
    /// Only commits touching these paths (prefixes) produce Freight; absent: every commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_paths: Vec<String>,
    /// How many commits are discovered.
    pub discovery_limit: u32,
}

/// Kargo `Stage`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stage {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Stage`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: StageSpec,
}

/// `Stage.spec`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSpec {
    /// Freight the Stage takes, one entry per origin.
    pub requested_freight: Vec<FreightRequest>,
    /// What a promotion does.
    pub promotion_template: PromotionTemplate,
    /// What runs after a promotion (Argo Rollouts analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// One `requestedFreight` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreightRequest {
    /// The Warehouse the Freight comes from.
    pub origin: FreightOrigin,
    /// Where the Stage may take it from.
    pub sources: FreightSources,
}

/// A Freight origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreightOrigin {
    /// `Warehouse`.
    pub kind: String,
    /// Warehouse name.
    pub name: String,
}

/// Freight sources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreightSources {
    /// Straight from the Warehouse.
    #[serde(default, skip_serializing_if = "is_false")]
    pub direct: bool,
    /// After it was verified in these Stages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
}

/// `promotionTemplate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionTemplate {
    /// Spec.
    pub spec: PromotionTemplateSpec,
}

/// `promotionTemplate.spec`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionTemplateSpec {
    /// Steps (at least one: a Stage without steps is a control-flow Stage, which never promotes
    /// and never runs its verification).
    pub steps: Vec<Step>,
}

/// A promotion step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// Built-in step name.
    pub uses: String,
    /// Alias (outputs are read as `outputs.<as>`).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The step's configuration.
    pub config: StepConfig,
}

/// The `config` of the built-in steps we use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepConfig {
    /// `git-clone`.
    GitClone(GitCloneConfig),
    /// `kustomize-set-image`.
    KustomizeSetImage(KustomizeSetImageConfig),
    /// `yaml-update`.
    YamlUpdate(YamlUpdateConfig),
    /// `git-commit`.
    GitCommit(GitCommitConfig),
    /// `git-push`.
    GitPush(GitPushConfig),
    /// `compose-output`: named values recorded with the promotion (no side effect).
    ComposeOutput(BTreeMap<String, String>),
}

/// `git-clone` step config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitCloneConfig {
    /// Clone URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branches to check out.
    pub checkout: Vec<GitCheckout>,
}

/// One checkout of `git-clone`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitCheckout {
    /// Branch.
    pub branch: String,
    /// Working-tree path.
    pub path: String,
}

/// `kustomize-set-image` step config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizeSetImageConfig {
    /// Directory holding `kustomization.yaml`.
    pub path: String,
    /// Images to set.
    pub images: Vec<KustomizeImage>,
}

/// One image of `kustomize-set-image`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizeImage {
    /// Image name as written in the kustomization.
    pub image: String,
    /// New tag.
    pub tag: String,
}

/// `yaml-update` step config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct YamlUpdateConfig {
    /// File to edit.
    pub path: String,
    /// Keys to set.
    pub updates: Vec<YamlUpdate>,
}

/// One key of `yaml-update`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct YamlUpdate {
    /// Dotted key path.
    pub key: String,
    /// New value.
    pub value: String,
}

/// `git-commit` step config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitCommitConfig {
    /// Working tree.
    pub path: String,
    /// Commit message.
    pub message: String,
}

/// `git-push` step config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitPushConfig {
    /// Working tree.
    pub path: String,
    /// Branch pushed to.
    pub target_branch: String,
}

/// `Stage.spec.verification`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Verification {
    /// AnalysisTemplates run after each promotion.
    pub analysis_templates: Vec<AnalysisTemplateRef>,
    /// Arguments passed to them (each declared in every referenced template).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<VerificationArg>,
}

/// A reference to an AnalysisTemplate of the project namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisTemplateRef {
    /// Name.
    pub name: String,
}

/// A verification argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationArg {
    /// Name (declared in the template's `spec.args`).
    pub name: String,
    /// Value (may be a Kargo `${{ }}` expression).
    pub value: String,
}

/// Argo Rollouts `AnalysisTemplate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisTemplate {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `AnalysisTemplate`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: AnalysisTemplateSpec,
}

/// `AnalysisTemplate.spec`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisTemplateSpec {
    /// Declared arguments (used as `{{args.<name>}}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<AnalysisArg>,
    /// Metrics.
    pub metrics: Vec<Metric>,
}

/// A declared argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisArg {
    /// Name.
    pub name: String,
}

/// A metric: one Job run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metric {
    /// Name (≤ 24 characters so Job names stay ≤ 63).
    pub name: String,
    /// Measurements.
    pub count: u32,
    /// Failures tolerated.
    pub failure_limit: u32,
    /// The Job.
    pub provider: MetricProvider,
}

/// Metric provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricProvider {
    /// A Kubernetes Job.
    pub job: JobMetric,
}

/// Job provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobMetric {
    /// Job metadata (labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JobMetadata>,
    /// Job spec.
    pub spec: JobSpec,
}

/// Labels of the Job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobMetadata {
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// `batch/v1` JobSpec (subset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSpec {
    /// Retries.
    pub backoff_limit: u32,
    /// Hard deadline in seconds.
    pub active_deadline_seconds: u32,
    /// Pod template.
    pub template: PodTemplate,
}

/// Pod template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplate {
    /// Pod spec.
    pub spec: PodSpec,
}

/// PodSpec (subset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSpec {
    /// ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Never mount an API token.
    pub automount_service_account_token: bool,
    /// `Never`.
    pub restart_policy: String,
    /// Pull secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// Init containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Containers.
    pub containers: Vec<Container>,
    /// Volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

/// `{name: ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalObjectReference {
    /// Name.
    pub name: String,
}

/// Container (subset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    /// Name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Entrypoint override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments (no shell: values are never interpreted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Volume mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}

/// Environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// From a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// `valueFrom`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVarSource {
    /// Secret key.
    pub secret_key_ref: SecretKeySelector,
}

/// A key of a Secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeySelector {
    /// Secret name.
    pub name: String,
    /// Key.
    pub key: String,
    /// Whether the Secret may be absent.
    pub optional: bool,
}

/// Volume mount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeMount {
    /// Volume name.
    pub name: String,
    /// Mount path.
    pub mount_path: String,
}

/// An `emptyDir` volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// Name.
    pub name: String,
    /// Scratch space.
    pub empty_dir: EmptyDir,
}

/// `emptyDir: {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyDir {}

/// `batch/v1` `CronJob`: the Job that runs `analyzer trigger` (and `analyzer check`) on a
/// schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronJob {
    /// `batch/v1`.
    pub api_version: String,
    /// `CronJob`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: CronJobSpec,
}

/// `CronJob.spec` (subset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronJobSpec {
    /// Five cron fields (`trigger.schedule`).
    pub schedule: String,
    /// `Forbid`: a tick that finds the previous run still going is skipped, never run alongside.
    pub concurrency_policy: String,
    /// A tick missed by more than this many seconds (controller down) is skipped.
    pub starting_deadline_seconds: u32,
    /// Finished Jobs kept for inspection.
    pub successful_jobs_history_limit: u32,
    /// Failed Jobs kept for inspection.
    pub failed_jobs_history_limit: u32,
    /// The Job created at each tick.
    pub job_template: JobTemplate,
}

/// `CronJob.spec.jobTemplate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobTemplate {
    /// Job metadata (labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JobMetadata>,
    /// Job spec.
    pub spec: JobSpec,
}

/// Core `Namespace`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Namespace {
    /// `v1`.
    pub api_version: String,
    /// `Namespace`.
    pub kind: String,
    /// Metadata (labels include `kargo.akuity.io/project: "true"`).
    pub metadata: ObjectMeta,
}

/// Core `ServiceAccount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccount {
    /// `v1`.
    pub api_version: String,
    /// `ServiceAccount`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Always `false`: the analysis Job needs no Kubernetes API access.
    pub automount_service_account_token: bool,
}

/// Core `ConfigMap`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMap {
    /// `v1`.
    pub api_version: String,
    /// `ConfigMap`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Data.
    pub data: BTreeMap<String, String>,
}

/// Any object we emit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Object {
    /// Namespace.
    Namespace(Namespace),
    /// Project.
    Project(Project),
    /// ProjectConfig.
    ProjectConfig(ProjectConfig),
    /// ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// ConfigMap.
    ConfigMap(ConfigMap),
    /// CronJob.
    CronJob(CronJob),
    /// Warehouse.
    Warehouse(Warehouse),
    /// AnalysisTemplate.
    AnalysisTemplate(AnalysisTemplate),
    /// Stage.
    Stage(Stage),
}

impl Object {
    /// The `kind`.
    pub fn kind(&self) -> &str {
        match self {
            Object::Namespace(o) => &o.kind,
            Object::Project(o) => &o.kind,
            Object::ProjectConfig(o) => &o.kind,
            Object::ServiceAccount(o) => &o.kind,
            Object::ConfigMap(o) => &o.kind,
            Object::CronJob(o) => &o.kind,
            Object::Warehouse(o) => &o.kind,
            Object::AnalysisTemplate(o) => &o.kind,
            Object::Stage(o) => &o.kind,
        }
    }

    /// The metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::Project(o) => &o.metadata,
            Object::ProjectConfig(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Warehouse(o) => &o.metadata,
            Object::AnalysisTemplate(o) => &o.metadata,
            Object::Stage(o) => &o.metadata,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.metadata().name
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(deserializer)?;
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| D::Error::custom("object without `kind`"))?
            .to_owned();
        let map = |e: serde_json::Error| D::Error::custom(format!("{kind}: {e}"));
        Ok(match kind.as_str() {
            "Namespace" => Object::Namespace(serde_json::from_value(value).map_err(map)?),
            "Project" => Object::Project(serde_json::from_value(value).map_err(map)?),
            "ProjectConfig" => Object::ProjectConfig(serde_json::from_value(value).map_err(map)?),
            "ServiceAccount" => Object::ServiceAccount(serde_json::from_value(value).map_err(map)?),
            "ConfigMap" => Object::ConfigMap(serde_json::from_value(value).map_err(map)?),
            "CronJob" => Object::CronJob(serde_json::from_value(value).map_err(map)?),
            "Warehouse" => Object::Warehouse(serde_json::from_value(value).map_err(map)?),
            "AnalysisTemplate" => {
                Object::AnalysisTemplate(serde_json::from_value(value).map_err(map)?)
            }
            "Stage" => Object::Stage(serde_json::from_value(value).map_err(map)?),
            other => return Err(D::Error::custom(format!("unsupported kind `{other}`"))),
        })
    }
}
