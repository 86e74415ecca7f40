//! The CI dispatch (SPEC §9.3, `analyzer trigger`): one due image's build started on its CI, a
//! GitHub Actions `workflow_dispatch` or a GitLab pipeline trigger, and the CI's answer as an
//! [`Outcome`] the driver records (`rebuild.last`, SPEC §9.1).
//!
//! - GitHub: `POST {api}/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches`, a bearer
//!   token, JSON `{"ref", "inputs", "return_run_details": true}` (at most [`MAX_GITHUB_INPUTS`]
//!   inputs); 200 with the run's `html_url`, or 204 from a GitHub Enterprise Server that predates
//!   run details.
//! - GitLab: `POST {api}/projects/{url-encoded path}/trigger/pipeline`, a form with the pipeline
//!   trigger token, `ref` and `variables[KEY]`; 201 with the pipeline's `web_url`.
//!
//! 429 (honouring `Retry-After`), 5xx, time-outs and connection errors are retried with
//! exponential backoff within [`Limits`], then the outcome is [`Outcome::Failed`]. Any other
//! answer that is not a success is final, [`Outcome::Rejected`] with the CI's own message: a 422
//! for an unknown input would be refused again however often it is sent. Redirects are not
//! followed, as a GitLab token travels in the body and would follow the request to another host.
//!
//! A request that cannot be right is refused before anything is sent, as an [`Error`]: too many
//! inputs, a plain `http://` API off the loopback host, a malformed repository or variable name.
//!
//! The token is a [`Secret`]: it goes in the `Authorization` header (GitHub) or the request body
//! (GitLab, as its trigger API requires; never in the URL), and appears in no error, log line,
//! `Debug` output or [`describe`] text. Its async runtime stays inside [`Dispatcher`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use model::state::RebuildResult;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use tokio::time::Instant;

/// GitHub accepts at most this many `workflow_dispatch` inputs.
pub const MAX_GITHUB_INPUTS: usize = 25;

/// A CI's message is cut to this many characters (it ends up in state, logs and terminals).
const MAX_MESSAGE_CHARS: usize = 500;

/// An answer body larger than this is not read (an error message or a run's URLs are small).
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// A run URL longer than this is not recorded.
const MAX_RUN_URL_CHARS: usize = 2048;

/// The REST API version our GitHub requests are written against.
const GITHUB_API_VERSION: &str = "2022-11-28";

/// The media type GitHub's REST API recommends.
const GITHUB_ACCEPT: &str = "application/vnd.github+json";

/// GitLab variable keys: letters, digits and `_`, at most this long.
const MAX_GITLAB_KEY: usize = 255;

/// Where a rebuild is dispatched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A GitHub Actions workflow with a `workflow_dispatch` trigger.
    GitHub {
        /// The REST API root: `https://api.github.com`, or a GitHub Enterprise Server's
        /// `https://ghe.example.com/api/v3`.
        api: String,
        /// `owner/name`.
        repo: String,
        /// The workflow's file name (`build.yml`) or numeric id.
        workflow: String,
    },
    /// A GitLab project's pipeline, started with a pipeline trigger token.
    GitLab {
        /// The REST API root: `https://gitlab.com/api/v4`, or a self-managed instance's.
        api: String,
        /// The project's full path (`group/sub/name`) or numeric id.
        project: String,
    },
}

impl Target {
    /// The provider's name as `rebuild.last.provider` records it: `github` or `gitlab`.
    pub fn provider(&self) -> &'static str {
        match self {
            Target::GitHub { .. } => "github",
            Target::GitLab { .. } => "gitlab",
        }
    }
}

/// One dispatch: where, on which git ref, with which inputs (GitHub) or variables (GitLab).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The CI to call.
    pub target: Target,
    /// The branch or tag to run on.
    pub git_ref: String,
    /// `workflow_dispatch` inputs (GitHub) or pipeline variables (GitLab), e.g. the pin input of
    /// SPEC §9.3 with one line per watched base.
    pub inputs: BTreeMap<String, String>,
}

/// A CI token (a GitHub token or a GitLab pipeline trigger token). Its `Debug` is `***`, it has
/// no `Display`, and nothing in this module writes it anywhere but into the request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token read from the environment or a file (never from argv, SPEC §9.3).
    pub fn new(token: impl Into<String>) -> Self {
        Secret(token.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Time-outs and retry bounds of one dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time-out of one request (connect + answer).
    pub request_timeout: Duration,
    /// At most this many requests for one dispatch (the first included).
    pub max_attempts: u32,
    /// At most this long for one dispatch, retries and waits included.
    pub max_total: Duration,
    /// The first backoff, doubled at each retry (a longer `Retry-After` wins).
    pub initial_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            max_attempts: 4,
            max_total: Duration::from_secs(120),
            initial_backoff: Duration::from_secs(2),
        }
    }
}

/// What the CI answered, as `rebuild.last.result` records it ([`Outcome::result`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: a run was created.
    Dispatched {
        /// The run's web page (GitHub's `html_url`, GitLab's `web_url`); `None` when the CI gave
        /// none (GitHub Enterprise Server's 204).
        run_url: Option<String>,
        /// The success status (200, 201, 204).
        status: u16,
    },
    /// Refused, for a reason sending it again will not change (4xx, or a redirect).
    Rejected {
        /// The status.
        status: u16,
        /// The CI's message (escaped, truncated), or the status' reason when it sent none.
        message: String,
    },
    /// No decision from the CI: 429, 5xx, time-outs or connection errors until the attempts or
    /// the time budget ran out.
    Failed {
        /// What the last attempt got, with the URL and the number of attempts.
        message: String,
    },
}

impl Outcome {
    /// The result to record: `dispatched`, `rejected` or `failed`.
    pub fn result(&self) -> RebuildResult {
        match self {
            Outcome::Dispatched { .. } => RebuildResult::Dispatched,
            Outcome::Rejected { .. } => RebuildResult::Rejected,
            Outcome::Failed { .. } => RebuildResult::Failed,
        }
    }
}

/// The answer to [`Dispatcher::send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// What the CI answered.
    pub outcome: Outcome,
    /// How many requests were sent (at least 1).
    pub attempts: u32,
}

/// Why a dispatch was not sent (nothing went over the network), or could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP client or its runtime could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The API root is not a URL we can send to.
    #[error("the CI API URL {url:?} {problem}")]
    ApiUrl {
        /// The URL as given, credentials redacted, control characters escaped.
        url: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A plain `http://` API root off the loopback host: the token would cross the network
    /// unencrypted.
    #[error(
        "the CI API URL {url:?} uses plain http: only https is allowed, except on the loopback \
         host (127.0.0.1, [::1], localhost)"
    )]
    InsecureApi {
        /// The URL, credentials redacted, control characters escaped.
        url: String,
    },
    /// A repository, workflow, project or ref that cannot be right.
    #[error("{field} {value:?}: {problem}")]
    Target {
        /// Which one (`repo`, `workflow`, `project`, `ref`).
        field: &'static str,
        /// Its value, control characters escaped.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// More inputs than GitHub accepts (it would answer 422).
    #[error(
        "{count} workflow inputs: GitHub accepts at most {max}; nothing was sent",
        max = MAX_GITHUB_INPUTS
    )]
    TooManyInputs {
        /// How many the request has.
        count: usize,
    },
    /// A GitLab variable name that GitLab refuses, or one that would change the form's meaning
    /// (`variables[KEY]` is parsed as nested parameters).
    #[error(
        "GitLab variable name {name:?}: only letters, digits and `_` are allowed (at most \
         {MAX_GITLAB_KEY}); nothing was sent"
    )]
    VariableName {
        /// The name, control characters escaped.
        name: String,
    },
    /// The token is empty or holds characters an HTTP header cannot carry (the token itself is
    /// never shown).
    #[error("the CI token is empty or not a single line of visible characters")]
    Token,
    /// The notification webhook's URL cannot be used (the URL itself, a secret, is never shown).
    #[error("the notification webhook URL {problem}")]
    Webhook {
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Sends dispatches; holds one HTTP client and a current-thread runtime for a run, so callers
/// stay blocking.
pub struct Dispatcher {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    limits: Limits,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher with these bounds.
    ///
    /// # Errors
    /// [`Error::Setup`] when the HTTP client or its runtime cannot be built.
    pub fn new(limits: Limits) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(limits.request_timeout)
            .connect_timeout(limits.request_timeout)
            // A redirect would carry a GitLab token (in the body) to wherever it points, and a
            // POST turned into a GET dispatches nothing: a redirect is the CI's final answer.
            .redirect(reqwest::redirect::Policy::none())
            // GitHub refuses requests without a User-Agent.
            .user_agent(concat!("image-factory/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Dispatcher {
            runtime,
            http,
            limits,
        })
    }

    /// Sends `request` with `token`, retrying within the [`Limits`], and tells what the CI
    /// answered. A retried time-out may in rare cases start two runs (the CI may have acted on a
    /// request whose answer was lost); both build the same pins.
    ///
    /// # Errors
    /// When the request cannot be right ([`Error`]); then nothing was sent.
    pub fn send(&self, request: &Request, token: &Secret) -> Result<Sent, Error> {
        let token = token.expose();
        if token.is_empty() {
            return Err(Error::Token);
        }
        let wire = Wire::build(request, token)?;
        let headers = wire.headers(token)?;
        Ok(self.runtime.block_on(self.exchange(&wire, headers, token)))
    }

    async fn exchange(&self, wire: &Wire, headers: HeaderMap, token: &str) -> Sent {
        let limits = &self.limits;
        let deadline = Instant::now() + limits.max_total;
        // A webhook's URL is a secret: logs and messages name it only.
        let url = match wire.provider {
            Provider::Webhook => "(the notification webhook)",
            _ => wire.url.as_str(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = limits.request_timeout.min(remaining);
            let sent = self
                .http
                .post(wire.url.clone())
                .headers(headers.clone())
                .body(wire.body.clone())
                .timeout(timeout)
                .send()
                .await;
            // What this attempt got, and the wait before the next one.
            let (failure, wait) = match sent {
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(method = "POST", url, status = status.as_u16(), attempt);
                    if status.is_success() {
                        let run_url = wire.provider.run_url(response).await;
                        return Sent {
                            outcome: Outcome::Dispatched {
                                run_url,
                                status: status.as_u16(),
                            },
                            attempts: attempt,
                        };
                    }
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        let message = rejection(response, token).await;
                        return Sent {
                            outcome: Outcome::Rejected {
                                status: status.as_u16(),
                                message,
                            },
                            attempts: attempt,
                        };
                    }
                    let wait = backoff(limits, attempt, response.headers());
                    (format!("HTTP {}", status.as_u16()), wait)
                }
                Err(e) => {
                    let what = if e.is_timeout() {
                        format!("no answer within {timeout:?}")
                    } else {
                        describe_error(e)
                    };
                    tracing::debug!(method = "POST", url, attempt, error = what.as_str());
                    (what, backoff(limits, attempt, &HeaderMap::new()))
                }
            };
            let last = attempt >= limits.max_attempts;
            if last || Instant::now() + wait > deadline {
                // Say why we stopped early when the CI itself asked for a wait past the budget.
                let past_budget = if last {
                    String::new()
                } else {
                    format!(", the next retry in {wait:?} would pass the time budget")
                };
                let message = format!("POST {url}: {failure} ({attempt} attempt(s){past_budget})");
                return Sent {
                    outcome: Outcome::Failed {
                        message: clean(&message, token),
                    },
                    attempts: attempt,
                };
            }
            tracing::debug!(
                method = "POST",
                url,
                attempt,
                ?wait,
                "retrying the dispatch"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

impl Dispatcher {
    /// Posts the JSON `body` to a notification webhook (`analyzer emergency`), with the same
    /// retries as a dispatch. The URL is a secret (chat webhooks carry their token in the path):
    /// it appears in no error, log line or message, where it reads `***`.
    ///
    /// # Errors
    /// [`Error::Webhook`] when the URL is not https (plain http only on the loopback host) or
    /// carries credentials; then nothing was sent.
    pub fn notify(&self, url: &Secret, body: String) -> Result<Sent, Error> {
        let text = url.expose();
        let refuse = |problem| Error::Webhook { problem };
        let parsed = Url::parse(text).map_err(|_| refuse("is not a URL"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&parsed) => {}
            "http" => return Err(refuse("uses plain http off the loopback host")),
            _ => return Err(refuse("is not an https URL")),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse("carries credentials"));
        }
        let wire = Wire {
            provider: Provider::Webhook,
            url: parsed,
            body,
        };
        let headers = wire.headers("")?;
        // The URL is scrubbed from every message like a token.
        Ok(self.runtime.block_on(self.exchange(&wire, headers, text)))
    }
}

/// What `analyzer trigger --dry-run` shows of a dispatch: the method and URL, the headers and
/// the body exactly as [`Dispatcher::send`] would send them, the token replaced by `***`.
///
/// # Errors
/// The [`Error`] [`Dispatcher::send`] would give, so a dry run finds what a real run would refuse.
pub fn describe(request: &Request) -> Result<String, Error> {
    const MASK: &str = "***";
    let wire = Wire::build(request, MASK)?;
    let headers = wire.headers(MASK)?;
    // Only our own text and the encoded body: URLs are percent-encoded, the JSON escapes control
    // characters and the form percent-encodes them, so nothing here needs `printable::escape`.
    let mut text = format!("POST {}\n", wire.url);
    for (name, value) in &headers {
        text.push_str(&format!(
            "{}: {}\n",
            header_case(name),
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push('\n');
    text.push_str(&wire.body);
    Ok(text)
}

/// A header name as the providers' documentation writes it (HTTP names are case-insensitive).
fn header_case(name: &HeaderName) -> String {
    if *name == "x-github-api-version" {
        return "X-GitHub-Api-Version".to_owned();
    }
    name.as_str()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A dispatch's HTTP request, checked and encoded: everything but the transport.
struct Wire {
    provider: Provider,
    url: Url,
    body: String,
}

/// Which API answers, for the headers and reading its answers.
#[derive(Clone, Copy)]
enum Provider {
    GitHub,
    GitLab,
    /// A notification webhook (JSON in, any success answer).
    Webhook,
}

impl Wire {
    /// The request for `request`, with `token` in the GitLab form (GitHub's goes in a header).
    fn build(request: &Request, token: &str) -> Result<Wire, Error> {
        if request.git_ref.trim().is_empty() {
            return Err(bad_target("ref", &request.git_ref, "is empty"));
        }
        match &request.target {
            Target::GitHub {
                api,
                repo,
                workflow,
            } => {
                let (owner, name) = repo
                    .split_once('/')
                    .filter(|(o, n)| segment_ok(o) && segment_ok(n))
                    .ok_or_else(|| bad_target("repo", repo, "is not `owner/name`"))?;
                if !segment_ok(workflow) {
                    return Err(bad_target(
                        "workflow",
                        workflow,
                        "is not a workflow file name or id",
                    ));
                }
                if request.inputs.len() > MAX_GITHUB_INPUTS {
                    return Err(Error::TooManyInputs {
                        count: request.inputs.len(),
                    });
                }
                let url = api_url(
                    api,
                    &[
                        "repos",
                        owner,
                        name,
                        "actions",
                        "workflows",
                        workflow,
                        "dispatches",
                    ],
                )?;
                // Written out rather than through `serde_json::Map`, whose key order depends on
                // whether another crate of the build enables serde_json's `preserve_order`: the
                // body (and `--dry-run`'s text) is the same in every build, inputs sorted.
                let string = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
                let inputs: Vec<String> = request
                    .inputs
                    .iter()
                    .map(|(k, v)| format!("{}:{}", string(k), string(v)))
                    .collect();
                let body = format!(
                    "{{\"ref\":{},\"inputs\":{{{}}},\"return_run_details\":true}}",
                    string(&request.git_ref),
                    inputs.join(",")
                );
                Ok(Wire {
                    provider: Provider::GitHub,
                    url,
                    body,
                })
            }
            Target::GitLab { api, project } => {
                if !project.split('/').all(segment_ok) {
                    return Err(bad_target(
                        "project",
                        project,
                        "is not a project path (`group/name`) or id",
                    ));
                }
                if let Some(name) = request.inputs.keys().find(|k| !gitlab_key_ok(k)) {
                    return Err(Error::VariableName {
                        name: model::printable::escape(name).into_owned(),
                    });
                }
                // The whole path is one segment: `group/sub/name` becomes `group%2Fsub%2Fname`.
                let url = api_url(api, &["projects", project, "trigger", "pipeline"])?;
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("token", token);
                form.append_pair("ref", &request.git_ref);
                for (key, value) in &request.inputs {
                    form.append_pair(&format!("variables[{key}]"), value);
                }
                Ok(Wire {
                    provider: Provider::GitLab,
                    url,
                    body: form.finish(),
                })
            }
        }
    }

    /// The request's headers, with `token` as GitHub's bearer token.
    fn headers(&self, token: &str) -> Result<HeaderMap, Error> {
        let mut headers = HeaderMap::new();
        match self.provider {
            Provider::GitHub => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::Token)?;
                // Keeps it out of the HTTP stack's own debug output.
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
                headers.insert(ACCEPT, HeaderValue::from_static(GITHUB_ACCEPT));
                headers.insert(
                    HeaderName::from_static("x-github-api-version"),
                    HeaderValue::from_static(GITHUB_API_VERSION),
                );
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Provider::GitLab => {
                headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
            }
            Provider::Webhook => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
        }
        Ok(headers)
    }
}

impl Provider {
    /// The run's web page from a success answer: GitHub's `html_url` (absent in a 204), GitLab's
    /// `web_url`. An answer we cannot read does not undo the dispatch: no URL, then.
    async fn run_url(self, response: reqwest::Response) -> Option<String> {
        if response.status() == StatusCode::NO_CONTENT {
            return None;
        }
        let field = match self {
            Provider::GitHub => "html_url",
            Provider::GitLab => "web_url",
            Provider::Webhook => return None,
        };
        let body = match read_capped(response).await {
            Ok(body) => body,
            Err(e) => {
                tracing::debug!(
                    error = e.as_str(),
                    "dispatched, but the answer is unreadable"
                );
                return None;
            }
        };
        let answer: serde_json::Value = serde_json::from_slice(&body).ok()?;
        let url = answer.get(field)?.as_str()?;
        // It is recorded in state and shown: only a plain http(s) URL of a sane length.
        let parsed = Url::parse(url).ok()?;
        (matches!(parsed.scheme(), "https" | "http")
            && url.len() <= MAX_RUN_URL_CHARS
            && !url.chars().any(char::is_control))
        .then(|| url.to_owned())
    }
}

/// The CI's reason for a refusal: GitHub's and GitLab's JSON `message` (GitLab's may be an
/// object of field errors), GitLab's `error`, a redirect's target, else the body or the status'
/// reason; the token scrubbed, cut to [`MAX_MESSAGE_CHARS`], control characters escaped.
async fn rejection(response: reqwest::Response, token: &str) -> String {
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        return clean(
            &format!("redirected to {to:?} (not followed; check the API URL and the repository)"),
            token,
        );
    }
    let reason = status.canonical_reason().unwrap_or("no reason given");
    let body = read_capped(response).await.unwrap_or_default();
    let text = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(answer) => match answer.get("message").or_else(|| answer.get("error")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::from_utf8_lossy(&body).trim().to_owned(),
        },
        Err(_) => String::from_utf8_lossy(&body).trim().to_owned(),
    };
    clean(if text.is_empty() { reason } else { &text }, token)
}

/// Text from the CI or the transport made safe to record: the token (should the CI ever echo it)
/// replaced by `***` first, so cutting cannot leave a piece of it, then cut and escaped.
fn clean(text: &str, token: &str) -> String {
    let scrubbed = if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "***")
    };
    let mut cut: String = scrubbed.chars().take(MAX_MESSAGE_CHARS).collect();
    if cut.len() < scrubbed.len() {
        cut.push('…');
    }
    model::printable::escape(&cut).into_owned()
}

/// The body of `response`, refused past [`MAX_ANSWER_BYTES`] before it is all in memory.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || format!("answer larger than {MAX_ANSWER_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe_error)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `{api}/{segments...}`: `api` must be https (plain http only on the loopback host), without
/// credentials, query or fragment; each segment is percent-encoded as one path segment.
fn api_url(api: &str, segments: &[&str]) -> Result<Url, Error> {
    let shown = || model::printable::escape(&model::git::redact_userinfo(api)).into_owned();
    let refuse = |problem| Error::ApiUrl {
        url: shown(),
        problem,
    };
    let mut url = Url::parse(api).map_err(|_| refuse("is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            "carries credentials (the token comes from the settings)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("has a query or fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(Error::InsecureApi { url: shown() }),
        _ => return Err(refuse("is not an https URL")),
    }
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| refuse("cannot take a path"))?;
        // `https://gitlab.com/api/v4/` and `.../v4` are the same root.
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}

/// `localhost`, 127.0.0.0/8 or `[::1]`: where plain HTTP never leaves the machine.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One path segment of a repository, workflow or project: not empty, not `.` or `..` (which a
/// URL would resolve away), no control characters.
fn segment_ok(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.contains('/')
        && !segment.chars().any(char::is_control)
}

/// GitLab's rule for variable keys, which also keeps `]` and `[` out of `variables[KEY]`.
fn gitlab_key_ok(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_GITLAB_KEY
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn bad_target(field: &'static str, value: &str, problem: &'static str) -> Error {
    Error::Target {
        field,
        value: model::printable::escape(value).into_owned(),
        problem,
    }
}

/// The wait before retry number `attempt` (1-based), honouring a longer `Retry-After`.
fn backoff(limits: &Limits, attempt: u32, headers: &HeaderMap) -> Duration {
    let asked = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok());
    model::time::backoff(limits.initial_backoff, attempt, asked)
}

/// reqwest's error with its causes, without the URL (the caller names it; it never carries the
/// token, which is never in a URL).
fn describe_error(e: reqwest::Error) -> String {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn github(api: &str) -> Request {
        Request {
            target: Target::GitHub {
                api: api.to_owned(),
                repo: "acme/web".to_owned(),
                workflow: "build.yml".to_owned(),
            },
            git_ref: "main".to_owned(),
            inputs: BTreeMap::from([("pins".to_owned(), "a=b\nc=d".to_owned())]),
        }
    }

    #[test]
    fn urls_join_and_encode() {
        let url = api_url("https://ghe.example.com/api/v3/", &["repos", "a", "b"]).unwrap();
        assert_eq!(url.as_str(), "https://ghe.example.com/api/v3/repos/a/b");
        let url = api_url("https://gitlab.com/api/v4", &["projects", "g/s/n"]).unwrap();
        assert_eq!(url.as_str(), "https://gitlab.com/api/v4/projects/g%2Fs%2Fn");
        for ok in [
            "http://127.0.0.1:9/",
            "http://[::1]:9",
            "http://localhost:9",
        ] {
            assert!(api_url(ok, &[]).is_ok(), "{ok}");
        }
        assert!(matches!(
            api_url("http://example.com", &[]),
            Err(Error::InsecureApi { .. })
        ));
        let err = api_url("https://user:hunter2@example.com", &[]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(api_url("ftp://example.com", &[]).is_err());
        assert!(api_url("https://example.com/?x=1", &[]).is_err());
    }

    #[test]
    fn targets_are_checked() {
        let mut request = github("https://api.github.com");
        for repo in ["acme", "acme/", "/web", "a/b/c", "../web", "acme/.."] {
            request.target = Target::GitHub {
                api: "https://api.github.com".to_owned(),
                repo: repo.to_owned(),
                workflow: "build.yml".to_owned(),
            };
            assert!(
                matches!(describe(&request), Err(Error::Target { field: "repo", .. })),
                "{repo}"
            );
        }
        request.target = Target::GitLab {
            api: "https://gitlab.com/api/v4".to_owned(),
            project: "g//n".to_owned(),
        };
        assert!(matches!(describe(&request), Err(Error::Target { .. })));
        request.target = Target::GitLab {
            api: "https://gitlab.com/api/v4".to_owned(),
            project: "g/n".to_owned(),
        };
        request.inputs = BTreeMap::from([("A][x".to_owned(), "1".to_owned())]);
        assert!(matches!(
            describe(&request),
            Err(Error::VariableName { .. })
        ));
    }

    #[test]
    fn describe_masks_the_token() {
        let text = describe(&github("https://api.github.com")).unwrap();
        assert_eq!(
            text,
            "POST https://api.github.com/repos/acme/web/actions/workflows/build.yml/dispatches\n\
             Authorization: Bearer ***\n\
             Accept: application/vnd.github+json\n\
             X-GitHub-Api-Version: 2022-11-28\n\
             Content-Type: application/json\n\
             \n\
             {\"ref\":\"main\",\"inputs\":{\"pins\":\"a=b\\nc=d\"},\"return_run_details\":true}"
        );
        let mut request = github("");
        request.target = Target::GitLab {
            api: "https://gitlab.com/api/v4".to_owned(),
            project: "g/n".to_owned(),
        };
        let text = describe(&request).unwrap();
        assert!(
            text.ends_with("\n\ntoken=***&ref=main&variables%5Bpins%5D=a%3Db%0Ac%3Dd"),
            "{text}"
        );
    }

    #[test]
    fn messages_are_scrubbed_cut_and_escaped() {
        assert_eq!(
            clean("bad token s3cret\u{1b}[2J", "s3cret"),
            "bad token ***\\u{1b}[2J"
        );
        let long = "x".repeat(MAX_MESSAGE_CHARS + 10);
        assert_eq!(clean(&long, "t").chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
