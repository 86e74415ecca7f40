//! git's own rules for text that reaches a `git` command line or git's error messages: branch names
//! (`git check-ref-format --branch`), the remote URLs we accept, and the redaction of credentials
//! in URLs wherever a URL is shown or recorded.
//!
//! A branch name from configuration ends up as an argument of `git clone`/`git fetch`/`git push`.
//! Validating it with git's rules (plus Kargo's, [`crate::kargo::is_branch`], where it reaches a
//! manifest) keeps option-like text (`--upload-pack=...`) and revision syntax (`@{-1}`, `a..b`)
//! out; the git layer puts `--` before positionals as a second line of defence.

use std::fmt;

/// Why a name is not a valid branch name for git (the rules of `refs.c`'s `check_refname_format`
/// applied to `refs/heads/<name>`, plus the two extra rules of `git check-ref-format --branch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BranchError {
    /// The name is empty.
    Empty,
    /// It starts with `-` (it would read as an option).
    LeadingDash,
    /// It is `HEAD`.
    Head,
    /// A `/`-separated component is empty (leading, trailing or doubled `/`).
    EmptyComponent,
    /// A component starts with `.`.
    ComponentStartsWithDot,
    /// A component ends with `.lock`.
    ComponentEndsWithLock,
    /// It ends with `.`.
    EndsWithDot,
    /// It contains `..`.
    DoubleDot,
    /// It contains `@{`.
    AtBrace,
    /// It contains a control character, a space, or one of `~ ^ : ? * [ \`.
    ForbiddenCharacter(char),
}

impl fmt::Display for BranchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::LeadingDash => f.write_str("it starts with `-`"),
            Self::Head => f.write_str("`HEAD` is not a branch name"),
            Self::EmptyComponent => f.write_str("it has an empty `/`-separated component"),
            Self::ComponentStartsWithDot => f.write_str("a component starts with `.`"),
            Self::ComponentEndsWithLock => f.write_str("a component ends with `.lock`"),
            Self::EndsWithDot => f.write_str("it ends with `.`"),
            Self::DoubleDot => f.write_str("it contains `..`"),
            Self::AtBrace => f.write_str("it contains `@{`"),
            Self::ForbiddenCharacter(c) => {
                write!(f, "it contains the forbidden character {:?}", c)
            }
        }
    }
}

/// Checks `name` as `git check-ref-format --branch <name>` does outside a repository (where
/// `@{-N}` is not expanded): `-`-prefixed names and `HEAD` are refused, then `refs/heads/<name>`
/// must be a valid ref name. Bytes above ASCII are allowed, as git allows them.
///
/// # Errors
/// The first rule `name` breaks.
pub fn check_branch(name: &str) -> Result<(), BranchError> {
    if name.is_empty() {
        return Err(BranchError::Empty);
    }
    if name.starts_with('-') {
        return Err(BranchError::LeadingDash);
    }
    if name == "HEAD" {
        return Err(BranchError::Head);
    }
    // `refs/heads/` is two valid components, so `name`'s components are checked alone; the `@`
    // rule of git applies to the whole ref name (`refs/heads/@` is valid).
    for component in name.split('/') {
        check_component(component)?;
    }
    if name.ends_with('.') {
        return Err(BranchError::EndsWithDot);
    }
    Ok(())
}

/// One `/`-separated component (`check_refname_component` in git's `refs.c`).
fn check_component(component: &str) -> Result<(), BranchError> {
    let mut last = '\0';
    for c in component.chars() {
        match c {
            '.' if last == '.' => return Err(BranchError::DoubleDot),
            '{' if last == '@' => return Err(BranchError::AtBrace),
            '\0'..='\x20' | '\x7f' | '~' | '^' | ':' | '?' | '*' | '[' | '\\' => {
                return Err(BranchError::ForbiddenCharacter(c));
            }
            _ => {}
        }
        last = c;
    }
    if component.is_empty() {
        Err(BranchError::EmptyComponent)
    } else if component.starts_with('.') {
        Err(BranchError::ComponentStartsWithDot)
    } else if component.ends_with(".lock") {
        Err(BranchError::ComponentEndsWithLock)
    } else {
        Ok(())
    }
}

/// Whether git accepts `name` as a branch name ([`check_branch`]).
pub fn is_branch_name(name: &str) -> bool {
    check_branch(name).is_ok()
}

/// How a git remote URL is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// `https://host/path`.
    Https,
    /// `ssh://[user@]host[:port]/path`.
    Ssh,
    /// scp-like `[user@]host:path` (ssh).
    ScpLike,
}

/// Why a remote URL is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// A transport we never use for a configured repository: `ext::` runs a command, `file://`
    /// and local paths read the machine's own files, `http://` and `git://` travel unencrypted
    /// (credentials in the clear, content open to tampering).
    Transport(String),
    /// The URL carries a password (it would be committed with the configuration and echoed in
    /// git's error messages).
    Credentials,
    /// The URL starts with `-` (it would read as an option) or holds whitespace or control
    /// characters.
    Malformed,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(t) => write!(f, "the `{t}` transport is not allowed"),
            Self::Credentials => f.write_str("it contains a password"),
            Self::Malformed => f.write_str("it is not a URL"),
        }
    }
}

/// Checks a configured remote URL (`stateRepo.url`): `https://`, `ssh://` or scp-like
/// `user@host:path` only, never with a password. A user name alone (`ssh://git@host/...`) is
/// fine. Plain `http://` is refused too: the analysis Job sends credentials to this URL.
///
/// # Errors
/// Why the URL is refused.
pub fn check_remote_url(url: &str) -> Result<Transport, UrlError> {
    let transport = transport_of(url)?;
    if url.starts_with('-') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Malformed);
    }
    Ok(transport)
}

fn transport_of(url: &str) -> Result<Transport, UrlError> {
    if url.is_empty() || url.starts_with('-') {
        return Err(UrlError::Malformed);
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "https" => Transport::Https,
            "ssh" | "git+ssh" | "ssh+git" => Transport::Ssh,
            _ => return Err(UrlError::Transport(format!("{scheme}://"))),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                if userinfo.contains(':') {
                    return Err(UrlError::Credentials);
                }
                host
            }
            None => authority,
        };
        if host.is_empty() {
            return Err(UrlError::Malformed);
        }
        return Ok(transport);
    }
    // `<transport>::<address>` (git's remote helpers, `ext::` among them).
    if let Some((helper, _)) = url.split_once("::") {
        return Err(UrlError::Transport(format!("{helper}::")));
    }
    // scp-like: a `:` before any `/` (git's own rule), a non-empty host.
    match url.split_once(':') {
        Some((host, path))
            if !host.contains('/')
                && !path.is_empty()
                && host.rsplit('@').next().is_some_and(|h| !h.is_empty()) =>
        {
            Ok(Transport::ScpLike)
        }
        _ => Err(UrlError::Transport("local path".to_owned())),
    }
}

/// The replacement of redacted credentials.
pub const REDACTED: &str = "***";

/// `text` with the userinfo (`user:password@`, or a token alone) of every `scheme://` URL in it
/// replaced by [`REDACTED`]: git echoes URLs in its error messages, and those messages end up in
/// reports, logs and state files. Text without such a URL is returned unchanged.
pub fn redact_userinfo(text: &str) -> String {
    scrub_userinfo(text, |_| REDACTED.to_owned())
}

/// `text` with every character of each URL's userinfo replaced by `*`: columns stay where they
/// were, for quoting a configuration line under a caret.
pub fn mask_userinfo(text: &str) -> String {
    scrub_userinfo(text, |userinfo| "*".repeat(userinfo.chars().count()))
}

fn scrub_userinfo(text: &str, replace: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at);
        let after = &after[3..];
        out.push_str(before);
        out.push_str("://");
        // The authority ends at the path, query or fragment, or where the URL ends in prose.
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\'' | '"' | '`' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        // A scheme must precede `://` for this to be a URL; an `@` in the authority ends userinfo.
        let is_url = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        match authority.rfind('@') {
            Some(i) if is_url => {
                out.push_str(&replace(&authority[..i]));
                out.push_str(&authority[i..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_rules() {
        for ok in [
            "main",
            "release/1.x",
            "a",
            "@",
            "feat@x",
            "ü",
            "a.b",
            "x-",
            "a/b/c",
            "v1.2-rc_",
            "a{b",
        ] {
            assert_eq!(check_branch(ok), Ok(()), "{ok}");
        }
        let bad = [
            ("", BranchError::Empty),
            ("-x", BranchError::LeadingDash),
            (
                "--upload-pack=touch /tmp/x;git-upload-pack",
                BranchError::LeadingDash,
            ),
            ("HEAD", BranchError::Head),
            ("/a", BranchError::EmptyComponent),
            ("a/", BranchError::EmptyComponent),
            ("a//b", BranchError::EmptyComponent),
            (".a", BranchError::ComponentStartsWithDot),
            ("a/.b", BranchError::ComponentStartsWithDot),
            ("a.lock", BranchError::ComponentEndsWithLock),
            ("a.lock/b", BranchError::ComponentEndsWithLock),
            ("a.", BranchError::EndsWithDot),
            ("a..b", BranchError::DoubleDot),
            ("a@{1}", BranchError::AtBrace),
            ("@{-1}", BranchError::AtBrace),
            ("a b", BranchError::ForbiddenCharacter(' ')),
            ("a\tb", BranchError::ForbiddenCharacter('\t')),
            ("a~1", BranchError::ForbiddenCharacter('~')),
            ("a^", BranchError::ForbiddenCharacter('^')),
            ("a:b", BranchError::ForbiddenCharacter(':')),
            ("a?", BranchError::ForbiddenCharacter('?')),
            ("a*", BranchError::ForbiddenCharacter('*')),
            ("a[", BranchError::ForbiddenCharacter('[')),
            ("a\\b", BranchError::ForbiddenCharacter('\\')),
            ("a\x7f", BranchError::ForbiddenCharacter('\x7f')),
        ];
        for (name, why) in bad {
            assert_eq!(check_branch(name), Err(why), "{name:?}");
        }
    }

    #[test]
    fn remote_urls() {
        for (ok, t) in [
            ("https://github.com/acme/platform.git", Transport::Https),
            ("HTTPS://example.com/p", Transport::Https),
            ("https://token@github.com/acme/p.git", Transport::Https),
            ("ssh://git@github.com/acme/p.git", Transport::Ssh),
            ("git@github.com:acme/platform.git", Transport::ScpLike),
            ("github.com:acme/platform.git", Transport::ScpLike),
        ] {
            assert_eq!(check_remote_url(ok), Ok(t), "{ok}");
        }
        let transport = |t: &str| Err(UrlError::Transport(t.to_owned()));
        assert_eq!(
            check_remote_url("ext::sh -c touch% /tmp/x"),
            transport("ext::")
        );
        assert_eq!(check_remote_url("ext::sh"), transport("ext::"));
        assert_eq!(
            check_remote_url("file:///srv/git/p.git"),
            transport("file://")
        );
        assert_eq!(
            check_remote_url("http://example.com/p.git"),
            transport("http://")
        );
        assert_eq!(
            check_remote_url("git://example.com/p.git"),
            transport("git://")
        );
        assert_eq!(check_remote_url("/srv/git/p.git"), transport("local path"));
        assert_eq!(check_remote_url("./p.git"), transport("local path"));
        assert_eq!(check_remote_url("a/b:c"), transport("local path"));
        assert_eq!(
            check_remote_url("https://user:secret@github.com/p.git"),
            Err(UrlError::Credentials)
        );
        assert_eq!(
            check_remote_url("-oProxyCommand=x:y"),
            Err(UrlError::Malformed)
        );
        assert_eq!(check_remote_url("https:///p.git"), Err(UrlError::Malformed));
    }

    #[test]
    fn redaction() {
        let cases = [
            (
                "fatal: unable to access 'https://user:secret@127.0.0.1:9/x.git/': refused",
                "fatal: unable to access 'https://***@127.0.0.1:9/x.git/': refused",
            ),
            ("https://tok@host", "https://***@host"),
            (
                "a https://u:p@h/x and ssh://git@h:22/y",
                "a https://***@h/x and ssh://***@h:22/y",
            ),
            // A password holding `@`: everything up to the last `@` of the authority goes.
            ("https://u:p@ss@h/x", "https://***@h/x"),
            (
                "no url here, just a@b and ://x@y",
                "no url here, just a@b and ://x@y",
            ),
            ("https://host/path@v1", "https://host/path@v1"),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(redact_userinfo(text), want, "{text}");
        }
        assert_eq!(
            mask_userinfo("  url: https://bot:pw@h/x # é"),
            "  url: https://******@h/x # é"
        );
    }
}
