//! The plain-text pieces of the tag list API (`GET /v2/<name>/tags/list?n=<page>`, the OCI
//! distribution spec's "Listing Tags"): a page's JSON, the `Link` header naming the next page, and
//! the rule that a next page is followed only on the registry's own origin.
//!
//! The origin rule matters because every page is sent with the registry's credentials (a bearer
//! token, or Basic credentials from the Docker config): a `Link` to another host, or from HTTPS
//! down to HTTP, would hand them to whoever the registry (or a proxy in between) names.

use reqwest::Url;
use reqwest::header::{HeaderMap, LINK};

/// At most this many tags in one listing; a longer one is an error rather than unbounded memory.
pub const MAX_TAGS: usize = 10_000;

/// At most this many pages (list requests) in one listing; a registry whose `Link` headers never
/// end (or loop) gives up here.
pub const MAX_TAG_PAGES: u32 = 100;

/// A page is small JSON (at most a page of tags of at most 128 characters each); a larger answer
/// is not a tag list.
pub(crate) const MAX_PAGE_BYTES: usize = 4 << 20;

/// One page of the tag list. `tags` is `null` in some registries' answer for a repository
/// without tags.
#[derive(serde::Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    pub(crate) tags: Option<Vec<String>>,
}

/// The target of the first `Link` whose `rel` includes `next` (RFC 8288; several links may share
/// one header, and the header may repeat).
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_in)
}

/// `<target>; rel="next", <other>; rel=prev` → `target`.
fn next_in(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let after = rest.get(start + 1..)?;
        let end = after.find('>')?;
        let target = after.get(..end)?;
        let params = after.get(end + 1..)?;
        // The parameters run to the next link (a `<` outside a quoted value cannot occur in them).
        let params_end = params.find('<').unwrap_or(params.len());
        let (own, next) = params.split_at(params_end);
        let is_next = own.split(';').any(|param| {
            let Some((key, value)) = param.split_once('=') else {
                return false;
            };
            key.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_owned());
        }
        rest = next;
    }
}

/// Why a next-page link is not followed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LinkError {
    /// Not a URL, even relative to the page that sent it.
    Invalid,
    /// Another scheme, host or port than the page that sent it.
    OffHost,
}

/// The absolute URL of `link` (relative or absolute) as sent by the page at `current`, when it is
/// on the same origin (scheme, host and port) as `current`.
pub(crate) fn resolve_next(current: &str, link: &str) -> Result<String, LinkError> {
    let current = Url::parse(current).map_err(|_| LinkError::Invalid)?;
    let next = current.join(link).map_err(|_| LinkError::Invalid)?;
    // Userinfo in the link would replace our Authorization header with the link's own: refused
    // like another host.
    if next.origin() != current.origin() || !next.username().is_empty() || next.password().is_some()
    {
        return Err(LinkError::OffHost);
    }
    Ok(next.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(LINK, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn next_links_are_found() {
        // distribution's form
        assert_eq!(
            next_link(&headers(&[
                r#"</v2/team/app/tags/list?last=b&n=2>; rel="next""#
            ])),
            Some("/v2/team/app/tags/list?last=b&n=2".to_owned())
        );
        // several links in one header, unquoted and multi-valued rel
        assert_eq!(
            next_link(&headers(&[
                r#"<https://r/p1>; rel=prev, <https://r/p3>; rel="last next""#
            ])),
            Some("https://r/p3".to_owned())
        );
        // the header repeated
        assert_eq!(
            next_link(&headers(&[
                r#"<a>; rel="prev""#,
                r#"<b>; title="x"; REL=next"#
            ])),
            Some("b".to_owned())
        );
        assert_eq!(next_link(&headers(&[r#"<a>; rel="prev""#])), None);
        assert_eq!(next_link(&headers(&["garbage"])), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn only_the_same_origin_is_followed() {
        let page = "http://127.0.0.1:5000/v2/app/tags/list?n=2";
        assert_eq!(
            resolve_next(page, "/v2/app/tags/list?last=b&n=2"),
            Ok("http://127.0.0.1:5000/v2/app/tags/list?last=b&n=2".to_owned())
        );
        assert_eq!(
            resolve_next(page, "http://127.0.0.1:5000/v2/app/tags/list?last=c"),
            Ok("http://127.0.0.1:5000/v2/app/tags/list?last=c".to_owned())
        );
        for off in [
            "http://127.0.0.2:5000/v2/app/tags/list",
            "http://127.0.0.1:5001/v2/app/tags/list",
            "https://127.0.0.1:5000/v2/app/tags/list",
            "//evil.example/v2/app/tags/list",
            "http://user:pw@127.0.0.1:5000/v2/app/tags/list",
        ] {
            assert_eq!(resolve_next(page, off), Err(LinkError::OffHost), "{off}");
        }
        assert_eq!(
            resolve_next(
                "https://ghcr.io/v2/a/tags/list",
                "http://ghcr.io/v2/a/tags/list"
            ),
            Err(LinkError::OffHost),
            "no downgrade to plain HTTP"
        );
    }
}
