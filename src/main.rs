//! The `errdocs` command line: parses arguments and calls the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use errdocs::terminal::{escape, from_cwd, write_stderr, write_stdout};
use errdocs::{BuildOptions, CheckOptions, Diagnostic, Diagnostics, Error, LoadOptions};

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
        /// Also answer requests for this host name (a LAN name, a tunnel);
        /// NAME or NAME:PORT; repeatable.
        #[arg(long = "allowed-host", value_name = "NAME")]
        allowed_hosts: Vec<String>,
        /// Seconds after which an idle or slow connection is closed (for tests).
        #[arg(long, hide = true, value_parser = seconds)]
        idle_timeout: Option<std::time::Duration>,
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
        /// Print every rule with its default severity, and check nothing.
        #[arg(long)]
        list_rules: bool,
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

/// Writes `problems` in `format`: human text on standard error, JSON or
/// workflow commands on standard output; files named from the working
/// directory, for the site at `root`.
fn report(problems: &Diagnostics, format: Format, root: &Path) -> Result<(), Error> {
    let mut shown = problems.from_cwd(root);
    // In the order of the files as printed.
    shown.sort();
    match format {
        Format::Human => write_stderr(&shown.render_for_stderr()),
        Format::Json => write_stdout(&shown.to_json()),
        Format::Github => write_stdout(&shown.to_github()),
    }
}

/// Any error as diagnostics, so that `--format json|github` reports it in
/// that format: a file's problem at its place, one that belongs to no file
/// with an empty `file` and line and column 0.
fn error_diagnostics(e: &Error, root: &Path) -> Diagnostics {
    let of = |file: PathBuf, line: usize, column: usize, rule: &'static str, message: String| {
        let (line, column) = if file.as_os_str().is_empty() {
            (0, 0)
        } else {
            (line, column)
        };
        let mut d = Diagnostic::error(file, None, line, column, rule, message);
        // A problem of no file has no place: line and column 0.
        (d.line, d.column) = (line, column);
        Diagnostics::from_iter([d])
    };
    match e {
        Error::Content(ds) | Error::Settings(ds) => ds.from_cwd(root),
        Error::Template { message, at } => match at {
            Some(at) => of(
                errdocs::terminal::site_file(
                    root,
                    &Path::new(errdocs::paths::TEMPLATES_DIR).join(&at.template),
                ),
                at.line,
                at.column,
                "template",
                message.clone(),
            ),
            None => of(PathBuf::new(), 0, 0, "template", message.clone()),
        },
        Error::Usage(message) => of(PathBuf::new(), 0, 0, "usage", message.clone()),
        Error::Io { path, source } => of(from_cwd(path), 1, 1, "io", source.to_string()),
    }
}

/// Reports `e` in `format` and gives the exit status. When the report
/// cannot be written to standard output (a full disk there), it goes to
/// standard error as text.
fn fail(e: &Error, format: Format, root: &Path) -> ExitCode {
    let human = || match e {
        Error::Content(ds) | Error::Settings(ds) => {
            let shown = ds.from_cwd(root);
            format!(
                "{}error: {} error(s), {} warning(s)\n",
                shown.render_for_stderr(),
                ds.error_count(),
                ds.warning_count()
            )
        }
        other => errdocs::terminal::error_line(other),
    };
    let written = match format {
        Format::Human => write_stderr(&human()),
        Format::Json => write_stdout(&error_diagnostics(e, root).to_json()),
        Format::Github => write_stdout(&error_diagnostics(e, root).to_github()),
    };
    if written.is_err() && !matches!(format, Format::Human) {
        // Nothing more can be done when standard error fails too.
        let _ = write_stderr(&human());
    }
    ExitCode::from(e.exit_code() as u8)
}

/// Help, the version, or arguments that do not parse. Help and the
/// version are output like any other (a full disk is exit 2); a usage
/// error comes out in the format the arguments ask for, when they name one.
fn bad_arguments(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return match write_stdout(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fail(&err, Format::Human, Path::new(".")),
        };
    }
    let args: Vec<String> = std::env::args().collect();
    let asked = args
        .windows(2)
        .find_map(|w| match (w[0].as_str(), w[1].as_str()) {
            ("--format", f) => Some(f.to_string()),
            _ => None,
        });
    let asked = asked.or_else(|| {
        args.iter()
            .find_map(|a| a.strip_prefix("--format=").map(str::to_string))
    });
    let format = match asked.as_deref() {
        Some("json") => Format::Json,
        Some("github") => Format::Github,
        _ => Format::Human,
    };
    if matches!(format, Format::Human) {
        let _ = write_stderr(&text);
        return ExitCode::from(2);
    }
    // The first line is clap's message; the rest is usage for people.
    let message = text
        .lines()
        .next()
        .unwrap_or("bad arguments")
        .trim_start_matches("error: ")
        .to_string();
    fail(&Error::Usage(message), format, Path::new("."))
}

impl Command {
    /// How the command reports its errors, and the site root its
    /// diagnostics' files are relative to.
    fn reporting(&self) -> (Format, PathBuf) {
        match self {
            Command::Check { format, root, .. } => (*format, root.clone()),
            Command::Build { root, .. }
            | Command::Serve { root, .. }
            | Command::New { root, .. }
            | Command::Export { root, .. }
            | Command::Explain { root, .. } => (Format::Human, root.clone()),
            Command::Init { dir } => (Format::Human, dir.clone()),
            Command::Schema => (Format::Human, PathBuf::from(".")),
        }
    }
}

/// The rule list of `check --list-rules`: a JSON array, or one aligned line
/// per rule (the GitHub format has no annotations to make, so it is text).
fn list_rules_text(format: Format) -> String {
    let rules = errdocs::rules::RULES;
    if matches!(format, Format::Json) {
        return serde_json::to_string_pretty(rules).unwrap_or_default() + "\n";
    }
    let width = rules.iter().map(|r| r.name.len()).max().unwrap_or(0);
    rules
        .iter()
        .map(|r| format!("{:width$}  {:15}  {}\n", r.name, r.severity.as_str(), r.doc))
        .collect()
}

fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
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
            let report_ = errdocs::build(&root, &opts)?;
            report(&report_.warnings, Format::Human, &root)?;
            if timings {
                let parts: Vec<String> = report_
                    .stages
                    .iter()
                    .map(|(name, d)| format!("{name} {} ms", d.as_millis()))
                    .collect();
                write_stderr(&format!("timings: {}\n", parts.join(", ")))?;
            }
            let kept = match report_.reused_pages {
                0 => String::new(),
                n => format!(", {n} pages unchanged"),
            };
            write_stderr(&format!(
                "built {} error pages ({} files{kept}) into {} in {} ms{}\n",
                report_.error_pages,
                report_.files,
                escape(&from_cwd(&report_.output).to_string_lossy()),
                report_.elapsed.as_millis(),
                match report_.warnings.warning_count() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                }
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            root,
            bind,
            port,
            open,
            poll,
            drafts,
            allowed_hosts,
            idle_timeout,
        } => {
            let opts = errdocs::serve::ServeOptions {
                root,
                bind,
                port,
                drafts,
                poll,
                allowed_hosts,
                idle_timeout,
            };
            errdocs::serve::serve(&opts, |address| {
                if open {
                    errdocs::serve::open_browser(&format!("{address}/"));
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            root,
            format,
            deny_warnings,
            published,
            drafts,
            list_rules,
        } => {
            if list_rules {
                write_stdout(&list_rules_text(format))?;
                return Ok(ExitCode::SUCCESS);
            }
            let opts = CheckOptions {
                load: LoadOptions {
                    base_url: None,
                    drafts,
                },
                published,
            };
            let problems = errdocs::commands::check::run(&root, &opts)?;
            report(&problems, format, &root)?;
            let failed = problems.has_errors() || (deny_warnings && problems.warning_count() > 0);
            if matches!(format, Format::Human) {
                write_stderr(&format!(
                    "{}: {} error(s), {} warning(s)\n",
                    if failed {
                        "check failed"
                    } else {
                        "check passed"
                    },
                    problems.error_count(),
                    problems.warning_count()
                ))?;
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
            let req = errdocs::commands::scaffold::NewError {
                code,
                category,
                status,
                title,
            };
            let path = errdocs::commands::scaffold::new_error(&root, &req)?;
            write_stderr(&format!("wrote {}\n", shown(&path)))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { dir } => {
            let files = errdocs::commands::scaffold::init(&dir)?;
            let mut text = String::new();
            for f in &files {
                text.push_str(&format!("wrote {}\n", shown(f)));
            }
            text.push_str(&format!(
                "next: set base_url in {}, then run `errdocs build -r {}`\n",
                shown(&dir.join("site.yaml")),
                shown(&dir)
            ));
            write_stderr(&text)?;
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
            let checked = errdocs::commands::check::for_export(&root, &load)?;
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
                    errdocs::output::destination::write(&path, text.as_bytes(), &site.sources())?
                }
                None => write_stdout(&text)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { code, root } => {
            use std::io::IsTerminal;
            let (site, problems) = errdocs::Site::load(&root, &LoadOptions::default())?;
            match errdocs::commands::explain::lookup(&site.content, &code) {
                errdocs::commands::explain::Lookup::Found { page, via } => {
                    let tty = std::io::stdout().is_terminal();
                    let color = tty && std::env::var_os("NO_COLOR").is_none();
                    let width = std::env::var("COLUMNS")
                        .ok()
                        .and_then(|c| c.parse().ok())
                        .filter(|_| tty)
                        .unwrap_or(80usize)
                        .min(100);
                    if let Some(via) = via.filter(|v| !v.eq_ignore_ascii_case(&page.meta.code)) {
                        write_stderr(&format!(
                            "note: `{}` is a former name of `{}`\n",
                            escape(&via),
                            escape(&page.meta.code)
                        ))?;
                    }
                    let text = errdocs::commands::explain::render(
                        page,
                        &site.content,
                        &site.config,
                        color,
                        width,
                    );
                    write_stdout(&text)?;
                    Ok(ExitCode::SUCCESS)
                }
                errdocs::commands::explain::Lookup::Unknown(close) => {
                    let hint = match close.as_slice() {
                        [] => String::new(),
                        [one] => format!("; did you mean `{}`?", escape(one)),
                        many => format!(
                            "; did you mean one of {}?",
                            many.iter()
                                .map(|c| format!("`{}`", escape(c)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    let mut text = format!(
                        "error: no error code `{}` in this catalog{hint}\n",
                        escape(&code)
                    );
                    if problems.has_errors() {
                        let files: std::collections::BTreeSet<_> = problems
                            .iter()
                            .filter(|d| d.severity == errdocs::Severity::Error)
                            .map(|d| &d.file)
                            .collect();
                        text.push_str(&format!(
                            "note: {} file(s) could not be loaded; `errdocs check` lists them\n",
                            files.len()
                        ));
                    }
                    write_stderr(&text)?;
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Schema => {
            let schema = errdocs::load::content::front_matter_schema();
            write_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A path as commands print it: from the working directory, escaped.
/// A positive number of seconds, such as `0.5`.
fn seconds(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("`{text}` is not a positive number of seconds"))
}

fn shown(path: &Path) -> String {
    escape(&from_cwd(path).to_string_lossy()).into_owned()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return bad_arguments(&e),
    };
    let (format, root) = cli.command.reporting();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => fail(&e, format, &root),
    }
}
