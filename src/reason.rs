//! Why a default image stands in for a card: one [`Reason`] per cause, each with a stable
//! code for the `X-Ogforge-Fallback` header, the `Cache-Status` detail and the `reason` metric
//! label.
//!
//! A leaf module: the pipeline, the renderers, the routes and the responses all name reasons,
//! and none of them needs to import another for it.

/// Why the default image was served. The code is stable: it is the `X-Ogforge-Fallback`
/// header value and the `reason` label in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The path matches no route.
    UnknownRoute,
    /// The id does not match the route's pattern.
    InvalidId,
    /// The id is longer than the route allows.
    IdTooLong,
    /// The template failed for this id.
    TemplateError,
    /// Layout, raster or encoding failed.
    RenderError,
    /// The render took longer than the render timeout.
    RenderTimeout,
    /// Too many renders queued (see the edge guard).
    Overloaded,
    /// A signed route was requested without a valid signature.
    BadSignature,
    /// A browser route's page answered with a status of 400 or more.
    PageStatus,
    /// A browser route's page failed to load (refused, blocked, a script error).
    PageError,
    /// A browser route's page was not loaded and ready within its navigation timeout.
    PageTimeout,
    /// Chromium could not start, crashed, or stopped answering.
    BrowserError,
    /// The client has used up its render budget (`[rate_limit]`).
    RateLimited,
    /// The route's data URL answered 404 or 410: there is no such post (yet).
    DataNotFound,
    /// The data URL did not answer (every hop and the body) within `data.timeout_ms`.
    DataTimeout,
    /// The data URL answered another status that is not a success (5xx, 401, ...).
    DataStatus,
    /// The data URL's body is not JSON.
    DataInvalid,
    /// The data URL's body is over `data.max_bytes`.
    DataTooLarge,
    /// A required field is absent, null or not text.
    DataMissingField,
    /// The data URL, a redirect or a resolved address is one the fetch guard refuses.
    DataBlocked,
    /// The data could not be fetched (connection refused, TLS, a broken redirect, ...).
    DataError,
    /// An image field's image, or an image the template names, could not be had (refused, too
    /// big, not an image) and the route says `image_error = "fallback"`.
    ImageError,
}

impl Reason {
    /// Every reason, for metrics that exist at zero from start-up.
    pub const ALL: [Self; 22] = [
        Self::UnknownRoute,
        Self::InvalidId,
        Self::IdTooLong,
        Self::TemplateError,
        Self::RenderError,
        Self::RenderTimeout,
        Self::Overloaded,
        Self::BadSignature,
        Self::PageStatus,
        Self::PageError,
        Self::PageTimeout,
        Self::BrowserError,
        Self::RateLimited,
        Self::DataNotFound,
        Self::DataTimeout,
        Self::DataStatus,
        Self::DataInvalid,
        Self::DataTooLarge,
        Self::DataMissingField,
        Self::DataBlocked,
        Self::DataError,
        Self::ImageError,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownRoute => "unknown-route",
            Self::InvalidId => "invalid-id",
            Self::IdTooLong => "id-too-long",
            Self::TemplateError => "template-error",
            Self::RenderError => "render-error",
            Self::RenderTimeout => "render-timeout",
            Self::Overloaded => "overloaded",
            Self::BadSignature => "bad-signature",
            Self::PageStatus => "page-status",
            Self::PageError => "page-error",
            Self::PageTimeout => "page-timeout",
            Self::BrowserError => "browser-error",
            Self::RateLimited => "rate-limited",
            Self::DataNotFound => "data-not-found",
            Self::DataTimeout => "data-timeout",
            Self::DataStatus => "data-status",
            Self::DataInvalid => "data-invalid",
            Self::DataTooLarge => "data-too-large",
            Self::DataMissingField => "data-missing-field",
            Self::DataBlocked => "data-blocked",
            Self::DataError => "data-error",
            Self::ImageError => "image-error",
        }
    }

    /// What the code means, in a sentence (for `render` and `warm` on the command line).
    pub fn describe(self) -> &'static str {
        match self {
            Self::UnknownRoute => "the path matches no route's path",
            Self::InvalidId => "the id does not match the route's id_pattern",
            Self::IdTooLong => "the id is longer than the route's max_id_len",
            Self::TemplateError => "the template failed for this id",
            Self::RenderError => "layout, raster or encoding failed",
            Self::RenderTimeout => "the render took longer than render.timeout_ms",
            Self::Overloaded => "the render queue was full",
            Self::BadSignature => "the signature is missing or wrong",
            Self::PageStatus => "the page answered with an error status",
            Self::PageError => "the page did not load",
            Self::PageTimeout => "the page was not ready within navigation_timeout_ms",
            Self::BrowserError => "Chromium could not start, crashed or stopped answering",
            Self::RateLimited => "the client is over its render budget",
            Self::DataNotFound => "the data URL answered 404 or 410",
            Self::DataTimeout => "the data URL did not answer within data.timeout_ms",
            Self::DataStatus => "the data URL answered an error status",
            Self::DataInvalid => "the data URL's body is not JSON",
            Self::DataTooLarge => "the data URL's body is over data.max_bytes",
            Self::DataMissingField => "a required data field is absent",
            Self::DataBlocked => "the data URL or its address is refused by the fetch guard",
            Self::DataError => "the data could not be fetched",
            Self::ImageError => "an image field's image could not be fetched or is refused",
        }
    }

    /// Whether the request itself was at fault (as opposed to ogforge or its template).
    pub fn is_client_error(self) -> bool {
        matches!(
            self,
            Self::UnknownRoute
                | Self::InvalidId
                | Self::IdTooLong
                | Self::BadSignature
                | Self::RateLimited
        )
    }
}
