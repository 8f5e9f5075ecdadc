fn main() -> std::process::ExitCode {
    recoup::cli::main()
}
