//! Small HTTP/1.1 servers on 127.0.0.1 standing in for what a local registry or CI API does not
//! do (token endpoints, rate limits, refusing HEAD, never answering, GitHub's and GitLab's dispatch
//! APIs): each answers one request per connection, records what it saw (headers and body
//! included), and serves a bounded number of requests so a test's server thread always ends.
#![allow(clippy::expect_used)] // test support: failing loudly is the point

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request seen by a stand-in server.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The request target.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// Every header, names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes, read as UTF-8 with replacement; empty without one).
    pub body: String,
}

impl Seen {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Bodies larger than this are not read (a stand-in serves tests, not uploads).
const MAX_BODY: usize = 1 << 20;

/// What a stand-in answers: status, headers, body.
pub type Reply = (u16, Vec<(String, String)>, String);

/// An HTTP/1.1 server on 127.0.0.1 answering each request (one per connection) with `handler`
/// given the request and the number of requests before it; it serves at most `max` requests (so a
/// test's server thread always ends) and records them all.
///
/// # Panics
/// When no port of 127.0.0.1 can be bound.
pub fn stand_in(
    max: usize,
    handler: impl Fn(&Seen, usize, u16) -> Reply + Send + 'static,
) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(stream) = stream else { continue };
            let Some(request) = read_request(&stream) else {
                continue;
            };
            let n = {
                let mut log = log
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push(request.clone());
                log.len() - 1
            };
            let (status, headers, body) = handler(&request, n, port);
            let mut stream = stream;
            let mut text = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
            for (k, v) in headers {
                text.push_str(&format!("{k}: {v}\r\n"));
            }
            text.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            if request.method != "HEAD" {
                text.push_str(&body);
            }
            let _ = stream.write_all(text.as_bytes());
        }
    });
    (port, seen)
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let length = find("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        authorization: find("authorization"),
        accept: find("accept"),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
