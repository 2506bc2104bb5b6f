//! What one build keeps for the next: the cache folder under the site root
//! ([`cache`]), the code pages a build may keep as they are ([`reuse`]),
//! and the in-process results `serve` keeps between rebuilds ([`memo`]).

pub mod cache;
pub mod memo;
pub mod reuse;
