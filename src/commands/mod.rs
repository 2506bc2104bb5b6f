//! The commands that are not a build: `check` (every stage of a build,
//! writing nothing), `explain` (one page in the terminal) and the
//! authoring commands `new` and `init` ([`scaffold`]). `build` is
//! [`crate::site`] and `serve` is [`crate::serve`].

pub mod check;
pub mod explain;
pub mod scaffold;
