//! A deterministic generator of error-docs sites shaped like real ones:
//! front matter, sections with lists, a callout, a 15-line JSON example,
//! audience cards, a two-language snippet tab group and related links.

use std::fmt::Write as _;
use std::path::Path;

const CATEGORIES: &[(&str, &str)] = &[
    ("Authentication", "authentication"),
    ("Validation", "validation"),
    ("Rate limits", "rate-limits"),
    ("Billing", "billing"),
    ("Shipments", "shipments"),
    ("Server", "server"),
];
const STATUSES: &[u16] = &[400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503, 504];
const WORDS: &[&str] = &[
    "request", "key", "parcel", "label", "carrier", "account", "retry", "limit", "address",
    "invoice", "pickup", "window", "quota", "token", "webhook", "payload", "field", "value",
    "server", "route",
];

/// A small linear congruential generator: same seed, same site.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
    fn word(&mut self) -> &'static str {
        WORDS[(self.next() as usize) % WORDS.len()]
    }
    fn sentence(&mut self, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.word());
        }
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
            None => s,
        }
    }
}

fn code_name(i: usize) -> String {
    format!(
        "e{i:05}_{}",
        ["missing", "invalid", "exceeded", "declined", "timeout"][i % 5]
    )
}

fn category(i: usize) -> (&'static str, &'static str) {
    CATEGORIES[i % CATEGORIES.len()]
}

/// Writes a site of `pages` error pages into `root`.
pub(crate) fn generate(root: &Path, pages: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    std::fs::write(
        root.join("site.yaml"),
        "title: Bench API\nbase_url: https://bench.example/docs\ncategories: [Authentication, Validation, Rate limits, Billing, Shipments, Server]\n",
    )?;
    let mut rng = Rng(42);
    for i in 0..pages {
        let code = code_name(i);
        let (cat, slug) = category(i);
        let status = *rng.pick(STATUSES);
        let rel_a = (i + 1) % pages;
        let rel_b = (i + 7) % pages;
        let mut t = String::with_capacity(6000);
        let _ = write!(
            t,
            "---\ncode: {code}\ntitle: {title}\nstatus: {status}\ncategory: {cat}\nsummary: {summary}\nscope: Affects all endpoints\nretryable: {retry}\nrelated: [{ra}{sep}{rb}]\nsince: \"2025-0{m}\"\n---\n\n",
            title = rng.sentence(3).trim_end_matches('.'),
            summary = rng.sentence(12),
            retry = status >= 500 || status == 429,
            ra = if pages < 8 { String::new() } else { code_of(rel_a, i) },
            rb = if pages < 8 { String::new() } else { code_of(rel_b, i) },
            m = 1 + i % 9,
            sep = if pages < 8 { "" } else { ", " },
        );
        let _ = write!(
            t,
            "## What this means\n\n{} {} {}\n\n",
            rng.sentence(14),
            rng.sentence(10),
            rng.sentence(12)
        );
        t.push_str("## When you'll see this\n\n");
        for _ in 0..4 {
            let _ = writeln!(t, "- {}", rng.sentence(9));
        }
        let _ = write!(
            t,
            "\n> [!TIP]\n> The most common gotcha: {}\n\n",
            rng.sentence(10)
        );
        t.push_str("## Example response\n\n```json\n{\n");
        let _ = writeln!(t, "  \"success\": false,\n  \"error\": \"{code}\",");
        let _ = writeln!(t, "  \"message\": \"{}\",", rng.sentence(8));
        t.push_str("  \"details\": [\n");
        for k in 0..3 {
            let _ = writeln!(
                t,
                "    {{ \"param\": \"field_{k}\", \"rule\": \"min\", \"expected\": {} }},",
                rng.next() % 100
            );
        }
        t.push_str("    { \"param\": \"last\", \"rule\": \"max\", \"expected\": 1 }\n  ],\n");
        let _ = writeln!(t, "  \"retry_after\": {},", rng.next() % 60);
        let _ = writeln!(t, "  \"request_id\": \"req_{:08x}\",", rng.next());
        let _ = writeln!(
            t,
            "  \"doc_url\": \"https://bench.example/docs/reference/errors/{code}\"\n}}\n```\n"
        );
        let _ = write!(
            t,
            "## New to APIs\n\n### Quick fix\n\n1. {}\n2. {}\n3. {}\n\n",
            rng.sentence(8),
            rng.sentence(7),
            rng.sentence(9)
        );
        let _ = write!(
            t,
            "## Production engineer\n\n### Recovery pattern\n\n{}\n\n",
            rng.sentence(16)
        );
        t.push_str("```python title=\"Handler\"\nimport time\nimport random\n\n\ndef call_with_retry(client, request, attempts=5):\n");
        t.push_str("    \"\"\"Send a request, retrying when the error allows it.\"\"\"\n    for attempt in range(attempts):\n        response = client.send(request)\n");
        let _ = writeln!(t, "        if response.status_code != {status}:\n            return response\n        body = response.json()\n        if body.get(\"error\") == \"{code}\":");
        t.push_str("            delay = float(response.headers.get(\"Retry-After\", 2 ** attempt))\n            time.sleep(delay + random.uniform(0, 0.5))\n            continue\n");
        t.push_str("        response.raise_for_status()\n    raise RuntimeError(\"gave up after retries\")\n\n\nclient = make_client()\n```\n\n");
        t.push_str("```javascript title=\"Handler\"\nexport async function callWithRetry(send, attempts = 5) {\n  for (let attempt = 0; attempt < attempts; attempt++) {\n");
        let _ = writeln!(t, "    const resp = await send();\n    if (resp.status !== {status}) return resp;\n    const body = await resp.json();\n    if (body.error !== \"{code}\") throw new Error(body.message);");
        t.push_str("    const delay = Number(resp.headers.get(\"Retry-After\") ?? 2 ** attempt);\n    await new Promise((r) => setTimeout(r, delay * 1000));\n  }\n  throw new Error(\"gave up\");\n}\n```\n\n");
        t.push_str("## Avoid this error by\n\n");
        for _ in 0..3 {
            let _ = writeln!(t, "- {}", rng.sentence(8));
        }
        let (_, rel_slug) = category(rel_a);
        if pages >= 8 {
            let _ = writeln!(
                t,
                "- Reading [the related page](../{rel_slug}/{}.md#what-this-means).",
                code_name(rel_a)
            );
        }
        let dir = root.join("content/errors").join(slug);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{code}.md")), t)?;
    }
    Ok(())
}

/// Edits the body of page 0 (a sentence that says which edit it is), as a
/// writer would between two builds.
pub(crate) fn edit_one_page(root: &Path, edit: usize) -> std::io::Result<()> {
    let (_, slug) = category(0);
    let path = root
        .join("content/errors")
        .join(slug)
        .join(format!("{}.md", code_name(0)));
    let text = std::fs::read_to_string(&path)?;
    let body_start = text.find("\n## ").unwrap_or(text.len());
    let (head, body) = text.split_at(body_start);
    let body = match body.find("\nEdit ") {
        Some(i) => &body[..i],
        None => body,
    };
    std::fs::write(&path, format!("{head}{body}\nEdit {edit} of this page.\n"))
}

/// The code of the page [`edit_one_page`] edits, and the sentence edit
/// `edit` leaves in it.
pub(crate) fn edited_page(edit: usize) -> (String, String) {
    (code_name(0), format!("Edit {edit} of this page."))
}

/// The code of page `j`, or of its neighbour when `j` is the page itself.
fn code_of(j: usize, me: usize) -> String {
    if j == me {
        code_name(j + 1)
    } else {
        code_name(j)
    }
}
