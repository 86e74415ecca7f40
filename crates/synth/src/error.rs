//! Errors of synthesis.

use crate::check::Violation;

/// Why no manifest could be produced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// An image's state lists a base image id that has no state file.
    #[error(
        "image `{image}` depends on base image `{id}`, which has no state file (state/base-images/{id}.yaml); run `analyzer analyze`"
    )]
    MissingBase {
        /// The dependent image.
        image: String,
        /// The missing base id.
        id: String,
    },
    /// An image's state names a managed parent that is not an enrolled managed image.
    #[error("image `{image}` builds from `{parent}`, which is not an enrolled managed image")]
    UnknownParent {
        /// The dependent image.
        image: String,
        /// The parent name.
        parent: String,
    },
    /// Managed images build from each other in a cycle.
    #[error("dependency cycle between managed images: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    /// A base image state carries a reference that does not parse.
    #[error("base image `{id}` has an invalid reference `{reference}`")]
    InvalidBaseReference {
        /// Base id.
        id: String,
        /// The reference text.
        reference: String,
    },
    /// An enrolled image's registry/repository is not a valid image name.
    #[error(
        "image `{0}`: registry/repository is not an image name Kargo can subscribe to (Kargo rejects `--` and `..` in repository names)"
    )]
    InvalidImage(String),
    /// Text from the configuration that could inject an expression into the manifests.
    #[error(
        "image `{image}`: {field} `{value}` contains `${{`, `{{{{` or `}}}}`, which could inject an expression"
    )]
    UnsafeText {
        /// Image name.
        image: String,
        /// Which value.
        field: String,
        /// The value.
        value: String,
    },
    /// A branch name Kargo rejects (its pattern is stricter than git's).
    #[error(
        "image `{image}`: branch `{branch}` is not accepted by Kargo (letters, digits, `.`, `_`, `/`, `-`; starting with a letter or digit)"
    )]
    InvalidBranch {
        /// Image name.
        image: String,
        /// The branch.
        branch: String,
    },
    /// The generated objects break a Kargo rule (a bug: nothing is written).
    #[error("generated manifests fail {} check(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rejected(Vec<Violation>),
    /// Serialisation failed.
    #[error("cannot serialise manifests: {0}")]
    Render(String),
}
