//! The errors of registry calls: each message is complete on its own (which registry, which URL,
//! what happened) and never carries a credential or token.

use std::time::Duration;

/// Why the digest of one reference could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP client could not be built (TLS roots, runtime).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The request could not be sent or its answer not read (connection refused, TLS, reset).
    #[error("{url}: {message}")]
    Transport {
        /// The request URL (never with credentials).
        url: String,
        /// What failed.
        message: String,
    },
    /// No answer within the per-request time-out, on every attempt the time budget allowed.
    #[error("{url}: no answer within {timeout:?} ({attempts} attempt(s))")]
    Timeout {
        /// The request URL.
        url: String,
        /// The per-request time-out.
        timeout: Duration,
        /// How many requests were sent.
        attempts: u32,
    },
    /// The registry kept answering 429 or 5xx until the attempts or the time budget ran out.
    #[error("{url}: HTTP {status} after {attempts} attempt(s), giving up")]
    Exhausted {
        /// The request URL.
        url: String,
        /// The last status.
        status: u16,
        /// How many requests were sent.
        attempts: u32,
    },
    /// A final answer other than success (e.g. 404: the tag does not exist).
    #[error("{url}: HTTP {status}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Status {
        /// The request URL.
        url: String,
        /// The status.
        status: u16,
        /// The registry's error code, when it sent one.
        detail: Option<String>,
    },
    /// The registry refused our credentials or anonymous access, after a fresh token.
    #[error("{registry}: access denied to {repository} (HTTP 401){}", if *with_credentials { " with the credentials of the Docker config" } else { " without credentials" })]
    Unauthorized {
        /// The registry.
        registry: String,
        /// The repository.
        repository: String,
        /// Whether credentials were sent.
        with_credentials: bool,
    },
    /// The token endpoint refused or failed.
    #[error("{registry}: token request to {realm} failed: {message}")]
    Token {
        /// The registry that sent the challenge.
        registry: String,
        /// The token endpoint.
        realm: String,
        /// What failed (status or decoding).
        message: String,
    },
    /// A 401 whose `WWW-Authenticate` we cannot follow.
    #[error("{registry}: unsupported authentication challenge: {challenge}")]
    Challenge {
        /// The registry.
        registry: String,
        /// The header, as sent.
        challenge: String,
    },
    /// The answer names no digest, or not a valid one.
    #[error("{url}: {message}")]
    Digest {
        /// The request URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A tag list page is not the JSON of a tag list, or is too large to be one.
    #[error("{url}: not a tag list: {message}")]
    TagList {
        /// The request URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A tag list page names its next page on another host, scheme or port (or with credentials
    /// of its own): not followed, as the registry's credentials would go with it.
    #[error(
        "{url}: refusing to follow the next-page link {link:?}: it leaves the registry's own \
         scheme, host and port (the registry's credentials would go with it)"
    )]
    OffHostLink {
        /// The page that sent the link.
        url: String,
        /// The link, as sent.
        link: String,
    },
    /// A tag list page's next-page link is not a URL.
    #[error("{url}: the next-page link {link:?} is not a URL")]
    BadLink {
        /// The page that sent the link.
        url: String,
        /// The link, as sent.
        link: String,
    },
    /// A tag list went past [`crate::MAX_TAGS`] tags or [`crate::MAX_TAG_PAGES`] pages.
    #[error(
        "{registry}: the tag list of {repository} has more than {} tags or {} pages \
         ({tags} tags in {pages} pages so far); giving up",
        crate::MAX_TAGS,
        crate::MAX_TAG_PAGES
    )]
    TooManyTags {
        /// The registry.
        registry: String,
        /// The repository.
        repository: String,
        /// Tags read so far.
        tags: usize,
        /// Pages read so far.
        pages: u32,
    },
    /// The Docker config or a credential helper failed.
    #[error("credentials for {registry}: {message}")]
    Credentials {
        /// The registry whose credentials were looked up.
        registry: String,
        /// What failed (file, JSON, helper).
        message: String,
    },
}
