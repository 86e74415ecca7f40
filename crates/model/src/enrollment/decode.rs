//! Decoding `images.yaml` from its YAML tree into [`Enrollment`], reporting every problem as a
//! [`Diagnostic`] with its position and a hint. The rules synth relies on (Kargo's patterns, the
//! SemVer grammar, template markers) come from [`crate::kargo`] and [`crate::semver`], so what
//! decodes here also synthesises.

use std::collections::{BTreeMap, HashMap};

use super::legacy;
use super::local;
use super::{
    Enrollment, ImageEntry, NAME_MAX, Priority, Provider, Source, TagPolicy, TagStrategy,
    UpdateKind, UpdateTarget,
};
use crate::config::{Decoder, Fields, dns_label_suggestion};
use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::names::is_dns1123_label;
use crate::reference::ImageRef;
use crate::settings::Settings;
use crate::yaml::{self, Node, Pos, Value};

/// Parses and checks `images.yaml` (see [`super::parse_with`]).
pub(super) fn parse_with(
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
    "pinInput",
    "host",
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

/// Decodes one entry, phase by phase; `None` when any phase reported an error.
fn decode_entry(
    d: &mut Decoder<'_>,
    node: &Node,
    index: usize,
    settings: &Settings,
) -> Option<ImageEntry> {
    let errors_before = error_count(d);
    let label = entry_label(node, index);
    let f = d.fields(node, &label, ENTRY_KEYS)?;
    let what = label.as_str();
    let managed = f.get("source").is_some();

    let name = decode_name(d, &f, what);
    let written = legacy::Written {
        registry: d.string(&f, "registry", what),
        repository: d.string(&f, "repository", what),
    };
    let migrated = legacy::migrate(d, &f, what, written);
    let (registry, repository, tag) = decode_image(d, &f, what, managed, settings, migrated.names);
    let generated = f
        .get("source")
        .is_some_and(|n| generates_workflow(n, f.has("local")));
    let source = f
        .get("source")
        .and_then(|n| decode_source(d, n, what, generated));
    let own_workflow = f
        .get("source")
        .and_then(|s| s.as_map())
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("workflow")))
        .and_then(|(_, v)| v.as_str());
    let local = f
        .get("local")
        .and_then(|n| local::decode(d, n, what, managed, own_workflow));
    let build = decode_build_settings(d, &f, what, migrated.strategy);
    if !managed {
        warn_build_settings_of_external(d, &f, what);
    }

    if error_count(d) > errors_before {
        return None;
    }
    Some(ImageEntry {
        name: name?,
        registry,
        repository: repository?,
        tag,
        source,
        rebuild_delay: build.rebuild_delay,
        auto_rebuild: build.auto_rebuild,
        priority: build.priority,
        updates: build.updates,
        tag_policy: build.tag_policy,
        local,
    })
}

fn error_count(d: &Decoder<'_>) -> usize {
    d.diagnostics.iter().filter(|x| x.is_error()).count()
}

/// How messages name the entry: "image `web`", or "image #3" before its name is known.
fn entry_label(node: &Node, index: usize) -> String {
    let name = node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("name")))
        .and_then(|(_, v)| v.as_str());
    match name {
        Some(name) => format!("image `{name}`"),
        None => format!("image #{}", index + 1),
    }
}

/// `name`: a DNS-1123 label of at most [`NAME_MAX`] characters.
fn decode_name(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str) -> Option<String> {
    let n = d.require(f, "name", what)?;
    let name = d.string_node(n, &format!("{what}: `name`"))?;
    if is_dns1123_label(&name, NAME_MAX) {
        return Some(name);
    }
    let suggestion = dns_label_suggestion(&name, NAME_MAX);
    let hint = if suggestion.is_empty() {
        "use lower-case letters, digits and `-`, starting and ending with a letter or digit"
            .to_owned()
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

/// `registry`, `repository` and `tag` (after legacy migration): the image the entry names.
fn decode_image(
    d: &mut Decoder<'_>,
    f: &Fields<'_>,
    what: &str,
    managed: bool,
    settings: &Settings,
    names: legacy::Written,
) -> (Option<String>, Option<String>, Option<String>) {
    let legacy::Written {
        registry,
        repository,
    } = names;
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
    if repository.is_none() && repo_node.is_none() {
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
    let tag = d.string(f, "tag", what);
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
    (registry, repository, tag)
}

/// The keys about building and publishing a managed image.
struct BuildSettings {
    rebuild_delay: Option<Duration>,
    auto_rebuild: Option<bool>,
    priority: Option<Priority>,
    updates: Vec<UpdateTarget>,
    tag_policy: Option<TagPolicy>,
}

/// `rebuildDelay`, `autoRebuild`, `priority`, `updates` and `tagPolicy` (or the strategy a legacy
/// key mapped to).
fn decode_build_settings(
    d: &mut Decoder<'_>,
    f: &Fields<'_>,
    what: &str,
    legacy_strategy: Option<TagStrategy>,
) -> BuildSettings {
    BuildSettings {
        rebuild_delay: d.duration(f, "rebuildDelay", what),
        auto_rebuild: d.bool(f, "autoRebuild", what),
        priority: d.choice(f, "priority", what, Priority::CHOICES),
        updates: match f.get("updates") {
            Some(n) => decode_updates(d, n, what),
            None => Vec::new(),
        },
        tag_policy: match f.get("tagPolicy") {
            Some(n) => decode_tag_policy(d, n, what),
            None => legacy_strategy.map(|strategy| TagPolicy {
                strategy,
                constraint: None,
            }),
        },
    }
}

/// External images are never built: their build settings are ignored, with a warning.
fn warn_build_settings_of_external(d: &mut Decoder<'_>, f: &Fields<'_>, what: &str) {
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
                format!("{what}: `{key}` is ignored for external images (they are never built)"),
                "remove the key, or add `source` to build the image",
            );
        }
    }
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
    let lower = registry.to_lowercase() == registry;
    if parses && is_host && lower {
        return true;
    }
    let hint = if is_host && lower {
        "a host name is `.`-separated labels of letters, digits and `-` (no `_`), with an optional `:port` (`registry.example.com:5000`)"
    } else {
        "a registry host is lower-case and contains a `.` or a `:` (`ghcr.io`, `registry.example.com:5000`) or is `localhost`; Docker Hub is `docker.io`"
    };
    d.error_hint(
        node.pos,
        format!("{what}: `{registry}` is not a registry host"),
        hint,
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

/// Whether the `source` node describes an image whose build workflow is generated (see
/// [`Source::has_generated_workflow`]), before it is decoded.
fn generates_workflow(source: &Node, has_local: bool) -> bool {
    let get = |key: &str| {
        source
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(key)))
            .map(|(_, v)| v)
    };
    let gitlab = get("provider").and_then(Node::as_str) == Some("gitlab");
    get("workflow").is_none() && (!gitlab || has_local)
}

fn decode_source(d: &mut Decoder<'_>, node: &Node, what: &str, generated: bool) -> Option<Source> {
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
    let branch = d
        .safe_string(&f, "branch", &swhat)
        .filter(|b| check_branch(d, &f, b, &swhat));
    let dockerfile = repo_relative(d, &f, "dockerfile", &swhat);
    let context = repo_relative(d, &f, "context", &swhat);
    let workflow = d.safe_string(&f, "workflow", &swhat).filter(|w| {
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
    let generated_ok = !generated || local::check_generated_inputs(d, &f, &swhat);
    let inputs = checked_map(d, &f, "inputs", &swhat).filter(|_| generated_ok);
    let build_args = checked_map(d, &f, "buildArgs", &swhat);
    let platform = d.safe_string(&f, "platform", &swhat).filter(|p| {
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
    let pin_input = d.safe_string(&f, "pinInput", &swhat).filter(|name| {
        // GitHub input names and GitLab variable names both fit this.
        let ok = name.len() <= 100
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok && let Some(n) = f.get("pinInput") {
            d.error_hint(
                n.pos,
                format!("{swhat}: `pinInput`: `{name}` is not an input or variable name"),
                "letters, digits and `_`, not starting with a digit, e.g. `base_images`",
            );
        }
        ok
    });
    let host = d.safe_string(&f, "host", &swhat).filter(|host| {
        let gitlab = provider == Some(Provider::Gitlab);
        let ok = gitlab && is_host(host);
        if !ok && let Some(n) = f.get("host") {
            let hint = if gitlab {
                "a host name with an optional port, e.g. `gitlab.example.com`"
            } else {
                "`host` is for self-hosted GitLab (`provider: gitlab`); for GitHub Enterprise \
                 set `ci.githubApi` in factory.yaml"
            };
            d.error_hint(
                n.pos,
                format!("{swhat}: `host`: `{host}` is not a GitLab host"),
                hint,
            );
        }
        ok
    });
    Some(Source {
        pin_input,
        host,
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

/// A path inside the source repository: relative, no `..` components.
fn repo_relative(d: &mut Decoder<'_>, f: &Fields<'_>, key: &str, what: &str) -> Option<String> {
    let value = d.safe_string(f, key, what)?;
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

/// A branch both git ([`crate::git::check_branch`], which Kargo's pattern alone lets through:
/// `a..b`, `a//b`, `x.lock`) and Kargo accept ([`crate::kargo::is_branch`]: synth puts it in a git
/// subscription and in `git-clone` / `git-push` steps); reports and returns false otherwise.
fn check_branch(d: &mut Decoder<'_>, f: &Fields<'_>, branch: &str, what: &str) -> bool {
    let ok = crate::git::is_branch_name(branch) && crate::kargo::is_branch(branch);
    if !ok && let Some(n) = f.get("branch") {
        d.error_hint(
            n.pos,
            format!("{what}: `branch`: `{branch}` is not a branch name Kargo accepts"),
            "use letters, digits, `.`, `_`, `/` and `-`, starting with a letter or digit and ending with a letter, digit, `_` or `-` (no `..` or `//`)",
        );
    }
    ok
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
        let key = d.safe_string(&f, "key", &uwhat);
        if kind == Some(UpdateKind::YamlUpdate) && f.get("key").is_none() {
            d.error_hint(
                f.key("type").map_or(f.pos, |k| k.pos),
                format!("{uwhat}: `yaml-update` needs `key`"),
                "give the YAML path of the field holding the image, e.g. `key: images.web.tag`",
            );
        }
        let branch = d
            .safe_string(&f, "branch", &uwhat)
            .filter(|b| check_branch(d, &f, b, &uwhat));
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
    let constraint = d.safe_string(&f, "constraint", &twhat);
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

/// `name[.name...][:port]`, each name alphanumeric with inner `-`.
fn is_host(text: &str) -> bool {
    let (host, port) = text.split_once(':').unwrap_or((text, "80"));
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    host.len() <= 253
        && host.split('.').all(label)
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
}
