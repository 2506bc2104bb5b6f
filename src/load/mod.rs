//! Stage 1, loading: the settings ([`config`]), the theme's templates and
//! assets ([`theme`]), and the content files, split into typed front matter
//! and a Markdown body ([`content`]). Every file is read through
//! [`sources`], which reads nothing from outside the site root; `yaml`
//! turns YAML into typed values with file positions.

pub mod config;
pub mod content;
pub mod sources;
pub mod theme;
pub(crate) mod yaml;
