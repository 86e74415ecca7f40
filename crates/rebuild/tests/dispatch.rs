//! `rebuild::dispatch` (SPEC §9.3) against 127.0.0.1 stand-ins of GitHub's and GitLab's dispatch
//! APIs that record method, path, headers and body: the exact wire format of each provider, the
//! retries (5xx, 429 with `Retry-After`, silence) and their bounds, the final refusals, what is
//! refused before sending, and the token kept out of every error and `Debug` (and log line:
//! `dispatch_log.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{PINS, TOKEN, github, gitlab, json_reply, quick, seen, send};
use image_factory_rebuild::dispatch::{
    Dispatcher, Error, Limits, MAX_GITHUB_INPUTS, Outcome, Secret, Sent, describe,
};
use serde_json::json;
use testkit::http::{Seen, stand_in};

const GITHUB_PATH: &str = "/repos/acme/web/actions/workflows/build.yml/dispatches";

/// Everything a GitHub dispatch must carry, whatever the answer.
fn assert_github_request(req: &Seen, path: &str) {
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, path);
    assert_eq!(
        req.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(req.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(req.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let agent = req.header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("image-factory/"), "{agent}");
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "ref": "main",
            "inputs": {"pins": PINS, "reason": "scheduled"},
            "return_run_details": true,
        })
    );
}

#[test]
fn github_200_with_run_details() {
    let (port, log) = stand_in(5, |_, _, _| {
        json_reply(
            200,
            json!({
                "workflow_run_id": 22103085196u64,
                "run_url": "https://api.github.com/repos/acme/web/actions/runs/22103085196",
                "html_url": "https://github.com/acme/web/actions/runs/22103085196",
            }),
        )
    });
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert_eq!(
        sent,
        Sent {
            outcome: Outcome::Dispatched {
                run_url: Some("https://github.com/acme/web/actions/runs/22103085196".into()),
                status: 200,
            },
            attempts: 1,
        }
    );
    let seen = seen(&log);
    assert_eq!(seen.len(), 1);
    assert_github_request(&seen[0], GITHUB_PATH);
    // The multi-line pin input arrives intact, each base on its own line.
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["inputs"]["pins"].as_str().unwrap().lines().count(), 2);
}

#[test]
fn github_enterprise_204_has_no_run_url() {
    let (port, log) = stand_in(5, |_, _, _| (204, vec![], String::new()));
    // A GitHub Enterprise Server's API lives under /api/v3.
    let sent = send(&github(format!("http://127.0.0.1:{port}/api/v3/")), quick());
    assert_eq!(
        sent.outcome,
        Outcome::Dispatched {
            run_url: None,
            status: 204
        }
    );
    let seen = seen(&log);
    assert_eq!(seen.len(), 1);
    assert_github_request(&seen[0], &format!("/api/v3{GITHUB_PATH}"));
}

#[test]
fn server_error_then_success_is_retried_once() {
    let (port, log) = stand_in(10, |_, n, _| {
        if n == 0 {
            (500, vec![], "oops".into())
        } else {
            (204, vec![], String::new())
        }
    });
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert_eq!(
        sent,
        Sent {
            outcome: Outcome::Dispatched {
                run_url: None,
                status: 204
            },
            attempts: 2,
        }
    );
    let seen = seen(&log);
    assert_eq!(seen.len(), 2);
    // The retry is the same request.
    assert_github_request(&seen[1], GITHUB_PATH);
    assert_eq!(seen[0].body, seen[1].body);
}

#[test]
fn always_503_fails_after_the_attempts() {
    let (port, log) = stand_in(10, |_, _, _| (503, vec![], String::new()));
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert_eq!(sent.attempts, 3);
    let Outcome::Failed { message } = &sent.outcome else {
        panic!("{sent:?}")
    };
    assert!(
        message.contains("HTTP 503") && message.contains("3 attempt(s)"),
        "{message}"
    );
    assert!(
        message.contains(&format!("127.0.0.1:{port}{GITHUB_PATH}")),
        "{message}"
    );
    assert_eq!(seen(&log).len(), 3);
}

#[test]
fn rate_limited_waits_for_retry_after() {
    let (port, log) = stand_in(10, |_, n, _| {
        if n == 0 {
            (429, vec![("Retry-After".into(), "1".into())], String::new())
        } else {
            (204, vec![], String::new())
        }
    });
    let start = Instant::now();
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    let elapsed = start.elapsed();
    assert!(
        matches!(sent.outcome, Outcome::Dispatched { .. }),
        "{sent:?}"
    );
    assert_eq!(sent.attempts, 2);
    // Retry-After (1 s) wins over the 50 ms backoff.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(seen(&log).len(), 2);
}

#[test]
fn retry_after_past_the_budget_fails_without_waiting() {
    let (port, log) = stand_in(10, |_, _, _| {
        (
            429,
            vec![("Retry-After".into(), "3600".into())],
            String::new(),
        )
    });
    let start = Instant::now();
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert!(start.elapsed() < Duration::from_secs(2));
    let Outcome::Failed { message } = &sent.outcome else {
        panic!("{sent:?}")
    };
    assert!(
        message.contains("HTTP 429") && message.contains("time budget"),
        "{message}"
    );
    assert_eq!(seen(&log).len(), 1);
}

#[test]
fn unknown_input_422_is_rejected_without_retry() {
    let (port, log) = stand_in(10, |_, _, _| {
        json_reply(
            422,
            json!({
                "message": "Unexpected inputs provided: [\"x\"]",
                "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event",
                "status": "422",
            }),
        )
    });
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert_eq!(
        sent,
        Sent {
            outcome: Outcome::Rejected {
                status: 422,
                message: "Unexpected inputs provided: [\"x\"]".into(),
            },
            attempts: 1,
        }
    );
    assert_eq!(sent.outcome.result(), model::state::RebuildResult::Rejected);
    assert_eq!(seen(&log).len(), 1);
}

#[test]
fn other_refusals_carry_the_message_or_the_reason() {
    // A 404 with no body: the status' reason.
    let (port, log) = stand_in(5, |_, _, _| (404, vec![], String::new()));
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert_eq!(
        sent.outcome,
        Outcome::Rejected {
            status: 404,
            message: "Not Found".into()
        }
    );
    assert_eq!(seen(&log).len(), 1);
    // A redirect is not followed (a GitLab token would go with the body).
    let (port, log) = stand_in(5, |_, _, _| {
        (
            307,
            vec![("Location".into(), "https://elsewhere.example/x".into())],
            String::new(),
        )
    });
    let sent = send(&gitlab(format!("http://127.0.0.1:{port}/api/v4")), quick());
    let Outcome::Rejected {
        status: 307,
        message,
    } = &sent.outcome
    else {
        panic!("{sent:?}")
    };
    assert!(message.contains("https://elsewhere.example/x"), "{message}");
    assert_eq!(seen(&log).len(), 1);
    // Control characters in a CI's message are escaped.
    let (port, _) = stand_in(5, |_, _, _| {
        json_reply(403, json!({"message": "no\u{1b}]0;pwned\u{7}"}))
    });
    let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
    assert_eq!(
        sent.outcome,
        Outcome::Rejected {
            status: 403,
            message: "no\\u{1b}]0;pwned\\u{7}".into()
        }
    );
}

#[test]
fn gitlab_201_form_and_web_url() {
    let (port, log) = stand_in(5, |_, _, _| {
        json_reply(
            201,
            json!({
                "id": 4711,
                "status": "created",
                "web_url": "https://gitlab.example.com/group/sub/name/-/pipelines/4711",
            }),
        )
    });
    let sent = send(&gitlab(format!("http://127.0.0.1:{port}/api/v4")), quick());
    assert_eq!(
        sent,
        Sent {
            outcome: Outcome::Dispatched {
                run_url: Some("https://gitlab.example.com/group/sub/name/-/pipelines/4711".into()),
                status: 201,
            },
            attempts: 1,
        }
    );
    let seen = seen(&log);
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.path,
        "/api/v4/projects/group%2Fsub%2Fname/trigger/pipeline"
    );
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // The trigger token travels in the body only.
    assert_eq!(req.header("authorization"), None);
    assert!(!req.path.contains(TOKEN));
    let form: Vec<(String, String)> = form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form,
        [
            ("token".to_owned(), TOKEN.to_owned()),
            ("ref".to_owned(), "main".to_owned()),
            ("variables[PINS]".to_owned(), PINS.to_owned()),
            ("variables[REASON]".to_owned(), "scheduled".to_owned()),
        ]
    );
}

#[test]
fn gitlab_refusals_read_message_and_error() {
    for (body, expected) in [
        (
            json!({"message": {"base": ["Reference not found"]}}),
            r#"{"base":["Reference not found"]}"#,
        ),
        (json!({"error": "ref is missing"}), "ref is missing"),
        (
            json!({"message": "404 Project Not Found"}),
            "404 Project Not Found",
        ),
    ] {
        let reply = json_reply(400, body);
        let (port, log) = stand_in(5, move |_, _, _| reply.clone());
        let sent = send(&gitlab(format!("http://127.0.0.1:{port}/api/v4")), quick());
        assert_eq!(
            sent.outcome,
            Outcome::Rejected {
                status: 400,
                message: expected.into()
            }
        );
        assert_eq!(seen(&log).len(), 1);
    }
}

#[test]
fn silent_server_fails_within_the_bounds() {
    // Accepts connections and never answers; holds them until the test ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<TcpStream> = listener.incoming().take(10).flatten().collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        max_attempts: 3,
        max_total: Duration::from_secs(3),
        initial_backoff: Duration::from_millis(50),
    };
    let start = Instant::now();
    let sent = send(&github(format!("http://127.0.0.1:{port}")), limits);
    let elapsed = start.elapsed();
    assert_eq!(sent.attempts, 3);
    let Outcome::Failed { message } = &sent.outcome else {
        panic!("{sent:?}")
    };
    assert!(message.contains("no answer within 300ms"), "{message}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(sent.outcome.result(), model::state::RebuildResult::Failed);
}

#[test]
fn refused_connections_fail_after_the_attempts() {
    // A port nobody listens on (bound, then closed).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sent = send(&gitlab(format!("http://127.0.0.1:{port}/api/v4")), quick());
    assert_eq!(sent.attempts, 3);
    assert!(matches!(sent.outcome, Outcome::Failed { .. }), "{sent:?}");
}

#[test]
fn too_many_inputs_are_refused_before_sending() {
    let (port, log) = stand_in(5, |_, _, _| (204, vec![], String::new()));
    let mut request = github(format!("http://127.0.0.1:{port}"));
    request.inputs = (0..=MAX_GITHUB_INPUTS)
        .map(|i| (format!("input{i:02}"), "x".to_owned()))
        .collect();
    assert_eq!(request.inputs.len(), 26);
    let err = Dispatcher::new(quick())
        .unwrap()
        .send(&request, &Secret::new(TOKEN))
        .unwrap_err();
    assert!(matches!(err, Error::TooManyInputs { count: 26 }), "{err}");
    assert!(matches!(
        describe(&request),
        Err(Error::TooManyInputs { .. })
    ));
    assert!(seen(&log).is_empty());
    // 25 is GitHub's limit, not past it.
    request.inputs.pop_first();
    assert!(matches!(
        send(&request, quick()).outcome,
        Outcome::Dispatched { .. }
    ));
    assert_eq!(seen(&log).len(), 1);
}

#[test]
fn plain_http_only_on_loopback() {
    let dispatcher = Dispatcher::new(quick()).unwrap();
    for api in [
        "http://api.github.com",
        "http://10.0.0.1/api/v3",
        "http://127.0.0.1.example.com",
    ] {
        let err = dispatcher
            .send(&github(api.to_owned()), &Secret::new(TOKEN))
            .unwrap_err();
        assert!(matches!(err, Error::InsecureApi { .. }), "{api}: {err}");
        assert!(err.to_string().contains("https"), "{err}");
    }
    let err = dispatcher
        .send(
            &gitlab("ftp://gitlab.example.com".to_owned()),
            &Secret::new(TOKEN),
        )
        .unwrap_err();
    assert!(matches!(err, Error::ApiUrl { .. }), "{err}");
}

#[test]
fn dry_run_shows_the_request_without_the_token() {
    let text = describe(&gitlab("https://gitlab.example.com/api/v4".to_owned())).unwrap();
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        "POST https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fname/trigger/pipeline"
    );
    assert!(
        text.contains("\ntoken=***&ref=main&variables%5BPINS%5D="),
        "{text}"
    );
    let text = describe(&github("https://api.github.com".to_owned())).unwrap();
    assert!(text.contains("\nAuthorization: Bearer ***\n"), "{text}");
    assert!(!text.contains(TOKEN));
}
