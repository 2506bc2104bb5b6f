//! The `errdocs` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use errdocs::{BuildOptions, Error, LoadOptions};

#[derive(Parser)]
#[command(
    name = "errdocs",
    version,
    about = "Build API error reference docs from Markdown"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the site into the output folder.
    Build {
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
        /// The output folder (default: ROOT/public).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Override base_url, e.g. for a preview deploy.
        #[arg(long)]
        base_url: Option<String>,
        /// Include pages marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
    /// Check every file and write nothing.
    Check {
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
        /// Include pages marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
}

fn print_warnings(w: &errdocs::Diagnostics) {
    if !w.is_empty() {
        eprint!("{}", w.render_for_stderr());
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Build {
            root,
            output,
            base_url,
            drafts,
        } => {
            let opts = BuildOptions {
                load: LoadOptions { base_url, drafts },
                output,
            };
            let report = errdocs::build(&root, &opts)?;
            print_warnings(&report.warnings);
            eprintln!(
                "built {} error pages ({} files) into {} in {} ms{}",
                report.error_pages,
                report.files,
                report.output.display(),
                report.elapsed.as_millis(),
                match report.warnings.warning_count() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                }
            );
            Ok(())
        }
        Command::Check { root, drafts } => {
            let warnings = errdocs::check(
                &root,
                &LoadOptions {
                    base_url: None,
                    drafts,
                },
            )?;
            print_warnings(&warnings);
            eprintln!(
                "check passed: no errors, {} warning(s)",
                warnings.warning_count()
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                Error::Content(ds) | Error::Settings(ds) => {
                    eprint!("{}", ds.render_for_stderr());
                    eprintln!(
                        "error: {} error(s), {} warning(s)",
                        ds.error_count(),
                        ds.warning_count()
                    );
                }
                other => eprintln!("error: {other}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
