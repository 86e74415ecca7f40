//! What the registry tests share: a client for plain-HTTP servers on 127.0.0.1 with short bounds,
//! and small HTTP servers standing in for registries and token endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use image_factory_registry::{Client, Counts, DockerConfig, Limits, RegistrySettings};
use model::reference::ImageRef;

pub fn reference(text: &str) -> ImageRef {
    ImageRef::parse_normalized(text).unwrap()
}

/// A client for which `host` is plain HTTP (as every server here is), with short bounds so a
/// failing test fails fast.
pub fn client(host: &str, limits: Limits) -> Client {
    let settings = BTreeMap::from([(
        host.to_owned(),
        RegistrySettings {
            insecure: true,
            ..RegistrySettings::default()
        },
    )]);
    Client::new(
        settings,
        RegistrySettings::default(),
        limits,
        DockerConfig::empty(),
    )
    .unwrap()
}

pub fn quick() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        max_total: Duration::from_secs(10),
        initial_backoff: Duration::from_millis(100),
    }
}

/// Counts of a digest check (no list requests).
pub fn counts(head: u32, get: u32, token: u32) -> Counts {
    Counts {
        head,
        get,
        token,
        list: 0,
    }
}

/// A request seen by a stand-in server.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub accept: Option<String>,
}

/// What a stand-in answers: status, headers, body.
pub type Reply = (u16, Vec<(String, String)>, String);

/// An HTTP/1.1 server on 127.0.0.1 answering each request (one per connection) with `handler`
/// given the request and the number of requests before it; it serves at most `max` requests (so a
/// test's server thread always ends) and records them all.
pub fn stand_in(
    max: usize,
    handler: impl Fn(&Seen, usize, u16) -> Reply + Send + 'static,
) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(stream) = stream else { continue };
            let Some(request) = read_request(&stream) else {
                continue;
            };
            let n = {
                let mut log = log.lock().unwrap();
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
    let (mut authorization, mut accept) = (None, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(v.trim().to_owned()),
                "accept" => accept = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    Some(Seen {
        method,
        path,
        authorization,
        accept,
    })
}
