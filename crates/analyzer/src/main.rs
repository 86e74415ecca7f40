//! `analyzer`: the command-line face of image-factory's libraries (SPEC §10).
//!
//! Wiring only: the arguments are parsed by [`cli::analyzer`] (which also maps them to the jobs'
//! options), each subcommand calls a job of the `factory` crate and renders its report. Exit
//! status: 0 success, 1 the command ran but found errors, 2 usage or configuration error.

use std::process::ExitCode;

use clap::Parser as _;
use cli::analyzer::{
    BaseImagesArgs, Cli, Command, EnrollArgs, ParseRefArgs, PlanArgs, ValidateArgs, VersionsArgs,
};
use cli::{Format, Global, Level, Outcome, finish};
use factory::{FactoryDir, JobError, ParsedRef, WatchOptions};

/// mimalloc: glibc's allocator took ~25% of a large run (ADR 0004).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs `analyzer` with the process's arguments and returns its exit status.
fn main() -> ExitCode {
    // clap exits itself: 0 after --help/--version, 2 on a usage error.
    let Cli { global, command } = Cli::parse();
    cli::init_logging(&global, "warn");
    let g = &global;
    let result = match command {
        Command::ParseRef(args) => parse_ref(args, g),
        Command::Validate(args) => validate(args, g),
        Command::BaseImages(args) => base_images(args, g),
        Command::Plan(args) => plan(args, g),
        Command::Versions(args) => versions(args, g),
        Command::Enroll(args) => enroll(*args, g),
        Command::Analyze(args) => with_state(args.state.load(true), |dir, run| {
            let report = factory::analyze(&dir, &args.options(run));
            finish(report, g, factory::AnalyzeReport::is_success)
        }),
        Command::Check(args) => with_state(args.state.load(false), |dir, watch| {
            let bar = cli::progress_bar(g);
            let result = factory::check(&dir, &args.options(watch), &mut |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            });
            bar.finish_and_clear();
            finish(result, g, factory::CheckReport::is_success)
        }),
        Command::Observe(args) => with_state(args.state.load(false), |dir, watch| {
            let report = factory::observe(&dir, &args.options(watch));
            finish(report, g, factory::ObserveReport::is_success)
        }),
        Command::Trigger(args) => with_state(args.state.load(false), |dir, watch| {
            let report = factory::trigger(&dir, &args.options(watch));
            finish(report, g, factory::TriggerReport::is_success)
        }),
        Command::Emergency(args) => with_state(args.state.load(false), |dir, watch| {
            // clap's group requires `--image` or `--base`.
            match args.options(watch) {
                Some(options) => finish(
                    factory::emergency(&dir, &options),
                    g,
                    factory::EmergencyReport::is_success,
                ),
                None => Ok(Outcome::ConfigError),
            }
        }),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(err) => {
            cli::error(&format!("{err:#}"));
            let job = err.downcast_ref::<JobError>();
            ExitCode::from(if job.is_some_and(|e| !e.is_usage_error()) {
                1
            } else {
                2
            })
        }
    }
}

/// A job that writes state: `job` on the factory dir [`cli::analyzer::StateArgs::load`] loaded,
/// or the exit status after its configuration errors were shown.
fn with_state(
    loaded: Result<Result<(FactoryDir, WatchOptions), Outcome>, cli::Error>,
    job: impl FnOnce(FactoryDir, WatchOptions) -> Result<Outcome, cli::Error>,
) -> anyhow::Result<Outcome> {
    Ok(match loaded? {
        Ok((dir, watch)) => job(dir, watch)?,
        Err(outcome) => outcome,
    })
}

/// `analyzer parse-ref`: one JSON object (or text line) per reference; exit 1 if any is invalid.
fn parse_ref(args: ParseRefArgs, global: &Global) -> anyhow::Result<Outcome> {
    let parsed: Vec<ParsedRef> = args.refs.iter().map(|r| ParsedRef::parse(r)).collect();
    let mut text = String::new();
    for p in &parsed {
        match global.format {
            Format::Json => text += &serde_json::to_string(p)?,
            Format::Text => text += &p.to_string(),
        }
        text.push('\n');
    }
    cli::write_stdout(&text)?;
    Ok(Outcome::findings_if(
        !parsed.iter().all(ParsedRef::is_valid),
    ))
}

/// `analyzer validate`: every problem, like a compiler (text on stderr) or as a JSON list on
/// stdout. Exit 0 without errors (warnings allowed), else 2.
fn validate(args: ValidateArgs, global: &Global) -> anyhow::Result<Outcome> {
    let dir = FactoryDir::load(&args.factory_dir);
    let v = factory::validate(&dir);
    let shown = v
        .diagnostics
        .iter()
        .filter(|d| d.is_error() || !global.quiet);
    match global.format {
        Format::Json => cli::write_json(&shown.collect::<Vec<_>>())?,
        Format::Text => {
            // Quiet: errors only, and warnings are not counted either.
            let warnings = if global.quiet { 0 } else { v.warnings };
            let mut text = dir.render_all(!global.quiet);
            if !v.is_valid() || !global.quiet {
                text += &format!("{}\n", factory::Validation { warnings, ..v });
            }
            cli::write_stderr(
                &text,
                [Level::Error, Level::Warn][usize::from(v.is_valid())],
            );
        }
    }
    Ok([Outcome::ConfigError, Outcome::Success][usize::from(v.is_valid())])
}

/// `analyzer base-images` (SPEC §5, contract in SPEC §10): exit 1 when the Dockerfile has errors.
fn base_images(args: BaseImagesArgs, global: &Global) -> anyhow::Result<Outcome> {
    let options =
        factory::dockerfile_options(&args.build_args, &args.platform, |k| std::env::var(k).ok())?;
    let (file, bytes) =
        factory::read_dockerfile_input(&args.file, factory::limits::from_process()?)?;
    let analysis = dockerfile::analyze(&bytes, &options);
    let report = factory::BaseImagesReport::new(&file, &analysis);
    match global.format {
        Format::Json => cli::write_json(&report)?,
        Format::Text => cli::write_stdout(&report.to_string())?,
    }
    Ok(Outcome::findings_if(report.has_errors()))
}

/// `analyzer plan` (and `--what-if`): writes nothing; exit 1 when some state file cannot be
/// loaded, 2 on a configuration error.
fn plan(args: PlanArgs, global: &Global) -> anyhow::Result<Outcome> {
    let now = factory::Environment::from_process().clock(args.now.as_deref())?;
    let dir = FactoryDir::load(&args.factory_dir);
    if dir.has_errors() {
        cli::write_stderr(&dir.render_all(false), Level::Error);
        return Ok(Outcome::ConfigError);
    }
    let Some(reference) = &args.what_if else {
        return Ok(finish(
            factory::plan(&dir, now),
            global,
            factory::PlanReport::is_success,
        )?);
    };
    let at = match &args.at {
        Some(at) => factory::Environment::from_process().clock(Some(at))?,
        None => now,
    };
    let report = factory::what_if(&dir, reference, at);
    Ok(finish(report, global, factory::WhatIfReport::is_success)?)
}

/// `analyzer versions`: the tags, newest version first; exit 1 when the registry failed.
fn versions(args: VersionsArgs, global: &Global) -> anyhow::Result<Outcome> {
    let dir = FactoryDir::load_if_present(&args.factory_dir);
    if let Some(dir) = dir.as_ref().filter(|d| d.has_errors()) {
        cli::write_stderr(&dir.render_all(false), Level::Error);
        cli::error("configuration is invalid");
        return Ok(Outcome::ConfigError);
    }
    let report = factory::versions(dir.as_ref(), &args.image, &args.options())?;
    match global.format {
        Format::Json => cli::write_json(&report)?,
        Format::Text => cli::write_stdout(&report.to_string())?,
    }
    Ok(Outcome::Success)
}

/// `analyzer enroll`: the entry and the next steps. Exit 2 on a duplicate, an invalid value, a
/// configuration error or a file that cannot be spliced (nothing written); 1 a failed write.
fn enroll(args: EnrollArgs, global: &Global) -> anyhow::Result<Outcome> {
    let dir = FactoryDir::load(&args.factory_dir);
    if dir.has_errors() {
        let end = "error: configuration is invalid; fix it before enrolling; nothing was written\n";
        cli::write_stderr(&(dir.render_all(false) + end), Level::Error);
        return Ok(Outcome::ConfigError);
    }
    match factory::enroll(&dir, &args.options()) {
        Ok(report) => Ok(finish(Ok(report), global, |_| true)?),
        Err(JobError::Enroll(err)) => {
            cli::write_stderr(&format!("{}error: {err}\n", err.render()), Level::Error);
            if global.format == Format::Json {
                cli::write_json(&serde_json::json!({
                    "error": err.to_string(),
                    "diagnostics": err.diagnostics(),
                }))?;
            }
            Ok(Outcome::ConfigError)
        }
        Err(err) => Err(err.into()),
    }
}
