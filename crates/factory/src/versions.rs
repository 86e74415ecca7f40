//! The versions job (`analyzer versions`, SPEC §10): the tags of an image, newest version first,
//! from its registry's tag list (the command-line version of Backstage's "container versions"
//! card).
//!
//! Tags that are versions as Kargo's SemVer strategy reads them ([`model::semver::Version`]) are
//! listed by precedence, newest first; the others (`latest`, branch names, commit hashes) are
//! counted, and listed after them only when asked for.

use std::collections::BTreeMap;
use std::fmt;

use model::digest::Digest;
use model::reference::ImageRef;
use model::semver::Version;
use registry::{Client, Counts, DockerConfig, Limits, RegistrySettings};
use serde::Serialize;

use crate::analyze::Environment;
use crate::dir::FactoryDir;
use crate::error::{JobError, UsageError};

/// Options of [`versions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionsOptions {
    /// Also list the tags that are not versions (after the versions, by text).
    pub all: bool,
    /// Read each listed tag's digest (one manifest HEAD per tag; the index digest of a
    /// multi-arch tag).
    pub digests: bool,
    /// Tags asked for per page of the registry's tag list (`n`; at least 1).
    pub page_size: u32,
    /// Where the Docker config comes from ([`Environment::docker_config`]).
    pub environment: Environment,
}

impl VersionsOptions {
    /// The page size asked for when none is given: a page of that many tags is well under the
    /// page cap, and most repositories fit in one.
    pub const DEFAULT_PAGE_SIZE: u32 = 1000;
}

impl Default for VersionsOptions {
    fn default() -> Self {
        VersionsOptions {
            all: false,
            digests: false,
            page_size: Self::DEFAULT_PAGE_SIZE,
            environment: Environment::default(),
        }
    }
}

/// One listed tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TagEntry {
    /// The tag, as the registry lists it.
    pub tag: String,
    /// The version it stands for, in SemVer form (`v1.2` → `1.2.0`); none for other tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The digest the tag points at (with `--digests`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

/// What [`versions`] found: the JSON object of `analyzer versions --format json`;
/// [`fmt::Display`] is the text output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VersionsReport {
    /// The image as asked for (an enrolled name or a reference).
    pub image: String,
    /// The repository's canonical name (`docker.io/library/node`).
    pub repository: String,
    /// The version tags, newest first (SemVer precedence, then the tag text).
    pub versions: Vec<TagEntry>,
    /// The other tags, by text; only when they were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<Vec<TagEntry>>,
    /// How many other tags were left out.
    pub hidden: usize,
    /// Requests sent, per registry.
    pub requests: BTreeMap<String, Counts>,
}

/// Lists the tags of `image`: an image enrolled in `dir` (by name), else an image reference (its
/// tag and digest, if any, ignored). `dir` is `None` without a factory dir
/// ([`FactoryDir::load_if_present`]); its `factory.yaml` `registries` settings apply.
///
/// # Errors
/// [`JobError::InvalidConfig`] when `dir` has configuration errors; [`UsageError::NotAnImage`]
/// when `image` is neither enrolled nor a reference; [`JobError::DockerConfig`] when the Docker
/// config cannot be read; [`JobError::Registry`] when the registry fails.
pub fn versions(
    dir: Option<&FactoryDir>,
    image: &str,
    options: &VersionsOptions,
) -> Result<VersionsReport, JobError> {
    let config = dir.map(FactoryDir::config).transpose()?;
    let repository = resolve(dir, config.map(|c| c.images.as_slice()), image)?;
    let settings = config
        .map(|c| {
            c.settings
                .registries
                .iter()
                .map(|(host, access)| (host.clone(), RegistrySettings::from(access)))
                .collect()
        })
        .unwrap_or_default();
    let docker_config = match &options.environment.docker_config {
        Some(path) => {
            DockerConfig::load(path).map_err(|e| JobError::DockerConfig(e.to_string()))?
        }
        None => DockerConfig::empty(),
    };
    let client = Client::new(
        settings,
        RegistrySettings::default(),
        Limits::default(),
        docker_config,
    )
    .map_err(|source| registry_error(&repository, "set up a registry client for", source))?;

    let listed = client
        .tags(&repository, options.page_size)
        .map_err(|source| registry_error(&repository, "list the tags of", source))?;
    let mut requests = listed.requests;
    let (mut shown, other) = classify(listed.tags);
    let hidden = if options.all { 0 } else { other.len() };
    let other_at = shown.len();
    if options.all {
        shown.extend(other);
    }
    if options.digests {
        let refs = shown
            .iter()
            .map(|entry| {
                ImageRef::from_parts(
                    repository.domain(),
                    repository.path(),
                    Some(&entry.tag),
                    None,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| JobError::Registry {
                what: format!("cannot read the digests of {}", repository.name()),
                message: format!("the registry lists a tag that is not one: {e}"),
            })?;
        let check = client.check(&refs);
        for (entry, (reference, digest)) in shown.iter_mut().zip(refs.iter().zip(check.digests)) {
            let digest =
                digest.map_err(|source| registry_error(reference, "read the digest of", source))?;
            entry.digest = Some(digest);
        }
        for (registry, counts) in check.requests {
            *requests.entry(registry).or_default() += counts;
        }
    }
    let other = shown.split_off(other_at);
    Ok(VersionsReport {
        image: image.to_owned(),
        repository: repository.name(),
        versions: shown,
        other: options.all.then_some(other),
        hidden,
        requests,
    })
}

/// The repository of `image`: the enrolled image of that name, else `image` parsed as a
/// reference without its tag and digest.
fn resolve(
    dir: Option<&FactoryDir>,
    enrolled: Option<&[model::enrollment::EffectiveImage]>,
    image: &str,
) -> Result<ImageRef, JobError> {
    let not_an_image = |reason: String| {
        JobError::Usage(UsageError::NotAnImage {
            input: image.to_owned(),
            images_yaml: dir.map(|d| d.path().join("images.yaml")),
            reason,
        })
    };
    if let Some(found) = enrolled.and_then(|images| images.iter().find(|i| i.name == image)) {
        return ImageRef::from_parts(&found.registry, &found.repository, None, None)
            .map_err(|e| not_an_image(format!("its enrolled repository is not valid: {e}")));
    }
    let reference = ImageRef::parse_normalized(image).map_err(|e| not_an_image(e.to_string()))?;
    if reference.domain().is_empty() {
        return Err(not_an_image("it names no registry".to_owned()));
    }
    if reference.tag().is_some() || reference.digest().is_some() {
        tracing::info!(
            image,
            "listing every tag of the repository: the reference's tag and digest are ignored"
        );
    }
    Ok(reference.without_tag_and_digest())
}

/// The version tags, newest first with the tag text breaking ties (`1.2` and `v1.2.0` rank the
/// same), and the other tags by text; each tag once.
fn classify(mut tags: Vec<String>) -> (Vec<TagEntry>, Vec<TagEntry>) {
    tags.sort();
    tags.dedup();
    let mut versions = Vec::new();
    let mut other = Vec::new();
    for tag in tags {
        match Version::parse(&tag) {
            Ok(version) => versions.push((version, tag)),
            Err(_) => other.push(TagEntry {
                tag,
                version: None,
                digest: None,
            }),
        }
    }
    versions.sort_by(|(a, a_tag), (b, b_tag)| b.cmp_precedence(a).then_with(|| a_tag.cmp(b_tag)));
    let versions = versions
        .into_iter()
        .map(|(version, tag)| TagEntry {
            tag,
            version: Some(version.normalized()),
            digest: None,
        })
        .collect();
    (versions, other)
}

fn registry_error(reference: &ImageRef, what: &str, source: registry::Error) -> JobError {
    JobError::Registry {
        what: format!(
            "cannot {what} {} (registry {})",
            reference.canonical(),
            reference.domain()
        ),
        message: source.to_string(),
    }
}

/// The text output: a heading, one line per tag (with its digest), and what was left out.
impl fmt::Display for VersionsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.versions.len();
        writeln!(
            f,
            "{}: {count} version tag(s), newest first",
            self.repository
        )?;
        let other = self.other.as_deref().unwrap_or_default();
        let width = self
            .versions
            .iter()
            .chain(other)
            .map(|e| e.tag.len())
            .max()
            .unwrap_or(0);
        let line = |f: &mut fmt::Formatter<'_>, entry: &TagEntry| match &entry.digest {
            Some(digest) => writeln!(f, "  {:width$}  {digest}", entry.tag),
            None => writeln!(f, "  {}", entry.tag),
        };
        for entry in &self.versions {
            line(f, entry)?;
        }
        if !other.is_empty() {
            writeln!(f, "other tags:")?;
            for entry in other {
                line(f, entry)?;
            }
        }
        if self.hidden > 0 {
            writeln!(
                f,
                "{} other tag(s) hidden (not versions; --all lists them)",
                self.hidden
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_newest_first_then_others_by_text() {
        let tags = [
            "latest",
            "1.2.0",
            "main",
            "v2.0.0-rc.1",
            "1.10.0",
            "2.0.0",
            "1.2",
            "v1.2.0",
            "0123456789abcdef0123456789abcdef01234567",
            "1.2.0",
        ];
        let (versions, other) = classify(tags.iter().map(|t| (*t).to_owned()).collect());
        let shown: Vec<&str> = versions.iter().map(|e| e.tag.as_str()).collect();
        assert_eq!(
            shown,
            ["2.0.0", "v2.0.0-rc.1", "1.10.0", "1.2", "1.2.0", "v1.2.0"]
        );
        let versions: Vec<Option<&str>> = versions.iter().map(|e| e.version.as_deref()).collect();
        assert_eq!(versions[1], Some("2.0.0-rc.1"));
        assert_eq!(versions[3], Some("1.2.0"));
        let other: Vec<&str> = other.iter().map(|e| e.tag.as_str()).collect();
        assert_eq!(
            other,
            ["0123456789abcdef0123456789abcdef01234567", "latest", "main"]
        );
    }
}
