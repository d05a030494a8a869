//! `check`'s store probe: a probe object written with create-if-absent, read back and deleted,
//! so a dead server, refused or missing credentials or a missing bucket are found before a
//! deployment, each explained in words an operator can act on.

use std::time::Duration;

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, path::Path as StorePath};

use super::store::{Store, StoreError};

/// Why the store failed `check`'s probe, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProbeError {
    #[error("cannot connect to {0}: is the server running, and is store.endpoint right? ({1})")]
    Connect(String, String),
    #[error(
        "{0} refused the credentials: set store.access_key_id and store.secret_access_key \
         (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) to a key that may write the bucket ({1})"
    )]
    Credentials(String, String),
    #[error(
        "no credentials for {0}: set store.access_key_id and store.secret_access_key (or \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the provider's own variables); none was \
         found, so the instance metadata service was asked ({1})"
    )]
    NoCredentials(String, String),
    #[error("the bucket of {0} does not exist, or this key may not see it ({1})")]
    NoBucket(String, String),
    #[error("{0} did not answer within store.timeout_ms ({1:?})")]
    Timeout(String, Duration),
    #[error("{0}: the probe object read back differs from what was written")]
    Mismatch(String),
    #[error("{0}: {1}")]
    Other(String, String),
}

impl Store {
    /// Writes a probe object with create-if-absent, reads it back and deletes it: what `check`
    /// does to prove the store works before a deployment, not only that its URL parses.
    pub(crate) async fn probe(&self) -> Result<(), ProbeError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = StorePath::from(format!("_ogforge/probe-{}-{nanos}", std::process::id()));
        let body = Bytes::from(format!("ogforge check {nanos}"));
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let put = self
            .inner()
            .put_opts(&path, PutPayload::from_bytes(body.clone()), opts);
        self.deadline(put).await.map_err(|e| self.explain(e))?;
        let read = self.deadline(async { self.inner().get(&path).await?.bytes().await });
        let got = read.await.map_err(|e| self.explain(e))?;
        let deleted = self.deadline(self.inner().delete(&path)).await;
        if got != body {
            return Err(ProbeError::Mismatch(self.display.clone()));
        }
        deleted.map_err(|e| self.explain(e))
    }

    fn explain(&self, e: StoreError) -> ProbeError {
        let store = self.display.clone();
        let text = match e {
            StoreError::Timeout(t) => return ProbeError::Timeout(store, t),
            StoreError::Skipped => return ProbeError::Other(store, e.to_string()),
            StoreError::Backend(e) => {
                let text = one_line(&e);
                match e {
                    object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. } => {
                        return ProbeError::Credentials(store, text);
                    }
                    object_store::Error::NotFound { .. } => {
                        return ProbeError::NoBucket(store, text);
                    }
                    _ => text,
                }
            }
        };
        // object_store wraps most HTTP failures in `Generic`; its text says which.
        let has = |needle: &str| text.contains(needle);
        if has("169.254.169.254") || has("instance metadata") || has("credential") {
            ProbeError::NoCredentials(store, text)
        } else if has("NoSuchBucket") || has("bucket does not exist") {
            ProbeError::NoBucket(store, text)
        } else if has("InvalidAccessKeyId")
            || has("SignatureDoesNotMatch")
            || has("AccessDenied")
            || has("403 Forbidden")
        {
            ProbeError::Credentials(store, text)
        } else if has("onnect") || has("refused") || has("dns error") {
            ProbeError::Connect(store, text)
        } else {
            ProbeError::Other(store, text)
        }
    }
}

/// An error and its sources on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_with_env};

    fn generic(text: &str) -> StoreError {
        StoreError::Backend(object_store::Error::Generic {
            store: "S3",
            source: text.to_owned().into(),
        })
    }

    /// The words a probe failure gets, from what object_store says (no network: the texts
    /// are the ones seen from a real S3 client).
    #[test]
    fn probe_failures_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().display().to_string();
        let env = [("OGFORGE__STORE__URL".to_owned(), url)];
        let config = load_with_env(None, &Overrides::default(), &env).unwrap();
        let store = Store::open(&config.store).unwrap();
        let e = store.explain(generic(
            "Error performing PUT http://169.254.169.254/latest/api/token: 403 Forbidden",
        ));
        assert!(matches!(e, ProbeError::NoCredentials(..)), "{e}");
        let e = store.explain(generic(
            "tcp connect error: Connection refused (os error 111)",
        ));
        assert!(matches!(e, ProbeError::Connect(..)), "{e}");
        let e = store.explain(generic("<Code>SignatureDoesNotMatch</Code>"));
        assert!(matches!(e, ProbeError::Credentials(..)), "{e}");
        let e = store.explain(generic("<Code>NoSuchBucket</Code>"));
        assert!(matches!(e, ProbeError::NoBucket(..)), "{e}");
        let e = store.explain(StoreError::Timeout(Duration::from_secs(5)));
        assert!(e.to_string().contains("store.timeout_ms"), "{e}");
    }
}
