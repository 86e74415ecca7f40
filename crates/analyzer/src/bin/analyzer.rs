//! `analyzer`: the command-line face of image-factory's libraries (SPEC §10); see the library.

/// mimalloc: glibc's allocator took ~25% of a large run (ADR 0004).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    analyzer::main()
}
