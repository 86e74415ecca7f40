//! `cargo xtask schema [--check]`: writes the JSON Schemas of `images.yaml` and `factory.yaml`,
//! generated from the model crate's Rust types, to `docs/schema/`; `--check` fails on drift instead.
//! (The model crate's `config_schema` test makes the same comparison, so `cargo test` catches drift.)

use anyhow::{Context, bail};

use crate::util;

/// Arguments of `cargo xtask schema`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not write: fail when docs/schema/ is out of date.
    #[arg(long)]
    pub check: bool,
}

/// Writes (or checks) `docs/schema/{images,factory}.schema.json`.
#[allow(clippy::print_stderr)] // xtask reports progress to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = util::root().join("docs/schema");
    let mut stale = Vec::new();
    for (file, text) in [
        ("images.schema.json", model::config::images_schema()),
        ("factory.schema.json", model::config::factory_schema()),
    ] {
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if args.check {
            stale.push(file);
        } else {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!(
            "docs/schema is out of date ({}): run `cargo xtask schema`",
            stale.join(", ")
        );
    }
    Ok(())
}
