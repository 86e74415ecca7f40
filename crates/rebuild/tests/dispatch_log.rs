//! The token never reaches a log line: every dispatch path (a refusal echoing the token, retries
//! then a failure, refusals before sending) run under a subscriber that records at `debug`.
//!
//! Alone in its test binary: a subscriber set with `with_default` only sees callsites whose
//! interest was not cached by another thread meanwhile, so tests running beside it could hide
//! log lines and make the check vacuous.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::{TOKEN, github, gitlab, json_reply, quick, send};
use image_factory_rebuild::dispatch::{Dispatcher, Outcome, Secret};
use serde_json::json;
use testkit::http::stand_in;

/// A `tracing` writer into a shared buffer, to read the log lines a dispatch wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_token_appears_nowhere() {
    let secret = Secret::new(TOKEN);
    assert_eq!(format!("{secret:?}"), "***");
    let request = github("https://api.github.com".to_owned());
    assert!(!format!("{request:?}").contains(TOKEN));

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let mut texts = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        // A CI that echoes the token in its refusal.
        let (port, _) = stand_in(5, |req, _, _| {
            json_reply(
                401,
                json!({"message": format!("Bad credentials: {:?}", req.authorization)}),
            )
        });
        let sent = send(&github(format!("http://127.0.0.1:{port}")), quick());
        let Outcome::Rejected { message, .. } = &sent.outcome else {
            panic!("{sent:?}")
        };
        assert!(message.contains("Bearer ***"), "{message}");
        texts.push(format!("{sent:?}"));
        // Retries and a final failure, on GitLab (the token in the body).
        let (port, _) = stand_in(5, |_, _, _| (502, vec![], TOKEN.to_owned()));
        let sent = send(&gitlab(format!("http://127.0.0.1:{port}/api/v4")), quick());
        assert!(matches!(sent.outcome, Outcome::Failed { .. }));
        texts.push(format!("{sent:?}"));
        let dispatcher = Dispatcher::new(quick()).unwrap();
        texts.push(format!("{dispatcher:?}"));
        // Refusals before sending.
        for (request, token) in [
            (github("http://example.com".to_owned()), TOKEN.to_owned()),
            (
                gitlab("https://user:pw@x.example".to_owned()),
                TOKEN.to_owned(),
            ),
            (
                github("https://api.github.com".to_owned()),
                format!("{TOKEN}\r\nX: y"),
            ),
            (github("https://api.github.com".to_owned()), String::new()),
        ] {
            let err = dispatcher.send(&request, &Secret::new(token)).unwrap_err();
            texts.push(err.to_string());
            texts.push(format!("{err:?}"));
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The log has the requests (method, URL, status, attempt) and the retries.
    assert!(
        logs.contains("POST") && logs.contains("status=401"),
        "{logs}"
    );
    assert!(
        logs.contains("status=502") && logs.contains("retrying"),
        "{logs}"
    );
    texts.push(logs);
    for text in &texts {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
        assert!(!text.contains("s3cret"), "token leaked: {text}");
    }
    // The credentials of an API URL are not shown either.
    assert!(texts.iter().all(|t| !t.contains("user:pw")));
}
