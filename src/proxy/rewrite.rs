//! The proxy's body work: undoing gzip/deflate ([`Decoder`]) and rewriting the page's meta tags
//! as it streams ([`rewrite_body`]); which requests get rewritten is `proxy/mod.rs`'s call.

use std::{
    io::Write,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU8, Ordering},
    },
};

use axum::{body::Body, http::HeaderValue};
use bytes::Bytes;
use futures::StreamExt;
use lol_html::{element, end_tag, html_content::ContentType, send};

/// Rewritten chunks in flight to the client: a slow client slows the upstream read instead of
/// the proxy buffering the page.
const CHANNEL_CHUNKS: usize = 8;

/// Undoes the content codings the proxy can undo; `None` for the others (passed through).
pub(super) enum Decoder {
    Identity,
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Deflate(Box<flate2::write::ZlibDecoder<Vec<u8>>>),
}

impl Decoder {
    pub(super) fn for_encoding(value: Option<&HeaderValue>) -> Option<Self> {
        let Some(value) = value else {
            return Some(Self::Identity);
        };
        match value.to_str().ok()?.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Self::Identity),
            "gzip" | "x-gzip" => Some(Self::Gzip(Box::new(flate2::write::GzDecoder::new(
                Vec::new(),
            )))),
            "deflate" => Some(Self::Deflate(Box::new(flate2::write::ZlibDecoder::new(
                Vec::new(),
            )))),
            _ => None,
        }
    }

    /// Decoded bytes for one chunk (possibly none yet).
    fn feed(&mut self, chunk: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Identity => Ok(chunk.to_vec()),
            Self::Gzip(d) => {
                d.write_all(chunk)?;
                Ok(std::mem::take(d.get_mut()))
            }
            Self::Deflate(d) => {
                d.write_all(chunk)?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }

    /// What is left once the input has ended.
    fn finish(&mut self) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Identity => Ok(Vec::new()),
            Self::Gzip(d) => {
                d.try_finish()?;
                Ok(std::mem::take(d.get_mut()))
            }
            Self::Deflate(d) => {
                d.try_finish()?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }
}

/// Streams upstream's body through the decoder and the rewriter, chunk by chunk: the page is
/// never held whole, and a slow visitor slows the upstream read (bounded channel).
pub(super) fn rewrite_body(
    upstream: reqwest::Response,
    mut decoder: Decoder,
    tags_html: String,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
    tokio::spawn(async move {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&out);
        let mut rewriter = send::HtmlRewriter::new(settings(tags_html), move |chunk: &[u8]| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(chunk);
        });
        let take = || std::mem::take(&mut *out.lock().unwrap_or_else(PoisonError::into_inner));
        let mut stream = upstream.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let step = chunk
                .map_err(|e| std::io::Error::other(e.without_url()))
                .and_then(|c| decoder.feed(&c))
                .and_then(|plain| rewriter.write(&plain).map_err(std::io::Error::other));
            if let Err(e) = step {
                // The status line is gone already: cutting the body short is the only signal.
                tracing::warn!(error = %e, "proxy: upstream body failed mid-stream");
                let _ = tx.send(Err(e)).await;
                return;
            }
            let ready = take();
            if !ready.is_empty() && tx.send(Ok(Bytes::from(ready))).await.is_err() {
                return; // the visitor went away
            }
        }
        let end = decoder
            .finish()
            .and_then(|plain| rewriter.write(&plain).map_err(std::io::Error::other))
            .and_then(|()| rewriter.end().map_err(std::io::Error::other));
        let last = match end {
            Ok(()) => Ok(Bytes::from(take())),
            Err(e) => Err(e),
        };
        let _ = tx.send(last).await;
    });
    Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Where the tags stand while the page streams: no `<head>` yet, inside the first one (tags
/// not placed yet), placed.
const BEFORE_HEAD: u8 = 0;
const IN_HEAD: u8 = 1;
const PLACED: u8 = 2;

/// Our tags go in the first `<head>`: right after its charset declaration, else before
/// `</head>` (or before `<body>` when the head is closed implicitly). Not at its start: the
/// charset declaration must stay in the page's first 1024 bytes. Upstream's own image/card tags
/// are dropped.
fn settings(tags_html: String) -> send::Settings<'static, 'static> {
    let tags: Arc<str> = Arc::from(tags_html);
    let state = Arc::new(AtomicU8::new(BEFORE_HEAD));
    // Places the tags once; true when this call is the one that may.
    let claim = |state: &AtomicU8| {
        (state.compare_exchange(IN_HEAD, PLACED, Ordering::Relaxed, Ordering::Relaxed)).is_ok()
    };
    let (head_tags, head_state) = (Arc::clone(&tags), Arc::clone(&state));
    let (meta_tags, meta_state) = (Arc::clone(&tags), Arc::clone(&state));
    let (body_tags, body_state) = (tags, state);
    send::Settings::new_send()
        .append_element_content_handler(element!("head", move |el| {
            let first = head_state.compare_exchange(
                BEFORE_HEAD,
                IN_HEAD,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if first.is_ok() {
                let (tags, state) = (Arc::clone(&head_tags), Arc::clone(&head_state));
                el.on_end_tag(end_tag!(move |end| {
                    if claim(&state) {
                        end.before(&tags, ContentType::Html);
                    }
                    Ok(())
                }))?;
            }
            Ok(())
        }))
        .append_element_content_handler(element!("head meta", move |el| {
            if is_charset_declaration(el) && claim(&meta_state) {
                el.after(&meta_tags, ContentType::Html);
            }
            Ok(())
        }))
        .append_element_content_handler(element!("body", move |el| {
            if claim(&body_state) {
                el.before(&body_tags, ContentType::Html);
            }
            Ok(())
        }))
        .append_element_content_handler(element!("meta", |el| {
            let key = el
                .get_attribute("property")
                .or_else(|| el.get_attribute("name"))
                .map(|k| k.trim().to_ascii_lowercase());
            if key.is_some_and(|k| is_replaced(&k)) {
                el.remove();
            }
            Ok(())
        }))
}

/// `<meta charset>` or `<meta http-equiv="content-type">`.
fn is_charset_declaration(
    el: &lol_html::html_content::Element<'_, '_, impl lol_html::HandlerTypes>,
) -> bool {
    el.has_attribute("charset")
        || el
            .get_attribute("http-equiv")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-type"))
}

/// The tags the proxy owns: every `og:image*`, `twitter:image*` and `twitter:card`.
fn is_replaced(key: &str) -> bool {
    key.starts_with("og:image") || key.starts_with("twitter:image") || key == "twitter:card"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_keys() {
        for k in [
            "og:image",
            "og:image:url",
            "og:image:alt",
            "twitter:image",
            "twitter:card",
        ] {
            assert!(is_replaced(k), "{k}");
        }
        for k in ["og:title", "twitter:title", "twitter:site", "description"] {
            assert!(!is_replaced(k), "{k}");
        }
    }

    /// `page` through the rewriter in 7-byte chunks (tags split across chunks too), with
    /// `<T>` as our tags.
    fn rewrite(page: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        let mut rewriter =
            send::HtmlRewriter::new(settings("<T>".to_owned()), move |c: &[u8]| {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(c);
            });
        for chunk in page.as_bytes().chunks(7) {
            assert!(rewriter.write(chunk).is_ok());
        }
        assert!(rewriter.end().is_ok());
        let bytes = std::mem::take(&mut *out.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn tags_go_after_the_charset_declaration_or_at_the_end_of_the_head() {
        let og = "<meta property=\"og:image\" content=\"x\">";
        for (page, expected) in [
            (
                format!("<head><meta charset=\"utf-8\"><title>t</title>{og}</head>"),
                "<head><meta charset=\"utf-8\"><T><title>t</title></head>",
            ),
            (
                format!("<head><title>t</title>{og}<META CHARSET=utf-8></head>"),
                "<head><title>t</title><META CHARSET=utf-8><T></head>",
            ),
            (
                "<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><title>t</title></head>".to_owned(),
                "<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><T><title>t</title></head>",
            ),
            // No declaration: the end of the head, wherever it ends.
            (
                format!("<head><title>t</title>{og}</head><body></body>"),
                "<head><title>t</title><T></head><body></body>",
            ),
            (
                "<head><title>t</title><body><p>x</p>".to_owned(),
                "<head><title>t</title><T><body><p>x</p>",
            ),
            // Once, in the first head only.
            (
                "<head></head><body><head><meta charset=\"utf-8\"></head></body>".to_owned(),
                "<head><T></head><body><head><meta charset=\"utf-8\"></head></body>",
            ),
            // No head, no tags (the page is left as it is, but for upstream's image tags).
            (format!("<p>{og}</p>"), "<p></p>"),
        ] {
            assert_eq!(rewrite(&page), expected, "{page}");
        }
    }
}
