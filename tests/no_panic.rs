//! Whatever the bytes, loading and rendering never panic, and hostile
//! shapes (deep nesting, long runs of markers) cost time and memory
//! linear in their size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use errdocs::markdown::{render, RenderContext, ResponseExpectation};
use errdocs::SiteConfig;
use proptest::prelude::*;

/// Text built from the pieces that drive the parsers, plus arbitrary noise.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("---\n".to_string()),
        Just("code: x\n".to_string()),
        Just("status: 401\n".to_string()),
        Just("related: [a, b]\n".to_string()),
        Just("## New to APIs\n".to_string()),
        Just("### Quick fix\n".to_string()),
        Just("```json\n".to_string()),
        Just("```python title=\"t\"\n".to_string()),
        Just("```\n".to_string()),
        Just("> [!TIP]\n".to_string()),
        Just("[l](other.md#frag)".to_string()),
        Just("<details><summary>x</summary>\n".to_string()),
        Just("| a | b |\n|---|---|\n".to_string()),
        Just("{\"error\": \"x\", \"doc_url\": 1}\n".to_string()),
        Just("\r\n".to_string()),
        Just("\u{feff}".to_string()),
        Just("%zz%e9".to_string()),
        "[a-z #*`\\[\\]()!:\\-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

fn exercise(bytes: &[u8]) {
    let config = SiteConfig::default();
    let links: HashMap<String, String> = [(
        "errors/other.md".to_string(),
        "reference/errors/other/".to_string(),
    )]
    .into();
    let parsed = errdocs::load::content::parse_error_file(
        "content/errors/x.md".into(),
        "errors/x.md".into(),
        bytes,
    );
    // Whether or not the front matter is valid, the body must render.
    let source = match parsed {
        Ok(page) => page.source,
        Err(_) => {
            match errdocs::load::content::source_from_bytes(
                "x.md".into(),
                "errors/x.md".into(),
                bytes,
            ) {
                Ok((source, _)) => source,
                Err(_) => return,
            }
        }
    };
    let link_names = errdocs::diagnostic::NameIndex::new(links.keys().map(String::as_str));
    for highlight in [false, true] {
        let ctx = RenderContext {
            config: &config,
            links: &links,
            link_names: &link_names,
            highlight,
            response: Some(ResponseExpectation {
                code: "x",
                doc_urls: vec!["http://127.0.0.1:1111/reference/errors/x".into()],
            }),
            skip_leading_h1: true,
            schema: None,
            highlight_cache: None,
        };
        let out = render(&source, &ctx);
        for d in &out.diagnostics {
            assert!(d.line >= 1 && d.column >= 1);
        }
    }
}

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`; its time and the most memory it held beyond what was in use
/// before. Other tests of this binary allocate too, so the peak is an upper
/// bound; the hostile-shape test runs its cases one at a time.
fn measure(f: impl FnOnce()) -> (Duration, usize) {
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    f();
    (
        started.elapsed(),
        PEAK.load(Ordering::Relaxed).saturating_sub(base),
    )
}

/// Shapes that blow up naive parsers: one marker repeated (nested lists,
/// quotes, links, emphasis, HTML tags, table pipes), on one line or many,
/// and deep YAML in the front matter.
fn hostile() -> impl Strategy<Value = String> {
    let marker = prop_oneof![
        Just("- "),
        Just("* "),
        Just("1. "),
        Just("> "),
        Just("> - "),
        Just("["),
        Just("[a]("),
        Just("!["),
        Just("*a"),
        Just("_"),
        Just("<a "),
        Just("<script>"),
        Just("|"),
        Just("`"),
        Just("[^a]"),
        Just("\0"),
        Just("&#0;"),
    ];
    let yaml = prop_oneof![Just("["), Just("{a: "), Just("- "), Just("'")];
    (
        marker,
        1usize..60_000,
        prop::bool::ANY,
        yaml,
        0usize..40_000,
    )
        .prop_map(|(marker, n, lines, yaml, depth)| {
            let front = format!(
                "---\ncode: x\ntitle: T\nstatus: 400\ncategory: C\nsummary: S\nextra: {}\n---\n",
                yaml.repeat(depth)
            );
            let body = if lines {
                format!("{}x\n", marker.repeat(40)).repeat(n / 40 + 1)
            } else {
                marker.repeat(n) + "x"
            };
            front + &body
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_shapes_cost_linear_time_and_memory(text in hostile()) {
        let (took, peak) = measure(|| exercise(text.as_bytes()));
        // `exercise` renders twice; the parser's tree and the HTML are a
        // few dozen bytes per byte of such text, the old event lists
        // hundreds.
        let bound = 120 * text.len() + (4 << 20);
        prop_assert!(peak <= bound, "{} bytes took {peak} bytes of memory", text.len());
        prop_assert!(took < Duration::from_secs(10), "{} bytes took {took:?}", text.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn structured_text_never_panics(text in markdownish()) {
        exercise(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        exercise(&bytes);
    }
}
