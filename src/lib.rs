//! errdocs: a static site generator for API error reference docs.
//!
//! A build runs these stages in order; each is a module (most a folder):
//!
//! 1. [`load`]: the settings, the theme and the content files, read only
//!    from inside the site root, front matter typed and checked.
//! 2. Rules across files: unique codes, aliases and related codes
//!    ([`load::content`]), heading anchors ([`site`]), and one claim per
//!    output URL ([`output::plan`]).
//! 3. [`markdown`]: each body to HTML, with its cards, links and checked
//!    example responses; code blocks through [`highlight`].
//! 4. [`render`]: pages through the theme's templates.
//! 5. [`export`]: the outputs for machines (`index.json`, the Markdown
//!    pages, `llms.txt`, the feed, the `export` formats).
//! 6. [`output`]: writing, old or new and never a mix, only what errdocs
//!    wrote replaced.
//!
//! [`incremental`] keeps what one build may reuse in the next. [`site`]
//! strings the stages together for `build`; [`commands`] holds `check`,
//! `explain`, `new` and `init`, and [`serve`] the preview server, all
//! over the same stages. [`diagnostic`] is the one type for problems in a
//! site's files, each naming a rule of [`rules`], and [`terminal`] how
//! text reaches people: content
//! escaped, paths from the working directory, writes that never panic.

pub mod commands;
pub mod diagnostic;
pub mod export;
pub mod highlight;
pub mod incremental;
pub mod load;
pub mod markdown;
pub mod output;
pub mod paths;
pub mod render;
pub mod rules;
pub mod serve;
pub mod site;
pub mod terminal;
pub mod timing;

use std::path::{Path, PathBuf};

pub use commands::check::CheckOptions;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use load::config::SiteConfig;
pub use load::content::{Content, ErrorPage, GuidePage};
pub use site::{build, BuildOptions, BuildReport, LoadOptions, Site};

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in the content (exit status 1).
    #[error("{}", .0)]
    Content(Diagnostics),
    /// Problems in `site.yaml` (exit status 2).
    #[error("{}", .0)]
    Settings(Diagnostics),
    /// A template that does not compile or render (exit status 2).
    #[error("template error: {message}")]
    Template {
        /// What went wrong; Tera's report shows the template's line.
        message: String,
        /// The template and the place in it, when Tera knows them.
        at: Option<render::TemplateSpot>,
    },
    /// Bad usage: a refused output folder, a bad flag value (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// A file or folder that cannot be read or written (exit status 2).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The process exit status for this error: 1 for content, 2 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Content(_) => 1,
            _ => 2,
        }
    }
}
