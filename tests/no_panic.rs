//! Whatever the bytes, loading and rendering never panic.

use std::collections::HashMap;

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
    let parsed = errdocs::content::parse_error_file(
        "content/errors/x.md".into(),
        "errors/x.md".into(),
        bytes,
    );
    // Whether or not the front matter is valid, the body must render.
    let source = match parsed {
        Ok(page) => page.source,
        Err(_) => {
            match errdocs::content::source_from_bytes("x.md".into(), "errors/x.md".into(), bytes) {
                Ok((source, _)) => source,
                Err(_) => return,
            }
        }
    };
    for highlight in [false, true] {
        let ctx = RenderContext {
            config: &config,
            links: &links,
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
