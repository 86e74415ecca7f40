//! `model::git::check_branch` against git itself: on generated names built from the characters and
//! sequences git's rules treat specially, our answer equals `git check-ref-format --branch`'s (run
//! outside any repository, so `@{-N}` is not expanded).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use image_factory_model as model;
use proptest::prelude::*;

/// git's verdict, from a directory that is no repository.
fn git_accepts(dir: &std::path::Path, name: &str) -> bool {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["check-ref-format", "--branch", name])
        .env("GIT_CEILING_DIRECTORIES", dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    out.status.success()
}

/// Names made of the pieces git's rules look at, so that most rules are hit often.
fn name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-z0-9]{1,3}",
        1 => Just("/".to_owned()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(".lock".to_owned()),
        1 => Just("@".to_owned()),
        1 => Just("@{".to_owned()),
        1 => Just("{".to_owned()),
        1 => Just("-".to_owned()),
        1 => Just("HEAD".to_owned()),
        1 => prop::sample::select(vec![
            " ", "\t", "\x01", "\x7f", "~", "^", ":", "?", "*", "[", "\\", "]", "}", "+", ",", "é", "=",
            "--upload-pack=x",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..7).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn check_branch_agrees_with_git(name in name()) {
        let dir = std::env::temp_dir();
        let ours = model::git::check_branch(&name);
        prop_assert_eq!(ours.is_ok(), git_accepts(&dir, &name), "{:?}: ours {:?}", name, ours);
    }
}

#[test]
fn fixed_cases_agree_with_git() {
    let dir = std::env::temp_dir();
    for name in [
        "main",
        "@",
        "a/.b",
        "a.lock/b",
        "x.lock",
        "HEAD",
        "refs/heads/x",
        "-x",
        "a..b",
        "a.",
        "a/",
        "--upload-pack=touch /tmp/x;git-upload-pack",
        "@{-1}",
        "ü",
    ] {
        assert_eq!(
            model::git::is_branch_name(name),
            git_accepts(&dir, name),
            "{name:?}"
        );
    }
}
