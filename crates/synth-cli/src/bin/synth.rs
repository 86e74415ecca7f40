//! `synth`: Kargo manifests from an image-factory dir (SPEC §8, §10); see the library.

/// mimalloc: glibc's allocator took ~25% of a large run (ADR 0004).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    synth_cli::main()
}
