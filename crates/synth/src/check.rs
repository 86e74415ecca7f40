//! Checks of a set of Kubernetes documents against the rules Kargo's admission webhooks (and Argo
//! Rollouts) enforce, which JSON Schemas cannot express (`../shared/kargo/README.md`, rules 1–12),
//! plus image-factory's own rules of SPEC §8.2: names are DNS-1123 labels ≤ 63, no dangling
//! references, no cycles, durations in hours, `${{ }}` expressions that Kargo can parse.
//!
//! The checks work on parsed documents ([`serde_json::Value`]), so they apply equally to what synth
//! generates and to any manifest file a user hands to `synth --validate`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

use model::reference::ImageRef;
use regex::Regex;
use serde_json::Value;

pub use crate::rule::Rule;

/// One broken rule in one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index of the document (from 0).
    pub document: usize,
    /// `kind/name` of the object.
    pub object: String,
    /// Which rule (its `Display` is the id printed: `rule 5`, `names`, ...).
    pub rule: Rule,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "document {} ({}): {}: {}",
            self.document + 1,
            self.object,
            self.rule,
            self.message
        )
    }
}

/// Kargo's duration pattern (rule 4).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(s|m|h))+$";

/// Kargo's pattern for image `repoURL`s: stricter than distribution/reference (no `--`, `..`).
pub const IMAGE_REPO_PATTERN: &str = model::kargo::IMAGE_REPO_PATTERN;

/// Whether Kargo accepts `repo` as an image subscription's `repoURL` (the rule configuration
/// validation applies, [`model::kargo::is_image_repo`]).
pub fn kargo_image_repo_ok(repo: &str) -> bool {
    model::kargo::is_image_repo(repo)
}

/// Kargo's pattern for git branch names (stricter than git's own rules).
pub const BRANCH_PATTERN: &str = model::kargo::BRANCH_PATTERN;

/// Whether Kargo accepts `branch` in a git subscription ([`model::kargo::is_branch`]).
pub fn kargo_branch_ok(branch: &str) -> bool {
    model::kargo::is_branch(branch)
}

static DURATION: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(DURATION_PATTERN).ok());
static STEP_ALIAS_RESERVED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(step|task)-[0-9]+$").ok());
static ARGS_PLACEHOLDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}").ok());

/// The open-source Kargo v1.11 built-in steps (anything else is a typo or an Enterprise step).
pub const OSS_STEPS: &[&str] = &[
    "argocd-update",
    "argocd-wait",
    "compose-output",
    "copy",
    "delete",
    "fail",
    "file-write",
    "git-clear",
    "git-clone",
    "git-commit",
    "git-merge-pr",
    "git-open-pr",
    "git-push",
    "git-tag",
    "git-wait-for-pr",
    "github-push",
    "helm-template",
    "helm-update-chart",
    "http",
    "http-download",
    "json-parse",
    "json-update",
    "kustomize-build",
    "kustomize-set-image",
    "oci-download",
    "oci-push",
    "set-freight-alias",
    "set-metadata",
    "toml-parse",
    "toml-update",
    "untar",
    "yaml-merge",
    "yaml-parse",
    "yaml-update",
];

fn is_duration(s: &str) -> bool {
    DURATION.as_ref().is_some_and(|r| r.is_match(s))
}

/// Whether `s` is a DNS-1123 label of at most 63 characters.
fn is_label(s: &str) -> bool {
    model::names::is_dns1123_label(s, model::names::MAX_LABEL_LEN)
}

fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label)
}

struct Doc<'a> {
    index: usize,
    value: &'a Value,
    api: &'a str,
    kind: &'a str,
    name: &'a str,
    namespace: Option<&'a str>,
}

impl Doc<'_> {
    fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
    fn is_kargo(&self) -> bool {
        self.api.starts_with("kargo.akuity.io/")
    }
    fn is_rollouts(&self) -> bool {
        self.api.starts_with("argoproj.io/")
    }
}

struct Checker {
    out: Vec<Violation>,
}

impl Checker {
    fn push(&mut self, doc: &Doc<'_>, rule: Rule, message: impl Into<String>) {
        self.out.push(Violation {
            document: doc.index,
            object: doc.id(),
            rule,
            message: message.into(),
        });
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// Checks every document of a manifest set. `documents` are the parsed YAML documents, in order;
/// empty (null) documents are skipped. Returns every violation found (empty: the set is valid).
pub fn check_documents(documents: &[Value]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut lights = Vec::with_capacity(documents.len());
    for (index, value) in documents.iter().enumerate() {
        let (violations, light) = check_one(index, value);
        out.extend(violations);
        lights.push(light);
    }
    out.extend(check_set(&lights));
    out
}

/// The checks of one document on its own (document `index` of its set). Returns the violations and
/// a small summary of the document (kind, name, references) for [`check_set`].
pub(crate) fn check_one(index: usize, value: &Value) -> (Vec<Violation>, Summary) {
    let mut c = Checker { out: Vec::new() };
    let api = str_of(value.get("apiVersion")).unwrap_or("");
    let kind = str_of(value.get("kind")).unwrap_or("");
    let name = str_of(get(value, &["metadata", "name"])).unwrap_or("");
    let namespace = str_of(get(value, &["metadata", "namespace"]));
    let doc = Doc {
        index,
        value,
        api,
        kind,
        name,
        namespace,
    };
    if value.is_null() {
        return (c.out, Summary::default());
    }
    if api.is_empty() || kind.is_empty() || !value.is_object() {
        c.push(
            &doc,
            Rule::Structure,
            "not a Kubernetes object (apiVersion and kind required)",
        );
        return (c.out, Summary::default());
    }
    check_names(&mut c, &doc);
    check_expressions(&mut c, &doc, value);
    match (doc.is_kargo(), doc.is_rollouts(), doc.kind) {
        (true, _, "Project") => check_project(&mut c, &doc),
        (true, _, "ProjectConfig") => check_project_config(&mut c, &doc),
        (true, _, "Warehouse") => check_warehouse(&mut c, &doc),
        (true, _, "Stage") => check_stage(&mut c, &doc),
        (true, _, "PromotionTask" | "ClusterPromotionTask") => {
            let steps = arr(get(doc.value, &["spec", "steps"]));
            check_steps(&mut c, &doc, steps);
        }
        (_, true, "AnalysisTemplate" | "ClusterAnalysisTemplate") => {
            check_analysis_template(&mut c, &doc)
        }
        _ => {}
    }
    (c.out, summarize(index, value))
}

/// What the cross-document checks need of one document: identity and outgoing references.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Index of the document in its set.
    pub index: usize,
    /// `apiVersion`.
    pub api: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// Stage: per `requestedFreight` entry, the origin Warehouse and the upstream Stages.
    pub freight: Vec<(String, Vec<String>)>,
    /// Stage: promotion tasks used (`kind`, name).
    pub tasks: Vec<(Option<String>, String)>,
    /// Stage: verification templates (`kind`, name).
    pub templates: Vec<(Option<String>, String)>,
    /// Stage: names of the verification args passed.
    pub passed_args: Vec<String>,
    /// AnalysisTemplate: names of the declared args.
    pub declared_args: Vec<String>,
}

impl Summary {
    fn is_kargo(&self) -> bool {
        self.api.starts_with("kargo.akuity.io/")
    }
    fn is_rollouts(&self) -> bool {
        self.api.starts_with("argoproj.io/")
    }
    fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

fn summarize(index: usize, v: &Value) -> Summary {
    let owned = |x: Option<&Value>| str_of(x).unwrap_or("").to_owned();
    let refs = |items: &[Value]| -> Vec<(Option<String>, String)> {
        items
            .iter()
            .map(|t| {
                (
                    str_of(t.get("kind")).map(str::to_owned),
                    owned(t.get("name")),
                )
            })
            .collect()
    };
    let names = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .filter_map(|a| str_of(a.get("name")).map(str::to_owned))
            .collect()
    };
    let spec = v.get("spec");
    let verification = spec.and_then(|s| s.get("verification"));
    Summary {
        index,
        api: owned(v.get("apiVersion")),
        kind: owned(v.get("kind")),
        name: owned(get(v, &["metadata", "name"])),
        namespace: str_of(get(v, &["metadata", "namespace"])).map(str::to_owned),
        freight: arr(spec.and_then(|s| s.get("requestedFreight")))
            .iter()
            .map(|r| {
                let stages = arr(get(r, &["sources", "stages"]))
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect();
                (owned(get(r, &["origin", "name"])), stages)
            })
            .collect(),
        tasks: refs(
            &arr(spec.and_then(|s| get(s, &["promotionTemplate", "spec", "steps"])))
                .iter()
                .filter_map(|st| st.get("task").cloned())
                .collect::<Vec<_>>(),
        ),
        templates: refs(arr(verification.and_then(|x| x.get("analysisTemplates")))),
        passed_args: names(arr(verification.and_then(|x| x.get("args")))),
        declared_args: names(arr(spec.and_then(|s| s.get("args")))),
    }
}

/// The cross-document checks (rules 6–9) over the summaries returned by [`check_one`], in
/// document order.
pub(crate) fn check_set<'s>(summaries: &'s [Summary]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut push = |d: &Summary, rule: Rule, message: String| {
        out.push(Violation {
            document: d.index,
            object: d.id(),
            rule,
            message,
        });
    };
    let docs: Vec<&Summary> = summaries.iter().filter(|d| !d.kind.is_empty()).collect();
    let projects: BTreeSet<&str> = docs
        .iter()
        .filter(|d| d.is_kargo() && d.kind == "Project")
        .map(|d| d.name.as_str())
        .collect();
    // Lookups by borrowed (namespace, name) pairs: the summaries outlive every set here, and a
    // fleet has tens of thousands of references to resolve.
    fn ns_of(d: &Summary) -> &str {
        d.namespace.as_deref().unwrap_or_default()
    }
    let set = |kind: &str, rollouts: bool| -> BTreeSet<StageKey<'_>> {
        docs.iter()
            .filter(|d| {
                d.kind == kind
                    && (if rollouts {
                        d.is_rollouts()
                    } else {
                        d.is_kargo()
                    })
            })
            .map(|d| (ns_of(d), d.name.as_str()))
            .collect()
    };
    let stages = set("Stage", false);
    let warehouses = set("Warehouse", false);
    let tasks = set("PromotionTask", false);
    let cluster = |kind: &str| -> BTreeSet<&str> {
        docs.iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.name.as_str())
            .collect()
    };
    let cluster_templates = cluster("ClusterAnalysisTemplate");
    let cluster_tasks = cluster("ClusterPromotionTask");
    let templates: BTreeMap<StageKey<'_>, &Summary> = docs
        .iter()
        .filter(|d| d.kind == "AnalysisTemplate" && d.is_rollouts())
        .map(|d| ((ns_of(d), d.name.as_str()), *d))
        .collect();

    for d in &docs {
        if !d.is_kargo() {
            continue;
        }
        if d.kind == "ProjectConfig" && !projects.is_empty() && !projects.contains(d.name.as_str())
        {
            push(
                d,
                Rule::ProjectConfig,
                format!("no Project `{}` for this ProjectConfig", d.name),
            );
        }
        if !projects.is_empty()
            && !matches!(
                d.kind.as_str(),
                "Project" | "ClusterPromotionTask" | "ClusterConfig"
            )
            && !d
                .namespace
                .as_deref()
                .is_some_and(|ns| projects.contains(ns))
        {
            push(
                d,
                Rule::ProjectScope,
                format!(
                    "lives in namespace `{}`, which is not a Project's namespace",
                    ns_of(d)
                ),
            );
        }
    }
    let mut graph: BTreeMap<StageKey<'_>, Vec<&str>> = BTreeMap::new();
    for d in docs.iter().filter(|d| d.is_kargo() && d.kind == "Stage") {
        let ns = ns_of(d);
        let mut upstream = Vec::new();
        for (i, (origin, ups)) in d.freight.iter().enumerate() {
            if !warehouses.contains(&(ns, origin.as_str())) {
                push(
                    d,
                    Rule::DanglingReference,
                    format!("requestedFreight[{i}]: Warehouse `{origin}` does not exist"),
                );
            }
            for s in ups {
                if stages.contains(&(ns, s.as_str())) {
                    upstream.push(s.as_str());
                } else {
                    push(
                        d,
                        Rule::DanglingReference,
                        format!("requestedFreight[{i}]: upstream Stage `{s}` does not exist"),
                    );
                }
            }
        }
        graph.insert((ns, d.name.as_str()), upstream);
        for (kind, name) in &d.tasks {
            let exists = if kind.as_deref() == Some("ClusterPromotionTask") {
                cluster_tasks.contains(name.as_str())
            } else {
                tasks.contains(&(ns, name.as_str()))
            };
            if !exists {
                push(
                    d,
                    Rule::DanglingReference,
                    format!("promotion task `{name}` does not exist"),
                );
            }
        }
        for (kind, name) in &d.templates {
            if kind.as_deref() == Some("ClusterAnalysisTemplate") {
                if !cluster_templates.contains(name.as_str()) {
                    push(
                        d,
                        Rule::DanglingReference,
                        format!("ClusterAnalysisTemplate `{name}` does not exist"),
                    );
                }
                continue;
            }
            let Some(t) = templates.get(&(ns, name.as_str())) else {
                push(
                    d,
                    Rule::DanglingReference,
                    format!("AnalysisTemplate `{name}` does not exist"),
                );
                continue;
            };
            for arg in &d.passed_args {
                if !t.declared_args.contains(arg) {
                    push(
                        d,
                        Rule::VerificationArgs,
                        format!(
                            "verification arg `{arg}` is not declared by AnalysisTemplate `{name}`"
                        ),
                    );
                }
            }
        }
    }
    let upstream = |key: &StageKey<'s>| -> Vec<StageKey<'s>> {
        graph
            .get(key)
            .into_iter()
            .flatten()
            .map(|s| (key.0, *s))
            .collect()
    };
    if let Some(cycle) = crate::graph::find_cycle(graph.keys().copied(), upstream)
        && let Some(key) = cycle.first()
        && let Some(d) = docs
            .iter()
            .find(|d| d.kind == "Stage" && ns_of(d) == key.0 && d.name == key.1)
    {
        let names: Vec<&str> = cycle.iter().map(|k| k.1).collect();
        push(
            d,
            Rule::StageCycle,
            format!("Stage cycle: {}", names.join(" → ")),
        );
    }
    out
}

fn check_names(c: &mut Checker, doc: &Doc<'_>) {
    if doc.is_kargo() || doc.is_rollouts() {
        if !is_label(doc.name) {
            c.push(
                doc,
                Rule::Names,
                format!(
                    "name `{}` is not a DNS-1123 label of at most 63 characters",
                    doc.name
                ),
            );
        }
    } else if !is_subdomain(doc.name) {
        c.push(
            doc,
            Rule::Names,
            format!("name `{}` is not a DNS-1123 subdomain", doc.name),
        );
    }
    if let Some(ns) = doc.namespace
        && !is_label(ns)
    {
        c.push(
            doc,
            Rule::Names,
            format!("namespace `{ns}` is not a DNS-1123 label"),
        );
    }
}

/// Every `${{ }}` / `${% %}` expression is closed, non-empty and parses as Kargo cuts and parses
/// it ([`crate::expression::check`]).
fn check_expressions(c: &mut Checker, doc: &Doc<'_>, v: &Value) {
    match v {
        Value::String(s) => {
            // The `$` search (memchr) first: few strings hold one, and a substring search
            // costs more to set up than to run on a short string.
            if s.contains('$')
                && let Err(problem) = crate::expression::check(s)
            {
                let snippet: String = s.chars().take(80).collect();
                c.push(doc, Rule::Expressions, format!("{problem} in `{snippet}`"));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| check_expressions(c, doc, i)),
        Value::Object(map) => map.values().for_each(|i| check_expressions(c, doc, i)),
        _ => {}
    }
}

fn check_project(c: &mut Checker, doc: &Doc<'_>) {
    if doc.value.get("spec").is_some() {
        c.push(
            doc,
            Rule::ProjectScope,
            "Project has no `spec` since Kargo v1.7 (use a ProjectConfig)",
        );
    }
    if doc.namespace.is_some() {
        c.push(
            doc,
            Rule::ProjectScope,
            "Project is cluster-scoped: remove `metadata.namespace`",
        );
    }
}

fn check_project_config(c: &mut Checker, doc: &Doc<'_>) {
    if doc.namespace != Some(doc.name) {
        c.push(
            doc,
            Rule::ProjectConfig,
            format!(
                "ProjectConfig name `{}` must equal its namespace `{}`",
                doc.name,
                doc.namespace.unwrap_or("")
            ),
        );
    }
    for (i, p) in arr(get(doc.value, &["spec", "promotionPolicies"]))
        .iter()
        .enumerate()
    {
        let has_stage = p.get("stage").is_some();
        let has_selector = p.get("stageSelector").is_some();
        if has_stage == has_selector {
            c.push(
                doc,
                Rule::ProjectConfig,
                format!("promotionPolicies[{i}]: exactly one of `stage` and `stageSelector`"),
            );
        }
    }
}

fn normalize_git(url: &str) -> String {
    let mut u = url.trim().to_lowercase();
    for prefix in ["https://", "http://", "ssh://", "git@"] {
        if let Some(rest) = u.strip_prefix(prefix) {
            u = rest.to_owned();
        }
    }
    let u = u.replacen(':', "/", usize::from(url.starts_with("git@")));
    u.trim_end_matches('/').trim_end_matches(".git").to_owned()
}

fn normalize_image_repo(url: &str) -> String {
    ImageRef::parse_normalized(url)
        .map(|r| r.name())
        .unwrap_or_else(|_| url.to_owned())
}

fn check_warehouse(c: &mut Checker, doc: &Doc<'_>) {
    let spec = doc.value.get("spec");
    if let Some(interval) = str_of(spec.and_then(|s| s.get("interval")))
        && !is_duration(interval)
    {
        c.push(
            doc,
            Rule::Duration,
            format!("interval `{interval}` is not a Go duration in hours/minutes/seconds (7 days is `168h`)"),
        );
    }
    if let Some(expr) =
        str_of(spec.and_then(|s| get(s, &["freightCreationCriteria", "expression"])))
    {
        if expr.contains("${{") {
            c.push(
                doc,
                Rule::BareExpression,
                "freightCreationCriteria.expression is written without `${{ }}`",
            );
        } else if let Err(problem) = crate::expression::check_bare(expr) {
            let message = format!("freightCreationCriteria.expression: {problem}");
            c.push(doc, Rule::Expressions, message);
        }
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, sub) in arr(spec.and_then(|s| s.get("subscriptions")))
        .iter()
        .enumerate()
    {
        let Some(map) = sub.as_object() else {
            c.push(
                doc,
                Rule::SubscriptionShape,
                format!("subscriptions[{i}] is not a mapping"),
            );
            continue;
        };
        let keys: Vec<&String> = map.keys().collect();
        if keys.len() != 1 || !matches!(keys[0].as_str(), "image" | "git" | "chart") {
            c.push(
                doc,
                Rule::SubscriptionShape,
                format!(
                    "subscriptions[{i}] must have exactly one key of `image`, `git`, `chart` (found {}); Kargo v1.11 has no `name` sibling",
                    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        for (kind, body) in map {
            let repo = str_of(body.get("repoURL")).unwrap_or("");
            let normalized = match kind.as_str() {
                "image" => {
                    check_image_subscription(c, doc, i, body);
                    normalize_image_repo(repo)
                }
                "git" => normalize_git(repo),
                _ => repo.trim_end_matches('/').to_lowercase(),
            };
            if let Some(first) = seen.insert(normalized.clone(), i) {
                c.push(
                    doc,
                    Rule::DuplicateRepoUrl,
                    format!("subscriptions[{first}] and [{i}] share the repoURL `{normalized}`"),
                );
            }
        }
    }
}

fn check_image_subscription(c: &mut Checker, doc: &Doc<'_>, i: usize, body: &Value) {
    let what = format!("subscriptions[{i}].image");
    let strategy = str_of(body.get("imageSelectionStrategy")).unwrap_or("SemVer");
    let constraint = str_of(body.get("constraint"))
        .or_else(|| str_of(body.get("semverConstraint")))
        .unwrap_or("");
    match strategy {
        "Digest" => {
            if constraint.trim().is_empty() {
                c.push(
                    doc,
                    Rule::ImageSubscription,
                    format!("{what}: Digest strategy needs `constraint` (the tag to follow)"),
                );
            }
        }
        "SemVer" => {
            if !constraint.is_empty() && !semver_constraint_ok(constraint) {
                c.push(
                    doc,
                    Rule::ImageSubscription,
                    format!("{what}: SemVer constraint `{constraint}` does not parse"),
                );
            }
        }
        "Lexical" | "NewestBuild" => {}
        other => c.push(
            doc,
            Rule::ImageSubscription,
            format!("{what}: unknown imageSelectionStrategy `{other}` (Digest, Lexical, NewestBuild or SemVer)"),
        ),
    }
    for key in ["allowTags", "ignoreTags"] {
        if body.get(key).is_some() {
            c.push(
                doc,
                Rule::ImageSubscription,
                format!("{what}: `{key}` breaks discovery since Kargo v1.11 (use `{key}Regexes`)"),
            );
        }
    }
    if let Some(repo) = str_of(body.get("repoURL")) {
        match ImageRef::parse_normalized(repo) {
            Ok(r) if r.tag().is_some() || r.digest().is_some() => c.push(
                doc,
                Rule::ImageSubscription,
                format!("{what}: repoURL `{repo}` must not carry a tag or digest"),
            ),
            Ok(_) if !kargo_image_repo_ok(repo) => c.push(
                doc,
                Rule::ImageSubscription,
                format!("{what}: repoURL `{repo}` does not match Kargo's repoURL pattern (no `--` or `..` in names)"),
            ),
            Ok(_) => {}
            Err(e) => c.push(
                doc,
                Rule::ImageSubscription,
                format!("{what}: repoURL `{repo}` is not an image repository: {e}"),
            ),
        }
    } else {
        c.push(
            doc,
            Rule::ImageSubscription,
            format!("{what}: `repoURL` is required"),
        );
    }
    if let Some(limit) = body.get("discoveryLimit") {
        let ok = limit.as_u64().is_some_and(|n| (1..=100).contains(&n));
        if !ok {
            c.push(
                doc,
                Rule::ImageSubscription,
                format!("{what}: discoveryLimit must be 1..100"),
            );
        }
    }
}

/// Whether Kargo (Masterminds/semver v3) accepts a SemVer constraint: the one grammar
/// configuration validation also uses, [`model::semver::is_constraint`].
pub fn semver_constraint_ok(constraint: &str) -> bool {
    model::semver::is_constraint(constraint)
}

fn check_stage(c: &mut Checker, doc: &Doc<'_>) {
    let spec = doc.value.get("spec");
    let mut origins = BTreeSet::new();
    for (i, req) in arr(spec.and_then(|s| s.get("requestedFreight")))
        .iter()
        .enumerate()
    {
        let origin = format!(
            "{}/{}",
            str_of(get(req, &["origin", "kind"])).unwrap_or("Warehouse"),
            str_of(get(req, &["origin", "name"])).unwrap_or("")
        );
        if !origins.insert(origin.clone()) {
            c.push(
                doc,
                Rule::StageShape,
                format!("requestedFreight[{i}]: origin `{origin}` appears more than once"),
            );
        }
        let sources = req.get("sources");
        let direct = sources
            .and_then(|s| s.get("direct"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let stages = arr(sources.and_then(|s| s.get("stages")));
        if !direct && stages.is_empty() {
            c.push(
                doc,
                Rule::StageShape,
                format!("requestedFreight[{i}]: sources need `direct: true` or `stages`"),
            );
        }
        if str_of(sources.and_then(|s| get(s, &["autoPromotionOptions", "selectionPolicy"])))
            == Some("MatchUpstream")
            && (direct || stages.len() != 1)
        {
            c.push(
                doc,
                Rule::StageShape,
                format!("requestedFreight[{i}]: MatchUpstream needs `direct: false` and exactly one upstream Stage"),
            );
        }
        if let Some(soak) = str_of(sources.and_then(|s| s.get("requiredSoakTime")))
            && !is_duration(soak)
        {
            c.push(
                doc,
                Rule::Duration,
                format!("requestedFreight[{i}]: requiredSoakTime `{soak}` is not a Go duration (7 days is `168h`)"),
            );
        }
    }
    let steps = arr(spec.and_then(|s| get(s, &["promotionTemplate", "spec", "steps"])));
    check_steps(c, doc, steps);
    if steps.is_empty() && spec.and_then(|s| s.get("verification")).is_some() {
        c.push(
            doc,
            Rule::ControlFlowStage,
            "a Stage without steps is a control-flow Stage: it never holds Freight, so its verification never runs",
        );
    }
}

fn check_steps(c: &mut Checker, doc: &Doc<'_>, steps: &[Value]) {
    let mut aliases = BTreeSet::new();
    for (i, step) in steps.iter().enumerate() {
        let uses = str_of(step.get("uses"));
        let task = step.get("task");
        if uses.is_some() == task.is_some() {
            c.push(
                doc,
                Rule::StageShape,
                format!("steps[{i}]: exactly one of `uses` and `task`"),
            );
        }
        if task.is_some() {
            for key in ["if", "config"] {
                if step.get(key).is_some() {
                    c.push(
                        doc,
                        Rule::StageShape,
                        format!("steps[{i}]: a `task` step has no `{key}` (pass inputs as `vars`)"),
                    );
                }
            }
        }
        if let Some(uses) = uses
            && !OSS_STEPS.contains(&uses)
        {
            c.push(
                doc,
                Rule::UnknownStep,
                format!("steps[{i}]: `{uses}` is not an open-source Kargo v1.11 step"),
            );
        }
        if let Some(alias) = str_of(step.get("as")) {
            if STEP_ALIAS_RESERVED
                .as_ref()
                .is_some_and(|r| r.is_match(alias))
            {
                c.push(
                    doc,
                    Rule::StageShape,
                    format!("steps[{i}]: alias `{alias}` is reserved (step-N/task-N)"),
                );
            }
            if !aliases.insert(alias) {
                c.push(
                    doc,
                    Rule::StageShape,
                    format!("steps[{i}]: alias `{alias}` is used twice"),
                );
            }
        }
        if uses == Some("http") {
            for key in ["successExpression", "failureExpression"] {
                let Some(expr) = str_of(get(step, &["config", key])) else {
                    continue;
                };
                if expr.contains("${{") {
                    c.push(
                        doc,
                        Rule::BareExpression,
                        format!("steps[{i}]: http `{key}` is written without `${{{{ }}}}`"),
                    );
                } else if let Err(problem) = crate::expression::check_bare(expr) {
                    let message = format!("steps[{i}]: http `{key}`: {problem}");
                    c.push(doc, Rule::Expressions, message);
                }
            }
        }
    }
}

fn check_analysis_template(c: &mut Checker, doc: &Doc<'_>) {
    let spec = doc.value.get("spec");
    let declared: BTreeSet<&str> = arr(spec.and_then(|s| s.get("args")))
        .iter()
        .filter_map(|a| str_of(a.get("name")))
        .collect();
    for (i, metric) in arr(spec.and_then(|s| s.get("metrics"))).iter().enumerate() {
        let name = str_of(metric.get("name")).unwrap_or("");
        if name.chars().count() > 24 {
            c.push(
                doc,
                Rule::MetricName,
                format!("metrics[{i}]: name `{name}` is longer than 24 characters (Job names must stay ≤ 63)"),
            );
        }
        for key in ["initialDelay", "interval"] {
            if let Some(d) = str_of(metric.get(key))
                && !is_duration(d)
            {
                c.push(
                    doc,
                    Rule::Duration,
                    format!("metrics[{i}]: {key} `{d}` is not a Go duration (7 days is `168h`)"),
                );
            }
        }
    }
    let mut used = BTreeSet::new();
    collect_strings(doc.value, &mut |s| {
        if s.contains("${{") {
            used.insert(format!("${{{{: {s}"));
        }
        if let Some(re) = ARGS_PLACEHOLDER.as_ref() {
            for cap in re.captures_iter(s) {
                if let Some(m) = cap.get(1) {
                    used.insert(m.as_str().to_owned());
                }
            }
        }
    });
    for u in used {
        if let Some(text) = u.strip_prefix("${{: ") {
            c.push(
                doc,
                Rule::VerificationArgs,
                format!(
                    "AnalysisTemplates use `{{{{args.x}}}}`, not Kargo's `${{{{ }}}}`: `{text}`"
                ),
            );
        } else if !declared.contains(u.as_str()) {
            c.push(
                doc,
                Rule::VerificationArgs,
                format!("`{{{{args.{u}}}}}` is used but not declared in spec.args"),
            );
        }
    }
}

fn collect_strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, f)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, f)),
        _ => {}
    }
}

/// A namespaced object's (namespace, name).
type StageKey<'a> = (&'a str, &'a str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_constraints() {
        for ok in [
            ">=0.0.0",
            ">=3.12.0 <3.13.0",
            "^1.0.0",
            "~1.2",
            "1.x",
            ">= 1.2, < 2",
            "1.2 - 1.4",
            "*",
            "v1.2.3 || >=2",
        ] {
            assert!(semver_constraint_ok(ok), "{ok}");
        }
        for bad in ["", "latest", ">=1.2.3.4", "=>>1", "||", "v1x2"] {
            assert!(!semver_constraint_ok(bad), "{bad}");
        }
    }

    fn stage(name: &str, upstream: &str) -> Value {
        serde_json::json!({
            "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": name, "namespace": "p"},
            "spec": {
                "requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"stages": [upstream]}}],
                "promotionTemplate": {"spec": {"steps": [{"uses": "compose-output", "config": {"a": "b"}}]}}
            }
        })
    }

    #[test]
    fn cycles_and_dangling_references() {
        let warehouse = serde_json::json!({
            "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse",
            "metadata": {"name": "w", "namespace": "p"},
            "spec": {"interval": "24h", "subscriptions": [{"image": {"repoURL": "debian", "imageSelectionStrategy": "Digest", "constraint": "12"}}]}
        });
        let v = check_documents(&[warehouse.clone(), stage("a", "b"), stage("b", "a")]);
        assert!(
            v.iter().any(|v| v.message.contains("Stage cycle: ")),
            "{v:?}"
        );
        let v = check_documents(&[warehouse, stage("a", "missing")]);
        assert!(
            v.iter()
                .any(|v| v.message.contains("`missing` does not exist")),
            "{v:?}"
        );
    }

    #[test]
    fn expressions() {
        let problems = |s: &str| {
            let v = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c"}, "data": {"k": s}});
            check_one(0, &v).0
        };
        assert_eq!(problems("a ${{ x }} b ${% {\"a\": {}} %}"), vec![]);
        for bad in [
            "${{ x",
            "${{ }}",
            "${{ x + }}",
            "${{ {\"a\": {\"b\": 1}} }}",
        ] {
            let found = problems(bad);
            assert!(
                found.len() == 1 && found[0].rule == Rule::Expressions,
                "{bad}: {found:?}"
            );
        }
    }
}
