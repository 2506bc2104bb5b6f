//! The integration tests: errdocs' binary run on fixture sites copied from
//! `tests/fixtures/` into temp folders, its output parsed. One module per
//! area, one test binary, so the suite links once.
//!
//! The property tests of `tests/no_panic.rs` are a binary of their own:
//! they count allocations with a global allocator, which the other tests
//! running beside them would disturb.

mod authoring;
mod build;
mod check;
mod clean_text;
mod common;
#[allow(dead_code)]
#[path = "../../benches/corpus.rs"]
mod corpus;
mod outputs;
mod sample_site;
mod serve;
