//! errdocs: a static site generator for API error reference docs.
//!
//! The pipeline runs in stages, one module each:
//! [`config`] (site settings) → [`content`] (front matter and Markdown
//! files) → [`markdown`] and [`highlight`] (bodies to HTML) → [`render`]
//! (templates of the [`theme`]) → [`output`] (the output folder);
//! [`export`] makes the outputs for machines from the same content.
//! [`reuse`] keeps the pages of the previous build that did not change.
//! [`site`] strings the stages together for `build`; [`check`] runs them
//! without writing, [`explain`] prints one page in a terminal, and
//! [`scaffold`] writes new sites and error files. [`sources`] is how every
//! stage reads the site's files (nothing from outside the root), and
//! [`cache`] the folder that keeps what builds may reuse. [`terminal`] is
//! how text reaches people: content escaped, paths from the working
//! directory, writes that never panic.

pub mod cache;
pub mod check;
pub mod config;
pub mod content;
pub mod diagnostic;
pub mod explain;
pub mod export;
pub mod highlight;
pub mod markdown;
pub mod memo;
pub mod output;
pub mod render;
pub mod reuse;
pub mod scaffold;
pub mod serve;
pub mod site;
pub mod sources;
pub mod terminal;
pub mod theme;
pub mod timing;
mod yaml;

use std::path::{Path, PathBuf};

pub use check::CheckOptions;
pub use config::SiteConfig;
pub use content::{Content, ErrorPage, GuidePage};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
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
