//! Rules Kargo (and the templates around it) impose on text that configuration puts into
//! generated manifests. Validation ([`crate::enrollment`]) and synthesis's defensive checks call
//! these same functions, so a configuration that validates cannot be refused later for them.
//!
//! Sources (Kargo v1.x, `api/v1alpha1/warehouse_types.go`):
//! - `GitSubscription.Branch`: `+kubebuilder:validation:MaxLength=255` and
//!   `+kubebuilder:validation:Pattern=^[a-zA-Z0-9]([a-zA-Z0-9._\/-]*[a-zA-Z0-9_-])?$`;
//! - `ImageSubscription.RepoURL`: the pattern [`IMAGE_REPO_PATTERN`], stricter than
//!   distribution/reference (no `--`, no IPv6 hosts);
//! - SemVer constraints: see [`crate::semver`].

use std::sync::LazyLock;

use regex::Regex;

/// Kargo's pattern for a git subscription's `branch` (stricter than git's own rules: no `+`, `@`,
/// `,`, ...; must end with a letter, digit, `_` or `-`).
pub const BRANCH_PATTERN: &str = r"^[a-zA-Z0-9]([a-zA-Z0-9._/-]*[a-zA-Z0-9_-])?$";

/// Kargo's maximum length of a branch name.
pub const BRANCH_MAX: usize = 255;

/// Kargo's pattern for an image subscription's `repoURL`.
pub const IMAGE_REPO_PATTERN: &str =
    r"^(\w+([\.-]\w+)*(:[\d]+)?/)?(\w+([\.-]\w+)*)(/\w+([\.-]\w+)*)*$";

static BRANCH: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(BRANCH_PATTERN).ok());
// `\w` and `\d` are ASCII in Go's RE2; `(?-u)` makes them ASCII here too.
static IMAGE_REPO: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(&format!("(?-u){IMAGE_REPO_PATTERN}")).ok());

/// Whether Kargo accepts `branch` as a git subscription's branch (and as the branch of the
/// `git-clone` / `git-push` steps we generate from it).
pub fn is_branch(branch: &str) -> bool {
    branch.len() <= BRANCH_MAX && BRANCH.as_ref().is_some_and(|r| r.is_match(branch))
}

/// Whether Kargo accepts `repo` (a normalised image name without tag, `docker.io/library/node`)
/// as an image subscription's `repoURL`.
pub fn is_image_repo(repo: &str) -> bool {
    IMAGE_REPO.as_ref().is_some_and(|r| r.is_match(repo))
}

/// The template markers that must never reach a manifest from configuration: Kargo expressions
/// (`${{ }}`; `${` alone is refused too, since a later character could complete it and shells and
/// BuildKit expand `${X}`), Argo Rollouts placeholders (`{{ }}`) and Go/Jinja-style blocks (`{%`).
pub const TEMPLATE_MARKERS: &[&str] = &["{{", "}}", "${", "{%"];

/// The first template marker found in `text`, if any (see [`TEMPLATE_MARKERS`]).
pub fn template_marker(text: &str) -> Option<&'static str> {
    TEMPLATE_MARKERS.iter().copied().find(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches() {
        for ok in ["main", "release/1.x", "feat_x", "a", "v1.2-rc_"] {
            assert!(is_branch(ok), "{ok}");
        }
        for bad in ["", "feat+x", "-x", ".x", "x.", "x/", "a b", "ü", "a@b"] {
            assert!(!is_branch(bad), "{bad}");
        }
        assert!(is_branch(&"a".repeat(255)));
        assert!(!is_branch(&"a".repeat(256)));
    }

    #[test]
    fn image_repos() {
        for ok in [
            "ghcr.io/acme/web",
            "docker.io/library/node",
            "localhost:5000/a__b",
        ] {
            assert!(is_image_repo(ok), "{ok}");
        }
        for bad in ["ghcr.io/acme/a--b", "[::1]:5000/x", "a..b/c", "ghcr.io/ä"] {
            assert!(!is_image_repo(bad), "{bad}");
        }
    }

    #[test]
    fn markers() {
        assert_eq!(template_marker("app/${X}/Dockerfile"), Some("${"));
        assert_eq!(template_marker("{{args.x}}"), Some("{{"));
        assert_eq!(template_marker("x }}"), Some("}}"));
        assert_eq!(template_marker("{% if %}"), Some("{%"));
        assert_eq!(template_marker("$HOME {x}"), None);
    }
}
