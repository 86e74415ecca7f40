//! Discovery of the selected images' dependencies, from a source root or from shallow clones (one
//! per repository and branch, however many images share it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::enrollment::{EffectiveImage, EffectiveSource, Provider};
use state::discover::{self, Outcome as Discovery};
use state::git::{self, Access, Credentials};

use crate::analyze::{Environment, Sources};
use crate::error::JobError;

/// The discovery outcome of every target that has a source, by image name; Dockerfiles larger than
/// `limit` bytes are refused. Images with `local.dockerfile` are analysed from the factory dir
/// `factory_dir` (the state repository), the others from `sources`.
pub(crate) fn discover_all(
    factory_dir: &Path,
    sources: &Sources,
    targets: &[&EffectiveImage],
    env: &Environment,
    access: &Access,
    askpass: Option<&Path>,
    limit: u64,
) -> Result<BTreeMap<String, Discovery>, JobError> {
    let (local, upstream): (Vec<&EffectiveImage>, Vec<&EffectiveImage>) = targets
        .iter()
        .partition(|image| image.local_dockerfile().is_some());
    let mut outcomes = if upstream.is_empty() {
        BTreeMap::new()
    } else {
        match sources {
            Sources::Root(root) => from_root(root, &upstream, limit)?,
            Sources::Clone { url_base } => {
                from_clones(url_base.as_deref(), &upstream, env, access, askpass, limit)?
            }
        }
    };
    outcomes.extend(from_factory_dir(factory_dir, &local, limit));
    Ok(outcomes)
}

/// Discovery of the images whose Dockerfile is ours (`local.dockerfile`), read from the factory
/// dir with the same containment rules as a source checkout (no `..`, no symlink leading out).
fn from_factory_dir(
    factory_dir: &Path,
    targets: &[&EffectiveImage],
    limit: u64,
) -> BTreeMap<String, Discovery> {
    let root = factory_dir
        .canonicalize()
        .unwrap_or_else(|_| factory_dir.to_path_buf());
    targets
        .iter()
        .filter_map(|image| {
            let (source, dockerfile) = image.source.as_ref().zip(image.local_dockerfile())?;
            // The build args and platform are the enrolment's; only the file's place differs.
            let mut source = source.clone();
            source.dockerfile = dockerfile;
            Some((
                image.name.clone(),
                discover::discover(&root, &source, limit),
            ))
        })
        .collect()
}

fn from_root(
    root: &Path,
    targets: &[&EffectiveImage],
    limit: u64,
) -> Result<BTreeMap<String, Discovery>, JobError> {
    if !root.is_dir() {
        return Err(JobError::SourceRoot(root.to_path_buf()));
    }
    let root = &root.canonicalize().map_err(|source| JobError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let (names, sources): (Vec<&String>, Vec<_>) = targets
        .iter()
        .filter_map(|image| image.source.as_ref().map(|source| (&image.name, source)))
        .unzip();
    let found = discover::discover_all_in_root(root, &sources, limit);
    Ok(names.into_iter().cloned().zip(found).collect())
}

/// The access of a provider's clones: its token when there is one (never logged, handed to git
/// through `GIT_ASKPASS`), else the environment's git credentials.
fn clone_access(
    env: &Environment,
    provider: Provider,
    access: &Access,
    askpass: Option<&Path>,
) -> Access {
    let token = match provider {
        Provider::Github => env.github_token.as_deref(),
        Provider::Gitlab => env.gitlab_token.as_deref(),
    };
    match (token, askpass) {
        (Some(token), Some(askpass)) => access.with_credentials(Some((
            Credentials {
                username: "x-access-token".to_owned(),
                password: token.to_owned(),
            },
            askpass.to_path_buf(),
        ))),
        _ => access.clone(),
    }
}

fn clone_url(url_base: Option<&str>, source: &EffectiveSource) -> String {
    match url_base {
        Some(base) => format!("{}/{}.git", base.trim_end_matches('/'), source.repo),
        None => source.repo_url(),
    }
}

fn from_clones(
    url_base: Option<&str>,
    targets: &[&EffectiveImage],
    env: &Environment,
    access: &Access,
    askpass: Option<&Path>,
    limit: u64,
) -> Result<BTreeMap<String, Discovery>, JobError> {
    let scratch = std::env::temp_dir().join(format!(
        "image-factory-clone-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&scratch).map_err(|source| JobError::CreateDir {
        path: scratch.clone(),
        source,
    })?;
    // One checkout per (clone URL, branch): images sharing a repository share its clone.
    let mut clones: BTreeMap<(String, String), Result<PathBuf, String>> = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    for image in targets {
        let Some(source) = &image.source else {
            continue;
        };
        let url = clone_url(url_base, source);
        let index = clones.len();
        let checkout = clones
            .entry((url.clone(), source.branch.clone()))
            .or_insert_with(|| {
                let dest = scratch.join(format!("repo-{index}"));
                tracing::info!(repo = %source.repo, branch = %source.branch, "cloning");
                let access = clone_access(env, source.provider, access, askpass);
                git::shallow_clone(&url, &source.branch, &dest, &access)
                    .map(|()| dest)
                    .map_err(|e| e.to_string())
            });
        let outcome = match checkout {
            Ok(dir) => discover::discover(dir, source, limit),
            Err(err) => Discovery::failed(discover::DiscoveryError::Clone {
                repo: source.repo.clone(),
                message: err.clone(),
            }),
        };
        outcomes.insert(image.name.clone(), outcome);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(outcomes)
}
