//! The `errdocs` command line: parses arguments and calls the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use errdocs::{BuildOptions, CheckOptions, Diagnostics, Error, LoadOptions};

/// Rendering makes and frees many small values; jemalloc's fast paths take
/// them with fewer instructions than the system allocator's.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One arena for all threads: each thread's cache keeps the fast paths
/// uncontended, and a build's peak memory stays near what glibc's
/// allocator needs (an arena per thread holds a tenth more). Where jemalloc
/// also serves C code's `malloc` (oniguruma allocates on every regex
/// search), it reads its options from the unprefixed symbol.
#[cfg(not(target_env = "msvc"))]
#[cfg_attr(
    not(any(
        target_os = "android",
        target_os = "dragonfly",
        target_vendor = "apple"
    )),
    export_name = "malloc_conf"
)]
#[cfg_attr(
    any(
        target_os = "android",
        target_os = "dragonfly",
        target_vendor = "apple"
    ),
    export_name = "_rjem_malloc_conf"
)]
static ALLOCATOR_OPTIONS: &[u8; 10] = b"narenas:1\0";

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

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// `path:line:col: error: message` with the source line.
    Human,
    /// A JSON array, one object per problem.
    Json,
    /// GitHub Actions workflow commands.
    Github,
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
        /// Print how long each stage took.
        #[arg(long)]
        timings: bool,
        /// Build into a non-empty folder that errdocs did not write, keeping
        /// every file already in it.
        #[arg(long)]
        adopt: bool,
    },
    /// Build into memory, serve, rebuild on change and reload the browser.
    Serve {
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// Port (default: 1111, or the next free one).
        #[arg(short, long)]
        port: Option<u16>,
        /// Open the site in a browser.
        #[arg(long)]
        open: bool,
        /// Poll for changes instead of native file events (network drives, WSL).
        #[arg(long)]
        poll: bool,
        /// Include pages marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
    /// Check every file and write nothing.
    Check {
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
        /// How to report problems.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// An index.json from an earlier build: its codes must not vanish.
        #[arg(long, value_name = "PATH")]
        published: Option<PathBuf>,
        /// Include pages marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
    /// Write a new error file from a template.
    New {
        /// The error code.
        code: String,
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
        /// Category (default: the first in site.yaml, else General).
        #[arg(long)]
        category: Option<String>,
        /// HTTP status (default 400).
        #[arg(long)]
        status: Option<u16>,
        /// Title (default: the code in words).
        #[arg(long)]
        title: Option<String>,
    },
    /// Write a new site with one example error.
    Init {
        /// The folder (must be empty or absent).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a JSON Schema of error front matter, for editors.
    Schema,
    /// Print the catalog in a format for other tools.
    Export {
        /// What to write.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Override base_url (the problem type URIs are page URLs).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Print one code's page in the terminal.
    Explain {
        /// The error code (or a former code).
        code: String,
        /// The site root.
        #[arg(short, long, default_value = ".")]
        root: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// An RFC 9457 problem-type registry, as JSON.
    ProblemTypes,
    /// An OpenAPI 3.1 document with one error response per code.
    Openapi,
}

fn report(problems: &Diagnostics, format: Format) {
    match format {
        Format::Human => eprint!("{}", problems.render_for_stderr()),
        Format::Json => print!("{}", problems.to_json()),
        Format::Github => print!("{}", problems.to_github()),
    }
    let _ = std::io::stdout().flush();
}

fn run(cli: Cli) -> Result<ExitCode, (Error, Format)> {
    let human = Format::Human;
    match cli.command {
        Command::Build {
            root,
            output,
            base_url,
            drafts,
            timings,
            adopt,
        } => {
            let opts = BuildOptions {
                load: LoadOptions { base_url, drafts },
                output,
                adopt,
            };
            let report_ = errdocs::build(&root, &opts).map_err(|e| (e, human))?;
            report(&report_.warnings, human);
            if timings {
                let parts: Vec<String> = report_
                    .stages
                    .iter()
                    .map(|(name, d)| format!("{name} {} ms", d.as_millis()))
                    .collect();
                eprintln!("timings: {}", parts.join(", "));
            }
            let kept = match report_.reused_pages {
                0 => String::new(),
                n => format!(", {n} pages unchanged"),
            };
            eprintln!(
                "built {} error pages ({} files{kept}) into {} in {} ms{}",
                report_.error_pages,
                report_.files,
                report_.output.display(),
                report_.elapsed.as_millis(),
                match report_.warnings.warning_count() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            root,
            bind,
            port,
            open,
            poll,
            drafts,
        } => {
            let opts = errdocs::serve::ServeOptions {
                root,
                bind,
                port,
                drafts,
                poll,
            };
            errdocs::serve::serve(&opts, |address| {
                if open {
                    errdocs::serve::open_browser(&format!("{address}/"));
                }
            })
            .map_err(|e| (e, human))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            root,
            format,
            deny_warnings,
            published,
            drafts,
        } => {
            let opts = CheckOptions {
                load: LoadOptions {
                    base_url: None,
                    drafts,
                },
                published,
            };
            let problems = errdocs::check::run(&root, &opts).map_err(|e| (e, format))?;
            report(&problems, format);
            let failed = problems.has_errors() || (deny_warnings && problems.warning_count() > 0);
            if matches!(format, Format::Human) {
                eprintln!(
                    "{}: {} error(s), {} warning(s)",
                    if failed {
                        "check failed"
                    } else {
                        "check passed"
                    },
                    problems.error_count(),
                    problems.warning_count()
                );
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::New {
            code,
            root,
            category,
            status,
            title,
        } => {
            let req = errdocs::scaffold::NewError {
                code,
                category,
                status,
                title,
            };
            let path = errdocs::scaffold::new_error(&root, &req).map_err(|e| (e, human))?;
            eprintln!("wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { dir } => {
            let files = errdocs::scaffold::init(&dir).map_err(|e| (e, human))?;
            for f in &files {
                eprintln!("wrote {}", f.display());
            }
            eprintln!(
                "next: set base_url in {}, then run `errdocs build -r {}`",
                dir.join("site.yaml").display(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            format,
            root,
            output,
            base_url,
        } => {
            let load = LoadOptions {
                base_url,
                drafts: false,
            };
            // An export describes what `build` would publish, so it refuses
            // whatever `build` refuses.
            let checked = errdocs::check::for_export(&root, &load).map_err(|e| (e, human))?;
            let site = &checked.site;
            let text = match format {
                ExportFormat::ProblemTypes => {
                    errdocs::export::problem_types(&site.content, &site.config)
                }
                ExportFormat::Openapi => {
                    errdocs::export::openapi(&site.content, &checked.examples(), &site.config)
                }
            };
            match output {
                Some(path) => {
                    errdocs::output::destination::write(&path, text.as_bytes(), &site.sources())
                        .map_err(|e| (e, human))?
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code, root } => {
            use std::io::IsTerminal;
            let (site, problems) =
                errdocs::Site::load(&root, &LoadOptions::default()).map_err(|e| (e, human))?;
            match errdocs::explain::lookup(&site.content, &code) {
                errdocs::explain::Lookup::Found { page, via } => {
                    let tty = std::io::stdout().is_terminal();
                    let color = tty && std::env::var_os("NO_COLOR").is_none();
                    let width = std::env::var("COLUMNS")
                        .ok()
                        .and_then(|c| c.parse().ok())
                        .filter(|_| tty)
                        .unwrap_or(80usize)
                        .min(100);
                    if let Some(via) = via.filter(|v| !v.eq_ignore_ascii_case(&page.meta.code)) {
                        eprintln!("note: `{via}` is a former name of `{}`", page.meta.code);
                    }
                    let text =
                        errdocs::explain::render(page, &site.content, &site.config, color, width);
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                    Ok(ExitCode::SUCCESS)
                }
                errdocs::explain::Lookup::Unknown(close) => {
                    let hint = match close.as_slice() {
                        [] => String::new(),
                        [one] => format!("; did you mean `{one}`?"),
                        many => format!(
                            "; did you mean one of {}?",
                            many.iter()
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    eprintln!("error: no error code `{code}` in this catalog{hint}");
                    if problems.has_errors() {
                        eprintln!(
                            "note: {} file(s) could not be read; `errdocs check` lists them",
                            problems.error_count()
                        );
                    }
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Schema => {
            let schema = errdocs::content::front_matter_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err((e, format)) => {
            match &e {
                Error::Content(ds) | Error::Settings(ds) => {
                    report(ds, format);
                    if matches!(format, Format::Human) {
                        eprintln!(
                            "error: {} error(s), {} warning(s)",
                            ds.error_count(),
                            ds.warning_count()
                        );
                    }
                }
                other => eprintln!("error: {other}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
