//! [`Tags`]: the `og:image` / `twitter:image` tag set for one request, as data ([`Tags::meta`],
//! for JSON or a templating engine) and as attribute-escaped HTML ([`Tags::to_html`]).
//!
//! Deciding which URL goes in (validation, the default image) is [`crate::TagRoute`]'s job;
//! this module only lays the tags out and escapes them.

use crate::Id;

/// Which attribute names a meta tag: Open Graph uses `property`, Twitter cards use `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAttr {
    /// `<meta property="..." content="...">`
    Property,
    /// `<meta name="..." content="...">`
    Name,
}

impl MetaAttr {
    /// The attribute's name: `property` or `name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Property => "property",
            Self::Name => "name",
        }
    }
}

/// One `<meta>` tag, unescaped: a backend that builds its own HTML must escape `content`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `property` or `name`.
    pub attr: MetaAttr,
    /// e.g. `og:image`.
    pub key: &'static str,
    /// The value, not escaped.
    pub content: String,
}

/// The tags for one request: the image URL (a validated id's, or the default image's) and the
/// facts about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    image_url: String,
    id: Option<Id>,
    content_type: String,
    width: u32,
    height: u32,
    alt: String,
}

impl Tags {
    pub(crate) fn new(
        image_url: String,
        id: Option<Id>,
        content_type: String,
        width: u32,
        height: u32,
        alt: String,
    ) -> Self {
        Self {
            image_url,
            id,
            content_type,
            width,
            height,
            alt,
        }
    }

    /// The image URL: the validated id's, or the default image's.
    pub fn image_url(&self) -> &str {
        &self.image_url
    }

    /// The validated id, or `None` when the default image stands in.
    pub fn id(&self) -> Option<&Id> {
        self.id.as_ref()
    }

    /// Whether the default image stands in (the value was missing or invalid).
    pub fn is_default(&self) -> bool {
        self.id.is_none()
    }

    /// The tags in order: `og:image`, `og:image:secure_url` (https only), `og:image:type`,
    /// `og:image:width`, `og:image:height`, `og:image:alt` (when set), `twitter:card`
    /// (`summary_large_image`), `twitter:image`.
    pub fn meta(&self) -> Vec<Meta> {
        let p = |key, content: String| Meta {
            attr: MetaAttr::Property,
            key,
            content,
        };
        let n = |key, content: String| Meta {
            attr: MetaAttr::Name,
            key,
            content,
        };
        let mut out = vec![p("og:image", self.image_url.clone())];
        // `secure_url` promises https; stating it for an http URL would be a lie.
        if self.image_url.starts_with("https://") {
            out.push(p("og:image:secure_url", self.image_url.clone()));
        }
        out.push(p("og:image:type", self.content_type.clone()));
        out.push(p("og:image:width", self.width.to_string()));
        out.push(p("og:image:height", self.height.to_string()));
        if !self.alt.is_empty() {
            out.push(p("og:image:alt", self.alt.clone()));
        }
        out.push(n("twitter:card", "summary_large_image".to_owned()));
        out.push(n("twitter:image", self.image_url.clone()));
        out
    }

    /// The tags as HTML, one `<meta>` per line, every attribute value escaped.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        for m in self.meta() {
            html.push_str("<meta ");
            html.push_str(m.attr.as_str());
            html.push_str("=\"");
            html.push_str(&escape_attr(m.key));
            html.push_str("\" content=\"");
            html.push_str(&escape_attr(&m.content));
            html.push_str("\">\n");
        }
        html
    }
}

/// Escapes text for a double- or single-quoted HTML attribute (and for element content):
/// `&`, `<`, `>`, `"`, `'` and the backtick (old IE treated it as a quote).
pub fn escape_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{IdRule, PathTemplate, TagRoute};

    fn route(pattern: &str) -> TagRoute {
        TagRoute::new(
            "https://social.example.com/",
            PathTemplate::new("/{id}.jpg").unwrap(),
            IdRule::new(pattern, 64).unwrap(),
        )
        .unwrap()
        .with_alt("Match card: \"A\" & <B>")
        .unwrap()
    }

    const STRICT: &str = "(?P<home>[0-9]{2})-(?P<away>[0-9]{2})-(?P<minute>[0-9]{2})";

    #[test]
    fn a_valid_id_gives_its_url_and_the_full_set() {
        let t = route(STRICT).tags(Some("12-34-10"));
        assert!(!t.is_default());
        assert_eq!(t.image_url(), "https://social.example.com/12-34-10.jpg");
        assert_eq!(
            t.to_html(),
            "<meta property=\"og:image\" content=\"https://social.example.com/12-34-10.jpg\">\n\
             <meta property=\"og:image:secure_url\" content=\"https://social.example.com/12-34-10.jpg\">\n\
             <meta property=\"og:image:type\" content=\"image/jpeg\">\n\
             <meta property=\"og:image:width\" content=\"1200\">\n\
             <meta property=\"og:image:height\" content=\"630\">\n\
             <meta property=\"og:image:alt\" content=\"Match card: &quot;A&quot; &amp; &lt;B&gt;\">\n\
             <meta name=\"twitter:card\" content=\"summary_large_image\">\n\
             <meta name=\"twitter:image\" content=\"https://social.example.com/12-34-10.jpg\">\n"
        );
    }

    #[test]
    fn http_base_has_no_secure_url() {
        let r = TagRoute::new(
            "http://127.0.0.1:8080",
            PathTemplate::new("/{id}.jpg").unwrap(),
            IdRule::new(STRICT, 64).unwrap(),
        )
        .unwrap();
        let t = r.tags(Some("12-34-10"));
        assert!(t.meta().iter().all(|m| m.key != "og:image:secure_url"));
        assert!(!t.meta().iter().any(|m| m.key == "og:image:alt"));
    }

    #[test]
    fn missing_or_empty_gives_the_default() {
        let r = route(STRICT);
        for raw in [None, Some("")] {
            let t = r.tags(raw);
            assert!(t.is_default());
            assert_eq!(t.image_url(), "https://social.example.com/.jpg");
        }
    }

    #[test]
    fn escape_covers_the_quotes_and_brackets() {
        assert_eq!(
            escape_attr("<a href='x' title=\"y\">&`"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&#96;"
        );
    }

    /// Values a reflected-XSS, open-redirect or header-injection attempt would try.
    fn hostile_corpus() -> Vec<String> {
        let mut v: Vec<String> = [
            "<script>alert(1)</script>",
            "12-34-10<script>alert(1)</script>",
            "\"><script>alert(1)</script>",
            "12-34-10\" onerror=\"alert(1)",
            "12-34-10' onload='alert(1)",
            "&lt;script&gt;",
            "12-34-10&quot;&gt;",
            "&#x3C;svg onload=alert(1)&#x3E;",
            "１２-３４-１０",
            "\u{202E}01-43-21",
            "12-34-10\u{202E}",
            "12-34-\u{2066}10",
            "12-34-10\u{200B}",
            "12-34-10\r\nSet-Cookie: x=1",
            "12-34-10\n",
            "12-34-10\0",
            "\0",
            "12%2D34%2D10",
            "%31%32-34-10",
            "12-34-10%253Cscript%253E",
            "%3Cscript%3E",
            "../../etc/passwd",
            "..",
            "..%2F..%2Fetc%2Fpasswd",
            "12-34-10/../../admin",
            "//evil.com",
            "//evil.com/12-34-10",
            "https://evil.com/x.jpg",
            "http://evil.com",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "\\\\evil.com",
            "@evil.com",
            "12-34-10@evil.com",
            "12-34-10?x=<y>",
            "12-34-10#frag",
            "${jndi:ldap://x}",
            "{{7*7}}",
            "' OR 1=1 --",
            " 12-34-10",
            "12-34-10 ",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.push("1".repeat(100_000));
        v.push(format!("12-34-10{}", "<".repeat(10_000)));
        v.push("\u{FFFD}".repeat(1000));
        v
    }

    /// Fragments of the corpus that must never show up in any output.
    const NEEDLES: &[&str] = &[
        "<script",
        "script>",
        "alert",
        "onerror",
        "onload",
        "evil",
        "javascript",
        "data:",
        "passwd",
        "..",
        "Set-Cookie",
        "\r",
        "\n\n",
        "\0",
        "\u{202E}",
        "\u{2066}",
        "\u{200B}",
        "%2",
        "%3",
        "jndi",
        "{{",
        "OR 1",
        "１",
    ];

    #[test]
    fn hostile_values_give_exactly_the_default_tags() {
        let r = route(STRICT);
        let default_html = r.tags(None).to_html();
        for raw in hostile_corpus() {
            let t = r.tags(Some(&raw));
            assert!(t.is_default(), "{raw:?} was accepted");
            assert_eq!(t.to_html(), default_html, "{raw:?}");
        }
    }

    #[test]
    fn a_loose_pattern_still_lets_nothing_through_unescaped() {
        // An operator's `.+` accepts almost anything; the URL-safety check and the escaping
        // must still hold the line.
        let r = route(".+");
        for raw in hostile_corpus() {
            let t = r.tags(Some(&raw));
            let html = t.to_html();
            for needle in NEEDLES {
                assert!(!html.contains(needle), "{raw:?} put {needle:?} in:\n{html}");
            }
            // Exactly the expected tags, each on its own line, and only our attributes.
            assert_eq!(html.matches("<meta ").count(), 8, "{raw:?}");
            assert_eq!(html.matches('<').count(), 8, "{raw:?}");
            assert_eq!(html.matches('"').count(), 32, "{raw:?}");
            match t.id() {
                Some(id) => {
                    assert_eq!(
                        t.image_url(),
                        format!("https://social.example.com/{id}.jpg")
                    );
                    assert!(id.as_str().chars().all(|c| c.is_ascii_graphic()));
                }
                None => assert_eq!(t.image_url(), "https://social.example.com/.jpg"),
            }
        }
        // Quotes, `&`, `:` and `@` never reach a URL, whatever the pattern allows.
        for raw in ["a'b", "a&b", "a:b", "a@b", "a%41", "a\"b"] {
            assert!(r.tags(Some(raw)).is_default(), "{raw:?}");
        }
        let t = r.tags(Some("a.b~c_d"));
        assert_eq!(t.image_url(), "https://social.example.com/a.b~c_d.jpg");
    }
}
