//! What one build keeps for the next: the cache folder under the site root
//! ([`cache`]), the code pages a build may keep as they are ([`reuse`]),
//! and the in-process results `serve` keeps between rebuilds ([`memo`]).
//! Every key those use is made in `keys.rs`, with the inputs it covers.

pub mod cache;
pub(crate) mod keys;
pub mod memo;
pub mod reuse;
