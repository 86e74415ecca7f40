//! `cargo xtask docs [FILE]...`: runs the shell blocks of the documentation, so the docs cannot rot.
//!
//! Every fenced block whose info string starts with `sh` in `docs/*.md` is run with
//! `bash -euo pipefail`, in order, in a sandbox made for its file: a git repository holding a copy of
//! the example factory dir (`image-factory/`) and `examples/`, with the example's sources
//! (`fixtures/sources/`) in `sources/`, which git ignores, pushed to a local bare `origin` so `--commit --push` work. `analyzer` and `synth`
//! (built by this task) come first on `PATH`; the network is cut off (proxies point at a closed
//! port), so a block that needs a registry or a CI API fails instead of depending on the Internet.
//!
//! Info-string words: `exit=N` expects that exit status (default 0); `no-run` marks a block that
//! needs what a sandbox lacks (a registry, a cluster, credentials). Its `analyzer`/`synth` lines
//! are still checked: the subcommand and every `--flag` must exist in that subcommand's `--help`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util;

/// Arguments.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Only these Markdown files (default: every `docs/*.md`).
    files: Vec<PathBuf>,
}

/// A fenced `sh` block.
#[derive(Debug, PartialEq, Eq)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The expected exit status.
    exit: i32,
    /// Only checked, not run.
    no_run: bool,
    text: String,
}

/// A block runs at most this long (a hung command must not hang CI).
const TIMEOUT: Duration = Duration::from_secs(180);

/// The `sh` blocks of a Markdown text. Unknown info-string words are errors: a typo in `no-run`
/// must not silently turn a block into one that runs, or the reverse.
fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    let mut in_other = false;
    for (i, line) in markdown.lines().enumerate() {
        let Some(info) = line.strip_prefix("```") else {
            if let Some(block) = open.as_mut() {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        };
        if let Some(block) = open.take() {
            found.push(block);
            continue;
        }
        if in_other {
            in_other = false;
            continue;
        }
        let mut words = info.split_whitespace();
        if words.next() != Some("sh") {
            in_other = true;
            continue;
        }
        let mut block = Block {
            line: i + 1,
            exit: 0,
            no_run: false,
            text: String::new(),
        };
        for word in words {
            match word.split_once('=') {
                None if word == "no-run" => block.no_run = true,
                Some(("exit", n)) => {
                    block.exit = n
                        .parse()
                        .map_err(|_| format!("line {}: `exit={n}` is not a number", i + 1))?;
                }
                _ => {
                    return Err(format!(
                        "line {}: unknown word `{word}` after ```sh (known: no-run, exit=N)",
                        i + 1
                    ));
                }
            }
        }
        open = Some(block);
    }
    if let Some(block) = open {
        return Err(format!("line {}: the block is never closed", block.line));
    }
    Ok(found)
}

/// The words of a shell command line, quotes removed (enough for the docs' command lines).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if !any => break,
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// The `analyzer`/`synth` invocations of a block: (binary, subcommand, flags). Continuation lines
/// are joined first; a leading `exec` or `VAR=value` is skipped; the subcommand is the first word
/// that is one of `subcommands` (a global option's value may come before it).
fn invocations(text: &str, subcommands: &[String]) -> Vec<(String, Option<String>, Vec<String>)> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let mut words = words(line)
            .into_iter()
            .skip_while(|w| w == "exec" || (w.contains('=') && !w.starts_with('-')));
        let Some(bin) = words.next() else { continue };
        if bin != "analyzer" && bin != "synth" {
            continue;
        }
        let mut sub = None;
        let mut flags = Vec::new();
        for word in words {
            if matches!(word.as_str(), "|" | "&&" | "||" | ";") {
                break;
            }
            if let Some(flag) = word.strip_prefix("--") {
                flags.push(format!("--{}", flag.split('=').next().unwrap_or(flag)));
            } else if bin == "analyzer" && sub.is_none() && subcommands.contains(&word) {
                sub = Some(word);
            }
        }
        out.push((bin, sub, flags));
    }
    out
}

/// The subcommands `analyzer --help` lists.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Runs the documentation's blocks.
#[allow(clippy::print_stderr)] // xtask reports progress to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let root = util::root();
    let files = if args.files.is_empty() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
            .context("cannot list docs/")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        files.sort();
        files
    } else {
        args.files.iter().map(|f| root.join(f)).collect()
    };
    let bin_dir = util::build_binaries("debug")?;
    let sandboxes = root.join("target/docs-run");
    let mut help = BTreeMap::new();
    let (mut ran, mut checked, mut failures) = (0, 0, Vec::new());
    for file in &files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        let blocks = blocks(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if blocks.is_empty() {
            continue;
        }
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let sandbox = sandbox(&sandboxes.join(stem.as_ref()))?;
        for block in blocks {
            let at = format!("{name}:{}", block.line);
            let problems = check_flags(&block.text, &bin_dir, &mut help)?;
            let result = if !problems.is_empty() {
                Err(problems.join("; "))
            } else if block.no_run {
                checked += 1;
                Ok(())
            } else {
                ran += 1;
                run_block(&block, &sandbox, &bin_dir)
            };
            match result {
                Ok(()) => eprintln!(
                    "ok    {at}{}",
                    if block.no_run {
                        " (checked, not run)"
                    } else {
                        ""
                    }
                ),
                Err(why) => {
                    eprintln!("FAIL  {at}: {why}");
                    failures.push(at);
                }
            }
        }
    }
    eprintln!(
        "docs: {ran} blocks run, {checked} checked without running, {} failed",
        failures.len()
    );
    if !failures.is_empty() {
        bail!("documentation blocks failed: {}", failures.join(", "));
    }
    Ok(())
}

/// Every `analyzer`/`synth` subcommand and `--flag` of the block exists.
fn check_flags(
    text: &str,
    bin_dir: &Path,
    help: &mut BTreeMap<(String, Option<String>), String>,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let top = Command::new(bin_dir.join("analyzer"))
        .arg("--help")
        .output()
        .context("cannot run analyzer")?;
    let subs = subcommands(&String::from_utf8_lossy(&top.stdout));
    for (bin, sub, flags) in invocations(text, &subs) {
        let key = (bin.clone(), sub.clone());
        if !help.contains_key(&key) {
            let out = Command::new(bin_dir.join(&bin))
                .args(sub.iter())
                .arg("--help")
                .output()
                .with_context(|| format!("cannot run {bin}"))?;
            let text = if out.status.success() {
                String::from_utf8_lossy(&out.stdout).into_owned()
            } else {
                String::new()
            };
            help.insert(key.clone(), text);
        }
        let text = &help[&key];
        let what = format!("{bin} {}", sub.as_deref().unwrap_or(""))
            .trim_end()
            .to_owned();
        if text.is_empty() {
            problems.push(format!("`{what}` is not a command"));
            continue;
        }
        for flag in flags {
            let known = text.contains(&format!("{flag} "))
                || text.contains(&format!("{flag},"))
                || text.contains(&format!("{flag}\n"))
                || text.contains(&format!("{flag}="));
            if !known && flag != "--help" && flag != "--version" {
                problems.push(format!("`{what}` has no option `{flag}`"));
            }
        }
    }
    Ok(problems)
}

/// A fresh git repository with the example in it, pushed to a bare `origin` beside it.
fn sandbox(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = util::root();
    let origin = dir.with_extension("git");
    for d in [dir, &origin] {
        if d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    std::fs::create_dir_all(dir)?;
    // The example's source checkouts go to `sources/`, outside what git tracks: sources are
    // other repositories, and the analyzer refuses to commit beside stray changes.
    for (from, to) in [
        ("image-factory", "image-factory"),
        ("fixtures/sources", "sources"),
        ("examples", "examples"),
    ] {
        if root.join(from).exists() {
            copy_dir(&root.join(from), &dir.join(to))?;
        }
    }
    let git = |args: &[&str], cwd: &Path| -> anyhow::Result<()> {
        let out = Command::new("git")
            .args(args)
            .current_dir(cwd)
            .envs(git_identity())
            .output()
            .context("cannot run git")?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    git(
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            &origin.to_string_lossy(),
        ],
        &root,
    )?;
    git(&["init", "-q", "-b", "main"], dir)?;
    std::fs::write(dir.join(".git/info/exclude"), "/sources/\n")?;
    git(&["add", "-A"], dir)?;
    git(&["commit", "-q", "-m", "the example"], dir)?;
    git(&["remote", "add", "origin", &origin.to_string_lossy()], dir)?;
    git(&["push", "-q", "-u", "origin", "main"], dir)?;
    Ok(dir.to_path_buf())
}

fn git_identity() -> [(&'static str, &'static str); 4] {
    [
        ("GIT_AUTHOR_NAME", "docs"),
        ("GIT_AUTHOR_EMAIL", "docs@example.invalid"),
        ("GIT_COMMITTER_NAME", "docs"),
        ("GIT_COMMITTER_EMAIL", "docs@example.invalid"),
    ]
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Runs one block; `Err` says why it failed, with its output.
fn run_block(block: &Block, sandbox: &Path, bin_dir: &Path) -> Result<(), String> {
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .map_err(|e| e.to_string())?;
    let log = sandbox.with_extension("log");
    let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &block.text])
        .current_dir(sandbox)
        .env("PATH", path)
        .envs(git_identity())
        .env("NO_COLOR", "1")
        // The sandbox's `origin` is a local bare repository.
        .env("IMAGE_FACTORY_GIT_ALLOW_PROTOCOL", "file")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TRIGGER_TOKEN")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start bash: {e}"))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                return Err(format!("still running after {} s", TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let code = status.code().unwrap_or(-1);
    if code == block.exit {
        return Ok(());
    }
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = output.lines().rev().take(15).collect();
    Err(format!(
        "exit {code}, expected {}; last output:\n{}",
        block.exit,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sh_blocks_with_their_words_other_blocks_ignored() {
        let md = "text\n```yaml\n- a\n```\n```sh\nanalyzer x\n```\n```sh exit=2\nfalse\n```\n```sh no-run\ny\n```\n";
        let found = blocks(md).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(
            (found[0].line, found[0].exit, found[0].no_run),
            (5, 0, false)
        );
        assert_eq!(found[0].text, "analyzer x\n");
        assert_eq!((found[1].exit, found[1].no_run), (2, false));
        assert!(found[2].no_run);
        assert!(
            blocks("```sh norun\nx\n```\n")
                .unwrap_err()
                .contains("unknown word `norun`")
        );
        assert!(blocks("```sh\nx\n").unwrap_err().contains("never closed"));
    }

    #[test]
    fn invocations_name_subcommand_and_flags() {
        let subs = subcommands(
            "Usage: x\n\nCommands:\n  plan     Show\n  trigger  Go\n  help  h\n\nOptions:\n  --x\n",
        );
        assert_eq!(subs, ["plan", "trigger", "help"]);
        let found = invocations(
            "analyzer plan --factory-dir d --format=json   # a comment --not-a-flag\n\
             synth --factory-dir d \\\n  --check\nexec analyzer --log-format json trigger --dry-run\ngit status\n",
            &subs,
        );
        assert_eq!(
            found,
            vec![
                (
                    "analyzer".into(),
                    Some("plan".into()),
                    vec!["--factory-dir".into(), "--format".into()]
                ),
                (
                    "synth".into(),
                    None,
                    vec!["--factory-dir".into(), "--check".into()]
                ),
                (
                    "analyzer".into(),
                    Some("trigger".into()),
                    vec!["--log-format".into(), "--dry-run".into()]
                ),
            ]
        );
        assert_eq!(words(r#"a "b c" 'd' e#f"#), vec!["a", "b c", "d", "e#f"]);
    }
}
