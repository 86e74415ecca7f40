//! `cargo xtask schema [--check]`: writes the JSON Schemas of `images.yaml` and `factory.yaml`,
//! generated from the model crate's Rust types, to `docs/schema/`, and the configuration
//! reference rendered from them to `docs/reference.md`; `--check` fails on drift instead.
//! (The model crate's `config_schema` test makes the same comparison, so `cargo test` catches drift.)

use anyhow::{Context, bail};

use crate::util;

/// Arguments of `cargo xtask schema`.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Do not write: fail when docs/schema/ is out of date.
    #[arg(long)]
    pub check: bool,
}

/// Writes (or checks) `docs/schema/{images,factory}.schema.json` and `docs/reference.md`.
#[allow(clippy::print_stderr)] // xtask reports progress to its user
pub fn run(args: Args) -> anyhow::Result<()> {
    let docs = util::root().join("docs");
    let (images, factory) = (
        model::config::images_schema(),
        model::config::factory_schema(),
    );
    let reference = crate::reference::markdown(
        &serde_json::from_str(&images).context("the images schema is not JSON")?,
        &serde_json::from_str(&factory).context("the factory schema is not JSON")?,
    );
    let mut stale = Vec::new();
    for (file, text) in [
        ("schema/images.schema.json", images),
        ("schema/factory.schema.json", factory),
        ("reference.md", reference),
    ] {
        let path = docs.join(file);
        let dir = path.parent().unwrap_or(&docs);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if args.check {
            stale.push(file);
        } else {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!(
            "docs/ is out of date ({}): run `cargo xtask schema`",
            stale.join(", ")
        );
    }
    Ok(())
}
