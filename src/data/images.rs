//! Remote images of a data route (`kind = "image"` fields): fetched through the guarded client,
//! only from `data.image_hosts`, capped in bytes, and refused by their header's size before
//! anything decodes them; handed to the template as `data:` URIs, which takumi draws (and
//! decodes once per render cache).
//!
//! Only `http(s)` URLs are fetched: a `data:` URI or any other scheme in the JSON is refused,
//! so the API's content cannot smuggle an undecoded bomb past these checks. Images are kept per
//! URL for the data TTL, within [`IMAGE_CACHE_BYTES`].

use std::{sync::Arc, time::Duration};

use base64::Engine as _;
use imagesize::ImageType;
use moka::future::Cache;
use url::Url;

use super::DataError;
use crate::{
    config::DataConfig,
    fetch::{self, Kind},
    reason::Reason,
};

/// The largest width or height drawn: beyond any card, and a guard against decoding bombs.
pub const MAX_IMAGE_EDGE: usize = 4096;
/// The most pixels decoded for one image (16 MiP, 64 MiB as RGBA).
pub const MAX_IMAGE_PIXELS: usize = 4096 * 4096;
/// Bytes of `data:` URIs kept per route.
pub const IMAGE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A route's image fetcher and cache.
#[derive(Debug)]
pub(super) struct Images {
    cache: Cache<String, Arc<str>>,
}

impl Images {
    pub(super) fn new(ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(IMAGE_CACHE_BYTES)
            .weigher(|url: &String, uri: &Arc<str>| {
                u32::try_from(url.len() + uri.len()).unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .build();
        Self { cache }
    }

    /// The image at `url` as a `data:` URI, from the cache or fetched once for every asker.
    pub(super) async fn load(
        &self,
        client: &fetch::Client,
        config: &DataConfig,
        url: &str,
    ) -> Result<Arc<str>, DataError> {
        let parsed = Url::parse(url).map_err(|_| bad(format!("{url:?} is not a URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad(format!("a {} URL is not fetched", parsed.scheme())));
        }
        let fetch = fetch_one(client, config, parsed);
        (self.cache.try_get_with(url.to_owned(), fetch).await).map_err(|e| (*e).clone())
    }
}

fn bad(detail: String) -> DataError {
    DataError::new(Reason::ImageError, detail)
}

async fn fetch_one(
    client: &fetch::Client,
    config: &DataConfig,
    url: Url,
) -> Result<Arc<str>, DataError> {
    let req = fetch::Request {
        url,
        headers: &[],
        timeout: config.timeout,
        max_bytes: config.image_max_bytes,
        hosts: Some(&config.image_hosts),
    };
    let resp = (fetch::get(client, Kind::Image, &req).await).map_err(|e| bad(e.to_string()))?;
    if !resp.status.is_success() {
        return Err(bad(format!("the image URL answered {}", resp.status)));
    }
    let mime = check(&resp.body)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&resp.body);
    Ok(Arc::from(format!("data:{mime};base64,{encoded}")))
}

/// The image's type, if it is one takumi draws and its header's size is within bounds.
fn check(bytes: &[u8]) -> Result<&'static str, DataError> {
    let mime = match imagesize::image_type(bytes) {
        Ok(ImageType::Jpeg) => "image/jpeg",
        Ok(ImageType::Png) => "image/png",
        Ok(ImageType::Webp) => "image/webp",
        _ => return Err(bad("not a JPEG, PNG or WebP image".into())),
    };
    let size = imagesize::blob_size(bytes).map_err(|e| bad(format!("no size in header: {e}")))?;
    let (w, h) = (size.width, size.height);
    if w == 0 || h == 0 || w > MAX_IMAGE_EDGE || h > MAX_IMAGE_EDGE || w * h > MAX_IMAGE_PIXELS {
        return Err(bad(format!(
            "{w}x{h} is over {MAX_IMAGE_EDGE} px a side or {MAX_IMAGE_PIXELS} px"
        )));
    }
    Ok(mime)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A PNG signature and IHDR claiming `w` x `h`, and nothing else: enough for the header.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend(w.to_be_bytes());
        v.extend(h.to_be_bytes());
        v.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    #[test]
    fn a_huge_header_is_refused_before_any_decoding() {
        let e = check(&png_header(10_000, 10_000)).unwrap_err();
        assert_eq!(e.reason, Reason::ImageError);
        assert!(e.detail.contains("10000x10000"), "{}", e.detail);
        assert_eq!(check(&png_header(64, 64)).unwrap(), "image/png");
        assert!(check(&png_header(4096, 4097)).is_err());
    }

    #[test]
    fn only_the_drawn_formats_pass() {
        for bytes in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"GIF89a\x01\0\x01\0",
            b"",
        ] {
            assert!(check(bytes).is_err());
        }
    }
}
