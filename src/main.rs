/// mimalloc instead of the system allocator, without transparent huge pages:
/// less CPU for the simulation's many small allocations (docs/performance.md,
/// "Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    recoup::cli::main()
}
