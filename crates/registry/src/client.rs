//! The digest check (one HEAD per tag) and the tag list (one GET per page), over one request
//! machinery: the anonymous bearer-token flow, per-registry pacing and concurrency, retries with
//! backoff, and a count of every request sent.
//!
//! The requests are made here with reqwest (the client oci-client itself uses) rather than through
//! `oci_client::Client::fetch_manifest_digest`: that method pings `GET /v2/` before every token,
//! turns any HEAD answer without a digest header (a 429, an expired token) into a manifest GET, never
//! retries, and exposes no request counts (see the crate documentation).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::digest::Digest;
use model::reference::ImageRef;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use crate::Error;
use crate::auth::{Challenge, TokenAnswer};
use crate::credentials::{Basic, DockerConfig};
use crate::tags::{self, LinkError, MAX_PAGE_BYTES, MAX_TAG_PAGES, MAX_TAGS};

/// The manifest media types we accept, index and list types included, so a multi-arch tag answers
/// with the digest of its index (what the tag points at, as Kargo records it) rather than one
/// platform's manifest.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A manifest read by the GET fallback is small; a larger answer is not a manifest.
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Settings of one registry (`factory.yaml registries: {<host>: ...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySettings {
    /// Plain HTTP instead of HTTPS (only for registries explicitly marked so).
    pub insecure: bool,
    /// At most this many requests to the registry at once (at least 1).
    pub max_concurrency: usize,
    /// At least this long between the starts of two requests to the registry.
    pub min_interval: Duration,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings::from(&model::settings::RegistryAccess::default())
    }
}

/// The settings `factory.yaml` gives a registry.
impl From<&model::settings::RegistryAccess> for RegistrySettings {
    fn from(access: &model::settings::RegistryAccess) -> Self {
        RegistrySettings {
            insecure: access.insecure,
            max_concurrency: usize::try_from(access.max_concurrency).unwrap_or(1).max(1),
            min_interval: access.min_interval.to_std(),
        }
    }
}

/// Time-outs and retry bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time-out of one request (connect + answer).
    pub request_timeout: Duration,
    /// At most this many attempts of one request (429, 5xx, time-outs and transport errors are
    /// retried).
    pub max_attempts: u32,
    /// At most this long for one reference, retries and waits included.
    pub max_total: Duration,
    /// The first backoff, doubled at each retry (a longer `Retry-After` wins).
    pub initial_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(10),
            max_attempts: 4,
            max_total: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// Requests sent to one registry (the token endpoint's counted under the registry that sent the
/// challenge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Manifest HEAD requests.
    pub head: u32,
    /// Manifest GET requests (only where a registry refuses HEAD).
    pub get: u32,
    /// Token requests.
    pub token: u32,
    /// Tag list requests (one per page). Left out of the JSON when zero, so a check's counts keep
    /// their `{"head", "get", "token"}` shape.
    #[serde(skip_serializing_if = "is_zero")]
    pub list: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Counts {
    /// The requests sent since `earlier` was read from the same counter.
    fn since(self, earlier: Counts) -> Counts {
        Counts {
            head: self.head.saturating_sub(earlier.head),
            get: self.get.saturating_sub(earlier.get),
            token: self.token.saturating_sub(earlier.token),
            list: self.list.saturating_sub(earlier.list),
        }
    }
}

/// Adds the requests of another call (e.g. a tag list and the digest check after it).
impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.head = self.head.saturating_add(other.head);
        self.get = self.get.saturating_add(other.get);
        self.token = self.token.saturating_add(other.token);
        self.list = self.list.saturating_add(other.list);
    }
}

/// The answer to [`Client::check`]: one result per reference, in order, and the requests sent.
#[derive(Debug)]
pub struct Check {
    /// The digest each reference's tag points at, or why it could not be read.
    pub digests: Vec<Result<Digest, Error>>,
    /// Requests per registry (as named in the references, e.g. `docker.io`).
    pub requests: BTreeMap<String, Counts>,
}

/// The answer to [`Client::tags`]: a repository's tags and the requests sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tags {
    /// The tags, pages concatenated in the registry's order (which the distribution spec leaves
    /// open: distribution 3 sorts them, 2.8 does not).
    pub tags: Vec<String>,
    /// How many pages (list requests that succeeded) it took.
    pub pages: u32,
    /// Requests per registry.
    pub requests: BTreeMap<String, Counts>,
}

/// A client for one run: tokens, credentials and what it learnt about registries (which refuse
/// HEAD) are kept for its lifetime.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    limits: Limits,
    settings: BTreeMap<String, RegistrySettings>,
    defaults: RegistrySettings,
    config: DockerConfig,
    registries: Mutex<HashMap<String, Arc<RegistryState>>>,
}

/// What the client holds for one registry during a run.
struct RegistryState {
    settings: RegistrySettings,
    slots: tokio::sync::Semaphore,
    /// When the next request may start (`minInterval`).
    next_start: tokio::sync::Mutex<Instant>,
    /// Bearer tokens by scope.
    tokens: tokio::sync::Mutex<HashMap<String, String>>,
    /// The last bearer challenge, so later repositories get their token before their HEAD.
    challenge: Mutex<Option<Challenge>>,
    /// Basic credentials, looked up once (only when the registry asks for authentication).
    credentials: tokio::sync::OnceCell<Option<Basic>>,
    /// Whether a Basic challenge was seen (then credentials go on every request).
    basic: Mutex<bool>,
    /// Whether the registry refused a HEAD (then GET straight away).
    refuses_head: Mutex<bool>,
    counts: Mutex<Counts>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked holding it; its data is still consistent
    // (plain values and maps, updated in one statement).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Client {
    /// A client with per-registry `settings` (others get `defaults`), credentials from `config`.
    ///
    /// # Errors
    /// [`Error::Setup`] when the HTTP client or its runtime cannot be built.
    pub fn new(
        settings: BTreeMap<String, RegistrySettings>,
        defaults: RegistrySettings,
        limits: Limits,
        config: DockerConfig,
    ) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(limits.request_timeout)
            .connect_timeout(limits.request_timeout)
            // A registry redirects blob and sometimes manifest GETs to storage; never HEADs of
            // tags in practice, but a redirect must not leak the Authorization header elsewhere:
            // reqwest drops it on cross-host redirects.
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("image-factory/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Client {
            runtime,
            inner: Arc::new(Inner {
                http,
                limits,
                settings,
                defaults,
                config,
                registries: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The digest each reference's tag points at now: one HEAD per reference (a reference that
    /// already pins a digest is answered without a request). References run concurrently, bounded
    /// per registry; one failure never affects the others.
    pub fn check(&self, references: &[ImageRef]) -> Check {
        self.check_with_progress(references, &mut |_| {})
    }

    /// [`Client::check`], calling `progress(done)` each time a reference is answered (for a
    /// progress bar).
    pub fn check_with_progress(
        &self,
        references: &[ImageRef],
        progress: &mut dyn FnMut(usize),
    ) -> Check {
        let before = self.inner.counts();
        let digests = self.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, reference) in references.iter().enumerate() {
                let inner = Arc::clone(&self.inner);
                let reference = reference.clone();
                set.spawn(async move { (i, inner.digest(&reference).await) });
            }
            let mut results: Vec<Option<Result<Digest, Error>>> =
                references.iter().map(|_| None).collect();
            let mut done = 0;
            while let Some(joined) = set.join_next().await {
                done += 1;
                progress(done);
                match joined {
                    Ok((i, result)) => {
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(result);
                        }
                    }
                    // A task only ends without a value if it panicked; its slot says so below.
                    Err(e) => tracing::error!("registry task failed: {e}"),
                }
            }
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(Error::Setup("the check task failed".to_owned()))))
                .collect()
        });
        let requests = self.inner.requests_since(&before);
        Check { digests, requests }
    }

    /// Every tag of `repository` (its tag and digest, if any, are ignored), from the registry's
    /// tag list API: `GET /v2/<name>/tags/list?n=<page_size>`, then each `Link: <...>;
    /// rel="next"` until there is none. A next page is followed only on the registry's own
    /// scheme, host and port; at most [`MAX_TAGS`] tags in [`MAX_TAG_PAGES`] pages. Each page is
    /// one request with the authentication, pacing and retries of [`Client::check`] (and the
    /// same token, as both read the repository with the `pull` scope).
    ///
    /// # Errors
    /// The first request that failed for good, a page that is not a tag list, a link that is
    /// refused, or a list past the bounds.
    pub fn tags(&self, repository: &ImageRef, page_size: u32) -> Result<Tags, Error> {
        let before = self.inner.counts();
        let listed = self
            .runtime
            .block_on(self.inner.tags(repository, page_size.max(1)));
        let requests = self.inner.requests_since(&before);
        listed.map(|(tags, pages)| Tags {
            tags,
            pages,
            requests,
        })
    }
}

/// What a [`Job`] sends: each with its method, its `Accept` and its counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `HEAD` of a manifest: its digest without a pull.
    Head,
    /// `GET` of a manifest, only where a registry refuses HEAD.
    Get,
    /// `GET` of one page of a tag list.
    List,
}

impl Kind {
    fn accept(self) -> &'static str {
        match self {
            Kind::Head | Kind::Get => MANIFEST_ACCEPT,
            Kind::List => "application/json",
        }
    }

    fn count(self, counts: &mut Counts) {
        let counter = match self {
            Kind::Head => &mut counts.head,
            Kind::Get => &mut counts.get,
            Kind::List => &mut counts.list,
        };
        *counter = counter.saturating_add(1);
    }
}

/// How one attempt ended.
enum Answer {
    Ok(reqwest::Response),
    Retry { status: Option<u16>, wait: Duration },
}

impl Inner {
    fn counts(&self) -> BTreeMap<String, Counts> {
        lock(&self.registries)
            .iter()
            .map(|(name, state)| (name.clone(), *lock(&state.counts)))
            .collect()
    }

    /// The requests sent since `before` was taken with [`Inner::counts`], registries that got
    /// none left out.
    fn requests_since(&self, before: &BTreeMap<String, Counts>) -> BTreeMap<String, Counts> {
        self.counts()
            .into_iter()
            .map(|(registry, now)| {
                let was = before.get(&registry).copied().unwrap_or_default();
                (registry, now.since(was))
            })
            .filter(|(_, c)| *c != Counts::default())
            .collect()
    }

    /// `scheme://host` of a registry's API: plain HTTP only when it is marked insecure, and
    /// Docker Hub's API on another host than its name in references.
    fn api_base(registry_name: &str, registry: &RegistryState) -> String {
        let scheme = if registry.settings.insecure {
            "http"
        } else {
            "https"
        };
        let api_host = if registry_name == "docker.io" {
            "registry-1.docker.io"
        } else {
            registry_name
        };
        format!("{scheme}://{api_host}")
    }

    fn registry(&self, name: &str) -> Arc<RegistryState> {
        let mut registries = lock(&self.registries);
        Arc::clone(registries.entry(name.to_owned()).or_insert_with(|| {
            let settings = self
                .settings
                .get(name)
                .cloned()
                .unwrap_or_else(|| self.defaults.clone());
            Arc::new(RegistryState {
                slots: tokio::sync::Semaphore::new(settings.max_concurrency.max(1)),
                settings,
                next_start: tokio::sync::Mutex::new(Instant::now()),
                tokens: tokio::sync::Mutex::new(HashMap::new()),
                challenge: Mutex::new(None),
                credentials: tokio::sync::OnceCell::new(),
                basic: Mutex::new(false),
                refuses_head: Mutex::new(false),
                counts: Mutex::new(Counts::default()),
            })
        }))
    }

    async fn digest(&self, reference: &ImageRef) -> Result<Digest, Error> {
        let registry_name = reference.domain();
        if let Some(pinned) = reference.digest() {
            return Digest::parse(pinned).map_err(|e| Error::Digest {
                url: reference.canonical(),
                message: e.to_string(),
            });
        }
        let registry = self.registry(registry_name);
        let repository = reference.path();
        let url = format!(
            "{}/v2/{repository}/manifests/{}",
            Inner::api_base(registry_name, &registry),
            reference.tag_or_latest()
        );
        let scope = format!("repository:{repository}:pull");
        let job = Job {
            inner: self,
            registry: &registry,
            registry_name,
            repository,
            url: &url,
            scope: &scope,
            deadline: Instant::now() + self.limits.max_total,
        };
        let first = if *lock(&registry.refuses_head) {
            Kind::Get
        } else {
            Kind::Head
        };
        let (kind, response) = job.request(first).await?;
        job.read_digest(response, kind == Kind::Get).await
    }

    /// The pages of a tag list, each a [`Job`] of its own (its own time budget: a long list is
    /// bounded by [`MAX_TAG_PAGES`] instead).
    async fn tags(
        &self,
        reference: &ImageRef,
        page_size: u32,
    ) -> Result<(Vec<String>, u32), Error> {
        let registry_name = reference.domain();
        let registry = self.registry(registry_name);
        let repository = reference.path();
        let scope = format!("repository:{repository}:pull");
        let mut url = format!(
            "{}/v2/{repository}/tags/list?n={page_size}",
            Inner::api_base(registry_name, &registry)
        );
        let (mut tags, mut pages) = (Vec::new(), 0u32);
        loop {
            let too_many = |tags: &Vec<String>, pages| Error::TooManyTags {
                registry: registry_name.to_owned(),
                repository: repository.to_owned(),
                tags: tags.len(),
                pages,
            };
            if pages >= MAX_TAG_PAGES {
                return Err(too_many(&tags, pages));
            }
            let job = Job {
                inner: self,
                registry: &registry,
                registry_name,
                repository,
                url: &url,
                scope: &scope,
                deadline: Instant::now() + self.limits.max_total,
            };
            let (_, response) = job.request(Kind::List).await?;
            pages += 1;
            let link = tags::next_link(response.headers());
            let page = job.read_tag_page(response).await?;
            tags.extend(page);
            if tags.len() > MAX_TAGS {
                return Err(too_many(&tags, pages));
            }
            let Some(link) = link else {
                return Ok((tags, pages));
            };
            url = match tags::resolve_next(&url, &link) {
                Ok(next) => next,
                Err(LinkError::OffHost) => return Err(Error::OffHostLink { url, link }),
                Err(LinkError::Invalid) => return Err(Error::BadLink { url, link }),
            };
        }
    }
}

/// One request (a manifest's digest, a page of a tag list), with what it needs to authenticate
/// and retry.
struct Job<'a> {
    inner: &'a Inner,
    registry: &'a RegistryState,
    registry_name: &'a str,
    repository: &'a str,
    url: &'a str,
    scope: &'a str,
    deadline: Instant,
}

impl Job<'_> {
    /// Sends `kind` until it succeeds or fails for good: authenticates on a 401 (once), turns a
    /// refused HEAD into a GET (remembered for the registry), retries within the bounds. The
    /// successful answer comes with the kind that got it.
    async fn request(&self, mut kind: Kind) -> Result<(Kind, reqwest::Response), Error> {
        // A token we hold may have expired: one fresh token, then a 401 is final.
        let mut renewed = false;
        loop {
            let authorization = self.authorization().await?;
            let response = self.send(kind, authorization.as_deref()).await?;
            let status = response.status();
            if status.is_success() {
                return Ok((kind, response));
            }
            match status {
                StatusCode::UNAUTHORIZED if !renewed => {
                    renewed = true;
                    self.follow_challenge(response.headers()).await?;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(Error::Unauthorized {
                        registry: self.registry_name.to_owned(),
                        repository: self.repository.to_owned(),
                        with_credentials: self.credentials().await?.is_some(),
                    });
                }
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
                    if kind == Kind::Head =>
                {
                    tracing::debug!(registry = self.registry_name, "HEAD refused, using GET");
                    *lock(&self.registry.refuses_head) = true;
                    kind = Kind::Get;
                }
                _ => {
                    let detail = error_code(response).await;
                    return Err(Error::Status {
                        url: self.url.to_owned(),
                        status: status.as_u16(),
                        detail,
                    });
                }
            }
        }
    }

    /// The Authorization header for the next request: a cached token for this scope, a token
    /// fetched ahead when the registry already challenged us (so only its first repository pays
    /// a 401), Basic credentials for a Basic registry, or nothing (anonymous).
    async fn authorization(&self) -> Result<Option<String>, Error> {
        if let Some(token) = self.registry.tokens.lock().await.get(self.scope) {
            return Ok(Some(format!("Bearer {token}")));
        }
        let known = lock(&self.registry.challenge).clone();
        if let Some(challenge) = known {
            let token = self.fetch_token(&challenge).await?;
            return Ok(Some(format!("Bearer {token}")));
        }
        if *lock(&self.registry.basic)
            && let Some(basic) = self.credentials().await?
        {
            return Ok(Some(basic_header(&basic)));
        }
        Ok(None)
    }

    async fn credentials(&self) -> Result<Option<Basic>, Error> {
        self.registry
            .credentials
            .get_or_try_init(|| async { self.inner.config.lookup(self.registry_name) })
            .await
            .cloned()
    }

    /// Learns from a 401 how to authenticate: a bearer realm (the token is fetched now) or Basic.
    async fn follow_challenge(&self, headers: &HeaderMap) -> Result<(), Error> {
        let header = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        match Challenge::parse(header) {
            Some(Challenge::Basic) => {
                *lock(&self.registry.basic) = true;
                Ok(())
            }
            Some(challenge @ Challenge::Bearer { .. }) => {
                *lock(&self.registry.challenge) = Some(challenge.clone());
                // A rejected token is dropped so the next attempt gets a fresh one.
                self.registry.tokens.lock().await.remove(self.scope);
                self.fetch_token(&challenge).await.map(|_| ())
            }
            None => Err(Error::Challenge {
                registry: self.registry_name.to_owned(),
                challenge: header.to_owned(),
            }),
        }
    }

    /// Fetches (and caches) the token of this scope. The token lock is held across the request so
    /// concurrent references of one repository share one token request.
    async fn fetch_token(&self, challenge: &Challenge) -> Result<String, Error> {
        let mut tokens = self.registry.tokens.lock().await;
        if let Some(token) = tokens.get(self.scope) {
            return Ok(token.clone());
        }
        let Challenge::Bearer { realm, service } = challenge else {
            return Err(Error::Challenge {
                registry: self.registry_name.to_owned(),
                challenge: "Basic".to_owned(),
            });
        };
        let fail = |message: String| Error::Token {
            registry: self.registry_name.to_owned(),
            realm: realm.clone(),
            message,
        };
        // Plain HTTP for a token endpoint only when the registry itself is marked insecure.
        if realm.starts_with("http://") && !self.registry.settings.insecure {
            return Err(fail("refusing a token endpoint over plain HTTP".to_owned()));
        }
        let mut query: Vec<(&str, &str)> = vec![("scope", self.scope)];
        if let Some(service) = service {
            query.push(("service", service));
        }
        let credentials = self.credentials().await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.inner.http.get(realm).query(&query);
            if let Some(basic) = &credentials {
                request = request.header(AUTHORIZATION, basic_header(basic));
            }
            lock(&self.registry.counts).token += 1;
            let response = request.send().await.map_err(|e| fail(describe(e)))?;
            let status = response.status();
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt < self.inner.limits.max_attempts
            {
                let wait = backoff(&self.inner.limits, attempt, response.headers());
                if Instant::now() + wait <= self.deadline {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            if !status.is_success() {
                return Err(fail(format!("HTTP {}", status.as_u16())));
            }
            let body = response.bytes().await.map_err(|e| fail(describe(e)))?;
            let answer: TokenAnswer = serde_json::from_slice(&body)
                .map_err(|_| fail("the answer is not a token JSON object".to_owned()))?;
            let token = answer
                .into_token()
                .ok_or_else(|| fail("the answer has no token".to_owned()))?;
            tokens.insert(self.scope.to_owned(), token.clone());
            return Ok(token);
        }
    }

    /// Sends the request, retrying 429, 5xx, time-outs and transport errors with backoff within
    /// the attempt and time bounds.
    async fn send(
        &self,
        kind: Kind,
        authorization: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let limits = &self.inner.limits;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self.attempt(kind, authorization, attempt).await;
            // The error if this was the last attempt, and the wait before the next one.
            let (error, wait) = match answer {
                Ok(Answer::Ok(response)) => return Ok(response),
                Ok(Answer::Retry {
                    status: Some(status),
                    wait,
                }) => (
                    Error::Exhausted {
                        url: self.url.to_owned(),
                        status,
                        attempts: attempt,
                    },
                    wait,
                ),
                Ok(Answer::Retry { status: None, wait }) => (
                    Error::Timeout {
                        url: self.url.to_owned(),
                        timeout: limits.request_timeout,
                        attempts: attempt,
                    },
                    wait,
                ),
                Err(e) => (e, backoff(limits, attempt, &HeaderMap::new())),
            };
            if attempt >= limits.max_attempts || Instant::now() + wait > self.deadline {
                return Err(error);
            }
            tracing::debug!(url = self.url, attempt, ?wait, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        kind: Kind,
        authorization: Option<&str>,
        attempt: u32,
    ) -> Result<Answer, Error> {
        let _slot = self
            .registry
            .slots
            .acquire()
            .await
            .map_err(|e| Error::Setup(e.to_string()))?;
        self.pace().await;
        let mut request = match kind {
            Kind::Head => self.inner.http.head(self.url),
            Kind::Get | Kind::List => self.inner.http.get(self.url),
        }
        .header(ACCEPT, kind.accept());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        kind.count(&mut lock(&self.registry.counts));
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let response = match request
            .timeout(self.inner.limits.request_timeout.min(remaining))
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Ok(Answer::Retry {
                    status: None,
                    wait: backoff(&self.inner.limits, attempt, &HeaderMap::new()),
                });
            }
            Err(e) => {
                return Err(Error::Transport {
                    url: self.url.to_owned(),
                    message: describe(e),
                });
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let wait = backoff(&self.inner.limits, attempt, response.headers());
            return Ok(Answer::Retry {
                status: Some(status.as_u16()),
                wait,
            });
        }
        Ok(Answer::Ok(response))
    }

    /// Waits until `minInterval` has passed since the previous request to this registry started.
    async fn pace(&self) {
        let interval = self.registry.settings.min_interval;
        if interval.is_zero() {
            return;
        }
        let start = {
            let mut next = self.registry.next_start.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + interval;
            start
        };
        tokio::time::sleep_until(start).await;
    }

    async fn read_digest(
        &self,
        response: reqwest::Response,
        was_get: bool,
    ) -> Result<Digest, Error> {
        let bad = |message: String| Error::Digest {
            url: self.url.to_owned(),
            message,
        };
        let header = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(value) = header {
            return Digest::parse(&value)
                .map_err(|e| bad(format!("Docker-Content-Digest {value:?}: {e}")));
        }
        if !was_get {
            return Err(bad(
                "the HEAD answer has no Docker-Content-Digest".to_owned()
            ));
        }
        // A GET without the header: the digest is the manifest's own sha256.
        let body = read_capped(response, MAX_MANIFEST_BYTES, "manifest")
            .await
            .map_err(bad)?;
        let hex: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Digest::parse(&format!("sha256:{hex}")).map_err(|e| bad(e.to_string()))
    }
}

impl Job<'_> {
    /// The tags of one page of a tag list.
    async fn read_tag_page(&self, response: reqwest::Response) -> Result<Vec<String>, Error> {
        let bad = |message: String| Error::TagList {
            url: self.url.to_owned(),
            message,
        };
        let body = read_capped(response, MAX_PAGE_BYTES, "page")
            .await
            .map_err(bad)?;
        let page: tags::Page = serde_json::from_slice(&body)
            .map_err(|e| bad(format!("not a JSON object with a `tags` list: {e}")))?;
        Ok(page.tags.unwrap_or_default())
    }
}

/// The body of `response` (a `what`), read chunk by chunk so an answer larger than `max` is
/// refused before it is all in memory (its `Content-Length` may be missing or wrong).
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
    what: &str,
) -> Result<Vec<u8>, String> {
    let too_large = || format!("{what} larger than {max} bytes");
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn basic_header(basic: &Basic) -> String {
    use base64::Engine as _;
    let pair = format!("{}:{}", basic.username, basic.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The wait before retry number `attempt` (1-based), honouring a longer `Retry-After`.
fn backoff(limits: &Limits, attempt: u32, headers: &HeaderMap) -> Duration {
    let asked = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok());
    model::time::backoff(limits.initial_backoff, attempt, asked)
}

/// reqwest's error with its causes, without the URL (the caller's message names it already; it
/// never carries credentials: we never put any in URLs).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The first error code of a registry's JSON error body (`{"errors":[{"code": ...}]}`).
async fn error_code(response: reqwest::Response) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Code>,
    }
    #[derive(serde::Deserialize)]
    struct Code {
        code: String,
    }
    let bytes = response.bytes().await.ok()?;
    let body: Body = serde_json::from_slice(bytes.get(..bytes.len().min(64 << 10))?).ok()?;
    body.errors
        .into_iter()
        .next()
        .map(|c| model::printable::escape(&c.code).into_owned())
}
